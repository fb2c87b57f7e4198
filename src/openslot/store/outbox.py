"""The outbox table's queries: enqueue in the writer's transaction, claim with a lease."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from openslot.store.models import Channel, NotificationJob

WAKE_CHANNEL = "openslot_jobs"
PENDING_CHANGE = text("state = 'pending' AND kind = 'change'")


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(NotificationJob)


def enqueue(session: Session, channel_ids: Sequence[str], kind: str, now: datetime) -> None:
    """A job per channel. A change job folds into the channel's pending one, which covers it already."""
    if not channel_ids:
        return
    rows = [
        {
            "channel_id": channel_id,
            "kind": kind,
            "changes_since": now if kind == "change" else None,
            "state": "pending",
            "webhook_id": f"msg_{secrets.token_hex(12)}",
            "attempts": 0,
            "created_at": now,
            "due_at": now,
        }
        for channel_id in channel_ids
    ]
    statement = _insert(session).values(rows)
    if kind == "change":
        statement = statement.on_conflict_do_nothing(
            index_elements=["channel_id"], index_where=PENDING_CHANGE
        )
    session.connection().execute(statement)
    session.info["outbox_written"] = True
    if session.get_bind().dialect.name == "postgresql":
        # Delivered to listening workers when this transaction commits, never before.
        session.connection().exec_driver_sql(f"NOTIFY {WAKE_CHANNEL}")


def open_channels_for(session: Session, account_id: str) -> list[Any]:
    return list(
        session.connection().execute(
            select(Channel.id, Channel.application_id, Channel.only_managed, Channel.calendar_ids).where(
                Channel.account_id == account_id, Channel.closed_at.is_(None)
            )
        )
    )


def claim(session: Session, now: datetime, limit: int, lease: timedelta) -> list[NotificationJob]:
    """Due jobs, and jobs whose worker's lease ran out, marked as being delivered by the caller."""
    due = or_(
        and_(NotificationJob.state == "pending", NotificationJob.due_at <= now),
        and_(NotificationJob.state == "delivering", NotificationJob.locked_until < now),
    )
    query = select(NotificationJob).where(due).order_by(NotificationJob.due_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    jobs = list(session.scalars(query))
    if jobs:
        session.execute(
            update(NotificationJob)
            .where(NotificationJob.id.in_([job.id for job in jobs]))
            .values(state="delivering", locked_until=now + lease, attempts=NotificationJob.attempts + 1)
        )
        for job in jobs:
            session.refresh(job)
    return jobs
