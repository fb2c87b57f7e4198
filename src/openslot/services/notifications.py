"""Delivering the outbox: what to send for a job, and what an attempt's outcome means.

No transaction is open while a notification is on the wire: ``claim`` commits the lease, the caller
sends, and ``record`` commits the result.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from openslot.engine import times
from openslot.integrations.webhooks import Attempt
from openslot.services.channels import channel_json, view
from openslot.services.context import ServiceContext
from openslot.store import outbox
from openslot.store.models import Application, Channel, Delivery, NotificationJob

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


def payload(channel: Channel, job: NotificationJob) -> bytes:
    """The notification body of reference §7.4, serialised once: these exact bytes are signed and sent."""
    notification: dict[str, str] = {"type": job.kind}
    if job.changes_since is not None:
        notification["changes_since"] = times.format_instant(job.changes_since)
    body = {"notification": notification, "channel": channel_json(view(channel))}
    return json.dumps(body, separators=(",", ":")).encode()


def claim(ctx: ServiceContext, limit: int, attempt_timeout: float, holder: str) -> list[Outgoing]:
    """Lease up to ``limit`` due jobs, at most one per channel, and prepare their requests."""
    now = ctx.clock.now()
    ready: list[Outgoing] = []
    with ctx.db.transaction() as session:
        lease = timedelta(seconds=attempt_timeout + LEASE_MARGIN)
        for job in outbox.claim(session, now, limit, lease, holder):
            channel = session.get(Channel, job.channel_id)
            if channel is None or channel.closed_at is not None:
                job.state, job.finished_at = "dropped", now
                continue
            application = session.get(Application, channel.application_id)
            assert application is not None
            ready.append(
                Outgoing(
                    job_id=job.id,
                    channel_id=channel.id,
                    callback_url=channel.callback_url,
                    body=payload(channel, job),
                    secrets=(ctx.secrets.decrypt(application.secret_encrypted),),
                    webhook_id=job.webhook_id,
                    attempt=job.attempts,
                )
            )
    return ready


def _retry_delay(attempts: int, retry_after: float | None) -> float:
    step = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
    delay = step * random.uniform(1 - JITTER, 1 + JITTER)
    return max(delay, retry_after or 0.0)


def record(ctx: ServiceContext, sent: Outgoing, attempt: Attempt) -> None:
    """Store the attempt and decide what follows: done, a later retry, or a closed channel."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        session.add(
            Delivery(
                job_id=sent.job_id,
                channel_id=sent.channel_id,
                attempt=sent.attempt,
                attempted_at=now,
                duration_ms=attempt.duration_ms,
                status_code=attempt.status_code,
                outcome=attempt.outcome,
                detail=attempt.detail,
            )
        )
        job = session.get(NotificationJob, sent.job_id)
        channel = session.get(Channel, sent.channel_id)
        assert job is not None and channel is not None
        if attempt.delivered:
            job.state, job.finished_at, job.locked_until = "done", now, None
            channel.failing_since = None
            return
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
