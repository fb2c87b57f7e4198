"""Event upserts, deletes and bulk deletes (reference §4.1, §4.3, §4.4)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from openslot.store.models import Calendar, Event, Grant
from tests.conftest import Api, User

WINDOW = {"tzid": "Etc/UTC", "from": "2026-03-01", "to": "2026-03-10", "include_managed": "true"}


def _events(user: User, **params: Any) -> list[dict[str, Any]]:
    response = user.get("/v1/events", params=WINDOW | params)
    assert response.status_code == 200, response.text
    return response.json()["events"]


def _count(api: Api) -> int:
    with api.ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def test_upsert_creates_then_updates_by_event_id(api: Api) -> None:
    user = api.user()
    response = user.upsert(event_id="e1", summary="First", description="Notes")
    assert response.status_code == 202
    assert response.content == b""
    [created] = _events(user)
    assert created["event_id"] == "e1"
    assert created["summary"] == "First"
    assert created["description"] == "Notes"
    assert created["start"] == "2026-03-02T09:00:00Z"
    assert created["end"] == "2026-03-02T10:00:00Z"
    assert created["event_uid"].startswith("evt_")
    assert created["created"] == created["updated"]
    api.clock.advance(60)
    assert (
        user.upsert(
            event_id="e1", summary="Second", start="2026-03-03T09:00:00Z", end="2026-03-03T09:30:00Z"
        ).status_code
        == 202
    )
    [updated] = _events(user)
    assert updated["event_uid"] == created["event_uid"]
    assert updated["summary"] == "Second"
    assert updated["start"] == "2026-03-03T09:00:00Z"
    assert updated["created"] == created["created"]
    assert updated["updated"] > created["updated"]
    assert _count(api) == 1


def test_every_field_round_trips(api: Api) -> None:
    user = api.user()
    body = {
        "event_id": "full",
        "summary": "Interview",
        "description": "Bring a laptop",
        "start": {"time": "2026-03-02 09:00:00Z", "tzid": "Europe/London"},
        "end": {"time": "2026-03-02T09:45:00+00:00", "tzid": "Europe/London"},
        "location": {"description": "Room 4", "lat": "51.5", "long": "-0.12"},
        "url": "https://example.com/interview",
        "transparency": "transparent",
        "color": "#49bed8",
        "reminders": [{"minutes": 10}, {"minutes": 60}],
        "attendees": {"invite": [{"email": "ann@example.com", "display_name": "Ann"}]},
        "event_private": True,
        "conferencing": {
            "profile_id": "explicit",
            "provider_description": "Meet",
            "join_url": "https://m.example/x",
        },
    }
    assert user.upsert(**body).status_code == 202
    [event] = _events(user, include_geo="true", localized_times="true")
    assert event["start"] == {"time": "2026-03-02T09:00:00+00:00", "tzid": "Europe/London"}
    assert event["end"] == {"time": "2026-03-02T09:45:00+00:00", "tzid": "Europe/London"}
    assert event["location"] == {"description": "Room 4", "lat": "51.5", "long": "-0.12"}
    assert event["url"] == "https://example.com/interview"
    assert event["transparency"] == "transparent"
    assert event["color"] == "#49BED8"
    assert event["reminders"] == [{"minutes": 10}, {"minutes": 60}]
    assert event["attendees"] == [
        {"email": "ann@example.com", "display_name": "Ann", "status": "needs_action"}
    ]
    assert event["event_private"] is True
    assert event["meeting_url"] == "https://m.example/x"
    assert event["options"] == {"delete": True, "update": True, "change_participation_status": False}
    [plain] = _events(user)
    assert plain["location"] == {"description": "Room 4"}
    assert plain["start"] == "2026-03-02T09:00:00Z"


def test_attendees_invite_adds_and_reject_or_remove_takes_away(api: Api) -> None:
    user = api.user()
    user.upsert(event_id="a", attendees={"invite": [{"email": "a@example.com"}, {"email": "b@example.com"}]})
    user.upsert(
        event_id="a",
        attendees={"invite": [{"email": "c@example.com"}], "reject": [{"email": "a@example.com"}]},
    )
    user.upsert(event_id="a", attendees={"remove": [{"email": "b@example.com"}]})
    [event] = _events(user)
    assert [a["email"] for a in event["attendees"]] == ["c@example.com"]
    user.upsert(event_id="a", summary="No attendee change")
    assert [a["email"] for a in _events(user)[0]["attendees"]] == ["c@example.com"]


def test_all_day_event(api: Api) -> None:
    user = api.user()
    assert (
        user.upsert(
            event_id="retreat", start="2026-03-06", end="2026-03-08", tzid="Europe/London"
        ).status_code
        == 202
    )
    [event] = _events(user)
    assert (event["start"], event["end"]) == ("2026-03-06", "2026-03-08")
    [localized] = _events(user, localized_times="true")
    assert localized["start"] == {"time": "2026-03-06", "tzid": "Europe/London"}


def test_form_encoded_upsert(api: Api) -> None:
    user = api.user()
    data = {
        "event_id": "f",
        "summary": "Form",
        "start": "2026-03-02T09:00:00Z",
        "end": "2026-03-02T10:00:00Z",
    }
    assert user.post(f"/v1/calendars/{user.calendar_id}/events", data=data).status_code == 202
    assert _events(user)[0]["summary"] == "Form"


@pytest.mark.parametrize(
    ("fields", "field", "key"),
    [
        ({"event_id": None}, "event_id", "errors.required"),
        ({"event_id": ""}, "event_id", "errors.required"),
        ({"event_id": "x" * 257}, "event_id", "errors.too_long"),
        ({"summary": None}, "summary", "errors.required"),
        ({"summary": "x" * 1025}, "summary", "errors.too_long"),
        ({"description": "x" * 4097}, "description", "errors.too_long"),
        ({"start": None}, "start", "errors.required"),
        ({"end": None}, "end", "errors.required"),
        ({"start": "tomorrow"}, "start", "errors.invalid"),
        ({"start": "2026-03-02T09:00:00.500Z"}, "start", "errors.invalid"),
        ({"start": "2026-03-02T09:00:00"}, "start", "errors.invalid"),
        ({"start": {"time": "2026-03-02T09:00:00Z", "tzid": "Mars/Olympus"}}, "start", "errors.unknown_tzid"),
        ({"start": 12}, "start", "errors.invalid"),
        ({"end": "2026-03-02T08:00:00Z"}, "end", "errors.invalid"),
        ({"start": "2026-03-02", "end": "2026-03-02T10:00:00Z"}, "end", "errors.invalid"),
        ({"start": "2026-03-02", "end": "2026-03-02"}, "end", "errors.invalid"),
        ({"tzid": "Nowhere/Town"}, "tzid", "errors.unknown_tzid"),
        ({"transparency": "maybe"}, "transparency", "errors.invalid"),
        ({"color": "red"}, "color", "errors.invalid"),
        ({"reminders": [{"minutes": 5}] * 6}, "reminders", "errors.too_many"),
        ({"reminders": [{"minutes": -1}]}, "reminders", "errors.out_of_range"),
        ({"attendees": {"invite": [{"email": "not-an-email"}]}}, "attendees", "errors.invalid"),
        ({"location": "Room 4"}, "location", "errors.invalid"),
        ({"event_private": "perhaps"}, "event_private", "errors.invalid"),
        ({"conferencing": {"profile_id": "explicit"}}, "conferencing", "errors.required"),
    ],
)
def test_upsert_validation(api: Api, fields: dict[str, Any], field: str, key: str) -> None:
    user = api.user()
    response = user.upsert(**({"event_id": "e"} | fields))
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert errors[field][0]["key"] == key, errors
    assert errors[field][0]["description"]
    assert _count(api) == 0


def test_a_bad_update_leaves_the_event_as_it_was(api: Api) -> None:
    user = api.user()
    user.upsert(event_id="keep", summary="Original")
    assert user.upsert(event_id="keep", summary="x" * 2000).status_code == 422
    assert _events(user)[0]["summary"] == "Original"


def test_calendar_must_be_the_callers_and_writable(api: Api) -> None:
    one = api.user(api.new_application("One"), "one")
    two = api.user(api.new_application("Two"), "two")
    foreign = one.upsert(two.calendar_id, event_id="x")
    unknown = one.upsert("cal_unknown_000", event_id="x")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
    calendar_id = one.calendar_id
    with api.ctx.db.transaction() as session:
        session.execute(update(Calendar).where(Calendar.id == calendar_id).values(readonly=True))
    response = one.upsert(calendar_id, event_id="x")
    assert (response.status_code, response.json()["errors"]["calendar_id"][0]["key"]) == (
        422,
        "errors.calendar_readonly",
    )
    with api.ctx.db.transaction() as session:
        session.execute(
            update(Calendar).where(Calendar.id == calendar_id).values(readonly=False, deleted=True)
        )
    response = one.upsert(calendar_id, event_id="x")
    assert (response.status_code, response.json()["errors"]["calendar_id"][0]["key"]) == (
        422,
        "errors.calendar_deleted",
    )
    assert _count(api) == 0


def test_upsert_needs_create_event_and_delete_needs_delete_event(api: Api) -> None:
    user = api.user()
    calendar_id = user.calendar_id
    with api.ctx.db.transaction() as session:
        session.execute(update(Grant).values(scope="read_events"))
    assert user.upsert(calendar_id, event_id="x").status_code == 403
    assert user.delete(f"/v1/calendars/{calendar_id}/events", json={"event_id": "x"}).status_code == 403
    assert user.delete("/v1/events", json={"delete_all": True}).status_code == 403


def test_event_ids_are_scoped_to_the_application(api: Api) -> None:
    first = api.new_application("First")
    owner = api.user(first, "shared")
    second = api.new_application("Second")
    other = api.grant(second, owner.tokens["sub"], "read_write")
    calendar_id = owner.calendar_id
    owner.upsert(calendar_id, event_id="same", summary="Mine")
    other.upsert(calendar_id, event_id="same", summary="Theirs")
    assert _count(api) == 2
    mine = _events(owner, only_managed="true")
    assert [(e["summary"], e["event_id"]) for e in mine] == [("Mine", "same")]
    # The other application's event is an ordinary event to this one: no event_id, no options.
    [theirs] = _events(owner, include_managed="false")
    assert theirs["summary"] == "Theirs"
    assert "event_id" not in theirs
    assert theirs["options"]["update"] is False


def test_delete_makes_a_tombstone(api: Api) -> None:
    user = api.user()
    user.upsert(event_id="gone")
    api.clock.advance(5)
    response = user.delete(f"/v1/calendars/{user.calendar_id}/events", json={"event_id": "gone"})
    assert response.status_code == 202
    assert _events(user) == []
    [tombstone] = _events(user, include_deleted="true")
    assert tombstone["deleted"] is True
    assert tombstone["updated"] > tombstone["created"]
    # Deleting again, or an event that never existed, is accepted and changes nothing.
    for event_id in ("gone", "never"):
        assert (
            user.delete(f"/v1/calendars/{user.calendar_id}/events", json={"event_id": event_id}).status_code
            == 202
        )
    # Upserting the same event_id brings it back.
    user.upsert(event_id="gone")
    assert [e["deleted"] for e in _events(user)] == [False]


def test_delete_errors(api: Api) -> None:
    user = api.user()
    response = user.delete(f"/v1/calendars/{user.calendar_id}/events", json={})
    assert (response.status_code, response.json()["errors"]["event_id"][0]["key"]) == (422, "errors.required")
    assert user.delete("/v1/calendars/cal_nope/events", json={"event_id": "x"}).status_code == 404


def test_bulk_delete_all_in_a_json_body(api: Api) -> None:
    user = api.user()
    for i in range(3):
        user.upsert(event_id=f"e{i}")
    assert user.delete("/v1/events", json={"delete_all": True}).status_code == 202
    assert _events(user) == []
    assert len(_events(user, include_deleted="true")) == 3


def test_bulk_delete_in_the_query_string_as_pycronofy_sends_it(api: Api) -> None:
    user = api.user()
    second = user.post(
        "/v1/calendars", json={"profile_id": user.tokens["linking_profile"]["profile_id"], "name": "B"}
    )
    second_id = second.json()["calendar"]["calendar_id"]
    user.upsert(event_id="a")
    user.upsert(second_id, event_id="b")
    response = user.delete(f"/v1/events?calendar_ids%5B%5D={second_id}", json={})
    assert response.status_code == 202
    assert [e["event_id"] for e in _events(user)] == ["a"]
    assert user.delete("/v1/events?delete_all=True", json={}).status_code == 202
    assert _events(user) == []


def test_bulk_delete_only_touches_the_applications_own_events(api: Api) -> None:
    owner = api.user(api.new_application("First"), "shared")
    other = api.grant(api.new_application("Second"), owner.tokens["sub"], "read_write")
    owner.upsert(event_id="mine")
    other.upsert(owner.calendar_id, event_id="theirs")
    assert owner.delete("/v1/events", json={"delete_all": True}).status_code == 202
    assert [e["event_id"] for e in _events(other, only_managed="true")] == ["theirs"]


@pytest.mark.parametrize(
    ("body", "field", "key"),
    [
        ({}, "delete_all", "errors.required"),
        ({"delete_all": False}, "delete_all", "errors.invalid"),
        ({"delete_all": True, "calendar_ids": ["cal_x"]}, "delete_all", "errors.invalid"),
        ({"calendar_ids": []}, "calendar_ids", "errors.required"),
        ({"delete_all": "maybe"}, "delete_all", "errors.invalid"),
    ],
)
def test_bulk_delete_validation(api: Api, body: dict[str, Any], field: str, key: str) -> None:
    user = api.user()
    user.upsert(event_id="stays")
    response = user.delete("/v1/events", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][field][0]["key"] == key
    assert len(_events(user)) == 1


def test_bulk_delete_of_a_foreign_calendar_is_404(api: Api) -> None:
    one = api.user(api.new_application("One"), "one")
    two = api.user(api.new_application("Two"), "two")
    two.upsert(event_id="safe")
    response = one.delete("/v1/events", json={"calendar_ids": [two.calendar_id]})
    assert response.status_code == 404
    assert len(_events(two)) == 1


def test_include_moved_finds_events_moved_out_of_the_window(api: Api) -> None:
    user = api.user()
    user.upsert(event_id="mover", start="2026-03-02T09:00:00Z", end="2026-03-02T10:00:00Z")
    user.upsert(event_id="mover", start="2026-03-20T09:00:00Z", end="2026-03-20T10:00:00Z")
    user.upsert(event_id="stayer", start="2026-03-21T09:00:00Z", end="2026-03-21T10:00:00Z")
    window = {"from": "2026-03-01", "to": "2026-03-05", "only_managed": "true"}
    assert _events(user, **window) == []
    [moved] = _events(user, include_moved="true", **window)
    assert moved["event_id"] == "mover"
    assert moved["start"] == "2026-03-20T09:00:00Z"


def test_purge_forgets_old_tombstones_only(api: Api) -> None:
    from datetime import timedelta

    from openslot.services.maintenance import purge

    user = api.user()
    for event_id in ("old", "recent", "live"):
        user.upsert(event_id=event_id)
    user.upsert(
        event_id="old", start="2026-03-03T09:00:00Z", end="2026-03-03T10:00:00Z"
    )  # leaves a move record
    user.delete(f"/v1/calendars/{user.calendar_id}/events", json={"event_id": "old"})
    api.clock.advance(timedelta(days=31).total_seconds())
    user = api.user(user.app)  # the earlier access token has expired by now
    user.delete(f"/v1/calendars/{user.calendar_id}/events", json={"event_id": "recent"})
    purged = purge(api.ctx, 30)
    assert purged.tombstones == 1
    assert purged.expired_access_tokens >= 1
    remaining = _events(user, include_deleted="true")
    assert sorted((e["event_id"], e["deleted"]) for e in remaining) == [("live", False), ("recent", True)]


@pytest.mark.parametrize(
    ("scope", "status"),
    [
        ("read_write", 202),
        ("write_only", 202),
        ("free_busy_write", 202),
        ("read_events  create_event", 202),  # two spaces
        ("read_events\tcreate_event", 202),  # any whitespace separates scopes
        ("read_only", 403),
        ("read_events delete_event", 403),
        ("", 403),
    ],
)
def test_the_scopes_that_let_an_upsert_write(api: Api, scope: str, status: int) -> None:
    user = api.user()
    calendar_id = user.calendar_id
    with api.ctx.db.transaction() as session:
        session.execute(update(Grant).values(scope=scope))
    assert user.upsert(calendar_id, event_id="x").status_code == status
    assert _count(api) == (1 if status == 202 else 0)


def test_an_upsert_refused_for_its_token_writes_nothing(api: Api) -> None:
    user = api.user()
    calendar_id = user.calendar_id
    assert user.post(f"/v1/calendars/{calendar_id}/events", json={"summary": "no ids"}).status_code == 422
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert (
        api.client.post(f"/v1/calendars/{calendar_id}/events", json={}, headers=bad_token).status_code == 401
    )
    valid = {"summary": "S", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z", "event_id": "x"}
    path = f"/v1/calendars/{calendar_id}/events"
    assert api.client.post(path, json=valid, headers=bad_token).status_code == 401
    api.clock.advance(api.settings.access_token_ttl + 1)  # the token has expired
    assert user.upsert(calendar_id, event_id="x").status_code == 401
    assert _count(api) == 0
    fresh = api.user(user.app, "apc-1")  # a new token of the same grant
    with api.ctx.db.transaction() as session:
        session.execute(update(Grant).values(revoked_at=api.clock.now()))
    assert fresh.upsert(calendar_id, event_id="x").status_code == 401
    assert _count(api) == 0
