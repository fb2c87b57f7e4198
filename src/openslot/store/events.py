"""Event queries: the window read behind read events and free/busy, with keyset pagination."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from openslot.store.models import Calendar, Event, EventMove
from openslot.store.types import epoch_seconds

Managed = Literal["exclude", "include", "only"]


@dataclass(frozen=True)
class EventWindow:
    """Which events a read selects.

    Timed events are selected when they start before ``instant_to`` and end on or after
    ``instant_from``; all-day events (stored as UTC midnights) when their dates overlap
    ``[date_from, date_to)``. Managed events are the caller's application's own.
    """

    account_id: str
    calendar_ids: tuple[str, ...]
    application_id: str
    instant_from: datetime
    instant_to: datetime
    date_from: datetime
    date_to: datetime
    managed: Managed = "exclude"
    managed_unbounded: bool = False
    include_deleted: bool = False
    include_moved: bool = False
    last_modified: datetime | None = None
    busy_only: bool = False
    # The longest event of these calendars (``Calendar.max_event_seconds``): how far before the window
    # an overlapping event can start.
    max_span: int = 0


def _overlaps(window: EventWindow, start: Any, end: Any, all_day: Any) -> ColumnElement[bool]:
    return or_(
        and_(all_day.is_(False), start < window.instant_to, end >= window.instant_from),
        and_(all_day.is_(True), start < window.date_to, end > window.date_from),
    )


def _in_window(window: EventWindow, max_span: int) -> ColumnElement[bool]:
    earliest = min(window.instant_from, window.date_from) - timedelta(seconds=max_span)
    current = and_(Event.start_at >= earliest, _overlaps(window, Event.start_at, Event.end_at, Event.all_day))
    if not window.include_moved:
        return current
    moved_here = select(EventMove.event_uid).where(
        _overlaps(window, EventMove.start_at, EventMove.end_at, EventMove.all_day)
    )
    return or_(current, Event.uid.in_(moved_here))


def _conditions(window: EventWindow) -> list[ColumnElement[bool]]:
    mine = Event.application_id == window.application_id
    not_mine = or_(Event.application_id.is_(None), Event.application_id != window.application_id)
    in_window = _in_window(window, window.max_span)
    conditions: list[ColumnElement[bool]] = [
        Event.account_id == window.account_id,
        Event.calendar_id.in_(window.calendar_ids),
    ]
    if window.managed == "only":
        conditions.append(mine)
        if not window.managed_unbounded:
            conditions.append(in_window)
    elif window.managed == "include" and window.managed_unbounded:
        conditions.append(or_(mine, and_(not_mine, in_window)))
    else:
        conditions.append(in_window)
        if window.managed == "exclude":
            conditions.append(not_mine)
    if not window.include_deleted:
        conditions.append(Event.deleted.is_(False))
    if window.last_modified is not None:
        conditions.append(Event.updated_at >= window.last_modified)
    if window.busy_only:
        conditions.append(Event.transparency != "transparent")
        conditions.append(Event.status != "cancelled")
    return conditions


def longest_event(session: Session, calendar_ids: Sequence[str]) -> int:
    query = select(func.max(Calendar.max_event_seconds)).where(Calendar.id.in_(calendar_ids))
    return int(session.scalar(query) or 0)


def count_events(session: Session, window: EventWindow) -> int:
    query = select(func.count()).select_from(Event).where(*_conditions(window))
    return int(session.connection().execute(query).scalar() or 0)


FREE_BUSY_COLUMNS = (
    Event.uid,
    Event.calendar_id,
    Event.start_at,
    Event.end_at,
    Event.all_day,
    Event.start_tzid,
    Event.end_tzid,
    Event.status,
)


def page_of_events(
    session: Session,
    window: EventWindow,
    limit: int,
    after: tuple[datetime, str] | None = None,
    columns: Sequence[Any] = tuple(Event.__table__.c),
) -> list[Any]:
    """Rows (with the named columns) in start order, after the keyset cursor ``after``."""
    query = select(*columns).where(*_conditions(window))
    if after is not None:
        start, uid = after
        query = query.where(or_(Event.start_at > start, and_(Event.start_at == start, Event.uid > uid)))
    query = query.order_by(Event.start_at, Event.uid).limit(limit)
    return list(session.connection().execute(query).all())


def managed_event(session: Session, calendar_id: str, application_id: str, event_id: str) -> Event | None:
    return session.scalar(
        select(Event).where(
            Event.calendar_id == calendar_id,
            Event.application_id == application_id,
            Event.event_id == event_id,
        )
    )


def busy_events(
    session: Session,
    calendar_ids: Sequence[str],
    start: datetime,
    end: datetime,
) -> list[Any]:
    """Blocking events of the calendars overlapping ``[start, end)``, widened by a day for all-day ones.

    Rows of ``(calendar_id, application_id, start, end, all_day, status)`` with ``start``/``end`` in
    epoch seconds; transparent, cancelled and deleted events are left out here already.
    """
    if not calendar_ids:
        return []
    margin = timedelta(days=1)
    max_span = (
        session.scalar(select(func.max(Calendar.max_event_seconds)).where(Calendar.id.in_(calendar_ids))) or 0
    )
    query = select(
        Event.calendar_id,
        Event.application_id,
        epoch_seconds(Event.start_at).label("start"),
        epoch_seconds(Event.end_at).label("end"),
        Event.all_day,
        Event.status,
    ).where(
        Event.calendar_id.in_(calendar_ids),
        Event.start_at >= start - margin - timedelta(seconds=int(max_span)),
        Event.start_at < end + margin,
        Event.end_at > start - margin,
        Event.deleted.is_(False),
        Event.transparency != "transparent",
        Event.status != "cancelled",
    )
    return list(session.connection().execute(query).all())
