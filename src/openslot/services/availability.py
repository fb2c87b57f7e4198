"""``POST /v1/availability`` and ``/v1/sequenced_availability``: load what the engine needs, solve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openslot.engine.availability import (
    AvailabilityQuery,
    Available,
    Group,
    Member,
    ResponseFormat,
    solve,
)
from openslot.engine.busy import busy_from_spans
from openslot.engine.intervals import IntervalSet, union_all
from openslot.engine.rules import WeeklyPeriod, weekly_intervals
from openslot.engine.sequences import SequenceStep, solve_sequences
from openslot.services import scopes
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
from openslot.services.context import ServiceContext
from openslot.services.errors import Forbidden, ValidationFailed
from openslot.store.events import busy_events
from openslot.store.models import Account, AvailabilityRule, AvailablePeriod, Calendar, Grant


@dataclass(frozen=True)
class AvailabilityResult:
    response_format: str
    items: list[Available]
    member_statuses: list[str] | None


def _datetime(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _authorized_accounts(session: Session, application_id: str, subs: set[str]) -> dict[str, Account]:
    """Accounts among ``subs`` that granted the application free/busy access; others are refused."""
    rows = session.execute(
        select(Account, Grant.scope)
        .join(Grant, Grant.account_id == Account.id)
        .where(Grant.application_id == application_id, Grant.revoked_at.is_(None), Account.id.in_(subs))
    ).all()
    scope_by_account: dict[str, set[str]] = {}
    accounts: dict[str, Account] = {}
    for account, scope in rows:
        accounts[account.id] = account
        scope_by_account.setdefault(account.id, set()).update(scopes.expand(scope))
    unknown = sorted(subs - accounts.keys())
    if unknown:
        # The same answer for a sub that does not exist and one that never authorized this application.
        raise ValidationFailed.single(
            "participants", "not_found", f"no authorization for these subs: {', '.join(unknown)}"
        )
    lacking = sorted(sub for sub, granted in scope_by_account.items() if scopes.READ_FREE_BUSY not in granted)
    if lacking:
        raise Forbidden(f"these subs have not granted read_free_busy: {', '.join(lacking)}")
    return accounts


@dataclass
class _Loaded:
    """Everything the members of one query need, fetched with one query per table."""

    accounts: dict[str, Account]
    calendars: dict[str, list[str]]
    rules: dict[str, list[AvailabilityRule]]
    periods: dict[str, list[tuple[int, int]]]
    busy: dict[str, list[tuple[int, int, bool, str | None]]]


def _load(session: Session, application_id: str, participants: list[GroupBody], lo: int, hi: int) -> _Loaded:
    members = [member for group in participants for member in group.members]
    accounts = _authorized_accounts(session, application_id, {m.sub for m in members})
    ids = list(accounts)
    calendars: dict[str, list[str]] = {account_id: [] for account_id in ids}
    for calendar_id, account_id in session.execute(
        select(Calendar.id, Calendar.account_id)
        .where(Calendar.account_id.in_(ids), Calendar.deleted.is_(False))
        .order_by(Calendar.created_at, Calendar.id)
    ):
        calendars[account_id].append(calendar_id)
    rules: dict[str, list[AvailabilityRule]] = {}
    periods: dict[str, list[tuple[int, int]]] = {}
    if any(m.managed_availability or m.availability_rule_ids is not None for m in members):
        for rule in session.scalars(select(AvailabilityRule).where(AvailabilityRule.account_id.in_(ids))):
            rules.setdefault(rule.account_id, []).append(rule)
        for account_id, start, end in session.execute(
            select(AvailablePeriod.account_id, AvailablePeriod.start_at, AvailablePeriod.end_at).where(
                AvailablePeriod.account_id.in_(ids),
                AvailablePeriod.start_at < _datetime(hi),
                AvailablePeriod.end_at > _datetime(lo),
            )
        ):
            periods.setdefault(account_id, []).append((int(start.timestamp()), int(end.timestamp())))
    all_calendars = [cid for cids in calendars.values() for cid in cids]
    # Per calendar, plain (start, end, all_day, application_id) tuples: members read them many times.
    busy: dict[str, list[tuple[int, int, bool, str | None]]] = {}
    for calendar_id, application, start, end, all_day, _status in busy_events(
        session, all_calendars, _datetime(lo), _datetime(hi)
    ):
        busy.setdefault(calendar_id, []).append((start, end, all_day, application))
    return _Loaded(accounts, calendars, rules, periods, busy)


def _member_rules(loaded: _Loaded, member: MemberBody) -> list[AvailabilityRule]:
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


def _member_calendars(loaded: _Loaded, member: MemberBody, rules: Sequence[AvailabilityRule]) -> list[str]:
    own = loaded.calendars[member.sub]
    if member.calendar_ids is not None:
        if not set(member.calendar_ids) <= set(own):
            raise ValidationFailed.single(
                "participants", "not_found", f"a calendar of {member.sub} was not found"
            )
        return list(member.calendar_ids)
    ruled = [cid for rule in rules if rule.calendar_ids for cid in rule.calendar_ids]
    return list(dict.fromkeys(ruled)) if ruled else own


def _member(loaded: _Loaded, application_id: str, member: MemberBody, lo: int, hi: int) -> Member:
    account = loaded.accounts[member.sub]
    rules = _member_rules(loaded, member)
    timed: list[tuple[int, int]] = []
    all_day: list[tuple[int, int]] = []
    only_own = member.only_managed_events
    for calendar_id in _member_calendars(loaded, member, rules):
        for start, end, whole_day, owner in loaded.busy.get(calendar_id, ()):
            if only_own and owner != application_id:
                continue
            (all_day if whole_day else timed).append((start, end))
    busy = busy_from_spans(timed, all_day, account.default_tzid)
    available: IntervalSet | None = None
    if member.managed_availability or member.availability_rule_ids is not None:
        pieces = [
            weekly_intervals([WeeklyPeriod(**p) for p in rule.weekly_periods], rule.tzid, lo, hi)
            for rule in rules
        ]
        if member.managed_availability:
            pieces.append(IntervalSet(loaded.periods.get(member.sub, ())))
        available = union_all(pieces)
    if member.available_periods is not None:
        own = IntervalSet(parse_periods(member.available_periods, "participants"))
        available = own if available is None else available & own
    return Member(sub=member.sub, busy=busy, available=available)


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
    ctx: ServiceContext,
    application_id: str,
    participants: list[GroupBody],
    buffer: Buffer | None,
    window: IntervalSet,
) -> tuple[Group, ...]:
    before, after = _buffers(buffer)
    lo, hi = window.intervals[0][0] - before, window.intervals[-1][1] + after
    with ctx.db.read() as session:
        loaded = _load(session, application_id, participants, lo, hi)
    return tuple(
        Group(
            members=tuple(_member(loaded, application_id, m, lo, hi) for m in group.members),
            required=None if group.required == "all" else int(group.required),
        )
        for group in participants
    )


def availability(ctx: ServiceContext, application_id: str, params: dict[str, Any]) -> AvailabilityResult:
    body = parse_body(params)
    window, candidates = _window(body)
    groups = _groups(ctx, application_id, body.participants, body.buffer, window)
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
    ctx: ServiceContext, application_id: str, params: dict[str, Any]
) -> SequencedResult:
    body = parse_sequenced_body(params)
    field = "query_periods" if body.query_periods is not None else "available_periods"
    window = _span_checked(parse_periods(body.query_periods or body.available_periods or [], field), field)
    steps = []
    for index, step in enumerate(body.sequence):
        step_window = window
        if step.available_periods is not None:
            step_window = window & IntervalSet(parse_periods(step.available_periods, "sequence"))
        if not step_window:
            return SequencedResult(sequences=[])
        groups = _groups(ctx, application_id, step.participants, step.buffer, step_window)
        query = _query(step, groups, step_window, response_format=ResponseFormat.SLOTS)
        ordinal = step.ordinal if step.ordinal is not None else index + 1
        steps.append(SequenceStep(sequence_id=str(step.sequence_id), ordinal=ordinal, query=query))
    return SequencedResult(sequences=solve_sequences(steps, body.max_results))
