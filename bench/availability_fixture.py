"""Fixture F3 of the availability suite, and the plain NumPy sweep it is compared with.

F3: participants with 2,000 events each, spread over ``YEAR``; a 60-day query window
(``WINDOW_FROM``..``WINDOW_TO``), 30-minute meetings starting on a 15-minute grid, working hours
Monday to Friday 09:00–17:00 in ``TZID``; everyone is required.

Calendar ``i`` always gets the same events (NumPy's generator seeded with ``(seed, i)``), so the
engine measured in-process and the server measured over HTTP see the same busy time. Each event
is timed (UTC), opaque and confirmed: it starts on a random day of the year at a random quarter
hour of the day and lasts 15 minutes to 2 hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from openslot.engine.availability import AvailabilityQuery, Group, Member, ResponseFormat
from openslot.engine.busy import BusyEvent, busy_from_spans, busy_intervals
from openslot.engine.intervals import IntervalSet
from openslot.engine.rules import WeeklyPeriod, weekly_intervals
from workload import WINDOW_FROM, WINDOW_TO, YEAR

DAY = 86_400
MINUTE = 60
EVENTS_PER_CALENDAR = 2_000
DURATION = 30 * MINUTE
START_INTERVAL = 15 * MINUTE
MAX_RESULTS = 512  # the API's default and most
TZID = "America/New_York"
WORKING_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
WORKING_HOURS = tuple(WeeklyPeriod(day, "09:00", "17:00") for day in WORKING_DAYS)
EVENT_MINUTES = np.array([15, 30, 30, 45, 60, 60, 60, 90, 120], dtype=np.int64)
MAX_EVENT_SECONDS = int(EVENT_MINUTES.max()) * MINUTE
# Events that start this close to the window are "around" it: the server reads them (it widens the
# window by a day and by the longest event), so events "outside the window" keep this far away.
MARGIN = 3 * DAY


def epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


YEAR_START = epoch(date(YEAR, 1, 1))
YEAR_DAYS = (epoch(date(YEAR + 1, 1, 1)) - YEAR_START) // DAY
WINDOW = (epoch(WINDOW_FROM), epoch(WINDOW_TO))  # 60 days, from a Sunday
WEEK = (epoch(date(YEAR, 3, 2)), epoch(date(YEAR, 3, 9)))  # 7 days from a Monday, over the DST change


@dataclass(frozen=True)
class Events:
    """One calendar's events as sorted epoch seconds."""

    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)

    def overlapping(self, lo: int, hi: int) -> Events:
        mask = (self.starts < hi) & (self.ends > lo)
        return Events(self.starts[mask], self.ends[mask])

    def starting_in(self, lo: int, hi: int) -> Events:
        mask = (self.starts >= lo) & (self.starts < hi)
        return Events(self.starts[mask], self.ends[mask])

    def plus(self, other: Events) -> Events:
        starts = np.concatenate([self.starts, other.starts])
        ends = np.concatenate([self.ends, other.ends])
        order = np.argsort(starts, kind="stable")
        return Events(starts[order], ends[order])


