"""The availability solver: when can the required people meet?

The solver reasons about *start times*. Member ``m`` can attend a meeting starting at ``s`` when
``[s, s + duration)`` lies inside ``m``'s free time, so each member's possible starts form an interval
set of their own: every free interval ``[a, b)`` at least ``duration`` long contributes the starts
``[a, b - duration]``. A group with ``required: N`` can meet at ``s`` when at least N members can
(``at_least``), a group with ``required: all`` when every member can (intersection), and the query
when every group can. Slots and periods are then read off that one set of valid starts, which makes
the N-of-M rule exact: the same N people attend the whole meeting.

Everything is integer epoch seconds; the caller turns events, rules and periods into interval sets.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from openslot.engine.intervals import IntervalSet, at_least, intersect_all

__all__ = [
    "AvailabilityQuery",
    "Available",
    "Group",
    "Member",
    "ResponseFormat",
    "attendees",
    "solve",
    "valid_starts",
]


class ResponseFormat(StrEnum):
    PERIODS = "periods"
    SLOTS = "slots"
    OVERLAPPING_SLOTS = "overlapping_slots"


@dataclass(frozen=True, slots=True)
class Member:
    sub: str
    busy: IntervalSet = field(default_factory=IntervalSet)
    # None: free whenever not busy. Otherwise only inside these intervals (rules, available periods).
    available: IntervalSet | None = None


@dataclass(frozen=True, slots=True)
class Group:
    members: tuple[Member, ...]
    required: int | None = None  # None means every member


@dataclass(frozen=True, slots=True)
class AvailabilityQuery:
    groups: tuple[Group, ...]
    query_periods: IntervalSet
    duration: int
    buffer_before: int = 0
    buffer_after: int = 0
    start_interval: int | None = None
    response_format: ResponseFormat = ResponseFormat.PERIODS
    max_results: int = 512
    # Check only these start times (``query_slots``) instead of searching the query periods.
    candidate_starts: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Available:
    start: int
    end: int
    subs: tuple[str, ...]


DEFAULT_START_INTERVAL = 15 * 60


def member_starts(member: Member, window: IntervalSet, query: AvailabilityQuery) -> IntervalSet:
    """The starts at which ``member`` can attend a whole meeting, buffers included."""
    free = window if member.available is None else window & member.available
    if member.busy:
        # A meeting [s, e) needs [s - before, e + after) clear of busy time, which is the same as
        # [s, e) clear of busy time grown by `after` at its start and `before` at its end.
        free = free - member.busy.expand(query.buffer_after, query.buffer_before)
    duration = query.duration
    return IntervalSet.from_sorted_disjoint(
        tuple((a, b - duration + 1) for a, b in free if b - a >= duration)
    )


def _group_starts(starts: Sequence[IntervalSet], required: int | None) -> IntervalSet:
    if required is None or required >= len(starts):
        return intersect_all(starts)
    return at_least(starts, required)


def _align_up(instant: int, step: int) -> int:
    return -(-instant // step) * step


def _contains(starts: IntervalSet, instant: int) -> bool:
    items = starts.intervals
    index = bisect_right(items, (instant, float("inf"))) - 1
    return index >= 0 and items[index][0] <= instant < items[index][1]


def _can_start_in(starts: IntervalSet, low: int, high: int, step: int | None) -> bool:
    """Whether ``starts`` holds a start in ``[low, high)`` (on the grid, when there is one)."""
    return any(step is None or _align_up(a, step) < b for a, b in starts.clip(low, high))


def _participants(
    start_ranges: Sequence[tuple[int, int]], members: Sequence[tuple[str, IntervalSet]], step: int | None
) -> tuple[str, ...]:
    """Members able to attend at some start in the given ranges of valid starts."""
    able = (
        sub
        for sub, starts in members
        if any(_can_start_in(starts, low, high, step) for low, high in start_ranges)
    )
    return tuple(dict.fromkeys(able))


def _placements(valid: IntervalSet, step: int | None, duration: int) -> Iterator[tuple[int, int, int, int]]:
    """``(first start, past last start, period start, period end)`` for each run of placements.

    Without a grid every start in a range is valid, so its placements cover one stretch of time.
    On a grid only aligned starts count: while the step is no longer than the meeting their
    placements still touch, but a longer step leaves gaps, and each start is a placement of its own.
    """
    for low, high in valid:
        if step is None:
            yield low, high, low, high - 1 + duration
            continue
        first, last = _align_up(low, step), (high - 1) // step * step
        if first > last:
            continue
        if step <= duration:
            yield first, last + 1, first, last + duration
        else:
            for start in range(first, last + 1, step):
                yield start, start + 1, start, start + duration


def _periods(
    valid: IntervalSet, query: AvailabilityQuery, members: Sequence[tuple[str, IntervalSet]]
) -> list[Available]:
    step = query.start_interval or None
    results: list[Available] = []
    # Placements from two ranges of starts may overlap or touch (different members of an N-of-M
    # group); such periods are one period.
    current: list[tuple[int, int]] = []
    period_start = period_end = 0
    for low, high, start, end in _placements(valid, step, query.duration):
        if current and start <= period_end:
            period_end = max(period_end, end)
            current.append((low, high))
            continue
        if current:
            results.append(Available(period_start, period_end, _participants(current, members, step)))
            if len(results) >= query.max_results:
                return results
        current, period_start, period_end = [(low, high)], start, end
    if current and len(results) < query.max_results:
        results.append(Available(period_start, period_end, _participants(current, members, step)))
    return results


def _slots(
    valid: IntervalSet, query: AvailabilityQuery, members: Sequence[tuple[str, IntervalSet]]
) -> list[Available]:
    step = query.start_interval or DEFAULT_START_INTERVAL
    duration = query.duration
    overlapping = query.response_format is ResponseFormat.OVERLAPPING_SLOTS
    results: list[Available] = []
    earliest = None  # the first start a non-overlapping slot may take
    for low, high in valid:
        start = _align_up(low if earliest is None else max(low, earliest), step)
        while start < high:
            results.append(Available(start, start + duration, attendees(members, start)))
            if len(results) >= query.max_results:
                return results
            next_start = start + step if overlapping else _align_up(start + duration, step)
            earliest = next_start
            start = next_start
    return results


def _candidates(
    query: AvailabilityQuery, valid: IntervalSet, members: Sequence[tuple[str, IntervalSet]]
) -> list[Available]:
    results = []
    for start in sorted(set(query.candidate_starts or ())):
        if _contains(valid, start):
            results.append(Available(start, start + query.duration, attendees(members, start)))
            if len(results) >= query.max_results:
                break
    return results


MemberStarts = list[tuple[str, IntervalSet]]


def valid_starts(query: AvailabilityQuery) -> tuple[IntervalSet, MemberStarts]:
    """The starts at which the whole query can meet, and each member's own possible starts."""
    window = query.query_periods
    if query.candidate_starts is not None:
        window = IntervalSet((s, s + query.duration) for s in query.candidate_starts)
    group_starts: list[IntervalSet] = []
    starts_by_member: MemberStarts = []
    for group in query.groups:
        starts = [member_starts(member, window, query) for member in group.members]
        starts_by_member.extend((member.sub, s) for member, s in zip(group.members, starts, strict=True))
        group_starts.append(_group_starts(starts, group.required))
    valid = intersect_all(group_starts) if group_starts else IntervalSet()
    return valid, starts_by_member


def attendees(members: MemberStarts, start: int) -> tuple[str, ...]:
    """The members able to attend a meeting starting at ``start``, each named once."""
    return tuple(dict.fromkeys(sub for sub, starts in members if _contains(starts, start)))


def solve(query: AvailabilityQuery) -> list[Available]:
    """Available periods or slots, in time order, each with the members free for it."""
    valid, starts_by_member = valid_starts(query)
    if query.candidate_starts is not None:
        return _candidates(query, valid, starts_by_member)
    if query.response_format is ResponseFormat.PERIODS:
        return _periods(valid, query, starts_by_member)
    return _slots(valid, query, starts_by_member)
