"""Cronofy `Time` and `Date` values: parsing, formatting and time-zone arithmetic.

Instants are aware `datetime`s in UTC (``tzinfo=datetime.UTC``); all-day values are `date`s.
Output is always whole-second ``YYYY-MM-DDTHH:MM:SSZ`` (or the local wall time with its numeric
offset for localized output), never fractional.

Accepted input for a `Time`: ``2014-08-05T14:30:00Z``; a space instead of ``T``; lower-case
``t``/``z``; a numeric offset instead of ``Z`` (``+01:00``, ``+0100``, ``+01``); no seconds
(``14:30Z``, read as ``14:30:00``); fractional seconds only when they are all zero (``.000``), since
Cronofy refuses milliseconds. A value without ``Z`` or an offset names no instant and is refused.

DST policy, for a local wall-clock time turned into an instant (`local_to_utc`):

- A wall time that does not exist because the clocks jumped forward (a gap) is read as if the clock
  had not changed yet, so it lands later by the length of the gap: 02:30 on a US spring-forward day
  is 03:30 EDT (07:30Z). This is RFC 5545 §3.3.5 and Temporal's ``"compatible"`` disambiguation.
- A wall time that happens twice because the clocks went back (an overlap) is the earlier of the
  two instants (``fold=0``): 01:30 on a US fall-back day is 01:30 EDT (05:30Z).

A local date begins (`start_of_day`) at its first instant: local midnight, or, when midnight is
skipped by a gap, the end of that gap. When the gap starts exactly at midnight (Chile, Cuba,
Lebanon, Paraguay …) that is the instant `local_to_utc` gives for 00:00 too. When a gap straddles
midnight (Toronto, 1919-03-30 23:30 → 00:30) the two differ: the day begins at 00:30, while
`local_to_utc` reads 00:00 as 01:00. When a gap swallows a whole date (Samoa, 2011-12-30), that date
begins, and ends, at the end of the gap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from openslot.engine.errors import InvalidValue

__all__ = [
    "EventTime",
    "day_window",
    "format_date",
    "format_instant",
    "format_localized",
    "is_valid_tzid",
    "local_to_utc",
    "parse_date",
    "parse_event_time",
    "parse_instant",
    "parse_time_or_date",
    "start_of_day",
    "to_local",
    "zone",
]

_INVALID = "errors.invalid"
_UNKNOWN_TZID = "errors.unknown_tzid"
_SECOND = timedelta(seconds=1)

_DATE_RE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})")
# The zone designator is optional in the pattern only so that a missing one gets its own message.
# Offsets with seconds exist for the round trip of historical local mean time (format_localized).
_TIME_RE = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?"
    r"(?P<zone>[Zz]|(?P<sign>[+-])(?P<oh>[0-9]{2})"
    r"(?::(?P<om>[0-9]{2})(?::(?P<os>[0-9]{2}))?|(?P<om_basic>[0-9]{2}))?)?"
)

# Only IANA-shaped names: no dots, so no "..", no absolute paths, no data files such as zone.tab.
_TZID_RE = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")
_TZID_MAX_LENGTH = 64
# Files that live among the system's zones but are not IANA time zones: "localtime" is the host's
# own setting, "right/" zones count leap seconds.
_NOT_ZONES = frozenset({"localtime", "posixrules"})
_NOT_ZONE_PREFIXES = ("posix/", "right/")

_TIME_EXAMPLE = "such as 2014-08-05T14:30:00Z"


def _shown(value: object) -> str:
    # Descriptions go back to API clients: never echo an unbounded value.
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------------
# Time zones


@cache
def _load_zone(tzid: str) -> ZoneInfo:
    # Only successes are cached (a raising call stores nothing), so the cache is bounded by the
    # number of real zones, whatever clients send.
    try:
        return ZoneInfo(tzid)
    except (ValueError, KeyError, OSError, UnicodeError) as exc:
        # ZoneInfoNotFoundError is a KeyError; a directory or unreadable file is an OSError; a
        # non-TZif file is a ValueError.
        raise InvalidValue(_UNKNOWN_TZID, f"{_shown(tzid)} is not a known time zone") from exc


def zone(tzid: str) -> ZoneInfo:
    """The IANA time zone `tzid`; `InvalidValue` ``errors.unknown_tzid`` when there is none."""
    if (
        not isinstance(tzid, str)
        or len(tzid) > _TZID_MAX_LENGTH
        or not _TZID_RE.fullmatch(tzid)
        or tzid in _NOT_ZONES
        or tzid.startswith(_NOT_ZONE_PREFIXES)
    ):
        raise InvalidValue(_UNKNOWN_TZID, f"{_shown(tzid)} is not a known time zone")
    return _load_zone(tzid)


def is_valid_tzid(tzid: str) -> bool:
    try:
        zone(tzid)
    except InvalidValue:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_instant(text: str) -> datetime:
    """A Cronofy `Time` (an instant with ``Z`` or an offset) as an aware UTC datetime."""
    if not isinstance(text, str):
        raise InvalidValue(_INVALID, f"must be a time {_TIME_EXAMPLE}, got {type(text).__name__}")
    match = _TIME_RE.fullmatch(text)
    if match is None:
        raise InvalidValue(_INVALID, f"{_shown(text)} is not a time {_TIME_EXAMPLE}")
    if match["zone"] is None:
        raise InvalidValue(
            _INVALID, f"{_shown(text)} has no time zone designator: end it with Z or an offset like +01:00"
        )
    fraction = match["fraction"]
    if fraction is not None and fraction.strip("0"):
        raise InvalidValue(_INVALID, f"{_shown(text)} has fractional seconds: only whole seconds are allowed")
    try:
        wall = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
        )
        offset = _parse_offset(match)
        return (wall - offset).replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidValue(_INVALID, f"{_shown(text)} is out of range") from exc


def _parse_offset(match: re.Match[str]) -> timedelta:
    if match["sign"] is None:
        return timedelta(0)
    hours = int(match["oh"])
    minutes = int(match["om"] or match["om_basic"] or 0)
    seconds = int(match["os"] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError("offset out of range")
    offset = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return -offset if match["sign"] == "-" else offset


def parse_date(text: str) -> date:
    """A Cronofy `Date`, strictly ``YYYY-MM-DD``."""
    if not isinstance(text, str):
        raise InvalidValue(_INVALID, f"must be a date such as 2014-08-05, got {type(text).__name__}")
    match = _DATE_RE.fullmatch(text)
    if match is None:
        raise InvalidValue(_INVALID, f"{_shown(text)} is not a date such as 2014-08-05")
    try:
        return date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError as exc:
        raise InvalidValue(_INVALID, f"{_shown(text)} is not a real date") from exc


def parse_time_or_date(text: str) -> datetime | date:
    """A `Date` string as a `date`, anything else as a `Time` (see `parse_instant`)."""
    if isinstance(text, str) and _DATE_RE.fullmatch(text):
        return parse_date(text)
    return parse_instant(text)


@dataclass(frozen=True, slots=True)
class EventTime:
    """An event's start or end: an instant (UTC) or an all-day date, and the zone it belongs to."""

    value: datetime | date
    tzid: str

    @property
    def is_date(self) -> bool:
        # datetime is a subclass of date, so the test must be this way round.
        return not isinstance(self.value, datetime)


