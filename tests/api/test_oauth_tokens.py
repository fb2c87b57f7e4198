"""POST /oauth/token (refresh grant), POST /oauth/token/revoke, token expiry and scopes."""

from __future__ import annotations

from typing import Any

import pytest

from openslot.services.applications import NewApplication
from tests.conftest import Api


def _creds(app: NewApplication) -> dict[str, str]:
    return {"client_id": app.info.client_id, "client_secret": app.client_secret}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _refresh(api: Api, app: NewApplication, refresh_token: Any, **kwargs: Any) -> Any:
    body = _creds(app) | {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return api.client.post("/oauth/token", json=body, **kwargs)


def test_refresh_issues_a_new_access_token_and_keeps_the_refresh_token(api: Api) -> None:
    app = api.new_application()
    tokens = api.application_calendar(app)
    response = _refresh(api, app, tokens["refresh_token"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "read_write"
    assert body["refresh_token"] == tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    assert body["sub"] == tokens["sub"]
    assert response.headers["cache-control"] == "no-store"
    assert api.client.get("/v1/account", headers=_bearer(body["access_token"])).status_code == 200
    # The refresh token keeps working: the Python SDK never stores a new one.
    assert _refresh(api, app, tokens["refresh_token"]).status_code == 200


def test_refresh_as_form_body(api: Api) -> None:
    app = api.new_application()
    tokens = api.application_calendar(app)
    body = _creds(app) | {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    response = api.client.post("/oauth/token", data=body)
    assert response.status_code == 200, response.text


def test_refresh_with_http_basic_client_authentication(api: Api) -> None:
    app = api.new_application()
    tokens = api.application_calendar(app)
    response = api.client.post(
        "/oauth/token",
        auth=(app.info.client_id, app.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("refresh_token", ["unknown-token", "", None], ids=["unknown", "empty", "missing"])
def test_refresh_with_a_bad_token(api: Api, refresh_token: Any) -> None:
    app = api.new_application()
    api.application_calendar(app)
    response = _refresh(api, app, refresh_token)
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_grant", "invalid_request"}


def test_an_access_token_is_not_a_refresh_token(api: Api) -> None:
    app = api.new_application()
    tokens = api.application_calendar(app)
    response = _refresh(api, app, tokens["access_token"])
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_another_applications_refresh_token_is_invalid_grant(api: Api) -> None:
    one, two = api.new_application("One"), api.new_application("Two")
    tokens = api.application_calendar(one)
    response = _refresh(api, two, tokens["refresh_token"])
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_grant_errors(api: Api) -> None:
    app = api.new_application()
    cases = [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
    ]
    for extra, status, error in cases:
        response = api.client.post("/oauth/token", json=_creds(app) | extra)
        assert (response.status_code, response.json()["error"]) == (status, error), extra
    response = api.client.post(
        "/oauth/token",
        json={"client_id": app.info.client_id, "client_secret": "x", "grant_type": "refresh_token"},
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_revoke_by_access_token_ends_every_token_of_the_grant(api: Api) -> None:
    app = api.new_application()
    tokens = api.application_calendar(app)
    second = _refresh(api, app, tokens["refresh_token"]).json()
    response = api.client.post("/oauth/token/revoke", json=_creds(app) | {"token": tokens["access_token"]})
    assert response.status_code == 200
    assert response.content == b""
    for access in (tokens["access_token"], second["access_token"]):
        assert api.client.get("/v1/account", headers=_bearer(access)).status_code == 401
    assert _refresh(api, app, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_revoke_by_refresh_token(api: Api) -> None:
    app = api.new_application()
    tokens = api.application_calendar(app)
    response = api.client.post("/oauth/token/revoke", data=_creds(app) | {"token": tokens["refresh_token"]})
    assert response.status_code == 200
    assert api.client.get("/v1/account", headers=_bearer(tokens["access_token"])).status_code == 401


def test_revoke_by_sub(api: Api) -> None:
    app = api.new_application()
    tokens = api.application_calendar(app)
    other = api.application_calendar(app, "another")
    response = api.client.post("/oauth/token/revoke", json=_creds(app) | {"sub": tokens["sub"]})
    assert response.status_code == 200
    assert api.client.get("/v1/account", headers=_bearer(tokens["access_token"])).status_code == 401
    assert api.client.get("/v1/account", headers=_bearer(other["access_token"])).status_code == 200


def test_revoke_of_unknown_or_foreign_tokens_is_200_and_changes_nothing(api: Api) -> None:
    one, two = api.new_application("One"), api.new_application("Two")
    tokens = api.application_calendar(one)
    for body in ({"token": "never-issued"}, {"token": tokens["access_token"]}, {"sub": tokens["sub"]}):
        response = api.client.post("/oauth/token/revoke", json=_creds(two) | body)
        assert response.status_code == 200, body
    assert api.client.get("/v1/account", headers=_bearer(tokens["access_token"])).status_code == 200
    # Revoking twice is still 200.
    for _ in range(2):
        response = api.client.post(
            "/oauth/token/revoke", json=_creds(one) | {"token": tokens["access_token"]}
        )
        assert response.status_code == 200


def test_revoke_errors(api: Api) -> None:
    app = api.new_application()
    response = api.client.post("/oauth/token/revoke", json=_creds(app))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    response = api.client.post(
        "/oauth/token/revoke", json={"client_id": app.info.client_id, "client_secret": "bad", "token": "t"}
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_expired_access_token_is_401_and_refresh_recovers(api: Api) -> None:
    app = api.new_application()
    tokens = api.application_calendar(app)
    api.clock.advance(3599)
    assert api.client.get("/v1/account", headers=_bearer(tokens["access_token"])).status_code == 200
    api.clock.advance(2)
    response = api.client.get("/v1/account", headers=_bearer(tokens["access_token"]))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    fresh = _refresh(api, app, tokens["refresh_token"]).json()
    assert api.client.get("/v1/account", headers=_bearer(fresh["access_token"])).status_code == 200


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Bearer undefined", "Bearer None", "Basic abc", "Token x"],
)
def test_missing_or_malformed_bearer_is_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = api.client.get("/v1/account", headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"]["base"][0]["key"] == "errors.unauthorized"


def test_client_secret_is_not_an_access_token(api: Api) -> None:
    app = api.new_application()
    api.application_calendar(app)
    assert api.client.get("/v1/account", headers=_bearer(app.client_secret)).status_code == 401


def test_scopes_are_enforced_with_403(api: Api) -> None:
    from sqlalchemy import update

    from openslot.store.models import Grant

    app = api.new_application()
    user = api.user(app)
    with api.ctx.db.transaction() as session:
        session.execute(update(Grant).values(scope="read_events"))
    assert user.get("/v1/account").status_code == 403
    profile_id = user.tokens["linking_profile"]["profile_id"]
    response = user.post("/v1/calendars", json={"profile_id": profile_id, "name": "New"})
    assert response.status_code == 403
    assert response.json()["errors"]["base"][0]["key"] == "errors.forbidden"
    # Calls needing no particular scope still work.
    assert user.get("/v1/calendars").status_code == 200
    assert user.get("/v1/userinfo").json()["cronofy.data"]["authorization"]["scope"] == "read_events"
