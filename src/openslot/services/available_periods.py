"""Available periods (reference §6.5–6.7): explicit windows of availability, per account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from openslot.engine import times
from openslot.engine.errors import InvalidValue
from openslot.services import paging
from openslot.services.context import Caller, ServiceContext
from openslot.services.errors import ValidationFailed
from openslot.services.validation import Lenient, TzId, validate
from openslot.store.models import AvailablePeriod

ASCII_ID = r"^[\x21-\x7e]+$"
MAX_PERIOD_SECONDS = 366 * 86400


class PeriodBody(Lenient):
    available_period_id: str = Field(min_length=1, max_length=64, pattern=ASCII_ID)
    start: str | dict[str, Any]
    end: str | dict[str, Any]
    tzid: TzId = "Etc/UTC"


class DeleteBody(Lenient):
    available_period_id: str | None = Field(default=None, min_length=1, max_length=64)
    delete_all: bool | None = None


class ReadQuery(Lenient):
    tzid: TzId | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    localized_times: bool = False


@dataclass(frozen=True)
class PeriodView:
    available_period_id: str
    start: datetime
    end: datetime
    start_tzid: str
    end_tzid: str


@dataclass(frozen=True)
class PeriodPage:
    items: list[PeriodView]
    current: int
    total: int
    next_token: str | None
    localized_times: bool


def _instant(value: str | dict[str, Any], field: str, tzid: str) -> times.EventTime:
    try:
        parsed = times.parse_event_time(value, tzid)
    except InvalidValue as exc:
        raise ValidationFailed({field: [(exc.key, f"{field}: {exc.description}")]}) from exc
    if parsed.is_date:
        raise ValidationFailed.single(field, "invalid", f"{field} must be a Time, not a Date")
    return parsed


def upsert_period_in(session: Session, ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> None:
    body: PeriodBody = validate(PeriodBody, params)
    start = _instant(body.start, "start", body.tzid)
    end = _instant(body.end, "end", body.tzid)
    start_at, end_at = start.value, end.value
    assert isinstance(start_at, datetime) and isinstance(end_at, datetime)
    if end_at <= start_at:
        raise ValidationFailed.single("end", "invalid", "end must be after start")
    if (end_at - start_at).total_seconds() > MAX_PERIOD_SECONDS:
        raise ValidationFailed.single("end", "out_of_range", "a period may last at most 366 days")
    now = ctx.clock.now()
    period = session.scalar(
        select(AvailablePeriod).where(
            AvailablePeriod.account_id == caller.account_id,
            AvailablePeriod.period_id == body.available_period_id,
        )
    )
    if period is None:
        period = AvailablePeriod(
            account_id=caller.account_id, period_id=body.available_period_id, created_at=now
        )
        session.add(period)
    period.start_at, period.end_at = start_at, end_at
    period.start_tzid, period.end_tzid = start.tzid, end.tzid
    period.updated_at = now


def upsert_period(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> None:
    with ctx.db.transaction() as session:
        upsert_period_in(session, ctx, caller, params)


def delete_periods_in(session: Session, caller: Caller, params: dict[str, Any]) -> None:
    body: DeleteBody = validate(DeleteBody, params)
    if body.available_period_id is not None and body.delete_all is not None:
        raise ValidationFailed.single(
            "delete_all", "invalid", "give available_period_id or delete_all, not both"
        )
    query = delete(AvailablePeriod).where(AvailablePeriod.account_id == caller.account_id)
    if body.available_period_id is not None:
        query = query.where(AvailablePeriod.period_id == body.available_period_id)
    elif body.delete_all is not True:
        key = "invalid" if body.delete_all is False else "required"
        raise ValidationFailed.single(
            "available_period_id", key, "available_period_id must be specified, or delete_all true"
        )
    session.execute(query)


def delete_periods(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> None:
    with ctx.db.transaction() as session:
        delete_periods_in(session, caller, params)


def _bounds(query: ReadQuery) -> tuple[datetime | None, datetime | None]:
    if (query.from_ is not None or query.to is not None) and query.tzid is None:
        raise ValidationFailed.single("tzid", "required", "tzid must be specified with from or to")
    bounds: list[datetime | None] = []
    for field, value in (("from", query.from_), ("to", query.to)):
        if value is None:
            bounds.append(None)
            continue
        try:
            parsed = times.parse_time_or_date(value)
        except InvalidValue as exc:
            raise ValidationFailed.single(field, "invalid", f"{field}: {exc.description}") from exc
        assert query.tzid is not None
        bounds.append(parsed if isinstance(parsed, datetime) else times.start_of_day(parsed, query.tzid))
    lower, upper = bounds
    if lower is not None and upper is not None and upper <= lower:
        raise ValidationFailed.single("to", "invalid", "to must be after from")
    return lower, upper


def _conditions(caller: Caller, lower: datetime | None, upper: datetime | None) -> list[Any]:
    conditions: list[Any] = [AvailablePeriod.account_id == caller.account_id]
    if upper is not None:
        conditions.append(AvailablePeriod.start_at < upper)
    if lower is not None:
        conditions.append(AvailablePeriod.end_at >= lower)
        conditions.append(AvailablePeriod.start_at >= lower - timedelta(seconds=MAX_PERIOD_SECONDS))
    return conditions


def _page(
    ctx: ServiceContext,
    caller: Caller,
    state: dict[str, Any],
    current: int,
    total: int,
    after: tuple[str, str] | None,
) -> PeriodPage:
    lower = datetime.fromisoformat(state["from"]) if state["from"] else None
    upper = datetime.fromisoformat(state["to"]) if state["to"] else None
    query = select(AvailablePeriod).where(*_conditions(caller, lower, upper))
    if after is not None:
        start = datetime.fromisoformat(after[0])
        query = query.where(
            or_(
                AvailablePeriod.start_at > start,
                and_(AvailablePeriod.start_at == start, AvailablePeriod.period_id > after[1]),
            )
        )
    query = query.order_by(AvailablePeriod.start_at, AvailablePeriod.period_id).limit(paging.PAGE_SIZE + 1)
    with ctx.db.read() as session:
        if total == 0:
            count = session.scalar(
                select(func.count()).select_from(AvailablePeriod).where(*_conditions(caller, lower, upper))
            )
            total = paging.total_pages(int(count or 0))
        rows = list(session.scalars(query))
    rows, token, total = paging.cut(
        ctx.secrets,
        caller,
        "available_periods",
        rows,
        state,
        current,
        total,
        lambda row: (row.start_at.isoformat(), row.period_id),
    )
    return PeriodPage(
        items=[
            PeriodView(
                p.period_id, p.start_at.astimezone(UTC), p.end_at.astimezone(UTC), p.start_tzid, p.end_tzid
            )
            for p in rows
        ],
        current=current,
        total=total,
        next_token=token,
        localized_times=bool(state["localized"]),
    )


def read_periods(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> PeriodPage:
    query: ReadQuery = validate(ReadQuery, params)
    lower, upper = _bounds(query)
    state = {
        "from": lower.isoformat() if lower else None,
        "to": upper.isoformat() if upper else None,
        "localized": query.localized_times,
    }
    return _page(ctx, caller, state, 1, 0, None)


def read_periods_page(ctx: ServiceContext, caller: Caller, token: str) -> PeriodPage:
    state = paging.decode(ctx.secrets, caller, "available_periods", token)
    return _page(ctx, caller, state.query, state.page + 1, state.total, state.cursor)
