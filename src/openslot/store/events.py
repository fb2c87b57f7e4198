"""Event queries: the window read behind read events and free/busy, with keyset pagination."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Dialect,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import UserDefinedType

from openslot.store.models import BUSY_EVENT_CONDITION, Event, EventMove
from openslot.store.types import UTCDateTime, epoch_seconds

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


# The window read is one of a few hundred statement shapes at most (which filters a request asks
# for), each built once with its values as parameters: building a statement and its cache key per
# request cost more CPU than running it. The parameters are named after ``_window_values``'s keys.


def _overlaps(start: Any, end: Any, all_day: Any) -> ColumnElement[bool]:
    return or_(
        and_(all_day.is_(False), start < bindparam("instant_to"), end >= bindparam("instant_from")),
        and_(all_day.is_(True), start < bindparam("date_to"), end > bindparam("date_from")),
    )


def _in_window(include_moved: bool) -> ColumnElement[bool]:
    current = and_(
        Event.start_at >= bindparam("earliest_start"), _overlaps(Event.start_at, Event.end_at, Event.all_day)
    )
    if not include_moved:
        return current
    moved_here = select(EventMove.event_uid).where(
        _overlaps(EventMove.start_at, EventMove.end_at, EventMove.all_day)
    )
    return or_(current, Event.uid.in_(moved_here))


@dataclass(frozen=True)
class _Shape:
    """What decides the text of a window read; everything else is a parameter."""

    managed: Managed
    managed_unbounded: bool
    include_deleted: bool
    include_moved: bool
    modified_since: bool
    busy_only: bool
    after: bool
    free_busy_columns: bool
    counted: bool


def _conditions(shape: _Shape) -> list[ColumnElement[bool]]:
    mine = Event.application_id == bindparam("application_id")
    not_mine = or_(Event.application_id.is_(None), Event.application_id != bindparam("application_id"))
    in_window = _in_window(shape.include_moved)
    conditions: list[ColumnElement[bool]] = [
        Event.account_id == bindparam("account_id"),
        Event.calendar_id.in_(bindparam("calendar_ids", expanding=True)),
    ]
    if shape.managed == "only":
        conditions.append(mine)
        if not shape.managed_unbounded:
            conditions.append(in_window)
    elif shape.managed == "include" and shape.managed_unbounded:
        conditions.append(or_(mine, and_(not_mine, in_window)))
    else:
        conditions.append(in_window)
        if shape.managed == "exclude":
            conditions.append(not_mine)
    if not shape.include_deleted:
        conditions.append(Event.deleted.is_(False))
    if shape.modified_since:
        conditions.append(Event.updated_at >= bindparam("last_modified"))
    if shape.busy_only:
        conditions.append(Event.transparency != "transparent")
        conditions.append(Event.status != "cancelled")
    return conditions


# Read by position in services.event_reads._free_busy_view: keep the order.
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


@functools.cache
def _page_statement(shape: _Shape) -> Select[Any]:
    columns = FREE_BUSY_COLUMNS if shape.free_busy_columns else tuple(Event.__table__.c)
    selected = [*columns, func.count().over().label("matching")] if shape.counted else columns
    query = select(*selected).where(*_conditions(shape))
    if shape.after:
        after_start = bindparam("after_start", type_=UTCDateTime)
        query = query.where(
            or_(
                Event.start_at > after_start,
                and_(Event.start_at == after_start, Event.uid > bindparam("after_uid")),
            )
        )
    return query.order_by(Event.start_at, Event.uid).limit(bindparam("limit", type_=Integer))


def _window_values(window: EventWindow, limit: int, after: tuple[datetime, str] | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "account_id": window.account_id,
        "calendar_ids": list(window.calendar_ids),
        "application_id": window.application_id,
        "instant_from": window.instant_from,
        "instant_to": window.instant_to,
        "date_from": window.date_from,
        "date_to": window.date_to,
        # an event overlapping the window starts at most the calendars' longest event before it
        "earliest_start": min(window.instant_from, window.date_from) - timedelta(seconds=window.max_span),
        "last_modified": window.last_modified,
        "limit": limit,
    }
    if after is not None:
        values["after_start"], values["after_uid"] = after
    return values


def page_of_events(
    session: Session,
    window: EventWindow,
    limit: int,
    after: tuple[datetime, str] | None = None,
    free_busy_columns: bool = False,
    counted: bool = False,
) -> list[Any]:
    """Rows (every column of the event, or ``FREE_BUSY_COLUMNS``) in start order, after the keyset
    cursor ``after``.

    ``counted`` adds ``matching``, the number of rows in the whole window, to every row: the first
    page learns how many pages there are in the same round trip.
    """
    shape = _Shape(
        managed=window.managed,
        managed_unbounded=window.managed_unbounded,
        include_deleted=window.include_deleted,
        include_moved=window.include_moved,
        modified_since=window.last_modified is not None,
        busy_only=window.busy_only,
        after=after is not None,
        free_busy_columns=free_busy_columns,
        counted=counted,
    )
    statement = _page_statement(shape)
    return list(session.connection().execute(statement, _window_values(window, limit, after)).all())


def managed_event(session: Session, calendar_id: str, application_id: str, event_id: str) -> Event | None:
    return session.scalar(
        select(Event).where(
            Event.calendar_id == calendar_id,
            Event.application_id == application_id,
            Event.event_id == event_id,
        )
    )


# (calendar_id, application_id, start, end, all_day); a row of the query, which unpacks as a tuple.
BusyRow = Row[str, str | None, int, int, bool]


class _Instants(UserDefinedType[list[int]]):
    """Epoch seconds written into a PostgreSQL statement as a constant ``timestamptz[]``.

    A constant rather than a parameter: PostgreSQL folds ``to_timestamp`` of a number at planning
    and then searches the array in place, while a parameter's array is copied for every row once a
    prepared statement goes generic.
    """

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "TIMESTAMPTZ[]"

    def literal_processor(self, dialect: Dialect) -> Callable[[list[int]], str]:
        def process(value: list[int]) -> str:
            return "ARRAY[" + ", ".join(f"to_timestamp({int(instant)})" for instant in value) + "]"

        return process


def _overlaps_any(start: Any, end: Any) -> ColumnElement[bool]:
    """Whether ``[start, end)`` shares an instant with the sorted, disjoint intervals whose ends are
    the parameter ``within`` (``[b0, b1), [b2, b3), …`` flattened), by binary search in the database.

    ``width_bucket`` counts the bounds at or below a value, so a value lies inside an interval exactly
    when that count is odd; a span starting in a gap reaches the next interval when its last instant
    (a microsecond before its end) counts more bounds than its start. Comparing timestamps directly
    saves converting every row to epoch seconds.
    """
    bounds = bindparam("within", type_=_Instants(), literal_execute=True)
    first = func.width_bucket(start, bounds)
    last = func.width_bucket(end - literal_column("interval '1 microsecond'"), bounds)
    return or_(first % 2 == 1, last > first)


_EVENT_START = epoch_seconds(Event.start_at)
_EVENT_END = epoch_seconds(Event.end_at)
# Constant statements, built once; the values travel as parameters.
_BUSY_EVENTS = select(Event.calendar_id, Event.application_id, _EVENT_START, _EVENT_END, Event.all_day).where(
    Event.calendar_id.in_(bindparam("calendar_ids", expanding=True)),
    Event.start_at >= bindparam("earliest_start", type_=UTCDateTime),
    Event.start_at < bindparam("end", type_=UTCDateTime),
    Event.end_at > bindparam("start", type_=UTCDateTime),
    # The very terms of the partial index ``ix_events_busy``, as constants, so that every plan can use it.
    text(BUSY_EVENT_CONDITION),
)
# All-day events become instants only in the reader's zone, so they are always read.
_BUSY_ALL_DAY = _BUSY_EVENTS.where(Event.all_day.is_(True))
_BUSY_WITHIN = _BUSY_EVENTS.where(or_(Event.all_day.is_(True), _overlaps_any(Event.start_at, Event.end_at)))


def busy_events(
    session: Session,
    calendar_ids: Sequence[str],
    start: datetime,
    end: datetime,
    max_span: int,
    within: Sequence[tuple[int, int]] | None = None,
) -> Sequence[BusyRow]:
    """Blocking events of the calendars overlapping ``[start, end)``, widened by a day for all-day ones.

    Rows that unpack as tuples ``(calendar_id, application_id, start, end, all_day)`` with
    ``start``/``end`` in epoch seconds; transparent, cancelled and deleted events are left out here
    already. ``max_span`` is the longest event of these calendars (``Calendar.max_event_seconds``).
    ``within`` (sorted, disjoint epoch-second intervals) tells that timed events elsewhere do not
    matter to the caller: PostgreSQL leaves them out, which saves sending and reading most rows when
    only working hours count.
    """
    if not calendar_ids:
        return []
    margin = timedelta(days=1)
    params: dict[str, Any] = {
        "calendar_ids": list(calendar_ids),
        "earliest_start": start - margin - timedelta(seconds=max_span),
        "end": end + margin,
        "start": start - margin,
    }
    query = _BUSY_EVENTS
    if within is not None and session.get_bind().dialect.name == "postgresql":
        params["within"] = [instant for interval in within for instant in interval]
        query = _BUSY_WITHIN if params["within"] else _BUSY_ALL_DAY
    return session.connection().execute(query, params).all()
