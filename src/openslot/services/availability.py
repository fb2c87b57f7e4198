"""``POST /v1/availability`` and ``/v1/sequenced_availability``: load what the engine needs, solve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, null, select, union_all
from sqlalchemy.orm import Session

from openslot.engine import intervals
from openslot.engine.availability import (
    AvailabilityQuery,
    Available,
    Group,
    Member,
    ResponseFormat,
    solve,
)
from openslot.engine.busy import busy_from_spans
from openslot.engine.intervals import IntervalSet
from openslot.engine.rules import WeeklyPeriod, weekly_intervals
from openslot.engine.sequences import SequenceStep, solve_sequences
from openslot.services import authorization, scopes
from openslot.services.availability_query import (
    MAX_SPAN_DAYS,
    AvailabilityBody,
    Buffer,
    GroupBody,
    MemberBody,
    SequenceStepBody,
    instant,
    parse_body,
    parse_periods,
    parse_sequenced_body,
)
from openslot.services.context import Bearer, Client, ServiceContext
from openslot.services.errors import Forbidden, ValidationFailed
from openslot.store.events import BusyRow, busy_events
from openslot.store.models import Account, AvailabilityRule, AvailablePeriod, Calendar, Grant
from openslot.store.types import UTCDateTime, epoch_seconds


@dataclass(frozen=True)
class AvailabilityResult:
    response_format: str
    items: list[Available]
    member_statuses: list[str] | None


def _datetime(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class _Rule(NamedTuple):
    rule_id: str
    tzid: str
    weekly_periods: list[dict[str, str]]
    calendar_ids: list[str] | None


@dataclass
class _Loaded:
    """Everything the members of one query need but their busy time, as plain values."""

    tzids: dict[str, str]  # account → the zone its all-day events are read in
    calendars: dict[str, list[str]]  # account → its calendars, oldest first
    max_span: dict[str, int]  # calendar → its longest event in seconds
    rules: dict[str, list[_Rule]]
    periods: dict[str, list[tuple[int, int]]]


# Constant statements, built once; the values travel as parameters.
# Every calendar of the members' accounts that granted the application access, with each grant's scope.
_ACCOUNTS = (
    select(Account.id, Account.default_tzid, Grant.scope, Calendar.id, Calendar.max_event_seconds)
    .join(Grant, Grant.account_id == Account.id)
    .outerjoin(Calendar, and_(Calendar.account_id == Account.id, Calendar.deleted.is_(False)))
    .where(
        Grant.application_id == bindparam("application_id"),
        Grant.revoked_at.is_(None),
        Account.id.in_(bindparam("subs", expanding=True)),
    )
    .order_by(Calendar.created_at, Calendar.id)
)
# Rules and available periods in one round trip: the same columns, and a period has no rule_id.
_RULES_AND_PERIODS = union_all(
    select(
        AvailabilityRule.account_id,
        AvailabilityRule.rule_id,
        AvailabilityRule.tzid,
        AvailabilityRule.weekly_periods,
        AvailabilityRule.calendar_ids,
        null(),
        null(),
    ).where(AvailabilityRule.account_id.in_(bindparam("subs", expanding=True))),
    select(
        AvailablePeriod.account_id,
        null(),
        null(),
        null(),
        null(),
        epoch_seconds(AvailablePeriod.start_at),
        epoch_seconds(AvailablePeriod.end_at),
    ).where(
        AvailablePeriod.account_id.in_(bindparam("subs", expanding=True)),
        AvailablePeriod.start_at < bindparam("end", type_=UTCDateTime),
        AvailablePeriod.end_at > bindparam("start", type_=UTCDateTime),
    ),
)


def _load(session: Session, application_id: str, participants: list[GroupBody], lo: int, hi: int) -> _Loaded:
    """The members' accounts with their calendars (refusing any not authorized), then their rules and
    available periods in one more query when any member takes managed availability into account."""
    members = [member for group in participants for member in group.members]
    subs = {member.sub for member in members}
    # Core statements on the session's connection: nothing here needs the ORM's execution path.
    connection = session.connection()
    rows = connection.execute(_ACCOUNTS, {"application_id": application_id, "subs": list(subs)}).all()
    tzids: dict[str, str] = {}
    granted: dict[str, set[str]] = {}
    calendars: dict[str, dict[str, None]] = {}
    max_span: dict[str, int] = {}
    for account_id, tzid, scope, calendar_id, longest in rows:
        tzids[account_id] = tzid
        granted.setdefault(account_id, set()).update(scopes.expand(scope))
        own = calendars.setdefault(account_id, {})
        if calendar_id is not None:
            own[calendar_id] = None
            max_span[calendar_id] = longest or 0
    unknown = sorted(subs - tzids.keys())
    if unknown:
        # The same answer for a sub that does not exist and one that never authorized this application.
        raise ValidationFailed.single(
            "participants", "not_found", f"no authorization for these subs: {', '.join(unknown)}"
        )
    lacking = sorted(sub for sub, scope in granted.items() if scopes.READ_FREE_BUSY not in scope)
    if lacking:
        raise Forbidden(f"these subs have not granted read_free_busy: {', '.join(lacking)}")
    rules: dict[str, list[_Rule]] = {}
    periods: dict[str, list[tuple[int, int]]] = {}
    if any(m.managed_availability or m.availability_rule_ids is not None for m in members):
        for account_id, rule_id, tzid, weekly, rule_calendars, start, end in connection.execute(
            _RULES_AND_PERIODS, {"subs": list(subs), "start": _datetime(lo), "end": _datetime(hi)}
        ):
            if rule_id is None:
                periods.setdefault(account_id, []).append((start, end))
            else:
                rules.setdefault(account_id, []).append(_Rule(rule_id, tzid, weekly, rule_calendars))
    return _Loaded(tzids, {a: list(c) for a, c in calendars.items()}, max_span, rules, periods)


def _member_rules(loaded: _Loaded, member: MemberBody) -> list[_Rule]:
    if not member.managed_availability and member.availability_rule_ids is None:
        return []
    rules = loaded.rules.get(member.sub, [])
    if member.availability_rule_ids is not None:
        by_id = {rule.rule_id: rule for rule in rules}
        missing = [rid for rid in member.availability_rule_ids if rid not in by_id]
        if missing:
            raise ValidationFailed.single(
                "participants", "not_found", f"availability rules not found: {', '.join(missing)}"
            )
        rules = [by_id[rid] for rid in member.availability_rule_ids]
    return rules


def _member_calendars(loaded: _Loaded, member: MemberBody, rules: Sequence[_Rule]) -> list[str]:
    own = loaded.calendars[member.sub]
    if member.calendar_ids is not None:
        if not set(member.calendar_ids) <= set(own):
            raise ValidationFailed.single(
                "participants", "not_found", f"a calendar of {member.sub} was not found"
            )
        return list(member.calendar_ids)
    ruled = [cid for rule in rules if rule.calendar_ids for cid in rule.calendar_ids]
    return list(dict.fromkeys(ruled)) if ruled else own


def _available(
    loaded: _Loaded, member: MemberBody, rules: Sequence[_Rule], lo: int, hi: int
) -> IntervalSet | None:
    """The member's available time from rules and periods (None: free whenever not busy)."""
    available: IntervalSet | None = None
    if member.managed_availability or member.availability_rule_ids is not None:
        pieces = [
            weekly_intervals([WeeklyPeriod(**p) for p in rule.weekly_periods], rule.tzid, lo, hi)
            for rule in rules
        ]
        if member.managed_availability:
            pieces.append(IntervalSet(loaded.periods.get(member.sub, ())))
        available = intervals.union_all(pieces)
    if member.available_periods is not None:
        own = IntervalSet(parse_periods(member.available_periods, "participants"))
        available = own if available is None else available & own
    return available


