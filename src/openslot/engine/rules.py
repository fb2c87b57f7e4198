"""Weekly availability rules → instants: local wall-clock periods in a zone, for a window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from openslot.engine import times
from openslot.engine.intervals import IntervalSet

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class WeeklyPeriod:
    """``day`` is a lower-case English day name; times are ``HH:MM`` (``24:00`` allowed as an end)."""

    day: str
    start_time: str
    end_time: str


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _local_instant(day: date, minutes: int, tzid: str) -> int:
    """Epoch seconds of a local wall time; 24:00 is the start of the next day."""
    if minutes == 24 * 60:
        return int(times.start_of_day(day + timedelta(days=1), tzid).timestamp())
    wall = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60)
    return int(times.local_to_utc(wall, tzid).timestamp())


def weekly_intervals(periods: Iterable[WeeklyPeriod], tzid: str, start: int, end: int) -> IntervalSet:
    """The instants in ``[start, end)`` of the weekly periods, read in ``tzid`` (see ``_weekly``).

    Many members of one query share a rule and the window, so the answer is remembered.
    """
    return _weekly(
        tuple(sorted(set(periods), key=lambda p: (p.day, p.start_time, p.end_time))), tzid, start, end
    )


@lru_cache(maxsize=512)
def _weekly(periods: tuple[WeeklyPeriod, ...], tzid: str, start: int, end: int) -> IntervalSet:
    """The instants in ``[start, end)`` that fall in the weekly periods, read in ``tzid``.

    Each local day is converted on its own, so a period on a DST-change day keeps its wall-clock
    hours (a 09:00–17:00 period is 8 hours long on either side of a change, 7 or 9 across one);
    wall times in a gap follow the policy of ``times.local_to_utc``.
    """
    by_day: dict[int, list[tuple[int, int]]] = {}
    for period in periods:
        by_day.setdefault(DAYS.index(period.day), []).append(
            (_minutes(period.start_time), _minutes(period.end_time))
        )
    if not by_day or end <= start:
        return IntervalSet()
    first = times.to_local(datetime.fromtimestamp(start, UTC), tzid).date() - timedelta(days=1)
    last = times.to_local(datetime.fromtimestamp(end, UTC), tzid).date() + timedelta(days=1)
    pieces: list[tuple[int, int]] = []
    day = first
    while day <= last:
        for start_minutes, end_minutes in by_day.get(day.weekday(), ()):
            pieces.append((_local_instant(day, start_minutes, tzid), _local_instant(day, end_minutes, tzid)))
        day += timedelta(days=1)
    return IntervalSet(pieces).clip(start, end)
