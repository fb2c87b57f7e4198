"""Weekly rules and busy time across DST changes, in real zones, against hand-computed UTC instants.

The 2026 transitions used here (checked against zoneinfo in `test_transition_dates`):

- America/New_York: 2026-03-08 02:00 EST → 03:00 EDT (07:00Z); 2026-11-01 02:00 EDT → 01:00 EST (06:00Z).
- Europe/London: 2026-03-29 01:00 GMT → 02:00 BST (01:00Z); 2026-10-25 02:00 BST → 01:00 GMT (01:00Z).
- Australia/Lord_Howe (30-minute DST): 2026-04-05 02:00 +11 → 01:30 +10:30 (15:00Z on the 4th);
  2026-10-04 02:00 +10:30 → 02:30 +11 (15:30Z on the 3rd).
- Asia/Kolkata: +05:30 all year.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from openslot.engine.busy import BusyEvent, busy_intervals
from openslot.engine.intervals import IntervalSet
from openslot.engine.rules import DAYS, WeeklyPeriod, weekly_intervals

HOUR = 3600

NEW_YORK = "America/New_York"
LONDON = "Europe/London"
KOLKATA = "Asia/Kolkata"
LORD_HOWE = "Australia/Lord_Howe"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


def weekdays(start_time: str, end_time: str) -> list[WeeklyPeriod]:
    return [WeeklyPeriod(day, start_time, end_time) for day in DAYS[:5]]


NINE_TO_FIVE = weekdays("09:00", "17:00")


def sunday(start_time: str, end_time: str) -> list[WeeklyPeriod]:
    return [WeeklyPeriod("sunday", start_time, end_time)]


@pytest.mark.parametrize(
    ("tzid", "before", "after"),
    [
        (NEW_YORK, datetime(2026, 3, 8, 6, 59, tzinfo=UTC), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 11, 1, 5, 59, tzinfo=UTC), datetime(2026, 11, 1, 6, 0, tzinfo=UTC)),
        (LONDON, datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (LONDON, datetime(2026, 10, 25, 0, 59, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
        (LORD_HOWE, datetime(2026, 4, 4, 14, 59, tzinfo=UTC), datetime(2026, 4, 4, 15, 0, tzinfo=UTC)),
        (LORD_HOWE, datetime(2026, 10, 3, 15, 29, tzinfo=UTC), datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
    ],
)
def test_transition_dates(tzid: str, before: datetime, after: datetime) -> None:
    zone = ZoneInfo(tzid)
    assert before.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset()
    # No other change within a week either side.
    assert (before - timedelta(days=7)).astimezone(zone).utcoffset() == before.astimezone(zone).utcoffset()
    assert (after + timedelta(days=7)).astimezone(zone).utcoffset() == after.astimezone(zone).utcoffset()


def test_kolkata_has_no_dst_in_2026() -> None:
    zone = ZoneInfo(KOLKATA)
    offsets = {
        (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=d)).astimezone(zone).utcoffset()
        for d in range(365)
    }
    assert offsets == {timedelta(hours=5, minutes=30)}


# ---------------------------------------------------------------------------------------------
# Weekly rules: Monday–Friday 09:00–17:00 over the weeks either side of a change


@pytest.mark.parametrize(
    ("tzid", "window", "expected"),
    [
        pytest.param(
            NEW_YORK,
            (utc(2026, 3, 2), utc(2026, 3, 14)),
            [
                # EST, UTC-5
                (utc(2026, 3, 2, 14), utc(2026, 3, 2, 22)),
                (utc(2026, 3, 3, 14), utc(2026, 3, 3, 22)),
                (utc(2026, 3, 4, 14), utc(2026, 3, 4, 22)),
                (utc(2026, 3, 5, 14), utc(2026, 3, 5, 22)),
                (utc(2026, 3, 6, 14), utc(2026, 3, 6, 22)),
                # EDT, UTC-4
                (utc(2026, 3, 9, 13), utc(2026, 3, 9, 21)),
                (utc(2026, 3, 10, 13), utc(2026, 3, 10, 21)),
                (utc(2026, 3, 11, 13), utc(2026, 3, 11, 21)),
                (utc(2026, 3, 12, 13), utc(2026, 3, 12, 21)),
                (utc(2026, 3, 13, 13), utc(2026, 3, 13, 21)),
            ],
            id="new-york-spring",
        ),
        pytest.param(
            NEW_YORK,
            (utc(2026, 10, 26), utc(2026, 11, 7)),
            [
                (utc(2026, 10, 26, 13), utc(2026, 10, 26, 21)),
                (utc(2026, 10, 27, 13), utc(2026, 10, 27, 21)),
                (utc(2026, 10, 28, 13), utc(2026, 10, 28, 21)),
                (utc(2026, 10, 29, 13), utc(2026, 10, 29, 21)),
                (utc(2026, 10, 30, 13), utc(2026, 10, 30, 21)),
                (utc(2026, 11, 2, 14), utc(2026, 11, 2, 22)),
                (utc(2026, 11, 3, 14), utc(2026, 11, 3, 22)),
                (utc(2026, 11, 4, 14), utc(2026, 11, 4, 22)),
                (utc(2026, 11, 5, 14), utc(2026, 11, 5, 22)),
                (utc(2026, 11, 6, 14), utc(2026, 11, 6, 22)),
            ],
            id="new-york-fall",
        ),
        pytest.param(
            LONDON,
            (utc(2026, 3, 23), utc(2026, 4, 4)),
            [
                # GMT
                (utc(2026, 3, 23, 9), utc(2026, 3, 23, 17)),
                (utc(2026, 3, 24, 9), utc(2026, 3, 24, 17)),
                (utc(2026, 3, 25, 9), utc(2026, 3, 25, 17)),
                (utc(2026, 3, 26, 9), utc(2026, 3, 26, 17)),
                (utc(2026, 3, 27, 9), utc(2026, 3, 27, 17)),
                # BST, UTC+1
                (utc(2026, 3, 30, 8), utc(2026, 3, 30, 16)),
                (utc(2026, 3, 31, 8), utc(2026, 3, 31, 16)),
                (utc(2026, 4, 1, 8), utc(2026, 4, 1, 16)),
                (utc(2026, 4, 2, 8), utc(2026, 4, 2, 16)),
                (utc(2026, 4, 3, 8), utc(2026, 4, 3, 16)),
            ],
            id="london-spring",
        ),
        pytest.param(
            LONDON,
            (utc(2026, 10, 19), utc(2026, 10, 31)),
            [
                (utc(2026, 10, 19, 8), utc(2026, 10, 19, 16)),
                (utc(2026, 10, 20, 8), utc(2026, 10, 20, 16)),
                (utc(2026, 10, 21, 8), utc(2026, 10, 21, 16)),
                (utc(2026, 10, 22, 8), utc(2026, 10, 22, 16)),
                (utc(2026, 10, 23, 8), utc(2026, 10, 23, 16)),
                (utc(2026, 10, 26, 9), utc(2026, 10, 26, 17)),
                (utc(2026, 10, 27, 9), utc(2026, 10, 27, 17)),
                (utc(2026, 10, 28, 9), utc(2026, 10, 28, 17)),
                (utc(2026, 10, 29, 9), utc(2026, 10, 29, 17)),
                (utc(2026, 10, 30, 9), utc(2026, 10, 30, 17)),
            ],
            id="london-fall",
        ),
        pytest.param(
            KOLKATA,
            (utc(2026, 3, 2), utc(2026, 3, 7)),
            [
                # IST, UTC+5:30
                (utc(2026, 3, 2, 3, 30), utc(2026, 3, 2, 11, 30)),
                (utc(2026, 3, 3, 3, 30), utc(2026, 3, 3, 11, 30)),
                (utc(2026, 3, 4, 3, 30), utc(2026, 3, 4, 11, 30)),
                (utc(2026, 3, 5, 3, 30), utc(2026, 3, 5, 11, 30)),
                (utc(2026, 3, 6, 3, 30), utc(2026, 3, 6, 11, 30)),
            ],
            id="kolkata",
        ),
        pytest.param(
            LORD_HOWE,
            (utc(2026, 3, 29), utc(2026, 4, 11)),
            [
                # +11: local 09:00 is 22:00Z the day before
                (utc(2026, 3, 29, 22), utc(2026, 3, 30, 6)),
                (utc(2026, 3, 30, 22), utc(2026, 3, 31, 6)),
                (utc(2026, 3, 31, 22), utc(2026, 4, 1, 6)),
                (utc(2026, 4, 1, 22), utc(2026, 4, 2, 6)),
                (utc(2026, 4, 2, 22), utc(2026, 4, 3, 6)),
                # +10:30
                (utc(2026, 4, 5, 22, 30), utc(2026, 4, 6, 6, 30)),
                (utc(2026, 4, 6, 22, 30), utc(2026, 4, 7, 6, 30)),
                (utc(2026, 4, 7, 22, 30), utc(2026, 4, 8, 6, 30)),
                (utc(2026, 4, 8, 22, 30), utc(2026, 4, 9, 6, 30)),
                (utc(2026, 4, 9, 22, 30), utc(2026, 4, 10, 6, 30)),
            ],
            id="lord-howe-april",
        ),
        pytest.param(
            LORD_HOWE,
            (utc(2026, 9, 27), utc(2026, 10, 10)),
            [
                (utc(2026, 9, 27, 22, 30), utc(2026, 9, 28, 6, 30)),
                (utc(2026, 9, 28, 22, 30), utc(2026, 9, 29, 6, 30)),
                (utc(2026, 9, 29, 22, 30), utc(2026, 9, 30, 6, 30)),
                (utc(2026, 9, 30, 22, 30), utc(2026, 10, 1, 6, 30)),
                (utc(2026, 10, 1, 22, 30), utc(2026, 10, 2, 6, 30)),
                (utc(2026, 10, 4, 22), utc(2026, 10, 5, 6)),
                (utc(2026, 10, 5, 22), utc(2026, 10, 6, 6)),
                (utc(2026, 10, 6, 22), utc(2026, 10, 7, 6)),
                (utc(2026, 10, 7, 22), utc(2026, 10, 8, 6)),
                (utc(2026, 10, 8, 22), utc(2026, 10, 9, 6)),
            ],
            id="lord-howe-october",
        ),
    ],
)
def test_nine_to_five_across_a_change(
    tzid: str, window: tuple[int, int], expected: list[tuple[int, int]]
) -> None:
    result = weekly_intervals(NINE_TO_FIVE, tzid, *window)
    assert list(result) == expected
    assert all(end - start == 8 * HOUR for start, end in result)


# ---------------------------------------------------------------------------------------------
# Rules on the change days themselves


@pytest.mark.parametrize(
    ("tzid", "window", "expected", "hours"),
    [
        (NEW_YORK, (utc(2026, 3, 7), utc(2026, 3, 10)), (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)), 23),
        (NEW_YORK, (utc(2026, 10, 31), utc(2026, 11, 3)), (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)), 25),
        (LONDON, (utc(2026, 3, 28), utc(2026, 3, 31)), (utc(2026, 3, 29), utc(2026, 3, 29, 23)), 23),
        (LONDON, (utc(2026, 10, 24), utc(2026, 10, 27)), (utc(2026, 10, 24, 23), utc(2026, 10, 26)), 25),
        (
            LORD_HOWE,
            (utc(2026, 4, 3), utc(2026, 4, 7)),
            (utc(2026, 4, 4, 13), utc(2026, 4, 5, 13, 30)),
            24.5,
        ),
        (
            LORD_HOWE,
            (utc(2026, 10, 2), utc(2026, 10, 6)),
            (utc(2026, 10, 3, 13, 30), utc(2026, 10, 4, 13)),
            23.5,
        ),
    ],
)
def test_whole_sunday_on_a_change_day(
    tzid: str, window: tuple[int, int], expected: tuple[int, int], hours: float
) -> None:
    result = weekly_intervals(sunday("00:00", "24:00"), tzid, *window)
    assert list(result) == [expected]
    assert result.total() == hours * HOUR


@pytest.mark.parametrize(
    ("start_time", "end_time", "expected"),
    [
        # 02:00 and 03:00 are the same instant on the spring-forward day: nothing left.
        ("02:00", "03:00", []),
        # 02:30 does not exist and is read as 03:30 EDT.
        ("02:30", "04:00", [(utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8))]),
        ("01:00", "02:30", [(utc(2026, 3, 8, 6), utc(2026, 3, 8, 7, 30))]),
        ("02:15", "02:45", [(utc(2026, 3, 8, 7, 15), utc(2026, 3, 8, 7, 45))]),
        ("01:30", "03:30", [(utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30))]),
    ],
)
def test_new_york_spring_forward_gap(start_time: str, end_time: str, expected: list[tuple[int, int]]) -> None:
    result = weekly_intervals(sunday(start_time, end_time), NEW_YORK, utc(2026, 3, 7), utc(2026, 3, 10))
    assert list(result) == expected


def test_gap_rule_on_ordinary_sundays() -> None:
    # Sunday 02:00–03:00 is an hour on the Sundays either side, and nothing on the change day.
    result = weekly_intervals(sunday("02:00", "03:00"), NEW_YORK, utc(2026, 3, 1), utc(2026, 3, 16))
    assert list(result) == [
        (utc(2026, 3, 1, 7), utc(2026, 3, 1, 8)),
        (utc(2026, 3, 15, 6), utc(2026, 3, 15, 7)),
    ]


@pytest.mark.parametrize(
    ("start_time", "end_time", "expected"),
    [
        # 01:00–01:59 happen twice; 01:00 is the earlier (EDT) one, 02:00 happens once (EST).
        ("01:00", "02:00", [(utc(2026, 11, 1, 5), utc(2026, 11, 1, 7))]),
        ("01:30", "03:00", [(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8))]),
        ("00:00", "01:30", [(utc(2026, 11, 1, 4), utc(2026, 11, 1, 5, 30))]),
        ("01:15", "01:45", [(utc(2026, 11, 1, 5, 15), utc(2026, 11, 1, 5, 45))]),
    ],
)
def test_new_york_fall_back_overlap(start_time: str, end_time: str, expected: list[tuple[int, int]]) -> None:
    result = weekly_intervals(sunday(start_time, end_time), NEW_YORK, utc(2026, 10, 31), utc(2026, 11, 3))
    assert list(result) == expected


@pytest.mark.parametrize(
    ("window", "start_time", "end_time", "expected"),
    [
        # Spring: 02:00–02:29 do not exist (+10:30 → +11 at 15:30Z); gap times are read at +10:30.
        (
            (utc(2026, 10, 2), utc(2026, 10, 6)),
            "02:00",
            "02:15",
            (utc(2026, 10, 3, 15, 30), utc(2026, 10, 3, 15, 45)),
        ),
        (
            (utc(2026, 10, 2), utc(2026, 10, 6)),
            "01:45",
            "02:45",
            (utc(2026, 10, 3, 15, 15), utc(2026, 10, 3, 15, 45)),
        ),
        # Autumn: 01:30–01:59 happen twice (+11, then +10:30 from 15:00Z); 01:30 is the earlier one.
        (
            (utc(2026, 4, 3), utc(2026, 4, 7)),
            "01:30",
            "02:00",
            (utc(2026, 4, 4, 14, 30), utc(2026, 4, 4, 15, 30)),
        ),
        (
            (utc(2026, 4, 3), utc(2026, 4, 7)),
            "01:00",
            "01:45",
            (utc(2026, 4, 4, 14), utc(2026, 4, 4, 14, 45)),
        ),
    ],
)
def test_lord_howe_half_hour_change(
    window: tuple[int, int], start_time: str, end_time: str, expected: tuple[int, int]
) -> None:
    result = weekly_intervals(sunday(start_time, end_time), LORD_HOWE, *window)
    assert list(result) == [expected]


def test_rule_ending_at_midnight() -> None:
    periods = [WeeklyPeriod("saturday", "20:00", "24:00"), WeeklyPeriod("sunday", "22:00", "24:00")]
    result = weekly_intervals(periods, NEW_YORK, utc(2026, 3, 7), utc(2026, 3, 10))
    assert list(result) == [
        # Saturday 20:00–24:00 EST
        (utc(2026, 3, 8, 1), utc(2026, 3, 8, 5)),
        # Sunday 22:00–24:00 EDT
        (utc(2026, 3, 9, 2), utc(2026, 3, 9, 4)),
    ]


def test_rule_ending_at_midnight_meets_the_next_day() -> None:
    # Monday 18:00–24:00 and Tuesday 00:00–06:00 are one stretch.
    periods = [WeeklyPeriod("monday", "18:00", "24:00"), WeeklyPeriod("tuesday", "00:00", "06:00")]
    result = weekly_intervals(periods, LONDON, utc(2026, 1, 5), utc(2026, 1, 7))
    assert list(result) == [(utc(2026, 1, 5, 18), utc(2026, 1, 6, 6))]


def test_several_periods_a_day() -> None:
    periods = [
        WeeklyPeriod("monday", "09:00", "12:00"),
        WeeklyPeriod("monday", "13:00", "17:00"),
        # Overlapping periods merge.
        WeeklyPeriod("tuesday", "08:00", "10:00"),
        WeeklyPeriod("tuesday", "09:30", "11:00"),
        # So do touching ones.
        WeeklyPeriod("wednesday", "12:00", "13:00"),
        WeeklyPeriod("wednesday", "09:00", "12:00"),
    ]
    # 2026-01-05 is a Monday, in GMT.
    result = weekly_intervals(periods, LONDON, utc(2026, 1, 5), utc(2026, 1, 12))
    assert list(result) == [
        (utc(2026, 1, 5, 9), utc(2026, 1, 5, 12)),
        (utc(2026, 1, 5, 13), utc(2026, 1, 5, 17)),
        (utc(2026, 1, 6, 8), utc(2026, 1, 6, 11)),
        (utc(2026, 1, 7, 9), utc(2026, 1, 7, 13)),
    ]


@pytest.mark.parametrize(
    ("tzid", "periods", "window", "expected"),
    [
        # Cut at both ends.
        (
            NEW_YORK,
            NINE_TO_FIVE,
            (utc(2026, 3, 9, 15), utc(2026, 3, 10, 15)),
            [(utc(2026, 3, 9, 15), utc(2026, 3, 9, 21)), (utc(2026, 3, 10, 13), utc(2026, 3, 10, 15))],
        ),
        # A window inside one period.
        (
            NEW_YORK,
            NINE_TO_FIVE,
            (utc(2026, 3, 9, 14), utc(2026, 3, 9, 15)),
            [(utc(2026, 3, 9, 14), utc(2026, 3, 9, 15))],
        ),
        # A weekend.
        (NEW_YORK, NINE_TO_FIVE, (utc(2026, 3, 7), utc(2026, 3, 9)), []),
        # Local Monday 00:00–02:00 in Kolkata is Sunday evening UTC, before the window's first UTC day.
        (
            KOLKATA,
            [WeeklyPeriod("monday", "00:00", "02:00")],
            (utc(2026, 3, 1, 19), utc(2026, 3, 2)),
            [(utc(2026, 3, 1, 19), utc(2026, 3, 1, 20, 30))],
        ),
        # Local Friday 20:00–24:00 in New York is Saturday UTC, after the window's last local day.
        (
            NEW_YORK,
            [WeeklyPeriod("friday", "20:00", "24:00")],
            (utc(2026, 3, 7), utc(2026, 3, 7, 3)),
            [(utc(2026, 3, 7, 1), utc(2026, 3, 7, 3))],
        ),
        # Empty or reversed windows, and no periods.
        (NEW_YORK, NINE_TO_FIVE, (utc(2026, 3, 9, 15), utc(2026, 3, 9, 15)), []),
        (NEW_YORK, NINE_TO_FIVE, (utc(2026, 3, 10), utc(2026, 3, 9)), []),
        (NEW_YORK, [], (utc(2026, 3, 2), utc(2026, 3, 14)), []),
    ],
)
def test_clipped_to_the_window(
    tzid: str, periods: list[WeeklyPeriod], window: tuple[int, int], expected: list[tuple[int, int]]
) -> None:
    assert list(weekly_intervals(periods, tzid, *window)) == expected


# ---------------------------------------------------------------------------------------------
# Busy time


def test_timed_events_block_their_time() -> None:
    events = [BusyEvent(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))]
    assert busy_intervals(events) == IntervalSet([(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))])


@pytest.mark.parametrize(
    ("event", "blocks"),
    [
        (BusyEvent(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10)), True),
        (BusyEvent(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10), status="confirmed"), True),
        (BusyEvent(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10), status="tentative"), True),
        (BusyEvent(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10), status="cancelled"), False),
        (BusyEvent(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10), transparent=True), False),
        (BusyEvent(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10), transparent=True, status="tentative"), False),
        (BusyEvent(utc(2026, 3, 2), utc(2026, 3, 3), all_day=True, transparent=True), False),
        (BusyEvent(utc(2026, 3, 2), utc(2026, 3, 3), all_day=True, status="cancelled"), False),
        (BusyEvent(utc(2026, 3, 2), utc(2026, 3, 3), all_day=True, status="tentative"), True),
    ],
)
def test_which_events_block(event: BusyEvent, blocks: bool) -> None:
    assert bool(busy_intervals([event], NEW_YORK)) is blocks


@pytest.mark.parametrize(
    ("tzid", "first_day", "last_day", "expected", "hours"),
    [
        ("Etc/UTC", (2026, 3, 8), (2026, 3, 9), (utc(2026, 3, 8), utc(2026, 3, 9)), 24),
        (NEW_YORK, (2026, 3, 8), (2026, 3, 9), (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)), 23),
        (NEW_YORK, (2026, 11, 1), (2026, 11, 2), (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)), 25),
        (NEW_YORK, (2026, 3, 2), (2026, 3, 3), (utc(2026, 3, 2, 5), utc(2026, 3, 3, 5)), 24),
        (LONDON, (2026, 3, 29), (2026, 3, 30), (utc(2026, 3, 29), utc(2026, 3, 29, 23)), 23),
        (KOLKATA, (2026, 3, 8), (2026, 3, 9), (utc(2026, 3, 7, 18, 30), utc(2026, 3, 8, 18, 30)), 24),
        (LORD_HOWE, (2026, 10, 4), (2026, 10, 5), (utc(2026, 10, 3, 13, 30), utc(2026, 10, 4, 13)), 23.5),
        (LORD_HOWE, (2026, 4, 5), (2026, 4, 6), (utc(2026, 4, 4, 13), utc(2026, 4, 5, 13, 30)), 24.5),
        # Several days, across the change.
        (NEW_YORK, (2026, 3, 7), (2026, 3, 10), (utc(2026, 3, 7, 5), utc(2026, 3, 10, 4)), 71),
    ],
)
def test_all_day_events_block_whole_local_days(
    tzid: str,
    first_day: tuple[int, int, int],
    last_day: tuple[int, int, int],
    expected: tuple[int, int],
    hours: float,
) -> None:
    # An all-day event is given as the UTC midnights of its first day and of the day after its last.
    event = BusyEvent(utc(*first_day), utc(*last_day), all_day=True)
    result = busy_intervals([event], tzid)
    assert list(result) == [expected]
    assert result.total() == hours * HOUR


def test_all_day_events_default_to_utc_days() -> None:
    event = BusyEvent(utc(2026, 3, 8), utc(2026, 3, 9), all_day=True)
    assert list(busy_intervals([event])) == [(utc(2026, 3, 8), utc(2026, 3, 9))]


def test_events_merge() -> None:
    events = [
        BusyEvent(utc(2026, 3, 2, 13), utc(2026, 3, 2, 14)),
        # Overlapping
        BusyEvent(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10, 30)),
        BusyEvent(utc(2026, 3, 2, 10), utc(2026, 3, 2, 11)),
        # Touching
        BusyEvent(utc(2026, 3, 2, 11), utc(2026, 3, 2, 12)),
        # Inside another
        BusyEvent(utc(2026, 3, 2, 9, 15), utc(2026, 3, 2, 9, 45)),
        # Duplicate
        BusyEvent(utc(2026, 3, 2, 13), utc(2026, 3, 2, 14)),
        # A cancelled event bridging two busy blocks leaves the gap open.
        BusyEvent(utc(2026, 3, 2, 12), utc(2026, 3, 2, 13), status="cancelled"),
    ]
    expected = [(utc(2026, 3, 2, 9), utc(2026, 3, 2, 12)), (utc(2026, 3, 2, 13), utc(2026, 3, 2, 14))]
    assert list(busy_intervals(events)) == expected
    assert list(busy_intervals(reversed(events))) == expected


def test_all_day_and_timed_events_merge() -> None:
    events = [
        # The New York day of 2026-03-02 is 05:00Z–05:00Z the next day.
        BusyEvent(utc(2026, 3, 2), utc(2026, 3, 3), all_day=True),
        BusyEvent(utc(2026, 3, 2, 3), utc(2026, 3, 2, 6)),
        BusyEvent(utc(2026, 3, 3, 5), utc(2026, 3, 3, 6)),
        BusyEvent(utc(2026, 3, 3, 7), utc(2026, 3, 3, 8), transparent=True),
    ]
    assert list(busy_intervals(events, NEW_YORK)) == [(utc(2026, 3, 2, 3), utc(2026, 3, 3, 6))]


def test_no_events() -> None:
    assert busy_intervals([]) == IntervalSet()
