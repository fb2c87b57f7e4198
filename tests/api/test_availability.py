"""POST /v1/availability (reference §5.1): credentials, member authorization, response shapes, semantics
and the validated limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import update

from openslot.services.applications import NewApplication
from openslot.services.availability_query import (
    MAX_GROUPS,
    MAX_MEMBERS,
    MAX_MEMBERS_PER_GROUP,
    MAX_QUERY_PERIODS,
    MAX_QUERY_SLOTS,
    MAX_RESULTS,
    MAX_SPAN_DAYS,
)
from openslot.store.models import Grant
from tests.conftest import Api, User

URL = "/v1/availability"
DAY = "2026-03-02"  # a Monday
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
RESULT_KEYS = ("available_periods", "available_slots", "member_statuses")
FAKE_SUB = "apc_" + "0" * 24


def at(hhmm: str, day: str = DAY) -> str:
    return f"{day}T{hhmm}:00Z"


def period(start: str, end: str, day: str = DAY) -> dict[str, str]:
    return {"start": at(start, day), "end": at(end, day)}


def short(value: str) -> str:
    """``2026-03-02T09:30:00Z`` → ``09:30``; instants on other days keep their date."""
    assert TIME.match(value), value
    return value.removeprefix(f"{DAY}T").removesuffix(":00Z")


def spans(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(short(item["start"]), short(item["end"])) for item in items]


def who(items: list[dict[str, Any]]) -> list[list[str]]:
    return [[p["sub"] for p in item["participants"]] for item in items]


def sub(user: User) -> str:
    return str(user.tokens["sub"])


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def body(
    *members: str | dict[str, Any],
    start: str = "09:00",
    end: str = "17:00",
    minutes: int = 60,
    required: str | int = "all",
    **extra: Any,
) -> dict[str, Any]:
    """One group of members, each given as a sub or a member object."""
    return {
        "participants": [
            {
                "members": [m if isinstance(m, dict) else {"sub": m} for m in members],
                "required": required,
            }
        ],
        "required_duration": {"minutes": minutes},
        "query_periods": [period(start, end)],
    } | extra


def ask(api: Api, app: NewApplication, query: dict[str, Any]) -> Response:
    """The query with the application's API key."""
    return api.client.post(URL, headers=bearer(app.client_secret), json=query)


def found(response: Response, key: str = "available_periods") -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result) == {key}, result
    return list(result[key])


def assert_no_availability(response: Response) -> None:
    assert not set(response.json()) & set(RESULT_KEYS), response.text


def error_key(response: Response, field: str) -> str:
    assert response.status_code == 422, response.text
    assert_no_availability(response)
    errors = response.json()["errors"]
    assert errors[field][0]["description"], errors
    return str(errors[field][0]["key"])


def members(api: Api, app: NewApplication, count: int, prefix: str = "m") -> list[str]:
    return [sub(api.user(app, f"{prefix}{i}")) for i in range(count)]


def busy(user: User, event_id: str, start: str, end: str, **event: Any) -> None:
    response = user.upsert(event_id=event_id, start=at(start), end=at(end), **event)
    assert response.status_code == 202, response.text


# --- credentials ------------------------------------------------------------------------------------------


