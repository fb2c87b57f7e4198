"""A brute-force reference for the availability solver.

It walks a one-minute grid and checks every candidate start against the definitions directly:

- member ``m`` can attend a meeting ``[s, s + d)`` when every minute of it lies in the query window
  and in ``m.available`` (if set), and no minute of ``[s - buffer_before, s + d + buffer_after)``
  is busy for ``m``;
- a group is satisfied when all its members can attend (``required`` is None or at least the number
  of members), or at least ``required`` of them can;
- a start is valid when every group is satisfied.

Periods, slots and participants are then read off the valid starts in the plainest way. Every
instant in the query (periods, busy and available intervals, duration, buffers, start interval,
candidate starts) must be a whole minute, which makes the minute grid exact; `brute_solve` checks
that. It is slow on purpose: no interval algebra, just a flag per minute (with running counts, so
that checking one start does not walk the whole meeting).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openslot.engine.availability import AvailabilityQuery, Available, Member, ResponseFormat

__all__ = ["MINUTE", "brute_solve", "brute_valid_starts", "can_attend", "query_window"]

MINUTE = 60
DEFAULT_SLOT_STEP = 15 * MINUTE


def _require_minutes(values: Iterable[int], what: str) -> None:
    for value in values:
        if value % MINUTE:
            raise ValueError(f"{what} {value} is not on the minute grid")


def _flatten(pairs: Iterable[tuple[int, int]]) -> list[int]:
    return [value for pair in pairs for value in pair]


def query_window(query: AvailabilityQuery) -> list[tuple[int, int]]:
    """The instants meetings must lie in: the query periods, or ``[c, c + d)`` for each candidate start."""
    if query.candidate_starts is not None:
        return [(start, start + query.duration) for start in query.candidate_starts]
    return list(query.query_periods.intervals)


def can_attend(
    member: Member, start: int, query: AvailabilityQuery, window: Sequence[tuple[int, int]]
) -> bool:
    """The definition checked directly, without the grid (for spot checks in tests)."""
    end = start + query.duration
    for minute in range(start, end, MINUTE):
        if not any(low <= minute < high for low, high in window):
            return False
        if member.available is not None and not any(
            low <= minute < high for low, high in member.available.intervals
        ):
            return False
    # Two half-open intervals share an instant when each starts before the other ends.
    guarded_start, guarded_end = start - query.buffer_before, end + query.buffer_after
    return not any(low < guarded_end and guarded_start < high for low, high in member.busy.intervals)


@dataclass
class _Grid:
    """The minutes ``[origin, origin + size * MINUTE)``, one flag each."""

    origin: int
    size: int

    def index(self, instant: int) -> int:
        return (instant - self.origin) // MINUTE

    def flags(self, intervals: Iterable[tuple[int, int]]) -> list[bool]:
        marked = [False] * self.size
        for low, high in intervals:
            for minute in range(max(low, self.origin), min(high, self.origin + self.size * MINUTE), MINUTE):
                marked[self.index(minute)] = True
        return marked


def _running_count(flags: Sequence[bool]) -> list[int]:
    """``counts[i]`` is how many of ``flags[:i]`` are set."""
    counts = [0]
    for flag in flags:
        counts.append(counts[-1] + flag)
    return counts


class _MemberCheck:
    """Whether one member can attend at a given start, from per-minute flags."""

    def __init__(self, member: Member, window: list[tuple[int, int]], grid: _Grid) -> None:
        in_window = grid.flags(window)
        available = in_window
        if member.available is not None:
            allowed = grid.flags(member.available.intervals)
            available = [a and b for a, b in zip(in_window, allowed, strict=True)]
        self._unusable = _running_count([not flag for flag in available])
        self._busy = _running_count(grid.flags(member.busy.intervals))
        self._grid = grid

    def __call__(self, start: int, query: AvailabilityQuery) -> bool:
        grid = self._grid
        first, last = grid.index(start), grid.index(start + query.duration)
        if self._unusable[last] - self._unusable[first]:
            return False
        low = grid.index(start - query.buffer_before)
        high = grid.index(start + query.duration + query.buffer_after)
        return self._busy[high] - self._busy[low] == 0


class _Prepared:
    """The window, the starts to scan, and who can attend at each start (worked out once per start)."""

    def __init__(self, query: AvailabilityQuery) -> None:
        window = query_window(query)
        _require_minutes(_flatten(window), "window bound")
        _require_minutes(
            [query.duration, query.buffer_before, query.buffer_after, query.start_interval or 0],
            "duration, buffer or start interval",
        )
        for group in query.groups:
            for member in group.members:
                _require_minutes(_flatten(member.busy.intervals), "busy bound")
                if member.available is not None:
                    _require_minutes(_flatten(member.available.intervals), "available bound")
        if query.duration <= 0:
            raise ValueError("the duration must be positive")
        self.query = query
        self.window = window
        self.starts: list[int] = []
        self._checks: list[list[tuple[str, _MemberCheck]]] = []
        self._attending: dict[int, list[list[str]]] = {}
        if not window:
            return
        low = min(start for start, _ in window)
        high = max(end for _, end in window)
        origin = low - query.buffer_before
        grid = _Grid(origin, (high + query.buffer_after - origin) // MINUTE)
        self._checks = [
            [(member.sub, _MemberCheck(member, window, grid)) for member in group.members]
            for group in query.groups
        ]
        # Every minute start whose meeting ends inside the window's span.
        self.starts = list(range(low, high - query.duration + 1, MINUTE))

    def attending(self, start: int) -> list[list[str]]:
        """Per group, the subs of the members who can attend a meeting at `start`."""
        if start not in self._attending:
            self._attending[start] = [
                [sub for sub, check in checks if check(start, self.query)] for checks in self._checks
            ]
        return self._attending[start]

    def valid(self, start: int) -> bool:
        if not self.query.groups:
            return False
        for group, attending in zip(self.query.groups, self.attending(start), strict=True):
            size = len(group.members)
            needed = size if group.required is None else min(group.required, size)
            if len(attending) < needed:
                return False
        return True

    def attendees(self, start: int) -> list[str]:
        return [sub for group in self.attending(start) for sub in group]


def brute_valid_starts(query: AvailabilityQuery) -> list[int]:
    """Every valid minute start in the query window, ignoring start intervals and result formats."""
    prepared = _Prepared(query)
    return [start for start in prepared.starts if prepared.valid(start)]


def _as_available(start: int, end: int, subs: Iterable[str]) -> Available:
    return Available(start, end, tuple(sorted(set(subs))))


def brute_solve(query: AvailabilityQuery) -> list[Available]:
    """What `openslot.engine.availability.solve` should answer; participants are sorted subs."""
    prepared = _Prepared(query)
    duration = query.duration
    results: list[Available] = []

    if query.candidate_starts is not None:
        for start in sorted(set(query.candidate_starts)):
            if prepared.valid(start):
                results.append(_as_available(start, start + duration, prepared.attendees(start)))
        return results[: query.max_results]

    valid = [start for start in prepared.starts if prepared.valid(start)]

    if query.response_format is ResponseFormat.PERIODS:
        if query.start_interval:
            valid = [start for start in valid if start % query.start_interval == 0]
        # The minutes covered by some meeting at a valid start, then their maximal runs.
        covered: set[int] = set()
        for start in valid:
            covered.update(range(start, start + duration, MINUTE))
        runs: list[list[int]] = []
        for minute in sorted(covered):
            if runs and runs[-1][1] == minute:
                runs[-1][1] = minute + MINUTE
            else:
                runs.append([minute, minute + MINUTE])
        for run_start, run_end in runs:
            subs = [
                sub for start in valid if run_start <= start < run_end for sub in prepared.attendees(start)
            ]
            results.append(_as_available(run_start, run_end, subs))
        return results[: query.max_results]

    step = query.start_interval or DEFAULT_SLOT_STEP
    aligned = [start for start in valid if start % step == 0]
    overlapping = query.response_format is ResponseFormat.OVERLAPPING_SLOTS
    previous_end: int | None = None
    for start in aligned:
        if not overlapping and previous_end is not None and start < previous_end:
            continue
        results.append(_as_available(start, start + duration, prepared.attendees(start)))
        previous_end = start + duration
    return results[: query.max_results]
