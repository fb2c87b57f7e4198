"""Reading events and free/busy (reference §4.2, §4.8): windows in a zone, filters and pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import Field

from openslot.engine import times
from openslot.engine.errors import InvalidValue
from openslot.services import authorization, paging, scopes
from openslot.services.context import Bearer, Caller, ServiceContext
from openslot.services.errors import Forbidden, NotFound, ValidationFailed
from openslot.services.validation import Lenient, TzId, validate
from openslot.store.events import (
    EventWindow,
    Managed,
    page_of_events,
)

T = TypeVar("T")

DEFAULT_DAYS_BEFORE = 42
DEFAULT_DAYS_AFTER = 201
MAX_CALENDAR_IDS = 100


class ReadQuery(Lenient):
    tzid: TzId
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    include_deleted: bool = False
    include_moved: bool = False
    last_modified: str | None = None
    include_managed: bool = False
    only_managed: bool = False
    include_geo: bool = False
    localized_times: bool = False
    calendar_ids: list[str] | None = Field(default=None, min_length=1, max_length=MAX_CALENDAR_IDS)


@dataclass(frozen=True)
class EventView:
    uid: str
    calendar_id: str
    event_id: str | None
    summary: str
    description: str
    start: datetime | date
    end: datetime | date
    start_tzid: str
    end_tzid: str
    deleted: bool
    created: datetime
    updated: datetime
    transparency: str
    status: str
    details: dict[str, Any]


class FreeBusyView(NamedTuple):
    """A busy block (a named tuple: a page builds a hundred of them)."""

    calendar_id: str
    start: datetime | date
    end: datetime | date
    start_tzid: str
    end_tzid: str
    status: str


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    current: int
    total: int
    next_token: str | None
    localized_times: bool
    include_geo: bool


def _as_date(moment: datetime) -> date:
    return moment.date()


def _utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _bound(
    value: str | None, field: str, tzid: str, default: date, *, upper: bool
) -> tuple[datetime, datetime]:
    """(instant bound for timed events, UTC-midnight date bound for all-day events)."""
    try:
        parsed: datetime | date = times.parse_time_or_date(value) if value is not None else default
    except InvalidValue as exc:
        raise ValidationFailed.single(
            field, exc.key.removeprefix("errors."), f"{field}: {exc.description}"
        ) from exc
    if not isinstance(parsed, datetime):
        return times.start_of_day(parsed, tzid), _utc_midnight(parsed)
    local = times.to_local(parsed, tzid)
    day = local.date()
    if upper and local.replace(tzinfo=None) != datetime(day.year, day.month, day.day):
        day += timedelta(days=1)  # an all-day event on the day the window ends inside still overlaps it
    return parsed, _utc_midnight(day)


def _window(
    ctx: ServiceContext, caller: Caller, spans: dict[str, int], query: ReadQuery, *, busy_only: bool
) -> EventWindow:
    today = times.to_local(ctx.clock.now(), query.tzid).date()
    instant_from, date_from = _bound(
        query.from_, "from", query.tzid, today - timedelta(days=DEFAULT_DAYS_BEFORE), upper=False
    )
    instant_to, date_to = _bound(
        query.to, "to", query.tzid, today + timedelta(days=DEFAULT_DAYS_AFTER), upper=True
    )
    if instant_to <= instant_from:
        raise ValidationFailed.single("to", "invalid", "to must be after from")
    last_modified = None
    if query.last_modified is not None:
        try:
            last_modified = times.parse_instant(query.last_modified)
        except InvalidValue as exc:
            raise ValidationFailed.single("last_modified", "invalid", exc.description) from exc
    if query.calendar_ids is not None:
        if not spans.keys() >= set(query.calendar_ids):
            raise NotFound("calendar not found")
        calendar_ids = tuple(dict.fromkeys(query.calendar_ids))
    else:
        calendar_ids = tuple(sorted(spans))
    max_span = max((spans[calendar_id] for calendar_id in calendar_ids), default=0)
    managed: Managed = "only" if query.only_managed else "include" if query.include_managed else "exclude"
    explicit_window = query.from_ is not None or query.to is not None
    return EventWindow(
        account_id=caller.account_id,
        calendar_ids=calendar_ids,
        application_id=caller.application_id,
        instant_from=instant_from,
        instant_to=instant_to,
        date_from=date_from,
        date_to=date_to,
        managed=managed,
        managed_unbounded=not explicit_window,
        include_deleted=query.include_deleted,
        include_moved=query.include_moved,
        last_modified=last_modified,
        busy_only=busy_only,
        max_span=max_span,
    )


def _window_to_json(window: EventWindow) -> dict[str, Any]:
    return {
        "calendar_ids": list(window.calendar_ids),
        "instant_from": window.instant_from.isoformat(),
        "instant_to": window.instant_to.isoformat(),
        "date_from": window.date_from.isoformat(),
        "date_to": window.date_to.isoformat(),
        "managed": window.managed,
        "managed_unbounded": window.managed_unbounded,
        "include_deleted": window.include_deleted,
        "include_moved": window.include_moved,
        "last_modified": window.last_modified.isoformat() if window.last_modified else None,
        "busy_only": window.busy_only,
        "max_span": window.max_span,
    }


def _window_from_json(caller: Caller, data: dict[str, Any]) -> EventWindow:
    return EventWindow(
        account_id=caller.account_id,
        calendar_ids=tuple(data["calendar_ids"]),
        application_id=caller.application_id,
        instant_from=datetime.fromisoformat(data["instant_from"]),
        instant_to=datetime.fromisoformat(data["instant_to"]),
        date_from=datetime.fromisoformat(data["date_from"]),
        date_to=datetime.fromisoformat(data["date_to"]),
        managed=data["managed"],
        managed_unbounded=data["managed_unbounded"],
        include_deleted=data["include_deleted"],
        include_moved=data["include_moved"],
        last_modified=datetime.fromisoformat(data["last_modified"]) if data["last_modified"] else None,
        busy_only=data["busy_only"],
        max_span=data["max_span"],
    )


def _event_view(event: Any, caller: Caller) -> EventView:
    managed = event.application_id == caller.application_id
    return EventView(
        uid=event.uid,
        calendar_id=event.calendar_id,
        event_id=event.event_id if managed else None,
        summary=event.summary,
        description=event.description,
        start=_as_date(event.start_at) if event.all_day else event.start_at,
        end=_as_date(event.end_at) if event.all_day else event.end_at,
        start_tzid=event.start_tzid,
        end_tzid=event.end_tzid,
        deleted=event.deleted,
        created=event.created_at,
        updated=event.updated_at,
        transparency=event.transparency,
        status=event.status,
        details=dict(event.details or {}),
    )


def _free_busy_view(row: Any, _caller: Caller) -> FreeBusyView:
    # By position, in the order of FREE_BUSY_COLUMNS: a row's attributes cost several times more.
    _, calendar_id, start, end, all_day, start_tzid, end_tzid, status = row[:8]
    return FreeBusyView(
        calendar_id,
        _as_date(start) if all_day else start,
        _as_date(end) if all_day else end,
        start_tzid,
        end_tzid,
        "tentative" if status == "tentative" else "busy",
    )


def _require_scope(caller: Caller, kind: str, window: EventWindow) -> None:
    """Reading only the application's own events needs no read scope (reference §4.2)."""
    if window.managed == "only":
        return
    needed = scopes.READ_EVENTS if kind == "events" else scopes.READ_FREE_BUSY
    if needed not in caller.scopes:
        raise Forbidden(f"this request needs the {needed} scope")


