"""POST /v1/application_calendars (reference §2.6)."""

from __future__ import annotations

from sqlalchemy import func, select

from openslot.store.models import Account, Calendar, Grant, Profile
from tests.conftest import Api


def _count(api: Api, model: type) -> int:
    with api.ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_first_call_creates_account_profile_and_one_calendar(api: Api) -> None:
    app = api.new_application()
    body = api.application_calendar(app, "room-101")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "read_write"
    assert body["application_calendar_id"] == "room-101"
    assert body["sub"].startswith("apc_") and len(body["sub"]) == 28
    assert len(body["access_token"]) >= 43 and len(body["refresh_token"]) >= 43
    assert body["access_token"] != body["refresh_token"]
    profile = body["linking_profile"]
    assert profile["provider_name"] == "cronofy"
    assert profile["profile_id"].startswith("pro_")
    assert profile["profile_name"]
    assert (_count(api, Account), _count(api, Profile), _count(api, Calendar)) == (1, 1, 1)


def test_token_response_is_not_cached(api: Api) -> None:
    app = api.new_application()
    response = api.client.post(
        "/v1/application_calendars",
        json={
            "client_id": app.info.client_id,
            "client_secret": app.client_secret,
            "application_calendar_id": "x",
        },
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_later_calls_return_new_tokens_for_the_same_calendar(api: Api) -> None:
    app = api.new_application()
    first = api.application_calendar(app, "room-101")
    second = api.application_calendar(app, "room-101")
    assert first["sub"] == second["sub"]
    assert first["linking_profile"] == second["linking_profile"]
    assert first["access_token"] != second["access_token"]
    assert (_count(api, Account), _count(api, Calendar), _count(api, Grant)) == (1, 1, 1)
    # Both access tokens stay usable: a second caller does not log out the first.
    for tokens in (first, second):
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert api.client.get("/v1/account", headers=headers).status_code == 200


def test_ids_are_scoped_to_the_application(api: Api) -> None:
    one, two = api.new_application("One"), api.new_application("Two")
    a = api.application_calendar(one, "shared-id")
    b = api.application_calendar(two, "shared-id")
    assert a["sub"] != b["sub"]
    assert _count(api, Account) == 2


def test_form_encoded_body_as_ruby_sends_it(api: Api) -> None:
    app = api.new_application()
    response = api.client.post(
        "/v1/application_calendars",
        data={
            "client_id": app.info.client_id,
            "client_secret": app.client_secret,
            "application_calendar_id": "f",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["application_calendar_id"] == "f"


def test_body_credentials_win_over_the_authorization_header(api: Api) -> None:
    app = api.new_application()
    response = api.client.post(
        "/v1/application_calendars",
        headers={"Authorization": "Bearer undefined"},
        json={
            "client_id": app.info.client_id,
            "client_secret": app.client_secret,
            "application_calendar_id": "n",
        },
    )
    assert response.status_code == 200


def test_bad_client_credentials(api: Api) -> None:
    app = api.new_application()
    cases = [
        {"client_id": app.info.client_id, "client_secret": "wrong", "application_calendar_id": "x"},
        {"client_id": "nope", "client_secret": app.client_secret, "application_calendar_id": "x"},
        {"application_calendar_id": "x"},
        {"client_id": app.info.client_id, "application_calendar_id": "x"},
    ]
    for body in cases:
        response = api.client.post("/v1/application_calendars", json=body)
        assert response.status_code == 401, body
        assert response.json()["error"] == "invalid_client"
    assert _count(api, Account) == 0


def test_api_key_header_is_not_body_credentials(api: Api) -> None:
    app = api.new_application()
    response = api.client.post(
        "/v1/application_calendars",
        headers={"Authorization": f"Bearer {app.client_secret}"},
        json={"application_calendar_id": "x"},
    )
    assert response.status_code == 401


def test_missing_or_invalid_application_calendar_id(api: Api) -> None:
    app = api.new_application()
    creds = {"client_id": app.info.client_id, "client_secret": app.client_secret}
    for extra, key in [
        ({}, "errors.required"),
        ({"application_calendar_id": None}, "errors.required"),
        ({"application_calendar_id": ""}, "errors.required"),
        ({"application_calendar_id": 12}, "errors.invalid"),
        ({"application_calendar_id": "x" * 256}, "errors.too_long"),
    ]:
        response = api.client.post("/v1/application_calendars", json=creds | extra)
        assert response.status_code == 422, extra
        errors = response.json()["errors"]
        assert errors["application_calendar_id"][0]["key"] == key, extra
        assert errors["application_calendar_id"][0]["description"]
    assert _count(api, Account) == 0


def test_unknown_fields_are_ignored(api: Api) -> None:
    app = api.new_application()
    body = api.application_calendar(app, "x", bearer_token="ignored", something={"nested": True})
    assert body["application_calendar_id"] == "x"


def test_revoked_application_calendar_can_be_authorized_again(api: Api) -> None:
    app = api.new_application()
    first = api.application_calendar(app, "x")
    response = api.client.post(
        "/oauth/token/revoke",
        json={"client_id": app.info.client_id, "client_secret": app.client_secret, "sub": first["sub"]},
    )
    assert response.status_code == 200
    again = api.application_calendar(app, "x")
    assert again["sub"] == first["sub"]
    headers = {"Authorization": f"Bearer {again['access_token']}"}
    assert api.client.get("/v1/account", headers=headers).status_code == 200
    old = {"Authorization": f"Bearer {first['access_token']}"}
    assert api.client.get("/v1/account", headers=old).status_code == 401