def parse_event_time(value: object, default_tzid: str) -> EventTime:
    """A `Time`/`Date` string, or a ``{"time": …, "tzid": …}`` object.

    A string, or an object without ``tzid``, belongs to `default_tzid`. The object's ``time`` is
    still an instant in its own right (its ``Z`` or offset says which); ``tzid`` only records the
    zone to present it in.
    """
    if isinstance(value, str):
        tzid = default_tzid
        moment = parse_time_or_date(value)
    elif isinstance(value, Mapping):
        raw_time = value.get("time")
        if not isinstance(raw_time, str):
            raise InvalidValue(_INVALID, "must have a time such as 2014-08-05T14:30:00Z or a date")
        raw_tzid = value.get("tzid")
        if raw_tzid is None:
            tzid = default_tzid
        elif isinstance(raw_tzid, str):
            tzid = raw_tzid
        else:
            raise InvalidValue(_UNKNOWN_TZID, f"{_shown(raw_tzid)} is not a known time zone")
        moment = parse_time_or_date(raw_time)
    else:
        raise InvalidValue(
            _INVALID, f"must be a time, a date or an object with time and tzid, got {type(value).__name__}"
        )
    zone(tzid)
    return EventTime(moment, tzid)


# ---------------------------------------------------------------------------------------------
# Formatting


def _require_aware(moment: datetime) -> None:
    # Naive datetimes here are programming errors, not client input: plain TypeError/ValueError.
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("expected an aware datetime, got a naive one")


def _utc_whole_seconds(moment: datetime) -> datetime:
    _require_aware(moment)
    return moment.astimezone(UTC).replace(microsecond=0)


