"""Delivering the outbox: what to send for a job, and what an attempt's outcome means.

No transaction is open while a notification is on the wire: ``claim`` commits the lease, the caller
sends, and ``record`` commits the result.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from openslot.engine import times
from openslot.integrations.webhooks import Attempt
from openslot.services.channels import ChannelView, channel_json, view
from openslot.services.context import ServiceContext
from openslot.store import outbox
from openslot.store.models import Channel, NotificationJob

# A lease outlasts the attempt it covers: the attempt's timeout plus this margin.
LEASE_MARGIN = 45.0
# Seconds to wait after the 1st, 2nd, … failed attempt; the last step repeats until the channel's
# failure horizon closes it. About 27 hours in all before the repeating step.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2


@dataclass(frozen=True)
class Outgoing:
    job_id: int
    channel_id: str
    callback_url: str
    body: bytes
    secrets: tuple[str, ...]
    webhook_id: str
    attempt: int


def payload(channel: ChannelView, kind: str, changes_since: datetime | None) -> bytes:
    """The notification body of reference §7.4, serialised once: these exact bytes are signed and sent."""
    notification: dict[str, str] = {"type": kind}
    if changes_since is not None:
        notification["changes_since"] = times.format_instant(changes_since)
    body = {"notification": notification, "channel": channel_json(channel)}
    return json.dumps(body, separators=(",", ":")).encode()


def claim(ctx: ServiceContext, limit: int, attempt_timeout: float, holder: str) -> list[Outgoing]:
    """Lease up to ``limit`` due jobs, at most one per channel, and prepare their requests."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        return _claim(ctx, session, now, limit, attempt_timeout, holder)


def _claim(
    ctx: ServiceContext, session: Session, now: datetime, limit: int, attempt_timeout: float, holder: str
) -> list[Outgoing]:
    lease = timedelta(seconds=attempt_timeout + LEASE_MARGIN)
    jobs = outbox.claim(session, now, limit, lease, holder)
    if not jobs:
        return []
    targets = outbox.delivery_targets(session, list({job.channel_id for job in jobs}))
    ready: list[Outgoing] = []
    dropped: list[int] = []
    for job in jobs:
        channel = targets.get(job.channel_id)
        if channel is None or channel.closed_at is not None:
            dropped.append(job.id)
            continue
        ready.append(
            Outgoing(
                job_id=job.id,
                channel_id=channel.id,
                callback_url=channel.callback_url,
                body=payload(view(channel), job.kind, job.changes_since),
                secrets=(ctx.secrets.decrypt_cached(channel.secret_encrypted),),
                webhook_id=job.webhook_id,
                attempt=job.attempts,
            )
        )
    outbox.end_jobs(session, dropped, "dropped", now)
    return ready


def _retry_delay(attempts: int, retry_after: float | None) -> float:
    step = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
    delay = step * random.uniform(1 - JITTER, 1 + JITTER)
    return max(delay, retry_after or 0.0)


def record(ctx: ServiceContext, sent: Outgoing, attempt: Attempt) -> None:
    """Store the attempt and decide what follows: done, a later retry, or a closed channel."""
    record_all(ctx, [(sent, attempt)])


def record_all(ctx: ServiceContext, finished: Sequence[tuple[Outgoing, Attempt]]) -> None:
    """``record`` for many attempts in one transaction."""
    if finished:
        now = ctx.clock.now()
        with ctx.db.transaction() as session:
            _record(ctx, session, finished, now)


