"""The outbox table's queries: enqueue in the writer's transaction, claim with a lease."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

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
        # The pending job covers this change from the earlier of the two instants: a change that
        # commits after a later one must still be reported from its own time.
        earliest = (func.least if session.get_bind().dialect.name == "postgresql" else func.min)(
            NotificationJob.changes_since, statement.excluded.changes_since
        )
        statement = statement.on_conflict_do_update(
            index_elements=["channel_id"], index_where=PENDING_CHANGE, set_={"changes_since": earliest}
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


def claim(
    session: Session, now: datetime, limit: int, lease: timedelta, holder: str
) -> list[NotificationJob]:
    """Due jobs, and jobs whose worker's lease ran out, marked as being delivered by the caller."""
    due = or_(
        and_(NotificationJob.state == "pending", NotificationJob.due_at <= now),
        and_(NotificationJob.state == "delivering", NotificationJob.locked_until < now),
    )
    in_flight = aliased(NotificationJob)
    # One attempt at a time per channel: a receiver that is slow or down holds one sender, not all.
    busy_channel = (
        select(in_flight.id)
        .where(
            in_flight.channel_id == NotificationJob.channel_id,
            in_flight.state == "delivering",
            in_flight.locked_until >= now,
        )
        .exists()
    )
    query = select(NotificationJob).where(due, ~busy_channel).order_by(NotificationJob.due_at)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    jobs: list[NotificationJob] = []
    seen: set[str] = set()
    for job in session.scalars(query.limit(limit * 4)):
        if job.channel_id not in seen and len(jobs) < limit:
            seen.add(job.channel_id)
            jobs.append(job)
    if jobs:
        session.execute(
            update(NotificationJob)
            .where(NotificationJob.id.in_([job.id for job in jobs]))
            .values(
                state="delivering",
                locked_until=now + lease,
                locked_by=holder,
                attempts=NotificationJob.attempts + 1,
            )
        )
        for job in jobs:
            session.refresh(job)
    return jobs


def leases_held_on(session: Session, host: str) -> list[NotificationJob]:
    """Jobs being delivered by a worker on ``host`` (any process)."""
    return list(
        session.scalars(
            select(NotificationJob).where(
                NotificationJob.state == "delivering", NotificationJob.locked_by.like(f"{host}:%")
            )
        )
    )
