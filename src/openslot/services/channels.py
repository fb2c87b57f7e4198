"""Push notification channels (reference §7.1–7.3)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openslot.integrations.callbacks import CallbackRefused
from openslot.services import scopes
from openslot.services.context import Caller, ServiceContext
from openslot.services.errors import Forbidden, NotFound, ValidationFailed
from openslot.services.validation import Lenient, validate
from openslot.store import outbox, repos
from openslot.store.models import Channel, Delivery
from openslot.store.types import hex_id

MAX_CALLBACK_URL = 128
MAX_OPEN_CHANNELS = 50


class Filters(Lenient):
    calendar_ids: list[str] | None = Field(default=None, min_length=1, max_length=100)
    only_managed: bool = False


class ChannelBody(Lenient):
    callback_url: str = Field(min_length=1, max_length=MAX_CALLBACK_URL)
    filters: Filters = Field(default_factory=Filters)


@dataclass(frozen=True)
class ChannelView:
    channel_id: str
    callback_url: str
    calendar_ids: list[str] | None
    only_managed: bool


def channel_json(channel: ChannelView) -> dict[str, Any]:
    """The channel as Cronofy shows it, in API responses and in notification bodies alike."""
    filters: dict[str, Any] = {}
    if channel.calendar_ids is not None:
        filters["calendar_ids"] = channel.calendar_ids
    filters["only_managed"] = channel.only_managed
    return {"channel_id": channel.channel_id, "callback_url": channel.callback_url, "filters": filters}


def view(channel: Any) -> ChannelView:
    calendar_ids = list(channel.calendar_ids) if channel.calendar_ids is not None else None
    return ChannelView(channel.id, channel.callback_url, calendar_ids, channel.only_managed)


def create_channel(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> ChannelView:
    body = validate(ChannelBody, params)
    if scopes.READ_EVENTS not in caller.scopes and not body.filters.only_managed:
        raise Forbidden("a channel needs the read_events scope, or the only_managed filter")
    try:
        ctx.callbacks.check(body.callback_url, resolve=False)
    except CallbackRefused as exc:
        raise ValidationFailed.single("callback_url", "invalid", f"callback_url {exc.reason}") from exc
    calendar_ids = list(dict.fromkeys(body.filters.calendar_ids)) if body.filters.calendar_ids else None
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        if calendar_ids is not None:
            own = {c.id for c in repos.calendars_of(session, caller.account_id)}
            if not set(calendar_ids) <= own:
                raise ValidationFailed.single(
                    "filters", "not_found", "a calendar in filters.calendar_ids was not found"
                )
        open_channels = list(
            session.scalars(
                select(Channel).where(
                    Channel.account_id == caller.account_id,
                    Channel.application_id == caller.application_id,
                    Channel.closed_at.is_(None),
                )
            )
        )
        for existing in open_channels:
            same = (existing.callback_url, existing.calendar_ids, existing.only_managed)
            if same == (body.callback_url, calendar_ids, body.filters.only_managed):
                return view(existing)
        if _open_count(session, caller.account_id) >= MAX_OPEN_CHANNELS:
            raise ValidationFailed.single(
                "callback_url", "too_many", f"an account may have at most {MAX_OPEN_CHANNELS} open channels"
            )
        channel = Channel(
            id=hex_id("chn"),
            account_id=caller.account_id,
            application_id=caller.application_id,
            callback_url=body.callback_url,
            only_managed=body.filters.only_managed,
            calendar_ids=calendar_ids,
            created_at=now,
        )
        session.add(channel)
        session.flush()
        outbox.enqueue(session, [channel.id], "verification", now)
        return view(channel)


def _open_count(session: Session, account_id: str) -> int:
    query = (
        select(func.count())
        .select_from(Channel)
        .where(Channel.account_id == account_id, Channel.closed_at.is_(None))
    )
    return int(session.scalar(query) or 0)


def list_channels(ctx: ServiceContext, caller: Caller) -> list[ChannelView]:
    with ctx.db.read() as session:
        channels = session.scalars(
            select(Channel)
            .where(
                Channel.account_id == caller.account_id,
                Channel.application_id == caller.application_id,
                Channel.closed_at.is_(None),
            )
            .order_by(Channel.created_at, Channel.id)
        )
        return [view(channel) for channel in channels]


def close_channel(ctx: ServiceContext, caller: Caller, channel_id: str) -> None:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        channel = session.get(Channel, channel_id)
        if (
            channel is None
            or channel.account_id != caller.account_id
            or channel.application_id != caller.application_id
            or channel.closed_at is not None
        ):
            raise NotFound("channel not found")
        channel.closed_at = now
        channel.closed_reason = "closed by the application"


def record_change(
    session: Session, account_id: str, calendar_ids: Iterable[str], managed_by: str | None, at: datetime
) -> None:
    """Queue a change notification for every open channel of the account that covers the change.

    Runs in the transaction of the change itself, so the notification exists exactly when the
    change does.
    """
    changed = set(calendar_ids)
    targets = [
        channel.id
        for channel in outbox.open_channels_for(session, account_id)
        if (channel.calendar_ids is None or changed.intersection(channel.calendar_ids))
        and (not channel.only_managed or channel.application_id == managed_by)
    ]
    outbox.enqueue(session, targets, "change", at)


def deliveries(ctx: ServiceContext, channel_id: str, limit: int) -> tuple[Channel, list[Delivery]]:
    """A channel and its most recent delivery attempts (operators' view; not scoped to a caller)."""
    with ctx.db.read() as session:
        channel = session.get(Channel, channel_id)
        if channel is None:
            raise NotFound("channel not found")
        attempts = list(
            session.scalars(
                select(Delivery)
                .where(Delivery.channel_id == channel_id)
                .order_by(Delivery.attempted_at.desc(), Delivery.id.desc())
                .limit(limit)
            )
        )
        return channel, attempts
