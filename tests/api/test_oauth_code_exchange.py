"""POST /oauth/token with grant_type=authorization_code; PKCE; public clients and refresh rotation."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import select

from openslot.services import oauth
from openslot.services.applications import NewApplication
from openslot.services.credentials import token_hash
from openslot.settings import Settings
from openslot.store.models import AuthorizationCode, Token
from tests.conftest import Api
from tests.web.helpers import REDIRECT_URI, Browser, authorize_params, pkce_pair, query_of


@pytest.fixture
def person(api: Api) -> Browser:
    browser = Browser(api.browser())
    assert browser.sign_up("ada@example.com").status_code == 303
    return browser


def _exchange(api: Api, app: NewApplication, code: str, *, form: bool = False, **extra: Any) -> Any:
    body: dict[str, Any] = {"client_id": app.info.client_id, "grant_type": "authorization_code", "code": code}
    if app.client_secret:
        body["client_secret"] = app.client_secret
    body["redirect_uri"] = REDIRECT_URI
    body.update(extra)
    body = {k: v for k, v in body.items() if v is not None}
    return api.client.post("/oauth/token", data=body) if form else api.client.post("/oauth/token", json=body)


def _refresh(api: Api, app: NewApplication, refresh_token: str) -> Any:
    body = {"client_id": app.info.client_id, "grant_type": "refresh_token", "refresh_token": refresh_token}
    if app.client_secret:
        body["client_secret"] = app.client_secret
    return api.client.post("/oauth/token", json=body)


def _error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


def _works(api: Api, access_token: str) -> bool:
    response = api.client.get("/v1/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def test_exchange_as_a_form_body_and_with_http_basic(api: Api, person: Browser) -> None:
    app = api.new_application()
    response = _exchange(api, app, person.code_for(authorize_params(app)), form=True)
    assert response.status_code == 200, response.text
    basic = api.client.post(
        "/oauth/token",
        auth=(app.info.client_id, app.client_secret),
        data={
            "grant_type": "authorization_code",
            "code": person.code_for(authorize_params(app)),
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert basic.status_code == 200, basic.text


def test_a_code_is_stored_only_as_its_hash(api: Api, person: Browser) -> None:
    app = api.new_application()
    code = person.code_for(authorize_params(app))
    with api.ctx.db.read() as session:
        rows = list(session.scalars(select(AuthorizationCode)))
    assert [row.code_hash for row in rows] == [token_hash(code)]
    assert all(code not in (row.redirect_uri, row.scope, row.code_hash) for row in rows)


def test_a_second_use_of_a_code_is_refused_and_revokes_what_the_first_issued(
    api: Api, person: Browser
) -> None:
    app = api.new_application()
    code = person.code_for(authorize_params(app))
    first = _exchange(api, app, code)
    assert first.status_code == 200
    tokens = first.json()
    assert _works(api, tokens["access_token"])
    second = _exchange(api, app, code)
    assert _error(second) == (400, "invalid_grant")
    assert not _works(api, tokens["access_token"])
    assert _error(_refresh(api, app, tokens["refresh_token"])) == (400, "invalid_grant")
    assert _error(_exchange(api, app, code, form=True)) == (400, "invalid_grant")
    # Another grant of the same person to the same application is left alone.
    other = _exchange(api, app, person.code_for(authorize_params(app))).json()
    assert _works(api, other["access_token"])


def test_a_code_expires_after_60_seconds(api: Api, person: Browser) -> None:
    app = api.new_application()
    fresh = person.code_for(authorize_params(app))
    stale = person.code_for(authorize_params(app))
    api.clock.advance(59)
    assert _exchange(api, app, fresh).status_code == 200
    api.clock.advance(1)
    response = _exchange(api, app, stale)
    assert _error(response) == (400, "invalid_grant")
    assert "expired" in response.json()["error_description"]


def test_the_code_lifetime_is_configurable_up_to_600_seconds(api: Api, person: Browser) -> None:
    assert Settings(authorization_code_ttl=600).authorization_code_ttl == 600
    for bad in (0, 601):
        with pytest.raises(ValueError):
            Settings(authorization_code_ttl=bad)
    app = api.new_application()
    ctx = dataclasses.replace(api.ctx, authorization_code_ttl=600)
    account_id = _account_id(api)
    request = oauth.check_request(ctx, list(authorize_params(app).items()))
    code = query_of(oauth.approve(ctx, request, account_id))["code"][0]
    late = query_of(oauth.approve(ctx, request, account_id))["code"][0]
    api.clock.advance(599)
    assert _exchange(api, app, code).status_code == 200
    api.clock.advance(1)
    assert _error(_exchange(api, app, late)) == (400, "invalid_grant")


def _account_id(api: Api) -> str:
    from openslot.store.models import Person

    with api.ctx.db.read() as session:
        return session.scalars(select(Person.account_id)).one()


def test_a_code_is_bound_to_its_client(api: Api, person: Browser) -> None:
    app, other = api.new_application("One"), api.new_application("Two")
    code = person.code_for(authorize_params(app))
    assert _error(_exchange(api, other, code)) == (400, "invalid_grant")
    # Presented by another client, the code was not used up.
    assert _exchange(api, app, code).status_code == 200


def test_a_code_is_bound_to_its_redirect_uri(api: Api, person: Browser) -> None:
    app = api.new_application(redirect_uris=[REDIRECT_URI, "https://app.example.com/other"])
    code = person.code_for(authorize_params(app))
    for wrong in ("https://app.example.com/other", REDIRECT_URI + "/", REDIRECT_URI.upper()):
        assert _error(_exchange(api, app, code, redirect_uri=wrong)) == (400, "invalid_grant")
    # The failed exchange used the code up.
    assert _error(_exchange(api, app, code)) == (400, "invalid_grant")


def test_exchange_parameter_errors(api: Api, person: Browser) -> None:
    app = api.new_application()
    code = person.code_for(authorize_params(app))
    assert _error(_exchange(api, app, code, redirect_uri=None)) == (400, "invalid_request")
    assert _error(_exchange(api, app, None)) == (400, "invalid_request")  # type: ignore[arg-type]
    assert _error(_exchange(api, app, "never-issued")) == (400, "invalid_grant")
    bad_secret = api.client.post(
        "/oauth/token",
        json={
            "client_id": app.info.client_id,
            "client_secret": "wrong",
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert _error(bad_secret) == (401, "invalid_client")
    no_secret = api.client.post(
        "/oauth/token",
        json={
            "client_id": app.info.client_id,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert _error(no_secret) == (401, "invalid_client")
    # None of that used the code up.
    assert _exchange(api, app, code).status_code == 200


# PKCE -------------------------------------------------------------------------------------------------


def test_pkce_with_the_right_verifier(api: Api, person: Browser) -> None:
    app = api.new_application()
    verifier, challenge = pkce_pair()
    code = person.code_for(authorize_params(app, code_challenge=challenge, code_challenge_method="S256"))
    assert _exchange(api, app, code, code_verifier=verifier).status_code == 200


@pytest.mark.parametrize(
    "verifier",
    [None, "", "wrong" * 10, "short", "x" * 129, "é" * 50],
    ids=["missing", "empty", "wrong", "too-short", "too-long", "not-ascii"],
)
def test_pkce_with_a_missing_or_wrong_verifier_is_invalid_grant(
    api: Api, person: Browser, verifier: str | None
) -> None:
    app = api.new_application()
    _, challenge = pkce_pair()
    code = person.code_for(authorize_params(app, code_challenge=challenge, code_challenge_method="S256"))
    assert _error(_exchange(api, app, code, code_verifier=verifier)) == (400, "invalid_grant")


def test_a_verifier_for_a_code_issued_without_a_challenge_is_refused(api: Api, person: Browser) -> None:
    app = api.new_application()
    code = person.code_for(authorize_params(app))
    verifier, _ = pkce_pair()
    response = _exchange(api, app, code, code_verifier=verifier)
    assert _error(response) == (400, "invalid_grant")
    assert "code_challenge" in response.json()["error_description"]


def test_pkce_plain_is_refused(api: Api, person: Browser) -> None:
    app = api.new_application()
    verifier, _ = pkce_pair()
    response = person.client.get(
        "/oauth/authorize",
        params=authorize_params(app, code_challenge=verifier[:43], code_challenge_method="plain"),
    )
    assert query_of(response.headers["location"])["error"] == ["invalid_request"]


# Public clients ----------------------------------------------------------------------------------------


def _public_tokens(api: Api, person: Browser, app: NewApplication) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    code = person.code_for(authorize_params(app, code_challenge=challenge, code_challenge_method="S256"))
    response = _exchange(api, app, code, code_verifier=verifier)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_public_client_must_use_pkce(api: Api, person: Browser) -> None:
    app = api.new_application("Phone app", public=True)
    assert app.client_secret == ""
    response = person.client.get("/oauth/authorize", params=authorize_params(app))
    assert response.status_code == 302
    query = query_of(response.headers["location"])
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["state-123"]


def test_a_public_client_exchanges_with_its_client_id_alone(api: Api, person: Browser) -> None:
    app = api.new_application("Phone app", public=True)
    tokens = _public_tokens(api, person, app)
    assert tokens["account_id"].startswith("acc_")
    assert _works(api, tokens["access_token"])
    # Any secret it sends is wrong: it has none.
    verifier, challenge = pkce_pair()
    code = person.code_for(authorize_params(app, code_challenge=challenge, code_challenge_method="S256"))
    response = _exchange(api, app, code, code_verifier=verifier, client_secret="guess")
    assert _error(response) == (401, "invalid_client")


def test_a_public_client_cannot_create_application_calendars(api: Api) -> None:
    app = api.new_application("Phone app", public=True)
    response = api.client.post(
        "/v1/application_calendars", json={"client_id": app.info.client_id, "application_calendar_id": "x"}
    )
    assert response.status_code == 401


def test_public_refresh_tokens_rotate_and_a_replay_ends_the_grant(api: Api, person: Browser) -> None:
    app = api.new_application("Phone app", public=True)
    tokens = _public_tokens(api, person, app)
    first = _refresh(api, app, tokens["refresh_token"])
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    second = _refresh(api, app, rotated["refresh_token"])
    assert second.status_code == 200
    latest = second.json()
    assert latest["refresh_token"] not in (rotated["refresh_token"], tokens["refresh_token"])
    assert _works(api, latest["access_token"])

    # The first refresh token again: someone else holds it. The whole family ends.
    replay = _refresh(api, app, tokens["refresh_token"])
    assert _error(replay) == (400, "invalid_grant")
    for access in (tokens["access_token"], rotated["access_token"], latest["access_token"]):
        assert not _works(api, access)
    assert _error(_refresh(api, app, latest["refresh_token"])) == (400, "invalid_grant")
    with api.ctx.db.read() as session:
        assert session.scalars(select(Token)).all() == []


def test_confidential_refresh_tokens_stay_the_same(api: Api, person: Browser) -> None:
    app = api.new_application()
    tokens = _exchange(api, app, person.code_for(authorize_params(app))).json()
    for _ in range(3):
        response = _refresh(api, app, tokens["refresh_token"])
        assert response.status_code == 200
        assert response.json()["refresh_token"] == tokens["refresh_token"]
        assert _works(api, response.json()["access_token"])


def test_a_public_client_revokes_with_its_client_id_alone(api: Api, person: Browser) -> None:
    app = api.new_application("Phone app", public=True)
    tokens = _public_tokens(api, person, app)
    response = api.client.post(
        "/oauth/token/revoke", json={"client_id": app.info.client_id, "token": tokens["refresh_token"]}
    )
    assert response.status_code == 200
    assert not _works(api, tokens["access_token"])