def record_and_claim(
    ctx: ServiceContext,
    finished: Sequence[tuple[Outgoing, Attempt]],
    limit: int,
    attempt_timeout: float,
    holder: str,
) -> list[Outgoing]:
    """``record_all`` then ``claim``, in one transaction: a worker's whole pass costs one commit."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        if finished:
            _record(ctx, session, finished, now)
            # The claim below reads with plain statements, which do not flush the session first.
            session.flush()
        return _claim(ctx, session, now, limit, attempt_timeout, holder) if limit > 0 else []


def _record(
    ctx: ServiceContext, session: Session, finished: Sequence[tuple[Outgoing, Attempt]], now: datetime
) -> None:
    """A few statements for all the attempts and those delivered; the rare failures one by one."""
    outbox.record_attempts(
        session,
        [
            {
                "job_id": sent.job_id,
                "channel_id": sent.channel_id,
                "attempt": sent.attempt,
                "attempted_at": now,
                "duration_ms": attempt.duration_ms,
                "status_code": attempt.status_code,
                "outcome": attempt.outcome,
                "detail": attempt.detail,
            }
            for sent, attempt in finished
        ],
    )
    delivered = [sent for sent, attempt in finished if attempt.delivered]
    outbox.end_jobs(session, [sent.job_id for sent in delivered], "done", now)
    outbox.clear_failing(session, [sent.channel_id for sent in delivered])
    for sent, attempt in finished:
        if not attempt.delivered:
            _record_failure(ctx, session, sent, attempt, now)


def release(ctx: ServiceContext, unsent: Sequence[Outgoing]) -> None:
    """Give back jobs that were claimed but never sent (the worker is stopping): due again at once,
    and the attempt they were claimed for not counted."""
    if not unsent:
        return
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        for sent in unsent:
            job = session.get(NotificationJob, sent.job_id)
            if job is None or job.state != "delivering":
                continue
            job.attempts -= 1
            _retry_later(session, job, now, now)


def _record_failure(
    ctx: ServiceContext, session: Session, sent: Outgoing, attempt: Attempt, now: datetime
) -> None:
    job = session.get(NotificationJob, sent.job_id)
    channel = session.get(Channel, sent.channel_id)
    assert job is not None and channel is not None
    if attempt.outcome == "gone":
        _close(channel, job, now, "the callback answered 410 Gone")
        return
    channel.failing_since = channel.failing_since or now
    if (now - channel.failing_since).total_seconds() >= ctx.webhook_failure_horizon:
        _close(channel, job, now, "deliveries failed continuously past the failure horizon")
        return
    due = now + timedelta(seconds=_retry_delay(job.attempts, attempt.retry_after))
    _retry_later(session, job, now, due)


def _close(channel: Channel, job: NotificationJob, now: datetime, reason: str) -> None:
    channel.closed_at, channel.closed_reason = now, reason
    job.state, job.finished_at, job.locked_until = "dead", now, None


def _retry_later(session: Session, job: NotificationJob, now: datetime, due: datetime) -> None:
    """Back to pending; a change already pending for the channel absorbs this one instead."""
    job.locked_until = None
    if job.kind == "change":
        pending = session.scalar(
            select(NotificationJob).where(
                NotificationJob.channel_id == job.channel_id,
                NotificationJob.kind == "change",
                NotificationJob.state == "pending",
                NotificationJob.id != job.id,
            )
        )
        if pending is not None:
            assert job.changes_since is not None and pending.changes_since is not None
            pending.changes_since = min(pending.changes_since, job.changes_since)
            # The channel is failing: what is pending for it waits out the back-off too.
            pending.due_at = max(pending.due_at, due)
            job.state, job.finished_at = "merged", now
            return
    job.state, job.due_at = "pending", due


def release_orphaned_leases(ctx: ServiceContext, host: str, alive: Callable[[int], bool]) -> int:
    """Put back the jobs leased by workers of this host whose process is gone; returns how many.

    A worker killed mid-delivery leaves its lease behind; without this its channel would wait for
    the lease to run out before anything more is delivered to it.
    """
    now = ctx.clock.now()
    released = 0
    with ctx.db.transaction() as session:
        for job in outbox.leases_held_on(session, host):
            pid = int((job.locked_by or "::").split(":")[1] or 0)
            if pid and not alive(pid):
                _retry_later(session, job, now, now)
                released += 1
    return released