def format_instant(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``; sub-second parts are truncated."""
    # Every instant of a page passes here: stored instants come back in UTC already, and
    # ``isoformat`` of a naive whole-second datetime is exactly the wanted text, done in C.
    if getattr(moment, "tzinfo", None) is not UTC:
        moment = _utc_whole_seconds(moment)
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def format_date(d: date) -> str:
    """``YYYY-MM-DD``."""
    if isinstance(d, datetime) or not isinstance(d, date):
        # A datetime would silently lose its time and its zone: make the caller choose the date.
        raise TypeError(f"expected a date, got {type(d).__name__}")
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def _format_offset(offset: timedelta) -> str:
    total = offset // _SECOND
    sign = "-" if total < 0 else "+"
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    # Only local mean time before ~1972 has offsets with seconds; dropping them would name another
    # instant.
    return f"{text}:{seconds:02d}" if seconds else text


def format_localized(moment: datetime, tzid: str) -> str:
    """The wall time in `tzid` with its offset, e.g. ``2014-09-06T13:40:00+01:00``."""
    local = _utc_whole_seconds(moment).astimezone(zone(tzid))
    offset = local.utcoffset()
    assert offset is not None
    return (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
        f"T{local.hour:02d}:{local.minute:02d}:{local.second:02d}{_format_offset(offset)}"
    )


# ---------------------------------------------------------------------------------------------
# Local time


def to_local(moment: datetime, tzid: str) -> datetime:
    """`moment` as an aware datetime in `tzid`.

    Compare results in UTC: under PEP 495 the second occurrence of an ambiguous wall time
    (``fold=1``) never compares equal to a datetime in another zone, even for the same instant.
    """
    _require_aware(moment)
    try:
        return moment.astimezone(zone(tzid))
    except OverflowError as exc:
        raise InvalidValue(_INVALID, "the time is out of range in that time zone") from exc


def _resolve(wall: datetime, tz: ZoneInfo) -> tuple[datetime | None, timedelta, timedelta]:
    """The earliest instant showing `wall` in `tz` (None in a gap), and the smaller and larger
    of the two offsets that could apply (they differ only next to a transition)."""
    offsets = {wall.replace(tzinfo=tz, fold=fold).utcoffset() for fold in (0, 1)}
    ordered = sorted(o for o in offsets if o is not None)
    # The larger offset gives the earlier instant, so trying it first finds the earliest match.
    for offset in reversed(ordered):
        instant = (wall - offset).replace(tzinfo=UTC)
        if instant.astimezone(tz).replace(tzinfo=None, fold=0) == wall:
            return instant, ordered[0], ordered[-1]
    return None, ordered[0], ordered[-1]


def _require_naive(local: datetime) -> datetime:
    if not isinstance(local, datetime):
        raise TypeError(f"expected a datetime, got {type(local).__name__}")
    if local.tzinfo is not None:
        raise ValueError("expected a naive wall-clock datetime, got an aware one")
    return local.replace(fold=0)


def local_to_utc(local: datetime, tzid: str) -> datetime:
    """The UTC instant of naive wall-clock time `local` in `tzid`, by the DST policy above."""
    wall = _require_naive(local)
    tz = zone(tzid)
    try:
        instant, before_gap, _ = _resolve(wall, tz)
        if instant is not None:
            return instant
        # In a gap the clocks jump forward, so the smaller offset is the one from before the jump:
        # reading the wall time with it is "as if the clock had not changed yet".
        return (wall - before_gap).replace(tzinfo=UTC)
    except OverflowError as exc:
        raise InvalidValue(_INVALID, f"{wall.isoformat()} is out of range in {tzid}") from exc


def start_of_day(d: date, tzid: str) -> datetime:
    """The first instant (UTC) of local date `d` in `tzid`.

    Local midnight if it exists (the earlier one if it happens twice), else the end of the gap that
    skips it; for a date the zone skipped altogether, the first instant of the dates after it.
    """
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"expected a date, got {type(d).__name__}")
    tz = zone(tzid)
    midnight = datetime.combine(d, time())
    try:
        instant, smaller, larger = _resolve(midnight, tz)
        if instant is not None:
            return instant
        # Midnight is in a gap [T + smaller, T + larger) of wall time, where T is the transition.
        # Before T the wall clock reads before midnight, from T on it reads midnight or later, so
        # T is the first instant whose local date is d (or later): find it by bisection.
        low = (midnight - larger).replace(tzinfo=UTC)
        high = (midnight - smaller).replace(tzinfo=UTC)
        while high - low > _SECOND:
            middle = low + ((high - low) // _SECOND // 2) * _SECOND
            if middle.astimezone(tz).date() >= d:
                high = middle
            else:
                low = middle
        return high
    except OverflowError as exc:
        raise InvalidValue(_INVALID, f"{d.isoformat()} is out of range in {tzid}") from exc


def day_window(start: date, end: date, tzid: str) -> tuple[datetime, datetime]:
    """``[start_of_day(start), start_of_day(end))``: the instants of local dates start … end - 1."""
    if end < start:
        raise InvalidValue(_INVALID, f"{end.isoformat()} is before {start.isoformat()}")
    return start_of_day(start, tzid), start_of_day(end, tzid)
