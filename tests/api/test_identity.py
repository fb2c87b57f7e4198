"""GET /v1/account, /v1/userinfo and /v1/profiles (reference §3.1–3.3)."""

from __future__ import annotations

from sqlalchemy import update

from openslot.store.models import Profile
from tests.conftest import Api


def test_account(api: Api) -> None:
    user = api.user()
    response = user.get("/v1/account")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "account": {
            "account_id": user.tokens["sub"],
            "email": None,
            "name": None,
            "scope": "read_write",
            "default_tzid": "Etc/UTC",
        },
        "sub": user.tokens["sub"],
    }


def test_userinfo(api: Api) -> None:
    user = api.user(apc_id="front-desk")
    body = user.get("/v1/userinfo").json()
    assert body["sub"] == user.tokens["sub"]
    assert body["zoneinfo"] == "Etc/UTC"
    assert body["cronofy.type"] == "application_calendar"
    data = body["cronofy.data"]
    assert data["authorization"] == {"scope": "read_write", "status": "active"}
    [profile] = data["profiles"]
    assert profile["profile_id"] == user.tokens["linking_profile"]["profile_id"]
    assert profile["provider_name"] == "cronofy"
    assert profile["provider_service"] == "cronofy"
    assert profile["profile_connected"] is True
    assert profile["profile_initial_sync_required"] is False
    assert "profile_relink_url" not in profile
    [calendar] = profile["profile_calendars"]
    assert calendar["calendar_id"].startswith("cal_")
    assert calendar["calendar_name"] == "front-desk"
    assert calendar["calendar_primary"] is True
    assert calendar["calendar_readonly"] is False
    assert calendar["calendar_deleted"] is False
    assert calendar["permission_level"] == "sandbox"
    assert calendar["calendar_integrated_conferencing_available"] is False
    assert calendar["calendar_attachments_available"] is False


def test_profiles(api: Api) -> None:
    user = api.user()
    body = user.get("/v1/profiles").json()
    assert body == {
        "profiles": [
            {
                "provider_name": "cronofy",
                "provider_service": "cronofy",
                "profile_id": user.tokens["linking_profile"]["profile_id"],
                "profile_name": user.tokens["linking_profile"]["profile_name"],
                "profile_connected": True,
                "profile_initial_sync_required": False,
            }
        ]
    }


def test_disconnected_profile_has_a_relink_url(api: Api) -> None:
    user = api.user()
    with api.ctx.db.transaction() as session:
        session.execute(update(Profile).values(connected=False))
    [profile] = user.get("/v1/profiles").json()["profiles"]
    assert profile["profile_connected"] is False
    assert profile["profile_relink_url"].startswith("https://openslot.test/")


def test_each_token_sees_only_its_own_account(api: Api) -> None:
    app = api.new_application()
    one, two = api.user(app, "one"), api.user(app, "two")
    assert one.get("/v1/account").json()["sub"] == one.tokens["sub"]
    assert two.get("/v1/account").json()["sub"] == two.tokens["sub"]
    one_profiles = {p["profile_id"] for p in one.get("/v1/profiles").json()["profiles"]}
    two_profiles = {p["profile_id"] for p in two.get("/v1/profiles").json()["profiles"]}
    assert one_profiles.isdisjoint(two_profiles)


def test_identity_endpoints_need_a_token(api: Api) -> None:
    for path in ("/v1/account", "/v1/userinfo", "/v1/profiles", "/v1/calendars"):
        assert api.client.get(path).status_code == 401
        assert api.client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
