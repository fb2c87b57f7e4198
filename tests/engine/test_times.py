"""Cronofy Time/Date parsing and formatting, time zones and the DST policy."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openslot.engine.errors import InvalidValue
from openslot.engine.times import (
    EventTime,
    day_window,
    format_date,
    format_instant,
    format_localized,
    is_valid_tzid,
    local_to_utc,
    parse_date,
    parse_event_time,
    parse_instant,
    parse_time_or_date,
    start_of_day,
    to_local,
    zone,
)

PROPERTY = settings(max_examples=300, deadline=None, database=None)

SECOND = timedelta(seconds=1)
T0 = datetime(2014, 8, 5, 14, 30, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def assert_invalid(excinfo: pytest.ExceptionInfo[InvalidValue], key: str = "errors.invalid") -> None:
    assert excinfo.value.key == key
    assert isinstance(excinfo.value.description, str)
    assert excinfo.value.description


# ---------------------------------------------------------------------------------------------
# errors


def test_invalid_value_carries_key_and_description() -> None:
    error = InvalidValue("errors.invalid", "not a time")
    assert isinstance(error, ValueError)
    assert (error.key, error.description) == ("errors.invalid", "not a time")
    assert "errors.invalid" in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.key, copy.description) == ("errors.invalid", "not a time")


# ---------------------------------------------------------------------------------------------
# parse_instant


@pytest.mark.parametrize(
    "text",
    [
        "2014-08-05T14:30:00Z",
        "2014-08-05T14:30:00z",
        "2014-08-05t14:30:00Z",
        "2014-08-05 14:30:00Z",
        "2014-08-05 15:30:00+01:00",
        "2014-08-05T15:30:00+01:00",
        "2014-08-05T15:30:00+0100",
        "2014-08-05T15:30:00+01",
        "2014-08-05T14:30:00+00:00",
        "2014-08-05T14:30:00-00:00",
        "2014-08-05T09:00:00-05:30",
        "2014-08-05T20:00:00+05:30",
        "2014-08-05T14:30Z",
        "2014-08-05T15:30+01:00",
        "2014-08-05T14:30:00.000Z",
        "2014-08-05T14:30:00.0Z",
        "2014-08-05T14:30:00.000000+00:00",
        "2014-08-05T14:30:00.000+00:00",
        "2014-08-05T14:00:28-00:29:32",
    ],
)
def test_parse_instant_accepts(text: str) -> None:
    parsed = parse_instant(text)
    assert parsed == T0
    assert parsed.tzinfo is UTC


def test_parse_instant_offsets_cross_dates() -> None:
    assert parse_instant("2014-08-05T23:30:00-01:00") == utc(2014, 8, 6, 0, 30)
    assert parse_instant("2014-08-05T00:30:00+14:00") == utc(2014, 8, 4, 10, 30)
    assert parse_instant("2024-02-29T00:00:00Z") == utc(2024, 2, 29)
    assert parse_instant("0001-01-01T00:00:00Z") == utc(1, 1, 1)
    assert parse_instant("9999-12-31T23:59:59Z") == utc(9999, 12, 31, 23, 59, 59)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "2014-08-05",
        "2014-08-05T14:30:00",  # no zone designator: names no instant
        "2014-08-05 14:30:00",
        "2014-08-05T14:30",
        "2014-08-05T14:30:00.123Z",  # Cronofy refuses milliseconds
        "2014-08-05T14:30:00.000001Z",
        "2014-08-05T14:30:00.Z",
        "2014-08-05T14:30.000Z",
        "2014-13-05T14:30:00Z",
        "2014-00-05T14:30:00Z",
        "2014-02-30T14:30:00Z",
        "2015-02-29T14:30:00Z",
        "2014-08-32T14:30:00Z",
        "0000-01-01T00:00:00Z",
        "2014-08-05T24:00:00Z",
        "2014-08-05T14:60:00Z",
        "2014-08-05T14:30:60Z",
        "2014-08-05T14:30:00+24:00",
        "2014-08-05T14:30:00+01:60",
        "2014-08-05T14:30:00+1:00",
        "2014-08-05T14:30:00+01:0",
        "2014-08-05T14:30:00+01:00:60",
        "2014-08-05T14:30:00+010000",
        "2014-08-05T14:30:00ZZ",
        "2014-08-05T14:30:00Z ",
        " 2014-08-05T14:30:00Z",
        "2014-08-05T14:30:00Z\n",
        "2014-08-05T14:30:00Zjunk",
        "2014-08-05T14:30:00+01:00junk",
        "2014-08-05X14:30:00Z",
        "2014-08-05T14:30:00UTC",
        "2014-8-5T14:30:00Z",
        "20140805T143000Z",
        "14-08-05T14:30:00Z",
        "+2014-08-05T14:30:00Z",
        "2014-08-05T14:30:00 Z",
        "2014-08-05T14:30:00 +01:00",
        "٢٠١٤-٠٨-٠٥T14:30:00Z",  # non-ASCII digits
        "9999-12-31T23:59:59-01:00",  # overflows once in UTC
        "0001-01-01T00:00:00+01:00",
        "not a time",
    ],
)
def test_parse_instant_refuses(text: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        parse_instant(text)
    assert_invalid(excinfo)


@pytest.mark.parametrize(
    "value", [None, 1407249000, 1.5, b"2014-08-05T14:30:00Z", T0, ["x"], {"time": "x"}, True]
)
def test_parse_instant_refuses_non_strings(value: object) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        parse_instant(value)  # type: ignore[arg-type]
    assert_invalid(excinfo)


def test_parse_instant_messages_say_what_is_wrong() -> None:
    with pytest.raises(InvalidValue, match="zone designator"):
        parse_instant("2014-08-05T14:30:00")
    with pytest.raises(InvalidValue, match="fractional"):
        parse_instant("2014-08-05T14:30:00.500Z")
    with pytest.raises(InvalidValue) as excinfo:
        parse_instant("x" * 10_000)
    assert len(excinfo.value.description) < 200


# ---------------------------------------------------------------------------------------------
# parse_date and parse_time_or_date


def test_parse_date() -> None:
    assert parse_date("2014-08-05") == date(2014, 8, 5)
    assert parse_date("2024-02-29") == date(2024, 2, 29)
    assert type(parse_date("2014-08-05")) is date


@pytest.mark.parametrize(
    "value",
    [
        "",
        "2014-02-30",
        "2015-02-29",
        "2014-13-01",
        "2014-00-01",
        "2014-01-00",
        "0000-01-01",
        "2014-8-5",
        "2014/08/05",
        "20140805",
        "2014-08-05T00:00:00Z",
        "2014-08-05 ",
        "2014-08-05\n",
        "2014-08-05x",
        None,
        20140805,
        date(2014, 8, 5),
    ],
)
def test_parse_date_refuses(value: object) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        parse_date(value)  # type: ignore[arg-type]
    assert_invalid(excinfo)


def test_parse_time_or_date() -> None:
    assert parse_time_or_date("2014-08-05") == date(2014, 8, 5)
    assert type(parse_time_or_date("2014-08-05")) is date
    assert parse_time_or_date("2014-08-05T14:30:00Z") == T0
    assert parse_time_or_date("2014-08-05 15:30:00+01:00") == T0
    for bad in ["2014-02-30", "2014-08-05T14:30:00", "", None, 5]:
        with pytest.raises(InvalidValue) as excinfo:
            parse_time_or_date(bad)  # type: ignore[arg-type]
        assert_invalid(excinfo)


# ---------------------------------------------------------------------------------------------
# zones


def test_zone_is_cached_and_valid() -> None:
    assert zone("Europe/London") is zone("Europe/London")
    assert zone("Europe/London") == ZoneInfo("Europe/London")
    assert is_valid_tzid("Etc/UTC")
    assert is_valid_tzid("UTC")
    assert is_valid_tzid("US/Eastern")
    assert is_valid_tzid("Etc/GMT+5")
    assert is_valid_tzid("America/Argentina/Buenos_Aires")


@pytest.mark.parametrize(
    "tzid",
    [
        "",
        "Nowhere/City",
        "europe/london",
        "Europe",
        "Europe/",
        "/Europe/London",
        "Europe//London",
        "Europe/London/",
        "../etc/passwd",
        "../../../../etc/passwd",
        "/etc/localtime",
        "Europe/../Europe/London",
        "./UTC",
        "zone.tab",
        "zone1970.tab",
        "tzdata.zi",
        "leapseconds",
        "iso3166.tab",
        "localtime",
        "posixrules",
        "posix/Europe/London",
        "right/UTC",
        "Europe/London\x00",
        "Europe\\London",
        " Europe/London",
        "Europe/London ",
        "A" * 300,
        "+01:00",
        "Z",
    ],
)
def test_zone_refuses(tzid: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        zone(tzid)
    assert_invalid(excinfo, "errors.unknown_tzid")
    assert not is_valid_tzid(tzid)


@pytest.mark.parametrize("tzid", [None, 0, b"UTC", ["UTC"]])
def test_zone_refuses_non_strings(tzid: object) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        zone(tzid)  # type: ignore[arg-type]
    assert_invalid(excinfo, "errors.unknown_tzid")
    assert not is_valid_tzid(tzid)  # type: ignore[arg-type]


def test_every_iana_zone_is_valid() -> None:
    refused = {key for key in available_timezones() if not is_valid_tzid(key)}
    # The host's own setting is not an IANA zone; nothing else may be refused.
    assert refused <= {"localtime", "posixrules"}


# ---------------------------------------------------------------------------------------------
# EventTime and parse_event_time


def test_parse_event_time_from_strings() -> None:
    assert parse_event_time("2014-08-05T14:30:00Z", "Europe/London") == EventTime(T0, "Europe/London")
    all_day = parse_event_time("2014-08-05", "Europe/London")
    assert all_day == EventTime(date(2014, 8, 5), "Europe/London")
    assert all_day.is_date
    assert not parse_event_time("2014-08-05 15:30:00+01:00", "Etc/UTC").is_date


def test_parse_event_time_from_objects() -> None:
    # `time` names the instant; `tzid` only says where to present it.
    got = parse_event_time({"time": "2014-08-05T15:30:00+01:00", "tzid": "America/New_York"}, "Etc/UTC")
    assert got == EventTime(T0, "America/New_York")
    assert not got.is_date
    assert parse_event_time({"time": "2014-08-05T14:30:00Z"}, "Asia/Kolkata") == EventTime(T0, "Asia/Kolkata")
    assert (
        parse_event_time({"time": "2014-08-05T14:30:00Z", "tzid": None}, "Asia/Kolkata").tzid
        == "Asia/Kolkata"
    )
    all_day = parse_event_time({"time": "2014-08-05", "tzid": "Europe/Paris"}, "Etc/UTC")
    assert all_day == EventTime(date(2014, 8, 5), "Europe/Paris")
    assert all_day.is_date


@pytest.mark.parametrize(
    "value",
    [
        None,
        5,
        ["2014-08-05T14:30:00Z"],
        {},
        {"tzid": "Europe/London"},
        {"time": None},
        {"time": 1407249000},
        {"time": {"time": "2014-08-05T14:30:00Z"}},
        {"time": "2014-08-05T14:30:00"},
        {"time": "2014-02-30"},
        "2014-08-05T14:30:00",
        "2014-08-05T14:30:00.123Z",
    ],
)
def test_parse_event_time_refuses(value: object) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        parse_event_time(value, "Europe/London")
    assert_invalid(excinfo)


@pytest.mark.parametrize(
    ("value", "default_tzid"),
    [
        ({"time": "2014-08-05T14:30:00Z", "tzid": "Mars/Olympus_Mons"}, "Etc/UTC"),
        ({"time": "2014-08-05T14:30:00Z", "tzid": "../etc/passwd"}, "Etc/UTC"),
        ({"time": "2014-08-05T14:30:00Z", "tzid": ""}, "Etc/UTC"),
        ({"time": "2014-08-05T14:30:00Z", "tzid": 5}, "Etc/UTC"),
        ({"time": "2014-08-05T14:30:00Z"}, "Mars/Olympus_Mons"),
        ("2014-08-05T14:30:00Z", "Mars/Olympus_Mons"),
    ],
)
def test_parse_event_time_refuses_zones(value: object, default_tzid: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        parse_event_time(value, default_tzid)
    assert_invalid(excinfo, "errors.unknown_tzid")


def test_event_time_is_frozen() -> None:
    event_time = EventTime(T0, "Etc/UTC")
    with pytest.raises(AttributeError):
        event_time.tzid = "Europe/London"  # type: ignore[misc]
    assert hash(event_time) == hash(EventTime(T0, "Etc/UTC"))


# ---------------------------------------------------------------------------------------------
# formatting


def test_format_instant() -> None:
    assert format_instant(T0) == "2014-08-05T14:30:00Z"
    assert (
        format_instant(datetime(2014, 8, 5, 15, 30, tzinfo=ZoneInfo("Europe/London")))
        == "2014-08-05T14:30:00Z"
    )
    assert format_instant(utc(2014, 8, 5, 14, 30, 59, 999_999)) == "2014-08-05T14:30:59Z"
    assert format_instant(utc(1, 1, 1)) == "0001-01-01T00:00:00Z"
    assert format_instant(utc(999, 1, 1)) == "0999-01-01T00:00:00Z"


def test_format_instant_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError):
        format_instant(datetime(2014, 8, 5, 14, 30))
    with pytest.raises(TypeError):
        format_instant(date(2014, 8, 5))  # type: ignore[arg-type]


def test_format_date() -> None:
    assert format_date(date(2014, 8, 5)) == "2014-08-05"
    assert format_date(date(1, 1, 1)) == "0001-01-01"
    with pytest.raises(TypeError):
        format_date(T0)


@pytest.mark.parametrize(
    ("moment", "tzid", "expected"),
    [
        (utc(2014, 9, 6, 12, 40), "Europe/London", "2014-09-06T13:40:00+01:00"),
        (utc(2014, 12, 6, 12, 40), "Europe/London", "2014-12-06T12:40:00+00:00"),
        (utc(2014, 12, 6, 12, 40), "Etc/UTC", "2014-12-06T12:40:00+00:00"),
        (utc(2014, 12, 6, 12, 40), "UTC", "2014-12-06T12:40:00+00:00"),
        (utc(2014, 12, 6, 12, 40, 7, 999_999), "Asia/Kolkata", "2014-12-06T18:10:07+05:30"),
        (utc(2014, 12, 6, 12, 40), "America/New_York", "2014-12-06T07:40:00-05:00"),
        (utc(2014, 12, 6, 12, 40), "America/St_Johns", "2014-12-06T09:10:00-03:30"),
        (utc(2014, 12, 6, 12, 40), "Asia/Kathmandu", "2014-12-06T18:25:00+05:45"),
        (utc(2025, 7, 1, 0, 0), "Australia/Lord_Howe", "2025-07-01T10:30:00+10:30"),
        (utc(2025, 1, 1, 0, 0), "Australia/Lord_Howe", "2025-01-01T11:00:00+11:00"),
        (utc(2025, 1, 1, 0, 0), "Pacific/Kiritimati", "2025-01-01T14:00:00+14:00"),
        (utc(2025, 1, 1, 0, 0), "Pacific/Pago_Pago", "2024-12-31T13:00:00-11:00"),
        # Local mean time had offsets with seconds; they are kept so the instant is not changed.
        (utc(1900, 1, 1), "Africa/Monrovia", "1899-12-31T23:16:52-00:43:08"),
    ],
)
def test_format_localized(moment: datetime, tzid: str, expected: str) -> None:
    assert format_localized(moment, tzid) == expected
    assert parse_instant(expected) == moment.replace(microsecond=0)


def test_format_localized_refuses() -> None:
    with pytest.raises(InvalidValue) as excinfo:
        format_localized(T0, "Nowhere/City")
    assert_invalid(excinfo, "errors.unknown_tzid")
    with pytest.raises(ValueError):
        format_localized(datetime(2014, 8, 5), "Etc/UTC")


def test_to_local() -> None:
    local = to_local(T0, "Europe/London")
    assert local == T0
    assert (local.hour, local.utcoffset()) == (15, timedelta(hours=1))
    assert local.tzinfo is zone("Europe/London")
    with pytest.raises(ValueError):
        to_local(datetime(2014, 8, 5), "Europe/London")


# ---------------------------------------------------------------------------------------------
# DST golden cases


@pytest.mark.parametrize(
    ("tzid", "wall", "expected"),
    [
        # Ordinary times.
        ("America/New_York", datetime(2025, 7, 1, 9, 0), utc(2025, 7, 1, 13, 0)),
        ("America/New_York", datetime(2025, 1, 1, 9, 0), utc(2025, 1, 1, 14, 0)),
        ("Asia/Kolkata", datetime(2025, 1, 1, 9, 0), utc(2025, 1, 1, 3, 30)),
        # New York spring forward, 2025-03-09 02:00 EST → 03:00 EDT: the gap shifts forward 1 h.
        ("America/New_York", datetime(2025, 3, 9, 1, 59, 59), utc(2025, 3, 9, 6, 59, 59)),
        ("America/New_York", datetime(2025, 3, 9, 2, 0), utc(2025, 3, 9, 7, 0)),
        ("America/New_York", datetime(2025, 3, 9, 2, 30), utc(2025, 3, 9, 7, 30)),
        ("America/New_York", datetime(2025, 3, 9, 2, 59, 59), utc(2025, 3, 9, 7, 59, 59)),
        ("America/New_York", datetime(2025, 3, 9, 3, 0), utc(2025, 3, 9, 7, 0)),
        # New York fall back, 2025-11-02 02:00 EDT → 01:00 EST: 01:xx happens twice, take EDT.
        ("America/New_York", datetime(2025, 11, 2, 0, 59, 59), utc(2025, 11, 2, 4, 59, 59)),
        ("America/New_York", datetime(2025, 11, 2, 1, 0), utc(2025, 11, 2, 5, 0)),
        ("America/New_York", datetime(2025, 11, 2, 1, 30), utc(2025, 11, 2, 5, 30)),
        ("America/New_York", datetime(2025, 11, 2, 1, 59, 59), utc(2025, 11, 2, 5, 59, 59)),
        ("America/New_York", datetime(2025, 11, 2, 2, 0), utc(2025, 11, 2, 7, 0)),
        # London, 2025-03-30 01:00 GMT → 02:00 BST and 2025-10-26 02:00 BST → 01:00 GMT.
        ("Europe/London", datetime(2025, 3, 30, 1, 30), utc(2025, 3, 30, 1, 30)),
        ("Europe/London", datetime(2025, 3, 30, 2, 0), utc(2025, 3, 30, 1, 0)),
        ("Europe/London", datetime(2025, 10, 26, 1, 30), utc(2025, 10, 26, 0, 30)),
        ("Europe/London", datetime(2025, 10, 26, 2, 0), utc(2025, 10, 26, 2, 0)),
        # Lord Howe moves by 30 minutes: 2025-10-05 02:00 +10:30 → 02:30 +11:00 …
        ("Australia/Lord_Howe", datetime(2025, 10, 5, 1, 59), utc(2025, 10, 4, 15, 29)),
        ("Australia/Lord_Howe", datetime(2025, 10, 5, 2, 15), utc(2025, 10, 4, 15, 45)),
        ("Australia/Lord_Howe", datetime(2025, 10, 5, 2, 30), utc(2025, 10, 4, 15, 30)),
        # … and 2025-04-06 02:00 +11:00 → 01:30 +10:30.
        ("Australia/Lord_Howe", datetime(2025, 4, 6, 1, 45), utc(2025, 4, 5, 14, 45)),
        ("Australia/Lord_Howe", datetime(2025, 4, 6, 2, 0), utc(2025, 4, 5, 15, 30)),
        # Santiago, 2024-09-08: 00:00 -04 → 01:00 -03, midnight skipped.
        ("America/Santiago", datetime(2024, 9, 8, 0, 0), utc(2024, 9, 8, 4, 0)),
        ("America/Santiago", datetime(2024, 9, 8, 0, 30), utc(2024, 9, 8, 4, 30)),
        ("America/Santiago", datetime(2024, 9, 8, 1, 0), utc(2024, 9, 8, 4, 0)),
        # Santiago, 2025-04-06: 00:00 -03 → 23:00 -04 the day before; 23:30 happens twice.
        ("America/Santiago", datetime(2025, 4, 5, 23, 30), utc(2025, 4, 6, 2, 30)),
        ("America/Santiago", datetime(2025, 4, 6, 0, 0), utc(2025, 4, 6, 4, 0)),
        # Havana, 2024-03-10: 00:00 CST → 01:00 CDT.
        ("America/Havana", datetime(2024, 3, 10, 0, 0), utc(2024, 3, 10, 5, 0)),
        # Samoa skipped the whole of 2011-12-30 (-10 → +14 at midnight).
        ("Pacific/Apia", datetime(2011, 12, 30, 12, 0), utc(2011, 12, 30, 22, 0)),
        ("Pacific/Apia", datetime(2011, 12, 31, 0, 0), utc(2011, 12, 30, 10, 0)),
        # Toronto, 1919-03-30 23:30 EST → 00:30 EDT: a gap across midnight, read on EST.
        ("America/Toronto", datetime(1919, 3, 30, 23, 45), utc(1919, 3, 31, 4, 45)),
        ("America/Toronto", datetime(1919, 3, 31, 0, 0), utc(1919, 3, 31, 5, 0)),
        ("America/Toronto", datetime(1919, 3, 31, 0, 30), utc(1919, 3, 31, 4, 30)),
    ],
)
def test_local_to_utc_golden(tzid: str, wall: datetime, expected: datetime) -> None:
    got = local_to_utc(wall, tzid)
    assert got == expected
    assert got.tzinfo is UTC


def test_local_to_utc_refuses() -> None:
    with pytest.raises(ValueError):
        local_to_utc(T0, "Etc/UTC")
    with pytest.raises(InvalidValue) as excinfo:
        local_to_utc(datetime(2025, 1, 1), "Nowhere/City")
    assert_invalid(excinfo, "errors.unknown_tzid")
    with pytest.raises(InvalidValue) as excinfo:
        local_to_utc(datetime(1, 1, 1), "Asia/Tokyo")
    assert_invalid(excinfo)


def test_local_to_utc_ignores_fold_of_its_argument() -> None:
    wall = datetime(2025, 11, 2, 1, 30)
    assert local_to_utc(wall.replace(fold=1), "America/New_York") == utc(2025, 11, 2, 5, 30)


def test_midnight_really_is_skipped_in_the_chosen_cases() -> None:
    # Guards the golden cases below against a tzdata that changed history.
    for tzid, day in [
        ("America/Santiago", date(2024, 9, 8)),
        ("America/Havana", date(2024, 3, 10)),
        ("Asia/Beirut", date(2024, 3, 31)),
        ("America/Asuncion", date(2023, 10, 1)),
        ("Pacific/Apia", date(2011, 12, 30)),
        ("America/Toronto", date(1919, 3, 31)),
    ]:
        tz = ZoneInfo(tzid)
        midnight = datetime.combine(day, time())
        for fold in (0, 1):
            seen = midnight.replace(tzinfo=tz, fold=fold).astimezone(UTC).astimezone(tz)
            assert seen.replace(tzinfo=None) != midnight, (tzid, day)


@pytest.mark.parametrize(
    ("tzid", "day", "expected"),
    [
        ("Etc/UTC", date(2025, 1, 1), utc(2025, 1, 1)),
        ("Europe/London", date(2025, 7, 1), utc(2025, 6, 30, 23, 0)),
        ("Europe/London", date(2025, 3, 30), utc(2025, 3, 30, 0, 0)),
        ("America/New_York", date(2025, 3, 9), utc(2025, 3, 9, 5, 0)),
        ("America/New_York", date(2025, 11, 2), utc(2025, 11, 2, 4, 0)),
        ("Asia/Kolkata", date(2025, 1, 1), utc(2024, 12, 31, 18, 30)),
        ("Australia/Lord_Howe", date(2025, 10, 5), utc(2025, 10, 4, 13, 30)),
        # Midnight skipped: the day starts at the end of the gap, 01:00 local.
        ("America/Santiago", date(2024, 9, 8), utc(2024, 9, 8, 4, 0)),
        ("America/Havana", date(2024, 3, 10), utc(2024, 3, 10, 5, 0)),
        ("Asia/Beirut", date(2024, 3, 31), utc(2024, 3, 30, 22, 0)),
        ("America/Asuncion", date(2023, 10, 1), utc(2023, 10, 1, 4, 0)),
        # Santiago falls back at 24:00 to 23:00 of the day before: midnight still happens once.
        ("America/Santiago", date(2025, 4, 6), utc(2025, 4, 6, 4, 0)),
        # Havana falls back at 01:00 to 00:00: midnight happens twice, the day starts at the first.
        ("America/Havana", date(2024, 11, 3), utc(2024, 11, 3, 4, 0)),
        # A date that never happened starts, and ends, when the next one starts.
        ("Pacific/Apia", date(2011, 12, 30), utc(2011, 12, 30, 10, 0)),
        ("Pacific/Apia", date(2011, 12, 31), utc(2011, 12, 30, 10, 0)),
        ("Pacific/Apia", date(2011, 12, 29), utc(2011, 12, 29, 10, 0)),
        # A gap across midnight (23:30 → 00:30): the day starts at 00:30 EDT, the end of the gap,
        # which is earlier than local_to_utc's reading of 00:00 (01:00 EDT).
        ("America/Toronto", date(1919, 3, 31), utc(1919, 3, 31, 4, 30)),
    ],
)
def test_start_of_day_golden(tzid: str, day: date, expected: datetime) -> None:
    got = start_of_day(day, tzid)
    assert got == expected
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    ("tzid", "day"),
    [
        ("America/Santiago", date(2024, 9, 8)),
        ("America/Havana", date(2024, 3, 10)),
        ("Asia/Beirut", date(2024, 3, 31)),
        ("America/Asuncion", date(2023, 10, 1)),
    ],
)
def test_start_of_day_agrees_with_local_to_utc_when_the_gap_starts_at_midnight(tzid: str, day: date) -> None:
    start = start_of_day(day, tzid)
    assert start == local_to_utc(datetime.combine(day, time()), tzid)
    assert to_local(start, tzid).replace(tzinfo=None) == datetime.combine(day, time(1, 0))
    assert to_local(start - SECOND, tzid).replace(tzinfo=None) == datetime.combine(day, time()) - SECOND


def test_start_of_day_refuses() -> None:
    with pytest.raises(TypeError):
        start_of_day(T0, "Etc/UTC")
    with pytest.raises(InvalidValue) as excinfo:
        start_of_day(date(2025, 1, 1), "Nowhere/City")
    assert_invalid(excinfo, "errors.unknown_tzid")
    with pytest.raises(InvalidValue) as excinfo:
        start_of_day(date(1, 1, 1), "Asia/Tokyo")
    assert_invalid(excinfo)


def test_day_window() -> None:
    assert day_window(date(2025, 3, 9), date(2025, 3, 10), "America/New_York") == (
        utc(2025, 3, 9, 5, 0),
        utc(2025, 3, 10, 4, 0),
    )
    start, end = day_window(date(2025, 11, 2), date(2025, 11, 3), "America/New_York")
    assert end - start == timedelta(hours=25)
    start, end = day_window(date(2025, 10, 5), date(2025, 10, 6), "Australia/Lord_Howe")
    assert end - start == timedelta(hours=23, minutes=30)
    assert day_window(date(2025, 1, 1), date(2025, 1, 1), "Etc/UTC") == (utc(2025, 1, 1), utc(2025, 1, 1))
    start, end = day_window(date(2011, 12, 30), date(2011, 12, 31), "Pacific/Apia")
    assert start == end
    with pytest.raises(InvalidValue) as excinfo:
        day_window(date(2025, 1, 2), date(2025, 1, 1), "Etc/UTC")
    assert_invalid(excinfo)


# ---------------------------------------------------------------------------------------------
# Every real transition of some zones with unusual rules, against the policy stated directly


def _offset(tz: ZoneInfo, moment: datetime) -> timedelta:
    offset = moment.astimezone(tz).utcoffset()
    assert offset is not None
    return offset


@cache
def _transitions(
    tzid: str, first_year: int, last_year: int
) -> tuple[tuple[datetime, timedelta, timedelta], ...]:
    """(instant, offset before, offset after) of each change of UTC offset, to the second."""
    tz = ZoneInfo(tzid)
    step = timedelta(hours=6)
    found = []
    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    while moment < end:
        before, after = _offset(tz, moment), _offset(tz, moment + step)
        if before != after:
            low, high = moment, moment + step
            while high - low > SECOND:
                middle = low + (high - low) // 2
                middle -= timedelta(microseconds=middle.microsecond)
                if _offset(tz, middle) == before:
                    low = middle
                else:
                    high = middle
            found.append((high, before, after))
        moment += step
    return tuple(found)


TRANSITION_ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Havana",
    "Asia/Beirut",
    "America/Asuncion",
    "America/Sao_Paulo",
    "Asia/Tehran",
    "Africa/Casablanca",
    "Pacific/Apia",
    "Antarctica/Troll",
]


@pytest.mark.parametrize("tzid", TRANSITION_ZONES)
def test_policy_at_every_transition(tzid: str) -> None:
    transitions = _transitions(tzid, 2005, 2026)
    assert transitions
    for instant, before, after in transitions:
        wall_before = (instant + before).replace(tzinfo=None)  # where the old clock would go on
        wall_after = (instant + after).replace(tzinfo=None)  # where the new clock starts
        if after > before:
            # Gap [wall_before, wall_after): read with the old offset, i.e. shifted forward.
            for wall in (wall_before, wall_before + (after - before) / 2, wall_after - SECOND):
                assert local_to_utc(wall, tzid) == (wall - before).replace(tzinfo=UTC), (tzid, wall)
            assert local_to_utc(wall_after, tzid) == instant
        else:
            # Overlap [wall_after, wall_before): the earlier instant, on the old offset.
            for wall in (wall_after, wall_after + (before - after) / 2, wall_before - SECOND):
                assert local_to_utc(wall, tzid) == (wall - before).replace(tzinfo=UTC), (tzid, wall)
            # Past the overlap only the new offset applies.
            assert local_to_utc(wall_before, tzid) == (wall_before - after).replace(tzinfo=UTC)
        for day in {wall_before.date(), wall_after.date()}:
            _check_start_of_day(day, tzid)
        if after > before and wall_before.time() == time() and wall_after.date() == wall_before.date():
            assert start_of_day(wall_before.date(), tzid) == local_to_utc(wall_before, tzid) == instant


def test_transition_zones_include_midnight_gaps_and_30_minute_shifts() -> None:
    kinds = set()
    for tzid in TRANSITION_ZONES:
        for instant, before, after in _transitions(tzid, 2005, 2026):
            if after > before and (instant + before).time() == time():
                kinds.add("midnight gap")
            if abs(after - before) == timedelta(minutes=30):
                kinds.add("30 minutes")
            if abs(after - before) == timedelta(hours=2):
                kinds.add("2 hours")
    assert kinds == {"midnight gap", "30 minutes", "2 hours"}


# ---------------------------------------------------------------------------------------------
# properties

zones = st.timezone_keys(allow_prefix=False).filter(is_valid_tzid)
instants = st.datetimes(
    min_value=datetime(2, 1, 2), max_value=datetime(9998, 12, 30), timezones=st.just(UTC)
) | st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
dates = st.dates(min_value=date(2, 1, 2), max_value=date(9998, 12, 30)) | st.dates(
    min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)
)


def _near_transitions() -> st.SearchStrategy[tuple[datetime, str]]:
    # Random instants almost never land next to a DST change; these do, in every kind of zone above.
    known = [(instant, tzid) for tzid in TRANSITION_ZONES for instant, _, _ in _transitions(tzid, 2005, 2026)]
    return st.tuples(st.sampled_from(known), st.integers(min_value=-3 * 3600, max_value=3 * 3600)).map(
        lambda pair: (pair[0][0] + timedelta(seconds=pair[1]), pair[0][1])
    )


instants_in_zones = st.tuples(instants, zones) | st.deferred(_near_transitions)


@PROPERTY
@given(instants)
def test_format_instant_round_trips(moment: datetime) -> None:
    text = format_instant(moment)
    assert len(text) == 20
    assert parse_instant(text) == moment.replace(microsecond=0)


@PROPERTY
@given(instants_in_zones)
def test_format_localized_round_trips(case: tuple[datetime, str]) -> None:
    moment, tzid = case
    text = format_localized(moment, tzid)
    assert parse_instant(text) == moment.replace(microsecond=0)
    local = to_local(moment, tzid)
    assert text.startswith(local.replace(microsecond=0, tzinfo=None).isoformat())


@PROPERTY
@given(instants_in_zones)
def test_local_to_utc_inverts_to_local(case: tuple[datetime, str]) -> None:
    moment, tzid = case
    local = to_local(moment, tzid)
    # Not `local == moment`: PEP 495 makes a fold=1 time unequal to everything in other zones.
    assert local.astimezone(UTC) == moment
    back = local_to_utc(local.replace(tzinfo=None), tzid)
    if local.fold == 0:
        assert back == moment
    else:
        # The second occurrence of an ambiguous wall time: the policy picks the first one.
        assert back < moment
        assert to_local(back, tzid).replace(tzinfo=None) == local.replace(tzinfo=None)


@PROPERTY
@given(st.tuples(dates, zones) | st.deferred(_near_transitions).map(lambda c: (to_local(*c).date(), c[1])))
def test_start_of_day_is_the_first_instant_of_the_date(case: tuple[date, str]) -> None:
    _check_start_of_day(*case)


def _check_start_of_day(day: date, tzid: str) -> None:
    start = start_of_day(day, tzid)
    assert start.tzinfo is UTC
    first = to_local(start, tzid).date()
    assert to_local(start - SECOND, tzid).date() < day <= first
    if first == day:
        # Midnight exists, or the gap starts at it: then the policy lands on the same instant.
        midnight = datetime.combine(day, time())
        if to_local(start, tzid).replace(tzinfo=None) == midnight:
            assert local_to_utc(midnight, tzid) == start
    else:
        # Only a date the zone skipped altogether starts on a later date.
        assert to_local(start - SECOND, tzid).date() < day < first


@PROPERTY
@given(dates, st.integers(min_value=0, max_value=3), zones)
def test_day_window_covers_whole_local_days(day: date, days: int, tzid: str) -> None:
    end = day + timedelta(days=days)
    start_instant, end_instant = day_window(day, end, tzid)
    assert start_instant <= end_instant
    assert (start_instant, end_instant) == (start_of_day(day, tzid), start_of_day(end, tzid))


@PROPERTY
@given(st.text(max_size=40))
def test_parsers_only_raise_invalid_value(text: str) -> None:
    for parser in (parse_instant, parse_date, parse_time_or_date):
        try:
            parser(text)
        except InvalidValue as error:
            assert error.key == "errors.invalid"
            assert error.description


@PROPERTY
@given(
    st.from_regex(
        r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2})?([Zz]|[+-][0-9]{2}:?[0-9]{2})\Z"
    )
)
def test_time_shaped_strings_parse_or_are_refused_cleanly(text: str) -> None:
    try:
        parsed = parse_instant(text)
    except InvalidValue as error:
        assert error.key == "errors.invalid"
    else:
        assert parsed.tzinfo is UTC
        assert parse_instant(format_instant(parsed)) == parsed


@PROPERTY
@given(st.text(max_size=40))
def test_zone_only_raises_invalid_value(text: str) -> None:
    try:
        zone(text)
    except InvalidValue as error:
        assert error.key == "errors.unknown_tzid"