@dataclass(frozen=True)
class _Plan:
    """One member before its busy time is known: where to read it, and when it is available."""

    body: MemberBody
    calendars: list[str]
    available: IntervalSet | None


def _plan(loaded: _Loaded, member: MemberBody, lo: int, hi: int) -> _Plan:
    rules = _member_rules(loaded, member)
    return _Plan(member, _member_calendars(loaded, member, rules), _available(loaded, member, rules, lo, hi))


def _relevant(plans: Sequence[_Plan], window: IntervalSet, before: int, after: int) -> IntervalSet | None:
    """The only time whose events can matter to the answer, or None when that is the whole window.

    A member's busy time counts only where the member could meet (the window and their available
    time), widened by the buffers, since a meeting needs its buffers clear as well.
    """
    sets = [window if plan.available is None else window & plan.available for plan in plans]
    if any(s is window for s in sets):
        return None
    return intervals.union_all(dict.fromkeys(sets)).expand(before, after)


def _member(loaded: _Loaded, application_id: str, plan: _Plan, busy_rows: dict[str, list[BusyRow]]) -> Member:
    member = plan.body
    timed: list[tuple[int, int]] = []
    all_day: list[tuple[int, int]] = []
    only_own = member.only_managed_events
    for calendar_id in plan.calendars:
        for _, owner, start, end, whole_day in busy_rows.get(calendar_id, ()):
            if only_own and owner != application_id:
                continue
            (all_day if whole_day else timed).append((start, end))
    busy = busy_from_spans(timed, all_day, loaded.tzids[member.sub])
    return Member(sub=member.sub, busy=busy, available=plan.available)