def test_api_key_access_token_and_body_credentials_all_answer(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    bob = api.user(app, "bob")
    busy(alice, "a", "10:00", "11:00")
    query = body(sub(alice), sub(bob), end="12:00")
    expected = {
        "available_periods": [
            {
                "start": at("09:00"),
                "end": at("10:00"),
                "participants": [{"sub": sub(alice)}, {"sub": sub(bob)}],
            },
            {
                "start": at("11:00"),
                "end": at("12:00"),
                "participants": [{"sub": sub(alice)}, {"sub": sub(bob)}],
            },
        ]
    }
    credentials = {"client_id": app.info.client_id, "client_secret": app.client_secret}
    answers = [
        api.client.post(URL, headers=bearer(app.client_secret), json=query),
        alice.post(URL, json=query),
        bob.post(URL, json=query),
        api.client.post(URL, json=query | credentials),
        # Body credentials are used first; the Authorization header is then ignored.
        api.client.post(URL, headers=bearer("not-a-credential"), json=query | credentials),
    ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert response.json() == expected


@pytest.mark.parametrize(
    "how",
    [
        "none",
        "unknown bearer",
        "client id as bearer",
        "empty bearer",
        "wrong body secret",
        "body client id only",
        "expired access token",
    ],
)
def test_missing_or_unknown_credentials_are_401(api: Api, how: str) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    query = body(sub(alice))
    headers: dict[str, str] = {}
    if how == "unknown bearer":
        headers = bearer("sk_" + "x" * 40)
    elif how == "client id as bearer":
        headers = bearer(app.info.client_id)
    elif how == "empty bearer":
        headers = {"Authorization": "Bearer "}
    elif how == "wrong body secret":
        query |= {"client_id": app.info.client_id, "client_secret": app.client_secret + "x"}
    elif how == "body client id only":
        query |= {"client_id": app.info.client_id}
    elif how == "expired access token":
        api.clock.advance(api.settings.access_token_ttl + 1)
        headers = alice.headers
    response = api.client.post(URL, headers=headers, json=query)
    assert response.status_code == 401, response.text
    assert_no_availability(response)
    if "client_id" not in query:
        assert response.json()["errors"]["base"][0]["key"] == "errors.unauthorized"


# --- which members an application may ask about -----------------------------------------------------------


def without(response: Response, text: str) -> Any:
    return json.loads(response.text.replace(text, "SUB"))


def test_unknown_and_foreign_members_get_the_same_422(api: Api) -> None:
    mine, other = api.new_application("Mine"), api.new_application("Other")
    member = api.user(mine, "member")
    stranger = api.user(other, "stranger")  # authorized only the other application
    busy(stranger, "s", "10:00", "11:00")
    foreign = ask(api, mine, body(sub(member), sub(stranger)))
    unknown = ask(api, mine, body(sub(member), FAKE_SUB))
    assert error_key(foreign, "participants") == error_key(unknown, "participants") == "errors.not_found"
    assert without(foreign, sub(stranger)) == without(unknown, FAKE_SUB)
    # The member's own access token carries its application: the same refusal.
    by_token = member.post(URL, json=body(sub(member), sub(stranger)))
    assert without(by_token, sub(stranger)) == without(foreign, sub(stranger))
    # And the stranger's token cannot ask about the member of the first application.
    assert error_key(stranger.post(URL, json=body(sub(member))), "participants") == "errors.not_found"


def test_a_revoked_grant_no_longer_counts(api: Api) -> None:
    owner, other = api.new_application("Owner"), api.new_application("Other")
    member = api.user(owner, "member")
    api.grant(other, sub(member), "read_free_busy")
    assert ask(api, other, body(sub(member))).status_code == 200
    with api.ctx.db.transaction() as session:
        session.execute(
            update(Grant)
            .where(Grant.application_id == other.info.application_id)
            .values(revoked_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
    assert error_key(ask(api, other, body(sub(member))), "participants") == "errors.not_found"


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [
        ("create_event", False),
        ("read_account list_calendars", False),
        ("write_only", False),
        ("read_free_busy", True),
        ("free_busy", True),
        ("read_events", True),  # read_events implies read_free_busy
        ("read_only", True),
    ],
)
def test_the_grant_must_include_read_free_busy(api: Api, scope: str, allowed: bool) -> None:
    owner, other = api.new_application("Owner"), api.new_application("Other")
    member = api.user(owner, "member")
    busy(member, "m", "10:00", "11:00")
    api.grant(other, sub(member), scope)
    response = ask(api, other, body(sub(member), end="12:00"))
    if allowed:
        assert spans(found(response)) == [("09:00", "10:00"), ("11:00", "12:00")]
    else:
        assert response.status_code == 403, response.text
        assert response.json()["errors"]["base"][0]["key"] == "errors.forbidden"
        assert_no_availability(response)


def test_one_member_without_read_free_busy_refuses_the_whole_query(api: Api) -> None:
    owner, other = api.new_application("Owner"), api.new_application("Other")
    fine = api.user(other, "fine")
    limited = api.user(owner, "limited")
    api.grant(other, sub(limited), "create_event")
    response = ask(api, other, body(sub(fine), sub(limited)))
    assert response.status_code == 403, response.text
    assert_no_availability(response)
    # An unknown member among them is reported first, as a 422.
    response = ask(api, other, body(sub(fine), sub(limited), FAKE_SUB))
    assert error_key(response, "participants") == "errors.not_found"


# --- response shapes --------------------------------------------------------------------------------------


def test_periods_slots_and_overlapping_slots(api: Api) -> None:
    app = api.new_application()
    alice, bob = api.user(app, "alice"), api.user(app, "bob")
    busy(alice, "a", "10:00", "11:00")
    busy(bob, "b", "13:00", "14:30")
    both = [sub(alice), sub(bob)]
    periods = found(ask(api, app, body(*both)))
    assert spans(periods) == [("09:00", "10:00"), ("11:00", "13:00"), ("14:30", "17:00")]
    assert periods[0] == {
        "start": "2026-03-02T09:00:00Z",
        "end": "2026-03-02T10:00:00Z",
        "participants": [{"sub": sub(alice)}, {"sub": sub(bob)}],
    }
    assert who(periods) == [both] * 3
    explicit = found(ask(api, app, body(*both, response_format="periods")))
    assert explicit == periods
    slots = found(ask(api, app, body(*both, response_format="slots")), "available_slots")
    assert spans(slots) == [
        ("09:00", "10:00"),
        ("11:00", "12:00"),
        ("12:00", "13:00"),
        ("14:30", "15:30"),
        ("15:30", "16:30"),
    ]
    assert who(slots) == [both] * 5
    overlapping = found(ask(api, app, body(*both, response_format="overlapping_slots")), "available_slots")
    starts = [start for start, _ in spans(overlapping)]
    assert starts == [
        "09:00",
        *("11:00", "11:15", "11:30", "11:45", "12:00"),
        *("14:30", "14:45", "15:00", "15:15", "15:30", "15:45", "16:00"),
    ]
    assert all(
        datetime.fromisoformat(s["end"]) - datetime.fromisoformat(s["start"]) == timedelta(hours=1)
        for s in overlapping
    )
    for item in periods + slots + overlapping:
        assert set(item) == {"start", "end", "participants"}
        assert TIME.match(item["start"]) and TIME.match(item["end"])


def test_include_member_statuses(api: Api) -> None:
    app = api.new_application()
    alice, bob = api.user(app, "alice"), api.user(app, "bob")
    response = ask(api, app, body(sub(alice), sub(bob), include_member_statuses=True))
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result) == {"available_periods", "member_statuses"}
    assert result["member_statuses"] == [
        {"sub": sub(alice), "sync_status": "active"},
        {"sub": sub(bob), "sync_status": "active"},
    ]
    slots = ask(api, app, body(sub(alice), response_format="slots", include_member_statuses=True)).json()
    assert set(slots) == {"available_slots", "member_statuses"}
    assert "member_statuses" not in ask(api, app, body(sub(alice), include_member_statuses=False)).json()


def test_nothing_available_is_an_empty_list(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    busy(alice, "all", "08:00", "18:00")
    assert found(ask(api, app, body(sub(alice)))) == []
    assert found(ask(api, app, body(sub(alice), response_format="slots")), "available_slots") == []


# --- semantics --------------------------------------------------------------------------------------------


def test_transparent_cancelled_and_deleted_events_do_not_block_but_tentative_ones_do(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    busy(alice, "transparent", "09:00", "10:00", transparency="transparent")
    busy(alice, "cancelled", "10:00", "11:00", status="cancelled")
    busy(alice, "tentative", "11:00", "12:00", status="tentative")
    busy(alice, "deleted", "12:00", "13:00")
    busy(alice, "confirmed", "14:00", "15:00", status="confirmed")
    assert spans(found(ask(api, app, body(sub(alice), end="16:00")))) == [
        ("09:00", "11:00"),
        ("13:00", "14:00"),
        ("15:00", "16:00"),
    ]
    deleted = alice.delete(f"/v1/calendars/{alice.calendar_id}/events", json={"event_id": "deleted"})
    assert deleted.status_code == 202
    assert spans(found(ask(api, app, body(sub(alice), end="16:00")))) == [
        ("09:00", "11:00"),
        ("12:00", "14:00"),
        ("15:00", "16:00"),
    ]
    # Moving an event frees its old time.
    busy(alice, "tentative", "15:00", "15:30", status="tentative")
    assert spans(found(ask(api, app, body(sub(alice), end="17:00")))) == [
        ("09:00", "14:00"),
        ("15:30", "17:00"),
    ]


def test_all_day_events_block_the_whole_day(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    assert alice.upsert(event_id="holiday", start="2026-03-03", end="2026-03-04").status_code == 202
    query = body(sub(alice)) | {"query_periods": [{"start": at("20:00"), "end": at("04:00", "2026-03-04")}]}
    assert spans(found(ask(api, app, query))) == [
        ("20:00", "2026-03-03T00:00"),
        ("2026-03-04T00:00", "2026-03-04T04:00"),
    ]


def test_required_n_of_m(api: Api) -> None:
    app = api.new_application()
    a, b, c = (api.user(app, name) for name in ("a", "b", "c"))
    busy(a, "x", "09:00", "10:00")
    busy(b, "x", "10:00", "11:00")
    busy(c, "x", "11:00", "12:00")
    three = [sub(a), sub(b), sub(c)]
    slots = found(
        ask(api, app, body(*three, end="12:00", required=2, response_format="slots")), "available_slots"
    )
    assert spans(slots) == [("09:00", "10:00"), ("10:00", "11:00"), ("11:00", "12:00")]
    assert who(slots) == [[sub(b), sub(c)], [sub(a), sub(c)], [sub(a), sub(b)]]
    assert found(ask(api, app, body(*three, end="12:00"))) == []
    assert found(ask(api, app, body(*three, end="12:00", required=3))) == []
    one = found(
        ask(api, app, body(*three, end="12:00", required=1, response_format="slots")), "available_slots"
    )
    assert [len(item["participants"]) for item in one] == [2, 2, 2]


def test_required_n_of_m_periods(api: Api) -> None:
    app = api.new_application()
    a, b, c = (api.user(app, name) for name in ("a", "b", "c"))
    busy(a, "x", "09:00", "10:00")
    busy(b, "x", "09:00", "10:00")
    three = [sub(a), sub(b), sub(c)]
    for required in (2, 3, "all"):
        periods = found(ask(api, app, body(*three, end="12:00", required=required)))
        assert spans(periods) == [("10:00", "12:00")], required
        assert who(periods) == [three]
    assert spans(found(ask(api, app, body(*three, end="12:00", required=1)))) == [("09:00", "12:00")]


def test_every_group_must_be_satisfied(api: Api) -> None:
    app = api.new_application()
    host, x, y = (api.user(app, name) for name in ("host", "x", "y"))
    busy(host, "h", "09:00", "10:00")
    busy(x, "x", "10:00", "12:00")
    busy(y, "y", "11:00", "13:00")
    query = body(sub(host), end="13:00", response_format="slots")
    query["participants"].append({"members": [{"sub": sub(x)}, {"sub": sub(y)}], "required": 1})
    slots = found(ask(api, app, query), "available_slots")
    assert spans(slots) == [("10:00", "11:00"), ("12:00", "13:00")]
    assert who(slots) == [[sub(host), sub(y)], [sub(host), sub(x)]]


def test_buffers_keep_time_clear_around_busy_events(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    busy(alice, "early", "08:30", "09:00")  # outside the query period, inside the buffer's reach
    busy(alice, "meeting", "11:00", "12:00")
    plain = body(sub(alice), end="14:00", minutes=30)
    assert spans(found(ask(api, app, plain))) == [("09:00", "11:00"), ("12:00", "14:00")]
    both = plain | {"buffer": {"before": {"minutes": 30}, "after": {"minutes": 15}}}
    # A meeting needs 30 minutes clear before it and 15 after it.
    assert spans(found(ask(api, app, both))) == [("09:30", "10:45"), ("12:30", "14:00")]
    before = plain | {"buffer": {"before": {"minutes": 30}}}
    assert spans(found(ask(api, app, before))) == [("09:30", "11:00"), ("12:30", "14:00")]
    after = plain | {"buffer": {"after": {"hours": 1}}}
    assert spans(found(ask(api, app, after))) == [("09:00", "10:00"), ("12:00", "14:00")]


def test_start_interval(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    busy(alice, "early", "09:00", "09:10")
    query = body(sub(alice), end="11:00", minutes=30, response_format="slots")
    default = found(ask(api, app, query), "available_slots")
    assert spans(default) == [("09:15", "09:45"), ("09:45", "10:15"), ("10:15", "10:45")]
    half_hourly = found(ask(api, app, query | {"start_interval": {"minutes": 30}}), "available_slots")
    assert spans(half_hourly) == [("09:30", "10:00"), ("10:00", "10:30"), ("10:30", "11:00")]
    overlapping = query | {"start_interval": {"minutes": 20}, "response_format": "overlapping_slots"}
    assert [s for s, _ in spans(found(ask(api, app, overlapping), "available_slots"))] == [
        "09:20",
        "09:40",
        "10:00",
        "10:20",
    ]
    periods = query | {"start_interval": {"minutes": 30}, "response_format": "periods"}
    assert spans(found(ask(api, app, periods))) == [("09:30", "11:00")]
    assert spans(found(ask(api, app, query | {"response_format": "periods"}))) == [("09:10", "11:00")]


def test_max_results(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    busy(alice, "a", "10:00", "11:00")
    busy(alice, "b", "12:00", "13:00")
    slots = body(sub(alice), response_format="slots")
    assert len(found(ask(api, app, slots), "available_slots")) == 6
    assert spans(found(ask(api, app, slots | {"max_results": 2}), "available_slots")) == [
        ("09:00", "10:00"),
        ("11:00", "12:00"),
    ]
    assert spans(found(ask(api, app, body(sub(alice), max_results=1)))) == [("09:00", "10:00")]
    assert len(found(ask(api, app, body(sub(alice), max_results=2)))) == 2
    assert len(found(ask(api, app, body(sub(alice), max_results=MAX_RESULTS)))) == 3
    # The limit is reached exactly: 512 overlapping one-minute slots in a day.
    many = body(
        sub(alice),
        start="00:00",
        end="23:59",
        minutes=1,
        response_format="overlapping_slots",
        start_interval={"minutes": 1},
        max_results=MAX_RESULTS,
    )
    assert len(found(ask(api, app, many), "available_slots")) == MAX_RESULTS


def test_query_slots_check_only_those_starts(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    busy(alice, "a", "10:00", "11:00")
    query = {
        "participants": [{"members": [{"sub": sub(alice)}]}],
        "required_duration": {"minutes": 60},
        "query_slots": [
            {"start": at("11:00")},
            {"start": at("09:00")},
            {"start": at("10:30")},
            {"start": at("09:30")},
            {"start": at("09:00")},
            {"start": {"time": "2026-03-02T13:00:00+01:00", "tzid": "Europe/Paris"}},
        ],
    }
    slots = found(ask(api, app, query), "available_slots")
    assert spans(slots) == [("09:00", "10:00"), ("11:00", "12:00"), ("12:00", "13:00")]
    assert who(slots) == [[sub(alice)]] * 3
    # Query slots always answer with slots, whatever the response format.
    assert found(ask(api, app, query | {"response_format": "periods"}), "available_slots") == slots
    assert len(found(ask(api, app, query | {"max_results": 1}), "available_slots")) == 1


def test_available_periods_is_the_legacy_name_of_query_periods(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    busy(alice, "a", "10:00", "11:00")
    modern = body(sub(alice), end="12:00")
    legacy = {k: v for k, v in modern.items() if k != "query_periods"} | {
        "available_periods": modern["query_periods"]
    }
    assert found(ask(api, app, legacy)) == found(ask(api, app, modern))
    assert spans(found(ask(api, app, legacy))) == [("09:00", "10:00"), ("11:00", "12:00")]


def test_participants_as_one_object_and_members_as_bare_subs(api: Api) -> None:
    app = api.new_application()
    alice, bob = api.user(app, "alice"), api.user(app, "bob")
    busy(bob, "b", "09:00", "10:00")
    listed = body(sub(alice), sub(bob), end="12:00")
    single = listed | {"participants": {"members": [sub(alice), sub(bob)], "required": "all"}}
    mixed = listed | {"participants": [{"members": [sub(alice), {"sub": sub(bob)}]}]}
    expected = found(ask(api, app, listed))
    assert spans(expected) == [("10:00", "12:00")]
    assert found(ask(api, app, single)) == expected
    assert found(ask(api, app, mixed)) == expected


def test_member_available_periods_limit_that_member(api: Api) -> None:
    app = api.new_application()
    alice, bob = api.user(app, "alice"), api.user(app, "bob")
    busy(alice, "a", "09:30", "10:00")
    limited = {
        "sub": sub(alice),
        "available_periods": [period("09:00", "11:30"), period("15:00", "16:00"), period("18:00", "19:00")],
    }
    result = found(ask(api, app, body(limited, sub(bob), minutes=30)))
    assert spans(result) == [("09:00", "09:30"), ("10:00", "11:30"), ("15:00", "16:00")]


def test_calendar_ids_restrict_the_busy_calendars(api: Api) -> None:
    app = api.new_application()
    alice, bob = api.user(app, "alice"), api.user(app, "bob")
    primary = alice.calendar_id
    created = alice.post(
        "/v1/calendars",
        json={"profile_id": alice.tokens["linking_profile"]["profile_id"], "name": "Team"},
    )
    assert created.status_code == 200, created.text
    team = created.json()["calendar"]["calendar_id"]
    busy(alice, "p", "10:00", "11:00")
    assert alice.upsert(team, event_id="t", start=at("13:00"), end=at("14:00")).status_code == 202
    everything = body(sub(alice), end="15:00")
    assert spans(found(ask(api, app, everything))) == [
        ("09:00", "10:00"),
        ("11:00", "13:00"),
        ("14:00", "15:00"),
    ]
    only_team = body({"sub": sub(alice), "calendar_ids": [team]}, end="15:00")
    assert spans(found(ask(api, app, only_team))) == [("09:00", "13:00"), ("14:00", "15:00")]
    only_primary = body({"sub": sub(alice), "calendar_ids": [primary]}, end="15:00")
    assert spans(found(ask(api, app, only_primary))) == [("09:00", "10:00"), ("11:00", "15:00")]
    for calendar_ids in ([bob.calendar_id], [primary, bob.calendar_id], ["cal_unknown_000"]):
        response = ask(api, app, body({"sub": sub(alice), "calendar_ids": calendar_ids}))
        assert error_key(response, "participants") == "errors.not_found"


def test_only_managed_events(api: Api) -> None:
    mine, other = api.new_application("Mine"), api.new_application("Other")
    alice = api.user(mine, "alice")
    busy(alice, "mine", "13:00", "14:00")
    theirs = api.grant(other, sub(alice), "read_write")
    response = theirs.upsert(alice.calendar_id, event_id="theirs", start=at("10:00"), end=at("11:00"))
    assert response.status_code == 202, response.text
    every = body(sub(alice), end="15:00")
    assert spans(found(ask(api, mine, every))) == [("09:00", "10:00"), ("11:00", "13:00"), ("14:00", "15:00")]
    managed = body({"sub": sub(alice), "only_managed_events": True}, end="15:00")
    assert spans(found(ask(api, mine, managed))) == [("09:00", "13:00"), ("14:00", "15:00")]
    # To the other application, its own event is the managed one.
    assert spans(found(ask(api, other, managed))) == [("09:00", "10:00"), ("11:00", "15:00")]


RULES = [
    {
        "availability_rule_id": "mornings",
        "tzid": "America/New_York",
        "weekly_periods": [{"day": "monday", "start_time": "09:00", "end_time": "12:00"}],
    },
    {
        "availability_rule_id": "evenings",
        "tzid": "America/New_York",
        "weekly_periods": [{"day": "tuesday", "start_time": "18:00", "end_time": "20:00"}],
    },
]


def managed_body(member: dict[str, Any]) -> dict[str, Any]:
    """The week of 2 March 2026 and the Monday after, across the US change to daylight saving time."""
    return body(member) | {"query_periods": [{"start": at("00:00"), "end": at("00:00", "2026-03-10")}]}


def test_managed_availability_uses_rules_and_available_periods(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    # Managed availability with nothing configured is never available.
    assert found(ask(api, app, managed_body({"sub": sub(alice), "managed_availability": True}))) == []
    for rule in RULES:
        assert alice.post("/v1/availability_rules", json=rule).status_code == 200
    period_body = {
        "available_period_id": "p1",
        "start": at("10:00", "2026-03-04"),
        "end": at("12:00", "2026-03-04"),
    }
    assert alice.post("/v1/available_periods", json=period_body).status_code == 202
    busy(alice, "busy", "15:00", "16:00")
    result = found(ask(api, app, managed_body({"sub": sub(alice), "managed_availability": True})))
    assert spans(result) == [
        ("14:00", "15:00"),  # Monday 09:00-12:00 EST is 14:00-17:00 UTC, less the busy hour
        ("16:00", "17:00"),
        ("2026-03-03T23:00", "2026-03-04T01:00"),  # Tuesday 18:00-20:00 EST
        ("2026-03-04T10:00", "2026-03-04T12:00"),  # the available period
        ("2026-03-09T13:00", "2026-03-09T16:00"),  # Monday 09:00-12:00 EDT
    ]
    # Without managed availability the member is free whenever not busy.
    assert spans(found(ask(api, app, managed_body({"sub": sub(alice)})))) == [
        ("00:00", "15:00"),
        ("16:00", "2026-03-10T00:00"),
    ]


def test_availability_rule_ids_select_rules(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    for rule in RULES:
        assert alice.post("/v1/availability_rules", json=rule).status_code == 200
    period_body = {
        "available_period_id": "p1",
        "start": at("10:00", "2026-03-04"),
        "end": at("12:00", "2026-03-04"),
    }
    assert alice.post("/v1/available_periods", json=period_body).status_code == 202
    evenings = managed_body({"sub": sub(alice), "availability_rule_ids": ["evenings"]})
    assert spans(found(ask(api, app, evenings))) == [("2026-03-03T23:00", "2026-03-04T01:00")]
    with_periods = managed_body(
        {"sub": sub(alice), "availability_rule_ids": ["evenings"], "managed_availability": True}
    )
    assert spans(found(ask(api, app, with_periods))) == [
        ("2026-03-03T23:00", "2026-03-04T01:00"),
        ("2026-03-04T10:00", "2026-03-04T12:00"),
    ]
    unknown = managed_body({"sub": sub(alice), "availability_rule_ids": ["evenings", "weekends"]})
    assert error_key(ask(api, app, unknown), "participants") == "errors.not_found"


def test_busy_time_counts_only_within_reach_of_available_time(api: Api) -> None:
    """Events away from a member's available time cannot matter and may be left unread, but those
    within a buffer's reach of it, or crossing into it from a gap, must still block."""
    app = api.new_application()
    alice = api.user(app, "alice")
    assert alice.post("/v1/availability_rules", json=RULES[0]).status_code == 200  # 14:00-17:00 UTC
    busy(alice, "gap-into-buffer", "13:00", "13:50")  # starts in the gap, ends within the buffer's reach
    busy(alice, "inside", "15:00", "15:10")
    busy(alice, "after-hours", "17:05", "17:40")  # after the rule, within reach of the buffer after
    busy(alice, "far", "19:00", "20:00")
    busy(alice, "night", "02:00", "03:00")
    query = body({"sub": sub(alice), "managed_availability": True}, start="00:00", end="23:59", minutes=15)
    query |= {"buffer": {"before": {"minutes": 15}, "after": {"minutes": 30}}}
    assert spans(found(ask(api, app, query))) == [("14:05", "14:30"), ("15:25", "16:35")]
    plain = body({"sub": sub(alice), "managed_availability": True}, start="00:00", end="23:59", minutes=15)
    assert spans(found(ask(api, app, plain))) == [("14:00", "15:00"), ("15:10", "17:00")]
    # With no available time at all no timed event is needed, and none is free.
    nothing = body({"sub": sub(alice), "managed_availability": True}, start="18:00", end="23:59")
    assert found(ask(api, app, nothing)) == []


def test_a_rules_calendar_ids_choose_the_busy_calendars(api: Api) -> None:
    app = api.new_application()
    alice = api.user(app, "alice")
    created = alice.post(
        "/v1/calendars",
        json={"profile_id": alice.tokens["linking_profile"]["profile_id"], "name": "Team"},
    )
    team = created.json()["calendar"]["calendar_id"]
    busy(alice, "primary", "15:00", "16:00")
    assert alice.upsert(team, event_id="t", start=at("14:00"), end=at("14:30")).status_code == 202
    rule = RULES[0] | {"calendar_ids": [team]}
    assert alice.post("/v1/availability_rules", json=rule).status_code == 200
    result = found(ask(api, app, managed_body({"sub": sub(alice), "managed_availability": True})))
    assert spans(result) == [("14:30", "17:00"), ("2026-03-09T13:00", "2026-03-09T16:00")]


# --- validation: each limit on both sides -----------------------------------------------------------------


@pytest.fixture
def solo(api: Api) -> tuple[NewApplication, str]:
    app = api.new_application()
    return app, sub(api.user(app, "solo"))


@pytest.mark.parametrize(
    ("change", "field", "key"),
    [
        ({"required_duration": None}, "required_duration", "errors.required"),
        ({"required_duration": {}}, "required_duration", "errors.invalid"),
        ({"required_duration": {"hours": 1, "minutes": 60}}, "required_duration", "errors.invalid"),
        ({"required_duration": {"minutes": 0}}, "required_duration", "errors.out_of_range"),
        ({"required_duration": {"hours": 0}}, "required_duration", "errors.out_of_range"),
        ({"required_duration": {"minutes": -5}}, "required_duration", "errors.out_of_range"),
        ({"required_duration": {"minutes": 24 * 60 + 1}}, "required_duration", "errors.out_of_range"),
        ({"required_duration": {"hours": 25}}, "required_duration", "errors.out_of_range"),
        ({"required_duration": {"minutes": "an hour"}}, "required_duration", "errors.invalid"),
        ({"required_duration": 60}, "required_duration", "errors.invalid"),
        ({"query_periods": None}, "query_periods", "errors.required"),
        ({"query_periods": []}, "query_periods", "errors.required"),
        ({"query_periods": [period("10:00", "09:00")]}, "query_periods", "errors.invalid"),
        ({"query_periods": [period("10:00", "10:00")]}, "query_periods", "errors.invalid"),
        (
            {"query_periods": [{"start": "2026-03-02", "end": "2026-03-03"}]},
            "query_periods",
            "errors.invalid",
        ),
        ({"query_periods": [{"start": at("09:00"), "end": "2026-03-03"}]}, "query_periods", "errors.invalid"),
        ({"query_periods": [{"start": "tomorrow", "end": at("10:00")}]}, "query_periods", "errors.invalid"),
        ({"query_periods": [{"start": at("09:00")}]}, "query_periods", "errors.required"),
        (
            {"available_periods": [period("10:00", "09:00")], "query_periods": None},
            "available_periods",
            "errors.invalid",
        ),
        ({"query_slots": [{"start": "2026-03-02"}], "query_periods": None}, "query_slots", "errors.invalid"),
        ({"query_slots": [], "query_periods": None}, "query_slots", "errors.required"),
        ({"participants": None}, "participants", "errors.required"),
        ({"participants": []}, "participants", "errors.required"),
        ({"participants": [{"members": []}]}, "participants", "errors.required"),
        ({"participants": [{"members": [{"sub": ""}]}]}, "participants", "errors.required"),
        ({"participants": [{"members": [{"sub": "x" * 65}]}]}, "participants", "errors.too_long"),
        ({"required": 0}, "participants", "errors.invalid"),
        ({"required": -1}, "participants", "errors.invalid"),
        ({"required": "some"}, "participants", "errors.invalid"),
        ({"max_results": 0}, "max_results", "errors.out_of_range"),
        ({"max_results": MAX_RESULTS + 1}, "max_results", "errors.out_of_range"),
        ({"max_results": "many"}, "max_results", "errors.invalid"),
        ({"response_format": "weird"}, "response_format", "errors.invalid"),
        ({"start_interval": {"minutes": 0}}, "start_interval", "errors.out_of_range"),
        ({"start_interval": {}}, "start_interval", "errors.invalid"),
        ({"buffer": {"before": {"minutes": 24 * 60 + 1}}}, "buffer", "errors.out_of_range"),
        ({"buffer": {"after": {}}}, "buffer", "errors.invalid"),
        ({"include_member_statuses": "perhaps"}, "include_member_statuses", "errors.invalid"),
    ],
)
def test_validation(
    api: Api, solo: tuple[NewApplication, str], change: dict[str, Any], field: str, key: str
) -> None:
    app, member = solo
    change = dict(change)
    query = body(member, required=change.pop("required", "all"))
    response = ask(api, app, query | change)
    assert error_key(response, field) == key


def test_member_level_validation(api: Api, solo: tuple[NewApplication, str]) -> None:
    app, member = solo
    cases: list[tuple[dict[str, Any], str]] = [
        ({"available_periods": [period("11:00", "10:00")]}, "errors.invalid"),
        ({"available_periods": [{"start": "2026-03-02", "end": "2026-03-03"}]}, "errors.invalid"),
        ({"available_periods": []}, "errors.required"),
        ({"calendar_ids": []}, "errors.required"),
        ({"availability_rule_ids": []}, "errors.required"),
        ({"managed_availability": "sometimes"}, "errors.invalid"),
        ({"only_managed_events": "sometimes"}, "errors.invalid"),
    ]
    for extra, key in cases:
        assert error_key(ask(api, app, body({"sub": member} | extra)), "participants") == key, extra


def test_validation_comes_before_authorization(api: Api) -> None:
    app = api.new_application()
    response = ask(api, app, body(FAKE_SUB, response_format="weird"))
    assert error_key(response, "response_format") == "errors.invalid"
    assert "participants" not in response.json()["errors"]


def test_malformed_json_is_422(api: Api, solo: tuple[NewApplication, str]) -> None:
    app, _ = solo
    headers = bearer(app.client_secret) | {"Content-Type": "application/json"}
    for content in (b'{"participants": [', b"[1, 2]", b'"text"'):
        response = api.client.post(URL, headers=headers, content=content)
        assert response.status_code == 422, response.text
        assert_no_availability(response)
        assert response.json()["errors"]["body"][0]["key"] == "errors.invalid"


def test_required_duration_bounds(api: Api, solo: tuple[NewApplication, str]) -> None:
    app, member = solo
    day = body(member) | {"query_periods": [{"start": at("00:00"), "end": at("00:00", "2026-03-03")}]}
    assert spans(found(ask(api, app, day | {"required_duration": {"minutes": 1}}))) == [
        ("00:00", "2026-03-03T00:00")
    ]
    for whole_day in ({"minutes": 24 * 60}, {"hours": 24}, {"hours": 23, "minutes": 59}):
        result = found(ask(api, app, day | {"required_duration": whole_day}))
        assert spans(result) == [("00:00", "2026-03-03T00:00")], whole_day
    assert found(ask(api, app, day | {"required_duration": {"hours": 1, "minutes": 59}})) != []


def test_required_duration_over_a_day_in_hours_and_minutes(
    api: Api, solo: tuple[NewApplication, str]
) -> None:
    app, member = solo
    response = ask(api, app, body(member, required_duration={"hours": 24, "minutes": 1}))
    assert error_key(response, "required_duration") == "errors.out_of_range"


def test_query_span_limit(api: Api, solo: tuple[NewApplication, str]) -> None:
    app, member = solo
    start = datetime(2026, 3, 1, tzinfo=UTC)
    limit = start + timedelta(days=MAX_SPAN_DAYS)

    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    exact = body(member) | {"query_periods": [{"start": stamp(start), "end": stamp(limit)}]}
    assert [(p["start"], p["end"]) for p in found(ask(api, app, exact))] == [(stamp(start), stamp(limit))]
    beyond = body(member) | {
        "query_periods": [{"start": stamp(start), "end": stamp(limit + timedelta(minutes=1))}]
    }
    assert error_key(ask(api, app, beyond), "query_periods") == "errors.out_of_range"
    # The span runs from the first start to the last end, across separate periods.
    pieces = [
        {"start": stamp(start), "end": stamp(start + timedelta(hours=1))},
        {"start": stamp(limit - timedelta(hours=1)), "end": stamp(limit)},
    ]
    assert len(found(ask(api, app, body(member) | {"query_periods": pieces}))) == 2
    pieces[1]["end"] = stamp(limit + timedelta(minutes=1))
    assert (
        error_key(ask(api, app, body(member) | {"query_periods": pieces}), "query_periods")
        == "errors.out_of_range"
    )
    legacy = {
        "participants": exact["participants"],
        "required_duration": {"minutes": 60},
        "available_periods": pieces,
    }
    assert error_key(ask(api, app, legacy), "available_periods") == "errors.out_of_range"


def test_query_period_count_limit(api: Api, solo: tuple[NewApplication, str]) -> None:
    app, member = solo
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    periods = [
        {
            "start": (start + timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (start + timedelta(days=i, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for i in range(MAX_QUERY_PERIODS + 1)
    ]
    at_limit = periods[:MAX_QUERY_PERIODS]
    assert len(found(ask(api, app, body(member) | {"query_periods": at_limit}))) == MAX_QUERY_PERIODS
    assert (
        error_key(ask(api, app, body(member) | {"query_periods": periods}), "query_periods")
        == "errors.too_many"
    )
    legacy = {"participants": [{"members": [member]}], "required_duration": {"minutes": 60}}
    assert len(found(ask(api, app, legacy | {"available_periods": at_limit}))) == MAX_QUERY_PERIODS
    assert (
        error_key(ask(api, app, legacy | {"available_periods": periods}), "available_periods")
        == "errors.too_many"
    )
    member_level = {"sub": member, "available_periods": at_limit}
    assert len(found(ask(api, app, body(member_level) | {"query_periods": at_limit}))) == MAX_QUERY_PERIODS
    too_many = {"sub": member, "available_periods": periods}
    assert error_key(ask(api, app, body(too_many)), "participants") == "errors.too_many"


def test_query_slot_count_limit(api: Api, solo: tuple[NewApplication, str]) -> None:
    app, member = solo
    start = datetime(2026, 3, 2, tzinfo=UTC)
    slots = [
        {"start": (start + timedelta(minutes=15 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for i in range(MAX_QUERY_SLOTS + 1)
    ]
    query = {"participants": [{"members": [member]}], "required_duration": {"minutes": 15}}
    at_limit = found(ask(api, app, query | {"query_slots": slots[:MAX_QUERY_SLOTS]}), "available_slots")
    assert len(at_limit) == MAX_QUERY_SLOTS
    assert error_key(ask(api, app, query | {"query_slots": slots}), "query_slots") == "errors.too_many"


def test_group_count_limit(api: Api, solo: tuple[NewApplication, str]) -> None:
    app, member = solo
    groups = [{"members": [member]} for _ in range(MAX_GROUPS + 1)]
    accepted = ask(api, app, body(member) | {"participants": groups[:MAX_GROUPS]})
    assert spans(found(accepted)) == [("09:00", "17:00")]
    assert (
        error_key(ask(api, app, body(member) | {"participants": groups}), "participants") == "errors.too_many"
    )


def test_member_count_limits(api: Api) -> None:
    app = api.new_application()
    subs = members(api, app, MAX_MEMBERS + 1)
    first, second = subs[:MAX_MEMBERS_PER_GROUP], subs[MAX_MEMBERS_PER_GROUP:MAX_MEMBERS]
    # A full group, and then the most members in all, are answered.
    full_group = found(ask(api, app, body(*first)))
    assert spans(full_group) == [("09:00", "17:00")]
    assert who(full_group) == [first]
    two_groups = body(first[0]) | {"participants": [{"members": first}, {"members": second}]}
    result = found(ask(api, app, two_groups))
    assert spans(result) == [("09:00", "17:00")]
    assert len(result[0]["participants"]) == MAX_MEMBERS
    # A sub given in several groups counts once towards the limit.
    repeated = body(first[0]) | {
        "participants": [{"members": first}, {"members": second}, {"members": [first[0]]}]
    }
    assert ask(api, app, repeated).status_code == 200
    # One beyond each limit is refused, though every member has authorized the application.
    crowded = body(*subs[: MAX_MEMBERS_PER_GROUP + 1])
    assert error_key(ask(api, app, crowded), "participants") == "errors.too_many"
    everyone = body(first[0]) | {
        "participants": [{"members": first}, {"members": second}, {"members": [subs[MAX_MEMBERS]]}]
    }
    assert error_key(ask(api, app, everyone), "participants") == "errors.too_many"


def test_a_member_in_several_groups_is_listed_once(api: Api) -> None:
    app = api.new_application()
    alice, bob = api.user(app, "alice"), api.user(app, "bob")
    query = body(sub(alice), end="10:00")
    query["participants"].append({"members": [sub(alice), sub(bob)], "required": 1})
    [result] = found(ask(api, app, query))
    assert who([result]) == [[sub(alice), sub(bob)]]
