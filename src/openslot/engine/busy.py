"""Busy time from events: what blocks a person's calendar."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from openslot.engine import times
from openslot.engine.intervals import IntervalSet

NON_BLOCKING_STATUSES = frozenset({"cancelled"})


@dataclass(frozen=True, slots=True)
class BusyEvent:
    """An event reduced to what availability needs.

    ``start``/``end`` are epoch seconds; for an all-day event they are the UTC midnights of its dates,
    which become real instants in the zone the day is read in.
    """

    start: int
    end: int
    all_day: bool = False
    transparent: bool = False
    status: str = "confirmed"


def _day_start(utc_midnight: int, tzid: str) -> int:
    day = datetime.fromtimestamp(utc_midnight, UTC).date()
    return int(times.start_of_day(day, tzid).timestamp())


def busy_intervals(events: Iterable[BusyEvent], all_day_tzid: str = "Etc/UTC") -> IntervalSet:
    """Opaque events that are not cancelled block their time; tentative ones block too."""
    blocking = [e for e in events if not e.transparent and e.status not in NON_BLOCKING_STATUSES]
    return busy_from_spans(
        [(e.start, e.end) for e in blocking if not e.all_day],
        [(e.start, e.end) for e in blocking if e.all_day],
        all_day_tzid,
    )


def busy_from_spans(
    timed: Iterable[tuple[int, int]], all_day: Iterable[tuple[int, int]] = (), all_day_tzid: str = "Etc/UTC"
) -> IntervalSet:
    """Busy time from blocking events already reduced to epoch-second spans (the fast path).

    ``all_day`` spans are UTC midnights of their dates, read as days in ``all_day_tzid``.
    """
    pieces = list(timed)
    pieces.extend((_day_start(start, all_day_tzid), _day_start(end, all_day_tzid)) for start, end in all_day)
    return IntervalSet(pieces)
