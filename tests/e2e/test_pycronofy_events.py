"""Events, free/busy, managed availability and batch through pycronofy against a real server process.

Every test works in its own application calendar, so each sees only the data it wrote itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pycronofy
import pytest
from pycronofy.batch import BatchBuilder, BatchResponse
from pycronofy.exceptions import PyCronofyPartialSuccessError, PyCronofyRequestError
from pycronofy.pagination import Pages

from tests.e2e.conftest import Server, cronofy_client

pytestmark = pytest.mark.e2e

# A fixed week well in the future: no default window or clock ever matters.
WINDOW_FROM = date(2030, 1, 7)
WINDOW_TO = date(2030, 1, 14)  # a Date `to` is exclusive
FIRST_START = datetime(2030, 1, 7, 0, 0, tzinfo=UTC)
PAGE_SIZE = 100
EVENT_COUNT = 120


@pytest.fixture(params=["sqlite", "postgresql"])
def app_client(request: pytest.FixtureRequest, server: Server) -> pycronofy.Client:
    """The demo application's client, against the SQLite server and the two-process PostgreSQL one."""
    chosen = server if request.param == "sqlite" else request.getfixturevalue("postgres_server")
    return cronofy_client(chosen.base_url, client_id=chosen.client_id, client_secret=chosen.client_secret)


def _status_of(call: Callable[[], object]) -> int:
    with pytest.raises(PyCronofyRequestError) as info:
        call()
    return info.value.response.status_code


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _calendar(client: pycronofy.Client, application_calendar_id: str) -> str:
    """Authorize ``client`` as a fresh application calendar; return its calendar's id."""
    client.application_calendar(application_calendar_id)
    calendars = client.list_calendars()
    assert len(calendars) == 1
    return calendars[0]["calendar_id"]


def _event(index: int, **extra: Any) -> dict[str, Any]:
    """Event ``index``: half an hour, starting on the hour ``index`` hours into the window."""
    start = FIRST_START + timedelta(hours=index)
    return {
        "event_id": f"evt-{index:03d}",
        "summary": f"Meeting {index}",
        "description": f"Agenda for meeting {index}",
        "start": start,
        "end": start + timedelta(minutes=30),
        **extra,
    }


def _expected(index: int, summary: str | None = None) -> dict[str, str]:
    start = FIRST_START + timedelta(hours=index)
    return {
        "summary": summary or f"Meeting {index}",
        "description": f"Agenda for meeting {index}",
        "start": _stamp(start),
        "end": _stamp(start + timedelta(minutes=30)),
    }


def _seed(client: pycronofy.Client, calendar_id: str, indexes: Iterable[int]) -> None:
    for index in indexes:
        client.upsert_event(calendar_id, _event(index))


def _read(client: pycronofy.Client, **kwargs: Any) -> Pages:
    query: dict[str, Any] = {
        "from_date": WINDOW_FROM,
        "to_date": WINDOW_TO,
        "tzid": "Etc/UTC",
        "include_managed": True,
    }
    return client.read_events(**(query | kwargs))