def _window(body: AvailabilityBody) -> tuple[IntervalSet, tuple[int, ...] | None]:
    duration = body.required_duration.seconds
    if body.query_slots is not None:
        starts = tuple(int(instant(slot.start, "query_slots").timestamp()) for slot in body.query_slots)
        return _span_checked([(s, s + duration) for s in starts], "query_slots"), starts
    field = "query_periods" if body.query_periods is not None else "available_periods"
    return _span_checked(
        parse_periods(body.query_periods or body.available_periods or [], field), field
    ), None


def _buffers(buffer: Buffer | None) -> tuple[int, int]:
    before = buffer.before.seconds if buffer and buffer.before else 0
    after = buffer.after.seconds if buffer and buffer.after else 0
    return before, after


def _query(
    spec: AvailabilityBody | SequenceStepBody, groups: tuple[Group, ...], window: IntervalSet, **options: Any
) -> AvailabilityQuery:
    """The engine's query for a request or a sequence step; ``options`` set the output fields."""
    before, after = _buffers(spec.buffer)
    return AvailabilityQuery(
        groups=groups,
        query_periods=window,
        duration=spec.required_duration.seconds,
        buffer_before=before,
        buffer_after=after,
        start_interval=spec.start_interval.seconds if spec.start_interval else None,
        **options,
    )


def _groups(
    session: Session,
    application_id: str,
    participants: list[GroupBody],
    buffer: Buffer | None,
    window: IntervalSet,
) -> tuple[Group, ...]:
    before, after = _buffers(buffer)
    lo, hi = window.intervals[0][0] - before, window.intervals[-1][1] + after
    loaded = _load(session, application_id, participants, lo, hi)
    plans = [[_plan(loaded, m, lo, hi) for m in group.members] for group in participants]
    every_plan = [plan for group in plans for plan in group]
    calendar_ids = list(dict.fromkeys(cid for plan in every_plan for cid in plan.calendars))
    relevant = _relevant(every_plan, window, before, after)
    rows = busy_events(
        session,
        calendar_ids,
        _datetime(lo),
        _datetime(hi),
        max((loaded.max_span.get(cid, 0) for cid in calendar_ids), default=0),
        None if relevant is None else relevant.intervals,
    )
    busy_rows: dict[str, list[BusyRow]] = {}
    for row in rows:
        busy_rows.setdefault(row[0], []).append(row)
    return tuple(
        Group(
            members=tuple(_member(loaded, application_id, plan, busy_rows) for plan in group_plans),
            required=None if group.required == "all" else int(group.required),
        )
        for group, group_plans in zip(participants, plans, strict=True)
    )


def availability(
    ctx: ServiceContext, credentials: Bearer | Client, params: dict[str, Any]
) -> AvailabilityResult:
    with ctx.db.read() as session:
        application_id = authorization.application_in(session, ctx, credentials)
        body = parse_body(params)
        window, candidates = _window(body)
        groups = _groups(session, application_id, body.participants, body.buffer, window)
    items = solve(
        _query(
            body,
            groups,
            window,
            response_format=ResponseFormat(body.response_format),
            max_results=body.max_results,
            candidate_starts=candidates,
        )
    )
    statuses = (
        list(dict.fromkeys(m.sub for g in body.participants for m in g.members))
        if body.include_member_statuses
        else None
    )
    response_format = "slots" if candidates is not None else body.response_format
    return AvailabilityResult(response_format=response_format, items=items, member_statuses=statuses)


@dataclass(frozen=True)
class SequencedResult:
    sequences: list[list[tuple[str, Available]]]


def _span_checked(periods: list[tuple[int, int]], field: str) -> IntervalSet:
    window = IntervalSet(periods)
    if window and window.intervals[-1][1] - window.intervals[0][0] > MAX_SPAN_DAYS * 86400:
        raise ValidationFailed.single(field, "out_of_range", f"{field} may span at most {MAX_SPAN_DAYS} days")
    return window


def sequenced_availability(
    ctx: ServiceContext, credentials: Bearer | Client, params: dict[str, Any]
) -> SequencedResult:
    with ctx.db.read() as session:
        application_id = authorization.application_in(session, ctx, credentials)
        body = parse_sequenced_body(params)
        field = "query_periods" if body.query_periods is not None else "available_periods"
        window = _span_checked(
            parse_periods(body.query_periods or body.available_periods or [], field), field
        )
        steps = []
        for index, step in enumerate(body.sequence):
            step_window = window
            if step.available_periods is not None:
                step_window = window & IntervalSet(parse_periods(step.available_periods, "sequence"))
            if not step_window:
                return SequencedResult(sequences=[])
            groups = _groups(session, application_id, step.participants, step.buffer, step_window)
            query = _query(step, groups, step_window, response_format=ResponseFormat.SLOTS)
            ordinal = step.ordinal if step.ordinal is not None else index + 1
            steps.append(SequenceStep(sequence_id=str(step.sequence_id), ordinal=ordinal, query=query))
    return SequencedResult(sequences=solve_sequences(steps, body.max_results))
