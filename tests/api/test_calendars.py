"""GET and POST /v1/calendars (reference §3.4–3.5)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from openslot.store.models import Calendar, Profile
from tests.conftest import Api, User


def _calendar_count(api: Api) -> int:
    with api.ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Calendar)) or 0)


def _profile_id(user: User) -> str:
    return user.tokens["linking_profile"]["profile_id"]


def test_list_calendars(api: Api) -> None:
    user = api.user(apc_id="desk")
    body = user.get("/v1/calendars").json()
    assert body["sub"] == user.tokens["sub"]
    [calendar] = body["calendars"]
    assert set(calendar) >= {
        "provider_name",
        "profile_id",
        "profile_name",
        "calendar_id",
        "calendar_name",
        "calendar_readonly",
        "calendar_deleted",
        "calendar_primary",
        "calendar_integrated_conferencing_available",
        "calendar_attachments_available",
        "permission_level",
    }
    assert calendar["profile_id"] == _profile_id(user)
    assert calendar["calendar_name"] == "desk"


def test_create_calendar(api: Api) -> None:
    user = api.user()
    response = user.post(
        "/v1/calendars", json={"profile_id": _profile_id(user), "name": "Team", "color": "#49bed8"}
    )
    assert response.status_code == 200, response.text
    created = response.json()["calendar"]
    assert created["calendar_name"] == "Team"
    assert created["calendar_color"] == "#49BED8"
    assert created["profile_id"] == _profile_id(user)
    assert created["provider_name"] == "cronofy"
    assert created["calendar_readonly"] is False
    assert created["calendar_deleted"] is False
    assert created["calendar_primary"] is False
    assert created["calendar_id"].startswith("cal_")
    listed = user.get("/v1/calendars").json()["calendars"]
    assert [c["calendar_name"] for c in listed] == ["apc-1", "Team"]
    assert listed[1] == created


def test_create_calendar_form_encoded(api: Api) -> None:
    user = api.user()
    response = user.post("/v1/calendars", data={"profile_id": _profile_id(user), "name": "Form"})
    assert response.status_code == 200, response.text


def test_duplicate_name_is_the_key_pycronofy_checks(api: Api) -> None:
    user = api.user()
    body = {"profile_id": _profile_id(user), "name": "Team"}
    assert user.post("/v1/calendars", json=body).status_code == 200
    for name in ("Team", "team", " Team "):
        response = user.post("/v1/calendars", json=body | {"name": name})
        assert response.status_code == 422
        assert response.json()["errors"]["name"][0]["key"] == "errors.duplicate_calendar_name"
    assert _calendar_count(api) == 2


def test_a_deleted_calendars_name_can_be_used_again(api: Api) -> None:
    user = api.user()
    body = {"profile_id": _profile_id(user), "name": "Old"}
    old_id = user.post("/v1/calendars", json=body).json()["calendar"]["calendar_id"]
    with api.ctx.db.transaction() as session:
        session.execute(update(Calendar).where(Calendar.id == old_id).values(deleted=True))
    assert user.post("/v1/calendars", json=body).status_code == 200
    listed = {c["calendar_id"]: c for c in user.get("/v1/calendars").json()["calendars"]}
    assert listed[old_id]["calendar_deleted"] is True


def test_readonly_flag_is_reported(api: Api) -> None:
    user = api.user()
    with api.ctx.db.transaction() as session:
        session.execute(update(Calendar).values(readonly=True))
    [calendar] = user.get("/v1/calendars").json()["calendars"]
    assert calendar["calendar_readonly"] is True


@pytest.mark.parametrize(
    ("body", "field", "key"),
    [
        ({}, "name", "errors.required"),
        ({"name": None}, "name", "errors.required"),
        ({"name": ""}, "name", "errors.required"),
        ({"name": "   "}, "name", "errors.required"),
        ({"name": 5}, "name", "errors.invalid"),
        ({"name": "x" * 1025}, "name", "errors.too_long"),
        ({"name": "ok", "color": "blue"}, "color", "errors.invalid"),
        ({"name": "ok", "color": "#12345"}, "color", "errors.invalid"),
        ({"name": "ok", "color": "#GGGGGG"}, "color", "errors.invalid"),
        ({"name": "ok", "profile_id": None}, "profile_id", "errors.required"),
    ],
)
def test_create_calendar_validation(api: Api, body: dict, field: str, key: str) -> None:
    user = api.user()
    request = {"profile_id": _profile_id(user)} | body
    if "profile_id" in body:
        request["profile_id"] = body["profile_id"]
    response = user.post("/v1/calendars", json={k: v for k, v in request.items()})
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert errors[field][0]["key"] == key
    assert errors[field][0]["description"]
    assert _calendar_count(api) == 1


def test_another_accounts_profile_is_the_same_404_as_an_unknown_one(api: Api) -> None:
    one = api.user(api.new_application("One"), "one")
    two = api.user(api.new_application("Two"), "two")
    foreign = one.post("/v1/calendars", json={"profile_id": _profile_id(two), "name": "X"})
    unknown = one.post("/v1/calendars", json={"profile_id": "pro_doesnotexist", "name": "X"})
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
    assert foreign.headers["content-type"] == unknown.headers["content-type"]
    assert _calendar_count(api) == 2


def test_disconnected_profile_is_423(api: Api) -> None:
    user = api.user()
    with api.ctx.db.transaction() as session:
        session.execute(update(Profile).values(connected=False))
    response = user.post("/v1/calendars", json={"profile_id": _profile_id(user), "name": "X"})
    assert response.status_code == 423
    assert _calendar_count(api) == 1


def test_unauthenticated_create_changes_nothing(api: Api) -> None:
    user = api.user()
    response = api.client.post("/v1/calendars", json={"profile_id": _profile_id(user), "name": "X"})
    assert response.status_code == 401
    assert _calendar_count(api) == 1
