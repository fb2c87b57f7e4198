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
from operator import itemgetter

from openslot.engine.intervals import Interval, IntervalSet, at_least, intersect_all

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


_end = itemgetter(1)


def _clear_of(pieces: list[Interval], busy: tuple[Interval, ...], duration: int) -> list[Interval]:
    """The parts of ``pieces`` outside ``busy`` (both normalised) that are at least ``duration`` long.

    Busy time is far denser than the free time left, so each piece jumps to the busy intervals
    that can touch it by bisection instead of walking past all of them.
    """
    out: list[Interval] = []
    n = len(busy)
    j = 0
    for start, end in pieces:
        j = bisect_right(busy, start, j, n, key=_end)
        cursor = start
        while j < n:
            b_start, b_end = busy[j]
            if b_start >= end:
                break
            if b_start - cursor >= duration:
                out.append((cursor, b_start))
            if b_end >= end:
                # This busy interval may reach into the next piece too, so it is not passed.
                cursor = end
                break
            cursor = b_end
            j += 1
        if end - cursor >= duration:
            out.append((cursor, end))
    return out


def all_starts(members: Sequence[Member], window: IntervalSet, query: AvailabilityQuery) -> IntervalSet:
    """The starts at which every one of ``members`` can attend, buffers included.

    The same as intersecting every member's ``member_starts``, since a meeting fits everyone exactly
    when it fits the time free for all of them; but computed as one shrinking set: the available time
    shared by all, minus each member's busy time in turn. A piece shorter than the meeting can never
    hold one, so it is dropped at once, and once nothing is left the remaining members are skipped.
    """
    free = window
    # Members of one query often share their available time (one rule); each distinct set counts once.
    for available in dict.fromkeys(m.available for m in members if m.available is not None):
        free = free & available
    duration = query.duration
    pieces = [(a, b) for a, b in free if b - a >= duration]
    for member in members:
        if not pieces:
            break
        if member.busy:
            busy = member.busy.expand(query.buffer_after, query.buffer_before)
            pieces = _clear_of(pieces, busy.intervals, duration)
    return IntervalSet.from_sorted_disjoint(tuple((a, b - duration + 1) for a, b in pieces))


def _align_up(instant: int, step: int) -> int:
    return -(-instant // step) * step


def _contains(starts: IntervalSet, instant: int) -> bool:
    items = starts.intervals
    index = bisect_right(items, (instant, float("inf"))) - 1
    return index >= 0 and items[index][0] <= instant < items[index][1]


def _can_start_in(starts: IntervalSet, low: int, high: int, step: int | None) -> bool:
    """Whether ``starts`` holds a start in ``[low, high)`` (on the grid, when there is one)."""
    return any(step is None or _align_up(a, step) < b for a, b in starts.clip(low, high))


# Each member's own possible starts; None for a member of a group that needs everyone, who can attend
# at every valid start of the query, so that their starts need not be computed at all.
MemberStarts = list[tuple[str, IntervalSet | None]]


def _participants(
    start_ranges: Sequence[tuple[int, int]], members: MemberStarts, step: int | None
) -> tuple[str, ...]:
    """Members able to attend at some start in the given ranges of valid starts (each holds one)."""
    able = (
        sub
        for sub, starts in members
        if starts is None or any(_can_start_in(starts, low, high, step) for low, high in start_ranges)
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


def _periods(valid: IntervalSet, query: AvailabilityQuery, members: MemberStarts) -> list[Available]:
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


def _slots(valid: IntervalSet, query: AvailabilityQuery, members: MemberStarts) -> list[Available]:
    step = query.start_interval or DEFAULT_START_INTERVAL
    duration = query.duration
    overlapping = query.response_format is ResponseFormat.OVERLAPPING_SLOTS
    results: list[Available] = []
    everyone = _everyone(members)
    earliest = None  # the first start a non-overlapping slot may take
    for low, high in valid:
        start = _align_up(low if earliest is None else max(low, earliest), step)
        while start < high:
            subs = everyone if everyone is not None else attendees(members, start)
            results.append(Available(start, start + duration, subs))
            if len(results) >= query.max_results:
                return results
            next_start = start + step if overlapping else _align_up(start + duration, step)
            earliest = next_start
            start = next_start
    return results


def _candidates(query: AvailabilityQuery, valid: IntervalSet, members: MemberStarts) -> list[Available]:
    results = []
    everyone = _everyone(members)
    for start in sorted(set(query.candidate_starts or ())):
        if _contains(valid, start):
            subs = everyone if everyone is not None else attendees(members, start)
            results.append(Available(start, start + query.duration, subs))
            if len(results) >= query.max_results:
                break
    return results


def _at_least(group: Group) -> int | None:
    """How many members of ``group`` must attend, or None when that is all of them."""
    return None if group.required is None or group.required >= len(group.members) else group.required


def valid_starts(query: AvailabilityQuery) -> tuple[IntervalSet, MemberStarts]:
    """The starts at which the whole query can meet, and each member's own possible starts."""
    window = query.query_periods
    if query.candidate_starts is not None:
        window = IntervalSet((s, s + query.duration) for s in query.candidate_starts)
    if not query.groups:
        return IntervalSet(), []
    group_starts: list[IntervalSet] = []
    starts_by_member: MemberStarts = []
    everyone: list[Member] = []
    for group in query.groups:
        required = _at_least(group)
        if required is None:
            everyone.extend(group.members)
            starts_by_member.extend((member.sub, None) for member in group.members)
            continue
        starts = [member_starts(member, window, query) for member in group.members]
        starts_by_member.extend((member.sub, s) for member, s in zip(group.members, starts, strict=True))
        group_starts.append(at_least(starts, required))
    if len(group_starts) < len(query.groups):
        # Every member of every group that needs everyone must attend: one pass over all of them.
        group_starts.append(all_starts(everyone, window, query))
    return intersect_all(group_starts), starts_by_member


def _everyone(members: MemberStarts) -> tuple[str, ...] | None:
    """Who attends every valid start, when that is every member: their names need no search per result."""
    if all(starts is None for _, starts in members):
        return tuple(dict.fromkeys(sub for sub, _ in members))
    return None


def attendees(members: MemberStarts, start: int) -> tuple[str, ...]:
    """The members able to attend a meeting at ``start``, a valid start of the query, each named once."""
    return tuple(dict.fromkeys(sub for sub, starts in members if starts is None or _contains(starts, start)))


def solve(query: AvailabilityQuery) -> list[Available]:
    """Available periods or slots, in time order, each with the members free for it."""
    valid, starts_by_member = valid_starts(query)
    if query.candidate_starts is not None:
        return _candidates(query, valid, starts_by_member)
    if query.response_format is ResponseFormat.PERIODS:
        return _periods(valid, query, starts_by_member)
    return _slots(valid, query, starts_by_member)
