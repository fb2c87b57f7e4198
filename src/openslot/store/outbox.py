"""The outbox table's queries: enqueue in the writer's transaction, claim with a lease."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, Row, Select, Update, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from openslot.store.models import Application, Channel, Delivery, NotificationJob

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


@functools.cache
def _claim_statements(dialect: str) -> tuple[Select[Any], Update]:
    """Built once per dialect: composing them anew costs more CPU than running them.

    The candidates come from two index range scans on ``(state, due_at)``: leases that ran out
    (few: at most the attempts in flight), then pending jobs in due order. Finished jobs, however
    many have piled up, are never read.
    """
    jobs = NotificationJob.__table__
    now = bindparam("now")
    in_flight = jobs.alias("in_flight")
    # One attempt at a time per channel: a receiver that is slow or down holds one sender, not all.
    # NOT IN a subquery is one hashed set of the channels in flight, looked up per candidate; a
    # correlated NOT EXISTS would scan the jobs in flight again for every candidate.
    busy_channels = select(in_flight.c.channel_id).where(
        in_flight.c.state == "delivering", in_flight.c.locked_until >= now
    )
    expired = (
        select(jobs.c.id, jobs.c.channel_id, jobs.c.due_at)
        .where(
            jobs.c.state == "delivering",
            jobs.c.locked_until < now,
            jobs.c.channel_id.not_in(busy_channels),
        )
        .order_by(jobs.c.due_at)
        .limit(bindparam("scan"))
    )
    pending = (
        select(jobs.c.id, jobs.c.channel_id, jobs.c.due_at)
        .where(jobs.c.state == "pending", jobs.c.due_at <= now, jobs.c.channel_id.not_in(busy_channels))
        .order_by(jobs.c.due_at)
        .limit(bindparam("scan"))
    )
    if dialect == "postgresql":
        expired = expired.with_for_update(skip_locked=True)
        pending = pending.with_for_update(skip_locked=True)
    first, second = expired.cte("expired"), pending.cte("pending")
    candidates = select(first.c.id, first.c.channel_id).union_all(select(second.c.id, second.c.channel_id))
    lease = (
        update(jobs)
        .where(jobs.c.id.in_(bindparam("ids", expanding=True)))
        .values(
            state="delivering",
            locked_until=bindparam("locked_until"),
            locked_by=bindparam("holder"),
            attempts=jobs.c.attempts + 1,
        )
        .returning(
            jobs.c.id,
            jobs.c.channel_id,
            jobs.c.kind,
            jobs.c.changes_since,
            jobs.c.webhook_id,
            jobs.c.attempts,
        )
    )
    return select(candidates.subquery()), lease


def claim(session: Session, now: datetime, limit: int, lease: timedelta, holder: str) -> list[Row[Any]]:
    """Due jobs, and jobs whose worker's lease ran out, marked as being delivered by the caller.

    At most one job per channel, and none of a channel that has an attempt in flight. Rows carry
    ``id``, ``channel_id``, ``kind``, ``changes_since``, ``webhook_id`` and ``attempts`` (this
    attempt's number); leases that ran out first, then oldest due first.
    """
    candidates, take = _claim_statements(session.get_bind().dialect.name)
    connection = session.connection()
    picked: dict[str, int] = {}
    # A channel may have a verification and a change due at once: scan past the duplicates.
    for job_id, channel_id in connection.execute(candidates, {"now": now, "scan": limit * 4}):
        if channel_id not in picked:
            picked[channel_id] = job_id
            if len(picked) == limit:
                break
    if not picked:
        return []
    order = {job_id: i for i, job_id in enumerate(picked.values())}
    claimed = connection.execute(
        take, {"ids": list(order), "locked_until": now + lease, "holder": holder}
    ).all()
    return sorted(claimed, key=lambda row: order[row.id])


@functools.cache
def _record_statements() -> tuple[Select[Any], Insert, Update, Update]:
    """Built once, like the claim's: the target and the result of every attempt."""
    jobs, channels = NotificationJob.__table__, Channel.__table__
    ids = bindparam("ids", expanding=True)
    targets = (
        select(
            Channel.id,
            Channel.callback_url,
            Channel.only_managed,
            Channel.calendar_ids,
            Channel.closed_at,
            Application.secret_encrypted,
        )
        .join(Application, Application.id == Channel.application_id)
        .where(Channel.id.in_(ids))
    )
    end = (
        update(jobs)
        .where(jobs.c.id.in_(ids))
        .values(state=bindparam("state"), finished_at=bindparam("now"), locked_until=None)
    )
    clear = (
        update(channels)
        .where(channels.c.id.in_(ids), channels.c.failing_since.is_not(None))
        .values(failing_since=None)
    )
    return targets, insert(Delivery.__table__), end, clear


def delivery_targets(session: Session, channel_ids: Sequence[str]) -> dict[str, Row[Any]]:
    """Per channel: what a notification needs of it and the encrypted secret that signs it."""
    targets = _record_statements()[0]
    return {row.id: row for row in session.connection().execute(targets, {"ids": list(channel_ids)})}


def end_jobs(session: Session, job_ids: Sequence[int], state: str, now: datetime) -> None:
    """Jobs finished for good (``done``, ``dropped``), their leases released."""
    if job_ids:
        end = _record_statements()[2]
        session.connection().execute(end, {"ids": list(job_ids), "state": state, "now": now})


def record_attempts(session: Session, attempts: Sequence[dict[str, Any]]) -> None:
    """Delivery rows, one per attempt, in one statement."""
    if attempts:
        session.connection().execute(_record_statements()[1], list(attempts))


def clear_failing(session: Session, channel_ids: Sequence[str]) -> None:
    """The channels' receivers answered: they are no longer failing."""
    if channel_ids:
        session.connection().execute(_record_statements()[3], {"ids": list(channel_ids)})


def leases_held_on(session: Session, host: str) -> list[NotificationJob]:
    """Jobs being delivered by a worker on ``host`` (any process)."""
    return list(
        session.scalars(
            select(NotificationJob).where(
                NotificationJob.state == "delivering", NotificationJob.locked_by.like(f"{host}:%")
            )
        )
    )
