"""Reading events and free/busy (reference §4.2, §4.8, §1.7, §1.8)."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from openslot.store.models import Grant
from tests.conftest import Api, User


def _read(user: User, path: str = "/v1/events", **params: Any) -> dict[str, Any]:
    response = user.get(path, params={"tzid": "Etc/UTC"} | params)
    assert response.status_code == 200, response.text
    return response.json()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_managed_events_are_excluded_by_default(api: Api) -> None:
    user = api.user()
    user.upsert(event_id="mine")
    window = {"from": "2026-03-01", "to": "2026-03-05"}
    assert _read(user, **window)["events"] == []
    assert len(_read(user, include_managed="true", **window)["events"]) == 1
    assert len(_read(user, only_managed="True", **window)["events"]) == 1


def test_window_bounds_follow_the_selection_rule(api: Api) -> None:
    user = api.user()
    cases = {
        "ends-at-from": ("2026-03-01T23:00:00Z", "2026-03-02T00:00:00Z"),
        "spans-from": ("2026-03-01T23:00:00Z", "2026-03-02T01:00:00Z"),
        "inside": ("2026-03-03T10:00:00Z", "2026-03-03T11:00:00Z"),
        "starts-at-to": ("2026-03-05T00:00:00Z", "2026-03-05T01:00:00Z"),
        "before": ("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
        "long-spanning": ("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"),
    }
    for event_id, (start, end) in cases.items():
        assert user.upsert(event_id=event_id, start=start, end=end).status_code == 202
    events = _read(user, only_managed="true", **{"from": "2026-03-02", "to": "2026-03-05"})["events"]
    assert sorted(e["event_id"] for e in events) == ["ends-at-from", "inside", "long-spanning", "spans-from"]


def test_dates_are_days_in_the_requested_zone(api: Api) -> None:
    user = api.user()
    # 2019-04-11 in Sydney starts at 2019-04-10T14:00Z.
    user.upsert(event_id="late-utc", start="2019-04-10T14:30:00Z", end="2019-04-10T15:00:00Z")
    user.upsert(event_id="early-utc", start="2019-04-10T13:00:00Z", end="2019-04-10T13:30:00Z")
    window = {"from": "2019-04-11", "to": "2019-04-12", "only_managed": "true"}
    sydney = _read(user, **(window | {"tzid": "Australia/Sydney"}))["events"]
    assert [e["event_id"] for e in sydney] == ["late-utc"]
    utc = _read(user, **window)["events"]
    assert utc == []


def test_from_and_to_as_times_as_ruby_sends_them(api: Api) -> None:
    user = api.user()
    user.upsert(event_id="e", start="2026-03-02T09:00:00Z", end="2026-03-02T10:00:00Z")
    user.upsert(event_id="day", start="2026-03-03", end="2026-03-04")
    events = _read(
        user, only_managed="true", **{"from": "2026-03-02T09:30:00Z", "to": "2026-03-03T00:00:01Z"}
    )
    assert sorted(e["event_id"] for e in events["events"]) == ["day", "e"]
    narrow = _read(
        user, only_managed="true", **{"from": "2026-03-02T10:00:01Z", "to": "2026-03-03T00:00:00Z"}
    )
    assert narrow["events"] == []


def test_default_window_is_relative_to_today(api: Api) -> None:
    user = api.user()
    today = api.clock.now()
    for event_id, days in (("recent", -40), ("old", -45), ("soon", 199), ("far", 205)):
        start = today + timedelta(days=days)
        response = user.upsert(event_id=event_id, start=_iso(start), end=_iso(start + timedelta(hours=1)))
        assert response.status_code == 202
    # Managed events are not bound by the default window; other applications' events are.
    everything = _read(user, only_managed="true")["events"]
    assert len(everything) == 4
    other = api.grant(api.new_application("Other"), user.tokens["sub"], "read_write")
    seen = _read(other)["events"]
    uids = {e["event_uid"]: e["start"] for e in _read(user, only_managed="true")["events"]}
    assert len(seen) == 2
    assert {e["start"] for e in seen} == {uids[e["event_uid"]] for e in seen}
    starts = sorted(uids.values())
    assert sorted(e["start"] for e in seen) == starts[1:3]


def test_bad_read_parameters(api: Api) -> None:
    user = api.user()
    cases = [
        ({"tzid": None}, "tzid", "errors.required"),
        ({"tzid": "Moon/Base"}, "tzid", "errors.unknown_tzid"),
        ({"from": "yesterday"}, "from", "errors.invalid"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "to", "errors.invalid"),
        ({"last_modified": "soon"}, "last_modified", "errors.invalid"),
        ({"include_deleted": "maybe"}, "include_deleted", "errors.invalid"),
    ]
    for params, field, key in cases:
        query = {k: v for k, v in ({"tzid": "Etc/UTC"} | params).items() if v is not None}
        response = user.get("/v1/events", params=query)
        assert response.status_code == 422, params
        assert response.json()["errors"][field][0]["key"] == key, params


def test_read_scopes(api: Api) -> None:
    user = api.user()
    with api.ctx.db.transaction() as session:
        session.execute(update(Grant).values(scope="create_event"))
    assert user.get("/v1/events", params={"tzid": "Etc/UTC"}).status_code == 403
    assert user.get("/v1/free_busy", params={"tzid": "Etc/UTC"}).status_code == 403
    assert user.get("/v1/events", params={"tzid": "Etc/UTC", "only_managed": "true"}).status_code == 200
    with api.ctx.db.transaction() as session:
        session.execute(update(Grant).values(scope="read_events"))
    assert user.get("/v1/free_busy", params={"tzid": "Etc/UTC"}).status_code == 200


def test_calendar_ids_filter_with_plain_and_encoded_brackets(api: Api) -> None:
    user = api.user()
    profile_id = user.tokens["linking_profile"]["profile_id"]
    second = user.post("/v1/calendars", json={"profile_id": profile_id, "name": "Second"}).json()["calendar"]
    user.upsert(event_id="first")
    user.upsert(second["calendar_id"], event_id="second")
    base = "tzid=Etc/UTC&only_managed=true"
    for key in ("calendar_ids[]", "calendar_ids%5B%5D"):
        response = user.get(f"/v1/events?{base}&{key}={second['calendar_id']}")
        assert [e["event_id"] for e in response.json()["events"]] == ["second"]
    unknown = user.get(f"/v1/events?{base}&calendar_ids[]=cal_nope")
    assert unknown.status_code == 404


def test_last_modified(api: Api) -> None:
    user = api.user()
    user.upsert(event_id="old")
    api.clock.advance(600)
    cutoff = _iso(api.clock.now())
    user.upsert(event_id="new")
    events = _read(user, only_managed="true", last_modified=cutoff)["events"]
    assert [e["event_id"] for e in events] == ["new"]


def test_pagination_follows_next_page(api: Api) -> None:
    user = api.user()
    start = datetime(2026, 3, 2, tzinfo=UTC)
    for i in range(230):
        moment = start + timedelta(minutes=30 * i)
        user.upsert(event_id=f"e{i:03d}", start=_iso(moment), end=_iso(moment + timedelta(minutes=15)))
    first = _read(user, only_managed="true")
    assert first["pages"]["current"] == 1
    assert first["pages"]["total"] == 3
    assert len(first["events"]) == 100
    next_page = first["pages"]["next_page"]
    assert next_page.startswith("https://openslot.test/v1/events/pages/")
    seen = [e["event_id"] for e in first["events"]]
    while next_page:
        # node re-appends the original query to the page URL: it must make no difference.
        response = user.get(
            next_page.removeprefix("https://openslot.test") + "?tzid=Europe/Paris&only_managed=false"
        )
        assert response.status_code == 200
        body = response.json()
        seen += [e["event_id"] for e in body["events"]]
        next_page = body["pages"].get("next_page")
    assert body["pages"] == {"current": 3, "total": 3}
    assert seen == [f"e{i:03d}" for i in range(230)]


def test_page_tokens_belong_to_their_caller(api: Api) -> None:
    app = api.new_application()
    owner, stranger = api.user(app, "one"), api.user(app, "two")
    for i in range(101):
        owner.upsert(
            event_id=f"e{i}", start=f"2026-03-02T{i // 60:02d}:{i % 60:02d}:00Z", end="2026-03-03T00:00:00Z"
        )
    path = _read(owner, only_managed="true")["pages"]["next_page"].removeprefix("https://openslot.test")
    assert owner.get(path).status_code == 200
    denied = stranger.get(path)
    never = stranger.get("/v1/events/pages/nonsense.token")
    assert denied.status_code == never.status_code == 404
    assert denied.json() == never.json()
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert owner.get(tampered).status_code == 404
    assert owner.get(path.replace("/v1/events/", "/v1/free_busy/")).status_code == 404


def test_free_busy(api: Api) -> None:
    user = api.user()
    user.upsert(event_id="busy", start="2026-03-02T09:00:00Z", end="2026-03-02T10:00:00Z")
    user.upsert(
        event_id="free", start="2026-03-02T11:00:00Z", end="2026-03-02T12:00:00Z", transparency="transparent"
    )
    user.upsert(
        event_id="maybe", start="2026-03-02T13:00:00Z", end="2026-03-02T14:00:00Z", status="tentative"
    )
    user.upsert(event_id="off", start="2026-03-02T15:00:00Z", end="2026-03-02T16:00:00Z", status="cancelled")
    user.upsert(event_id="day", start="2026-03-03", end="2026-03-04")
    user.upsert(event_id="deleted", start="2026-03-02T17:00:00Z", end="2026-03-02T18:00:00Z")
    user.delete(f"/v1/calendars/{user.calendar_id}/events", json={"event_id": "deleted"})
    body = _read(user, "/v1/free_busy", include_managed="true", **{"from": "2026-03-02", "to": "2026-03-05"})
    assert body["pages"] == {"current": 1, "total": 1}
    blocks = [(b["start"], b["end"], b["free_busy_status"]) for b in body["free_busy"]]
    assert blocks == [
        ("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", "busy"),
        ("2026-03-02T13:00:00Z", "2026-03-02T14:00:00Z", "tentative"),
        ("2026-03-03", "2026-03-04", "busy"),
    ]
    assert all(b["calendar_id"] == user.calendar_id for b in body["free_busy"])
    localized = _read(
        user,
        "/v1/free_busy",
        include_managed="true",
        localized_times="true",
        **{"from": "2026-03-02", "to": "2026-03-03"},
    )
    assert localized["free_busy"][0]["start"] == {"time": "2026-03-02T09:00:00+00:00", "tzid": "Etc/UTC"}
    assert _read(user, "/v1/free_busy", **{"from": "2026-03-02", "to": "2026-03-05"})["free_busy"] == []


def test_free_busy_pages(api: Api) -> None:
    user = api.user()
    for i in range(150):
        user.upsert(
            event_id=f"e{i}", start=f"2026-03-02T{i // 60:02d}:{i % 60:02d}:00Z", end="2026-03-03T00:00:00Z"
        )
    first = _read(user, "/v1/free_busy", include_managed="true", **{"from": "2026-03-02", "to": "2026-03-03"})
    assert len(first["free_busy"]) == 100
    path = first["pages"]["next_page"].removeprefix("https://openslot.test")
    assert path.startswith("/v1/free_busy/pages/")
    second = user.get(path).json()
    assert len(second["free_busy"]) == 50 and "next_page" not in second["pages"]


@pytest.mark.parametrize("server_tz", ["UTC", "Pacific/Kiritimati", "America/Adak"])
def test_all_day_dates_are_the_same_whatever_the_server_and_request_zone(api: Api, server_tz: str) -> None:
    user = api.user()
    user.upsert(event_id="day", start="2026-03-08", end="2026-03-09", tzid="America/New_York")
    previous = os.environ.get("TZ")
    os.environ["TZ"] = server_tz
    time.tzset()
    try:
        for tzid in ("Etc/UTC", "Pacific/Kiritimati", "America/Adak", "Australia/Lord_Howe", "Asia/Kolkata"):
            events = _read(
                user, tzid=tzid, only_managed="true", **{"from": "2026-03-08", "to": "2026-03-09"}
            )["events"]
            assert [(e["start"], e["end"]) for e in events] == [("2026-03-08", "2026-03-09")], tzid
            before = _read(user, tzid=tzid, only_managed="true", **{"from": "2026-03-07", "to": "2026-03-08"})
            assert before["events"] == [], tzid
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()


# Events around DST changes, including Lord Howe's 30-minute shift, for the brute-force comparison.
ZONES = [
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Etc/UTC",
]
FIXTURE_START = datetime(2026, 3, 26, tzinfo=UTC)


def _fixture_events() -> list[tuple[str, datetime, datetime]]:
    events = []
    for i in range(60):
        start = FIXTURE_START + timedelta(hours=5 * i + (i % 7) * 0.25)
        length = timedelta(minutes=[15, 60, 180, 30, 600][i % 5])
        events.append((f"t{i}", start, start + length))
    return events


def _brute_force(
    events: list[tuple[str, datetime, datetime]], day_from: date, day_to: date, tzid: str
) -> list[str]:
    zone = ZoneInfo(tzid)

    def local_midnight(day: date) -> datetime:
        # The first instant whose local date is `day` (midnight, or the end of a gap at midnight).
        moment = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC) - timedelta(hours=3)
        while moment.astimezone(zone).date() < day:
            moment += timedelta(minutes=15)
        while (moment - timedelta(seconds=1)).astimezone(zone).date() >= day:
            moment -= timedelta(seconds=1)
        return moment

    lower, upper = local_midnight(day_from), local_midnight(day_to)
    return sorted(event_id for event_id, start, end in events if start < upper and end >= lower)


@pytest.fixture
def dst_user(api: Api) -> User:
    user = api.user()
    for event_id, start, end in _fixture_events():
        assert user.upsert(event_id=event_id, start=_iso(start), end=_iso(end)).status_code == 202
    return user


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.integers(min_value=-2, max_value=14),
    length=st.integers(min_value=1, max_value=6),
    tzid=st.sampled_from(ZONES),
)
def test_read_window_equals_brute_force_in_every_zone(
    dst_user: User, first: int, length: int, tzid: str
) -> None:
    day_from = FIXTURE_START.date() + timedelta(days=first)
    day_to = day_from + timedelta(days=length)
    params = {"tzid": tzid, "from": day_from.isoformat(), "to": day_to.isoformat(), "only_managed": "true"}
    got = sorted(e["event_id"] for e in _read(dst_user, **params)["events"])
    assert got == _brute_force(_fixture_events(), day_from, day_to, tzid)