def _by_id(events: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    listed = list(events)
    by_id = {event["event_id"]: event for event in listed}
    assert len(by_id) == len(listed), "an event was listed twice"
    return by_id


def _shape(event: dict[str, Any]) -> dict[str, str]:
    return {key: event[key] for key in ("summary", "description", "start", "end")}


def test_upsert_120_events_and_read_every_page(app_client: pycronofy.Client) -> None:
    calendar_id = _calendar(app_client, "e2e-events-read")
    _seed(app_client, calendar_id, range(EVENT_COUNT))
    # Starts exactly where the Date `to` ends the window: outside it.
    app_client.upsert_event(
        calendar_id,
        {
            "event_id": "evt-outside",
            "summary": "Outside",
            "start": datetime(2030, 1, 14, 0, 0, tzinfo=UTC),
            "end": datetime(2030, 1, 14, 1, 0, tzinfo=UTC),
        },
    )

    pages = _read(app_client)
    assert pages.current == 1
    assert pages.total == 2
    assert len(pages.current_page()) == PAGE_SIZE
    assert pages.next_page_url is not None
    assert pages.next_page_url.startswith(app_client.request_handler.base_url)

    # Iteration follows next_page on its own.
    events = _by_id(pages)
    assert pages.current == pages.total == 2
    assert pages.next_page_url is None
    assert set(events) == {f"evt-{index:03d}" for index in range(EVENT_COUNT)}
    for index in range(EVENT_COUNT):
        event = events[f"evt-{index:03d}"]
        assert _shape(event) == _expected(index)
        assert event["calendar_id"] == calendar_id
        assert event["deleted"] is False
        assert event["event_uid"]
    assert [e["start"] for e in events.values()] == sorted(e["start"] for e in events.values())

    # ... and so does Pages.all().
    assert set(_by_id(_read(app_client).all())) == set(events)

    # Without automatic pagination only the first page is iterated.
    assert len(list(_read(app_client, automatic_pagination=False))) == PAGE_SIZE

    # Managed events are the application's own: only_managed finds them, include_managed=False hides them.
    assert set(_by_id(_read(app_client, include_managed=False, only_managed=True))) == set(events)
    assert list(_read(app_client, include_managed=False)) == []

    # A narrower window of Times and an explicit calendar selection: evt-009 (09:00-09:30) overlaps
    # from, evt-012 starts at `to` and so is outside.
    narrow = _read(
        app_client,
        calendar_ids=[calendar_id],
        from_date=datetime(2030, 1, 7, 9, 15, tzinfo=UTC),
        to_date=datetime(2030, 1, 7, 12, 0, tzinfo=UTC),
    )
    assert sorted(_by_id(narrow)) == ["evt-009", "evt-010", "evt-011"]


def test_update_keeps_one_event_per_event_id(app_client: pycronofy.Client) -> None:
    calendar_id = _calendar(app_client, "e2e-events-update")
    _seed(app_client, calendar_id, range(EVENT_COUNT))

    app_client.upsert_event(calendar_id, _event(7, summary="Renamed"))
    app_client.upsert_event(calendar_id, _event(115, summary="Renamed, too"))

    events = _by_id(_read(app_client))
    assert len(events) == EVENT_COUNT
    assert _shape(events["evt-007"]) == _expected(7, "Renamed")
    assert _shape(events["evt-115"]) == _expected(115, "Renamed, too")
    assert _shape(events["evt-008"]) == _expected(8)

    # last_modified (a datetime pycronofy sends in whole seconds) selects what changed since then.
    mark = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    time.sleep((mark - datetime.now(UTC)).total_seconds() + 0.05)
    app_client.upsert_event(calendar_id, _event(60, summary="Changed later"))
    changed = _by_id(_read(app_client, last_modified=mark))
    assert sorted(changed) == ["evt-060"]
    assert changed["evt-060"]["summary"] == "Changed later"

    # Moving an event changes its times in place.
    moved = _event(3)
    moved["start"] = datetime(2030, 1, 12, 9, 0, tzinfo=UTC)
    moved["end"] = datetime(2030, 1, 12, 10, 0, tzinfo=UTC)
    app_client.upsert_event(calendar_id, moved)

    events = _by_id(_read(app_client))
    assert len(events) == EVENT_COUNT
    assert (events["evt-003"]["start"], events["evt-003"]["end"]) == (
        "2030-01-12T09:00:00Z",
        "2030-01-12T10:00:00Z",
    )


def test_zoned_and_all_day_events(app_client: pycronofy.Client) -> None:
    calendar_id = _calendar(app_client, "e2e-events-zoned")
    new_york = ZoneInfo("America/New_York")
    # pycronofy turns the aware datetime inside {time, tzid} into UTC and keeps the tzid.
    app_client.upsert_event(
        calendar_id,
        {
            "event_id": "zoned",
            "summary": "Zoned",
            "start": {"time": datetime(2030, 1, 8, 9, 0, tzinfo=new_york), "tzid": "America/New_York"},
            "end": {"time": datetime(2030, 1, 8, 10, 0, tzinfo=new_york), "tzid": "America/New_York"},
        },
    )
    # Dates make an all-day event.
    app_client.upsert_event(
        calendar_id,
        {"event_id": "all-day", "summary": "All day", "start": date(2030, 1, 9), "end": date(2030, 1, 10)},
    )

    events = _by_id(_read(app_client))
    assert (events["zoned"]["start"], events["zoned"]["end"]) == (
        "2030-01-08T14:00:00Z",
        "2030-01-08T15:00:00Z",
    )
    assert (events["all-day"]["start"], events["all-day"]["end"]) == ("2030-01-09", "2030-01-10")

    localized = _by_id(_read(app_client, localized_times=True))
    assert localized["zoned"]["start"] == {"time": "2030-01-08T09:00:00-05:00", "tzid": "America/New_York"}
    assert localized["zoned"]["end"] == {"time": "2030-01-08T10:00:00-05:00", "tzid": "America/New_York"}

    # Date bounds are days in the query's tzid: 2030-01-09 in Kolkata starts at 18:30Z on the 8th, after
    # the zoned event; the all-day event is on that day wherever the reader is.
    kolkata = _read(app_client, tzid="Asia/Kolkata", from_date=date(2030, 1, 9), to_date=date(2030, 1, 10))
    assert sorted(_by_id(kolkata)) == ["all-day"]
    new_york_day = _read(
        app_client, tzid="America/New_York", from_date=date(2030, 1, 8), to_date=date(2030, 1, 9)
    )
    assert sorted(_by_id(new_york_day)) == ["zoned"]

    blocks = app_client.read_free_busy(
        from_date=WINDOW_FROM, to_date=WINDOW_TO, tzid="Etc/UTC", include_managed=True
    ).all()
    assert sorted((b["start"], b["end"]) for b in blocks) == [
        ("2030-01-08T14:00:00Z", "2030-01-08T15:00:00Z"),
        ("2030-01-09", "2030-01-10"),
    ]


def test_free_busy_blocks_for_busy_events(app_client: pycronofy.Client) -> None:
    calendar_id = _calendar(app_client, "e2e-free-busy")
    busy = range(105)
    _seed(app_client, calendar_id, busy)
    app_client.upsert_event(calendar_id, _event(105, transparency="transparent"))
    app_client.upsert_event(calendar_id, _event(106, status="cancelled"))
    app_client.upsert_event(calendar_id, _event(107, status="tentative"))

    pages = app_client.read_free_busy(
        from_date=WINDOW_FROM, to_date=WINDOW_TO, tzid="Etc/UTC", include_managed=True
    )
    assert pages.total == 2
    blocks = pages.all()

    expected = [
        {"calendar_id": calendar_id, "start": shape["start"], "end": shape["end"], "free_busy_status": "busy"}
        for shape in map(_expected, busy)
    ]
    tentative = _expected(107)
    expected.append(
        {
            "calendar_id": calendar_id,
            "start": tentative["start"],
            "end": tentative["end"],
            "free_busy_status": "tentative",
        }
    )
    assert sorted(blocks, key=lambda b: b["start"]) == expected

    # The transparent and cancelled events are still events, just not busy ones.
    events = _by_id(_read(app_client))
    assert {"evt-105", "evt-106", "evt-107"} <= set(events)
    assert events["evt-105"]["transparency"] == "transparent"
    assert events["evt-106"]["status"] == "cancelled"

    # Managed events are excluded from free/busy unless asked for.
    hidden = app_client.read_free_busy(
        from_date=WINDOW_FROM, to_date=WINDOW_TO, tzid="Etc/UTC", include_managed=False
    )
    assert list(hidden) == []


def test_delete_event_leaves_a_tombstone(app_client: pycronofy.Client) -> None:
    calendar_id = _calendar(app_client, "e2e-delete-event")
    _seed(app_client, calendar_id, range(5))

    app_client.delete_event(calendar_id, "evt-002")

    remaining = _by_id(_read(app_client))
    assert sorted(remaining) == ["evt-000", "evt-001", "evt-003", "evt-004"]

    with_deleted = _by_id(_read(app_client, include_deleted=True))
    assert sorted(with_deleted) == [f"evt-{index:03d}" for index in range(5)]
    assert with_deleted["evt-002"]["deleted"] is True
    assert _shape(with_deleted["evt-002"]) == _expected(2)
    assert all(not with_deleted[event_id]["deleted"] for event_id in remaining)

    # Deleting it again, or an event that never existed, is already done.
    app_client.delete_event(calendar_id, "evt-002")
    app_client.delete_event(calendar_id, "evt-never")
    assert sorted(_by_id(_read(app_client))) == sorted(remaining)

    # Upserting the event_id again brings it back.
    app_client.upsert_event(calendar_id, _event(2, summary="Back again"))
    revived = _by_id(_read(app_client))
    assert len(revived) == 5
    assert revived["evt-002"]["deleted"] is False
    assert revived["evt-002"]["summary"] == "Back again"


def test_delete_all_events_everywhere_and_per_calendar(app_client: pycronofy.Client) -> None:
    first = _calendar(app_client, "e2e-delete-all")
    profile_id = app_client.list_profiles()[0]["profile_id"]
    second = app_client.create_calendar(profile_id, "Second")["calendar"]["calendar_id"]
    _seed(app_client, first, range(0, 10))
    _seed(app_client, second, range(10, 20))
    assert len(_by_id(_read(app_client))) == 20

    # calendar_ids[] in the query string: only the second calendar's events go.
    app_client.delete_all_events(calendar_ids=[second])

    events = _by_id(_read(app_client))
    assert sorted(events) == [f"evt-{index:03d}" for index in range(10)]
    assert {event["calendar_id"] for event in events.values()} == {first}
    assert list(_read(app_client, calendar_ids=[second])) == []

    # delete_all=True in the query string: everything managed goes.
    app_client.delete_all_events()

    assert list(_read(app_client)) == []
    assert list(_read(app_client, only_managed=True)) == []
    tombstones = _by_id(_read(app_client, include_deleted=True))
    assert len(tombstones) == 20
    assert all(event["deleted"] for event in tombstones.values())
    free_busy = app_client.read_free_busy(from_date=WINDOW_FROM, to_date=WINDOW_TO, include_managed=True)
    assert list(free_busy) == []

    # Nothing left to delete is fine too.
    app_client.delete_all_events()


def test_availability_rules_lifecycle(app_client: pycronofy.Client) -> None:
    calendar_id = _calendar(app_client, "e2e-availability-rules")
    rule = {
        "availability_rule_id": "working_hours",
        "tzid": "Europe/London",
        "calendar_ids": [calendar_id],
        "weekly_periods": [
            {"day": "monday", "start_time": "09:30", "end_time": "12:30"},
            {"day": "wednesday", "start_time": "09:30", "end_time": "17:00"},
        ],
    }

    created = app_client.upsert_availability_rule(rule)
    assert created == rule

    other = {
        "availability_rule_id": "weekends",
        "tzid": "America/New_York",
        "weekly_periods": [{"day": "saturday", "start_time": "10:00", "end_time": "14:00"}],
    }
    app_client.upsert_availability_rule(other)

    listed = app_client.list_availability_rules()
    assert {r["availability_rule_id"]: r for r in listed} == {"working_hours": rule, "weekends": other}
    assert app_client.get_availability_rule("working_hours") == rule

    # Upserting the same id replaces the rule.
    changed = rule | {"weekly_periods": [{"day": "friday", "start_time": "08:00", "end_time": "16:00"}]}
    assert app_client.upsert_availability_rule(changed) == changed
    assert app_client.get_availability_rule("working_hours") == changed
    assert len(app_client.list_availability_rules()) == 2

    app_client.delete_availability_rule("working_hours")

    assert _status_of(lambda: app_client.get_availability_rule("working_hours")) == 404
    assert _status_of(lambda: app_client.delete_availability_rule("working_hours")) == 404
    assert [r["availability_rule_id"] for r in app_client.list_availability_rules()] == ["weekends"]

    # An invalid rule is refused whole.
    with pytest.raises(PyCronofyRequestError) as info:
        app_client.upsert_availability_rule(
            {
                "availability_rule_id": "backwards",
                "tzid": "Etc/UTC",
                "weekly_periods": [{"day": "monday", "start_time": "17:00", "end_time": "09:00"}],
            }
        )
    assert info.value.response.status_code == 422
    assert "errors" in info.value.response.json()
    assert _status_of(lambda: app_client.get_availability_rule("backwards")) == 404


def _periods(client: pycronofy.Client, **params: Any) -> list[dict[str, Any]]:
    # pycronofy 2.x has no available-period methods: its authenticated request handler does the HTTP.
    query = {"tzid": "Etc/UTC", "from": "2030-01-07", "to": "2030-01-14"} | params
    data = client.request_handler.get(endpoint="available_periods", params=query).json()
    return Pages(client.request_handler, data, "available_periods").all()


def test_available_periods_lifecycle(app_client: pycronofy.Client) -> None:
    _calendar(app_client, "e2e-available-periods")
    handler = app_client.request_handler
    for index in range(3):
        start = datetime(2030, 1, 8 + index, 9, 0, tzinfo=UTC)
        handler.post(
            endpoint="available_periods",
            data={
                "available_period_id": f"period-{index}",
                "start": _stamp(start),
                "end": _stamp(start + timedelta(hours=8)),
            },
        )

    periods = _periods(app_client)
    assert periods == [
        {
            "available_period_id": f"period-{index}",
            "start": f"2030-01-{8 + index:02d}T09:00:00Z",
            "end": f"2030-01-{8 + index:02d}T17:00:00Z",
        }
        for index in range(3)
    ]

    # Upsert by id; a window narrows the read.
    handler.post(
        endpoint="available_periods",
        data={
            "available_period_id": "period-1",
            "start": "2030-01-09T10:00:00Z",
            "end": "2030-01-09T12:00:00Z",
        },
    )
    narrow = _periods(app_client, **{"from": "2030-01-09", "to": "2030-01-10"})
    assert narrow == [
        {"available_period_id": "period-1", "start": "2030-01-09T10:00:00Z", "end": "2030-01-09T12:00:00Z"}
    ]

    handler.delete(endpoint="available_periods", data={"available_period_id": "period-0"})
    assert [p["available_period_id"] for p in _periods(app_client)] == ["period-1", "period-2"]

    handler.delete(endpoint="available_periods", data={"delete_all": True})
    assert _periods(app_client) == []

    # end before start is refused.
    with pytest.raises(PyCronofyRequestError) as info:
        handler.post(
            endpoint="available_periods",
            data={
                "available_period_id": "bad",
                "start": "2030-01-09T10:00:00Z",
                "end": "2030-01-09T09:00:00Z",
            },
        )
    assert info.value.response.status_code == 422


def test_batch_applies_valid_entries_and_reports_the_invalid_one(app_client: pycronofy.Client) -> None:
    calendar_id = _calendar(app_client, "e2e-batch")
    _seed(app_client, calendar_id, [0])

    builder = BatchBuilder()
    builder.upsert_event(calendar_id, _event(1))
    builder.upsert_event(calendar_id, _event(2))
    builder.delete_event(calendar_id, "evt-000")
    builder.upsert_event(calendar_id, {key: value for key, value in _event(3).items() if key != "summary"})
    # The builder has no available-period helper; its generic post() builds the same entry.
    builder.post(
        "/v1/available_periods",
        {
            "available_period_id": "batch-period",
            "start": "2030-01-08T09:00:00Z",
            "end": "2030-01-08T17:00:00Z",
        },
    )

    with pytest.raises(PyCronofyPartialSuccessError) as info:
        app_client.batch(builder)

    result = info.value.batch_response
    assert [entry.status() for entry in result.entries] == [202, 202, 202, 422, 202]
    assert result.has_errors()
    [failed] = result.errors()
    assert failed.request["data"]["event_id"] == "evt-003"
    assert failed.request["method"] == "POST"
    assert failed.request["relative_url"] == f"/v1/calendars/{calendar_id}/events"
    assert "summary" in failed.response["data"]["errors"]
    # pycronofy formatted the times in the batch entry as it does for upsert_event.
    assert result.entries[0].request["data"]["start"] == _expected(1)["start"]

    # The valid entries took effect, the invalid one did not.
    events = _by_id(_read(app_client))
    assert sorted(events) == ["evt-001", "evt-002"]
    assert _shape(events["evt-001"]) == _expected(1)
    assert _shape(events["evt-002"]) == _expected(2)
    assert _by_id(_read(app_client, include_deleted=True))["evt-000"]["deleted"] is True
    assert [p["available_period_id"] for p in _periods(app_client)] == ["batch-period"]

    # A batch without errors returns its BatchResponse.
    clean = BatchBuilder()
    clean.upsert_event(calendar_id, _event(1, summary="Renamed in a batch"))
    clean.delete_event(calendar_id, "evt-002")
    clean.delete("/v1/available_periods", {"available_period_id": "batch-period"})
    response = app_client.batch(clean)
    assert isinstance(response, BatchResponse)
    assert not response.has_errors()
    assert [entry.status() for entry in response.entries] == [202, 202, 202]

    events = _by_id(_read(app_client))
    assert sorted(events) == ["evt-001"]
    assert events["evt-001"]["summary"] == "Renamed in a batch"
    assert _periods(app_client) == []


def test_availability_around_the_events(app_client: pycronofy.Client) -> None:
    calendar_id = _calendar(app_client, "e2e-availability")
    sub = app_client.userinfo()["sub"]
    _seed(app_client, calendar_id, range(4))  # busy from each hour to half past, 00:00 to 03:30

    periods = app_client.availability(
        participants=[{"members": [{"sub": sub}], "required": "all"}],
        required_duration={"minutes": 30},
        available_periods=[{"start": FIRST_START, "end": FIRST_START + timedelta(hours=4)}],
    )

    assert [(p["start"], p["end"]) for p in periods] == [
        (
            _stamp(FIRST_START + timedelta(minutes=30 + 60 * hour)),
            _stamp(FIRST_START + timedelta(hours=hour + 1)),
        )
        for hour in range(4)
    ]