def _events(rng: np.random.Generator, days: np.ndarray) -> Events:
    starts = YEAR_START + days * DAY + START_INTERVAL * rng.integers(0, DAY // START_INTERVAL, len(days))
    ends = starts + MINUTE * rng.choice(EVENT_MINUTES, len(days))
    order = np.argsort(starts, kind="stable")
    return Events(starts[order], ends[order])


def calendar_events(seed: int, index: int, count: int = EVENTS_PER_CALENDAR) -> Events:
    """The events of calendar ``index``: ``count`` on random days of the year."""
    rng = np.random.default_rng([seed, index])
    return _events(rng, rng.integers(0, YEAR_DAYS, count))


def outside_events(seed: int, index: int, count: int, window: tuple[int, int] = WINDOW) -> Events:
    """``count`` events on days of the year at least ``MARGIN`` away from ``window``."""
    rng = np.random.default_rng([seed, 1_000_003, index])
    day_starts = YEAR_START + DAY * np.arange(YEAR_DAYS)
    allowed = np.flatnonzero(
        (day_starts + 2 * DAY <= window[0] - MARGIN) | (day_starts >= window[1] + MARGIN)
    )
    return _events(rng, rng.choice(allowed, count))


def scaled_calendar(
    base: Events, seed: int, index: int, outside: int, window: tuple[int, int] = WINDOW
) -> Events:
    """``base``'s events in and around ``window``, plus ``outside`` events far from it."""
    near = base.starting_in(window[0] - MARGIN, window[1] + MARGIN)
    return near.plus(outside_events(seed, index, outside, window))


# --- the engine's inputs ----------------------------------------------------------------------


def sub_of(index: int) -> str:
    return f"member-{index:04d}"


def spans(events: Events) -> list[tuple[int, int]]:
    """The events as the service gets them from the database: (start, end) epoch seconds."""
    return list(zip(events.starts.tolist(), events.ends.tolist(), strict=True))


def busy_of(events: Events) -> IntervalSet:
    """What the service does with the spans it loads: ``busy_from_spans``."""
    return busy_from_spans(spans(events))


def busy_of_events(events: Events) -> IntervalSet:
    """The general path: ``BusyEvent`` objects, then ``busy_intervals``."""
    return busy_intervals(BusyEvent(start, end) for start, end in spans(events))


def working_hours(window: tuple[int, int]) -> IntervalSet:
    return weekly_intervals(WORKING_HOURS, TZID, *window)


def members(subs: Sequence[str], calendars: Sequence[Events], window: tuple[int, int]) -> tuple[Member, ...]:
    """Members as the service builds them: busy time of the events overlapping the window, and the
    working-hours rule as their available time (computed per member, as the service does)."""
    return tuple(
        Member(sub=sub, busy=busy_of(events.overlapping(*window)), available=working_hours(window))
        for sub, events in zip(subs, calendars, strict=True)
    )


def query(
    group: Sequence[Member], window: tuple[int, int], response_format: ResponseFormat
) -> AvailabilityQuery:
    return AvailabilityQuery(
        groups=(Group(members=tuple(group)),),
        query_periods=IntervalSet([window]),
        duration=DURATION,
        start_interval=START_INTERVAL,
        response_format=response_format,
        max_results=MAX_RESULTS,
    )


# --- the NumPy baseline -----------------------------------------------------------------------


@dataclass(frozen=True)
class SweepInput:
    """The same intervals as the engine's members, as int64 arrays: every member's busy starts and
    ends concatenated, and their available intervals with the query window as one more layer."""

    busy_starts: np.ndarray
    busy_ends: np.ndarray
    layer_starts: np.ndarray
    layer_ends: np.ndarray
    layers: int  # how many layers must all cover an instant: members with available time, + window


def sweep_input(group: Sequence[Member], window: tuple[int, int]) -> SweepInput:
    def arrays(sets: Sequence[IntervalSet]) -> tuple[np.ndarray, np.ndarray]:
        pairs = np.array([pair for s in sets for pair in s.intervals], dtype=np.int64).reshape(-1, 2)
        return pairs[:, 0].copy(), pairs[:, 1].copy()

    busy_starts, busy_ends = arrays([m.busy for m in group])
    layers = [m.available for m in group if m.available is not None] + [IntervalSet([window])]
    layer_starts, layer_ends = arrays(layers)
    return SweepInput(busy_starts, busy_ends, layer_starts, layer_ends, len(layers))


def _valid_starts(data: SweepInput, duration: int) -> tuple[np.ndarray, np.ndarray]:
    """Ranges ``[low, high)`` of starts at which every member is free for the whole meeting.

    One sweep over all boundaries. A busy interval adds ``weight`` at its start and takes it away
    at its end, an available interval (or the window) adds 1 and takes it away, and ``weight`` is
    more than the number of layers: the running sum is then ``busy count * weight + layers
    covering``, and an instant is free exactly when that equals ``layers``.
    """
    nb, nl = len(data.busy_starts), len(data.layer_starts)
    weight = data.layers + 1
    points = np.concatenate([data.busy_starts, data.busy_ends, data.layer_starts, data.layer_ends])
    deltas = np.repeat(np.array([weight, -weight, 1, -1], dtype=np.int64), [nb, nb, nl, nl])
    # Every member's intervals are sorted already; a stable sort (Timsort) merges those runs.
    order = np.argsort(points, kind="stable")
    points = points[order]
    state = np.cumsum(deltas[order])
    # The state after every change at one instant: the last entry of each run of equal points.
    last = np.flatnonzero(np.append(points[1:] != points[:-1], True))
    x = points[last]
    free = state[last] == data.layers  # segment [x[k], x[k + 1]) is free
    edges = np.diff(free.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    lows, highs = x[edges[:-1] == 1], x[np.flatnonzero(edges == -1)]  # the last segment is never free
    long_enough = highs - lows >= duration
    return lows[long_enough], highs[long_enough] - duration + 1


def _align_up(values: np.ndarray, step: int) -> np.ndarray:
    return -(-values // step) * step


def numpy_slots(
    data: SweepInput, duration: int, step: int, max_results: int
) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping slots on the grid: in each range of valid starts, the first aligned start,
    then every ``ceil(duration / step) * step`` seconds (what ``slots`` does for a grid start)."""
    lows, highs = _valid_starts(data, duration)
    stride = -(-duration // step) * step
    first = _align_up(lows, step)
    counts = np.where(highs > first, -(-(highs - first) // stride), 0)
    total = int(counts.sum())
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    starts = (np.repeat(first, counts) + stride * offsets)[:max_results]
    return starts, starts + duration


def numpy_periods(
    data: SweepInput, duration: int, step: int, max_results: int
) -> tuple[np.ndarray, np.ndarray]:
    """Periods covered by meetings at valid grid starts (step ≤ duration), touching ones merged."""
    lows, highs = _valid_starts(data, duration)
    first = _align_up(lows, step)
    last = (highs - 1) // step * step
    keep = first <= last
    starts, ends = first[keep], last[keep] + duration
    if not len(starts):
        return starts, ends
    new = np.concatenate([[True], starts[1:] > np.maximum.accumulate(ends)[:-1]])
    group_ends = np.maximum.reduceat(ends, np.flatnonzero(new))
    return starts[new][:max_results], group_ends[:max_results]