def _first_page(
    ctx: ServiceContext, bearer: Bearer, kind: str, params: dict[str, Any], convert: Any
) -> Page[Any]:
    with ctx.db.read() as session:
        caller, spans = authorization.caller_and_calendar_spans_in(session, ctx, bearer)
        query = validate(ReadQuery, params)
        window = _window(ctx, caller, spans, query, busy_only=kind == "free_busy")
        _require_scope(caller, kind, window)
        state = {
            "window": _window_to_json(window),
            "localized": query.localized_times,
            "geo": query.include_geo,
        }
        rows = page_of_events(
            session, window, paging.PAGE_SIZE + 1, free_busy_columns=kind == "free_busy", counted=True
        )
        total = paging.total_pages(rows[0].matching) if rows else 1
        return _page(ctx, caller, kind, state, rows, 1, total, convert)


def _next_page(ctx: ServiceContext, bearer: Bearer, kind: str, token: str, convert: Any) -> Page[Any]:
    with ctx.db.read() as session:
        caller = authorization.caller_in(session, ctx, bearer)
        state = paging.decode(ctx.secrets, caller, kind, token)
        try:
            window = _window_from_json(caller, state.query["window"])
        except (KeyError, TypeError, ValueError) as exc:  # a token from an older release of the server
            raise NotFound("no such page") from exc
        _require_scope(caller, kind, window)
        after = (datetime.fromisoformat(state.cursor[0]), state.cursor[1])
        free_busy_columns = kind == "free_busy"
        rows = page_of_events(session, window, paging.PAGE_SIZE + 1, after, free_busy_columns)
        return _page(
            ctx, caller, kind, state.query, rows, state.page + 1, max(state.total, state.page + 1), convert
        )


def _page(
    ctx: ServiceContext,
    caller: Caller,
    kind: str,
    state: dict[str, Any],
    rows: list[Any],
    current: int,
    total: int,
    convert: Any,
) -> Page[Any]:
    rows, next_token, total = paging.cut(
        ctx.secrets,
        caller,
        kind,
        rows,
        state,
        current,
        total,
        lambda row: (row.start_at.isoformat(), row.uid),
    )
    return Page(
        items=[convert(row, caller) for row in rows],
        current=current,
        total=total,
        next_token=next_token,
        localized_times=bool(state["localized"]),
        include_geo=bool(state["geo"]),
    )


def read_events(ctx: ServiceContext, bearer: Bearer, params: dict[str, Any]) -> Page[EventView]:
    return _first_page(ctx, bearer, "events", params, _event_view)


def read_events_page(ctx: ServiceContext, bearer: Bearer, token: str) -> Page[EventView]:
    return _next_page(ctx, bearer, "events", token, _event_view)


def free_busy(ctx: ServiceContext, bearer: Bearer, params: dict[str, Any]) -> Page[FreeBusyView]:
    return _first_page(ctx, bearer, "free_busy", params, _free_busy_view)


def free_busy_page(ctx: ServiceContext, bearer: Bearer, token: str) -> Page[FreeBusyView]:
    return _next_page(ctx, bearer, "free_busy", token, _free_busy_view)
