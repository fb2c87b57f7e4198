"""The authorization code flow through the pages, as a person and an application would go through it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import Api
from tests.web.conftest import EMAIL
from tests.web.helpers import PASSWORD, REDIRECT_URI, Browser, authorize_params, form_to, query_of


def _exchange(api: Api, app, code: str, **extra: str):  # type: ignore[no-untyped-def]
    body = {
        "client_id": app.info.client_id,
        "client_secret": app.client_secret,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
    } | extra
    return api.client.post("/oauth/token", json=body)


def test_sign_up_authorize_allow_exchange_and_call_the_api(api: Api, browser: Browser) -> None:
    app = api.new_application("Calendar Helper")
    params = authorize_params(app)

    # Not signed in: the authorization page sends the person to sign in first, and back afterwards.
    first = browser.client.get("/oauth/authorize", params=params)
    assert first.status_code == 302
    sign_in_location = first.headers["location"]
    assert sign_in_location.startswith("/sign-in?return_to=")
    sign_in_page = browser.client.get(sign_in_location)
    assert "Calendar Helper" in sign_in_page.text
    return_to = form_to(sign_in_page.text, "/sign-in").value("return_to")
    assert return_to is not None and return_to.startswith("/oauth/authorize?")

    # No account yet: sign up from there, keeping the way back.
    signed_up = browser.sign_up(EMAIL, return_to=return_to, name="Ada Lovelace")
    assert signed_up.status_code == 303
    assert signed_up.headers["location"] == return_to

    consent = browser.client.get(signed_up.headers["location"])
    assert consent.status_code == 200
    assert "Calendar Helper" in consent.text
    assert EMAIL in consent.text
    assert "Read the events in your calendars" in consent.text
    assert "Delete events from your calendars" in consent.text
    assert "Create new calendars" not in consent.text

    form = form_to(consent.text, "/oauth/authorize")
    allowed = browser.submit(form, decision="allow")
    assert allowed.status_code == 303
    location = allowed.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = query_of(location)
    assert query["state"] == ["state-123"]
    code = query["code"][0]
    assert len(code) >= 32

    response = _exchange(api, app, code)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "read_account list_calendars read_events create_event delete_event"
    assert body["account_id"].startswith("acc_")
    assert body["sub"] == body["account_id"]
    assert body["linking_profile"]["provider_name"] == "cronofy"
    assert body["linking_profile"]["profile_name"] == EMAIL
    assert body["refresh_token"] and body["access_token"]

    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    account = api.client.get("/v1/account", headers=bearer)
    assert account.status_code == 200, account.text
    assert account.json()["account"]["account_id"] == body["account_id"]
    assert account.json()["account"]["email"] == EMAIL
    calendars = api.client.get("/v1/calendars", headers=bearer).json()["calendars"]
    assert len(calendars) == 1 and calendars[0]["calendar_primary"] is True
    event = {
        "event_id": "e1",
        "summary": "Tea",
        "start": "2026-03-02T09:00:00Z",
        "end": "2026-03-02T10:00:00Z",
    }
    created = api.client.post(
        f"/v1/calendars/{calendars[0]['calendar_id']}/events", json=event, headers=bearer
    )
    assert created.status_code == 202, created.text
    # The refresh token works too, and the confidential client keeps it.
    refreshed = api.client.post(
        "/oauth/token",
        data={
            "client_id": app.info.client_id,
            "client_secret": app.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] == body["refresh_token"]


def test_a_signed_in_person_goes_straight_to_the_consent_page(api: Api, person: Browser) -> None:
    app = api.new_application()
    page = person.consent_page(authorize_params(app))
    assert "Allow" in page.text and "Deny" in page.text


def test_sign_in_later_and_authorize(api: Api, person: Browser) -> None:
    app = api.new_application()
    other = Browser(api.browser())
    response = other.client.get("/oauth/authorize", params=authorize_params(app))
    return_to = query_of(response.headers["location"])["return_to"][0]
    signed_in = other.sign_in(EMAIL.upper(), return_to=return_to)  # addresses ignore case
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == return_to
    assert other.code_for(authorize_params(app))


def test_deny_sends_access_denied_with_the_state(api: Api, person: Browser) -> None:
    app = api.new_application()
    response = person.decide(authorize_params(app, state="xyz"), "deny")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = query_of(location)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["xyz"]
    assert "code" not in query


ODD_STATES = [
    "a b+c&d=e",
    "%41%2B%%",
    "日本語-état-😀",
    "<script>alert('x')</script>\"",
    "#fragment?query=1/../..",
    "line\\back`tick~!@$^*()[]{}|;:',.",
    "",
    "x" * 500,
]


@pytest.mark.parametrize("state", ODD_STATES, ids=range(len(ODD_STATES)))
def test_state_is_echoed_exactly_on_allow_deny_and_error(api: Api, person: Browser, state: str) -> None:
    app = api.new_application()
    allowed = person.decide(authorize_params(app, state=state), "allow")
    assert query_of(allowed.headers["location"])["state"] == [state]
    denied = person.decide(authorize_params(app, state=state), "deny")
    assert query_of(denied.headers["location"])["state"] == [state]
    refused = person.client.get("/oauth/authorize", params=authorize_params(app, state=state, scope="nope"))
    assert refused.status_code == 302
    query = query_of(refused.headers["location"])
    assert query["error"] == ["invalid_scope"]
    assert query["state"] == [state]


def test_no_state_means_no_state_in_the_answer(api: Api, person: Browser) -> None:
    app = api.new_application()
    allowed = person.decide(authorize_params(app, state=None), "allow")
    assert "state" not in query_of(allowed.headers["location"])


def test_a_redirect_uri_with_a_query_keeps_it(api: Api, person: Browser) -> None:
    uri = "https://app.example.com/callback?tenant=7"
    app = api.new_application(redirect_uris=[uri])
    allowed = person.decide(authorize_params(app, redirect_uri=uri), "allow")
    location = allowed.headers["location"]
    assert location.startswith(uri + "&code=")
    assert query_of(location)["tenant"] == ["7"]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"scope": "read_events telepathy"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "x" * 43}, "invalid_request"),
        ({"code_challenge_method": "S256"}, "invalid_request"),
        ({"code_challenge": "too-short", "code_challenge_method": "S256"}, "invalid_request"),
    ],
    ids=[
        "unknown-scope",
        "empty-scope",
        "no-scope",
        "implicit",
        "no-response-type",
        "pkce-plain",
        "pkce-no-method",
        "pkce-no-challenge",
        "pkce-bad-challenge",
    ],
)
def test_request_errors_go_back_to_the_application(
    api: Api, person: Browser, overrides: dict[str, str | None], error: str
) -> None:
    app = api.new_application()
    response = person.client.get("/oauth/authorize", params=authorize_params(app, **overrides))
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = query_of(location)
    assert query["error"] == [error]
    assert query["state"] == ["state-123"]
    assert "code" not in query


def test_errors_are_sent_back_before_sign_in_too(api: Api, browser: Browser) -> None:
    app = api.new_application()
    response = browser.client.get("/oauth/authorize", params=authorize_params(app, scope="nope"))
    assert response.status_code == 302
    assert query_of(response.headers["location"])["error"] == ["invalid_scope"]


def test_a_repeated_parameter_is_invalid_request(api: Api, person: Browser) -> None:
    app = api.new_application()
    params = [*authorize_params(app).items(), ("scope", "read_only")]
    response = person.client.get("/oauth/authorize", params=params)
    assert response.status_code == 302
    assert query_of(response.headers["location"])["error"] == ["invalid_request"]


def _granted_scope(api: Api, person: Browser, app, scope: str) -> str:  # type: ignore[no-untyped-def]
    code = person.code_for(authorize_params(app, scope=scope))
    response = _exchange(api, app, code)
    assert response.status_code == 200, response.text
    return response.json()["scope"]


def test_granted_scopes_never_exceed_what_was_requested_and_allowed(api: Api, person: Browser) -> None:
    from openslot.services.scopes import expand

    limited = api.new_application("Limited", allowed_scopes="read_only")
    cases = {
        "read_only": "read_only",
        "read_events": "read_events",
        "read_write": "read_account list_calendars read_events read_free_busy",
        "read_account create_event": "read_account",
        "free_busy_write": "read_account list_calendars read_free_busy",
    }
    for requested, expected in cases.items():
        granted = _granted_scope(api, person, limited, requested)
        assert granted == expected, requested
        assert expand(granted) <= expand(requested) & expand("read_only")
    # Nothing allowed of what was asked: invalid_scope.
    response = person.client.get("/oauth/authorize", params=authorize_params(limited, scope="create_event"))
    assert query_of(response.headers["location"])["error"] == ["invalid_scope"]


def test_shorthand_scopes_are_granted_and_enforced(api: Api, person: Browser) -> None:
    app = api.new_application()
    code = person.code_for(authorize_params(app, scope="read_only"))
    body = _exchange(api, app, code).json()
    assert body["scope"] == "read_only"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert api.client.get("/v1/account", headers=bearer).status_code == 200
    calendar_id = api.client.get("/v1/calendars", headers=bearer).json()["calendars"][0]["calendar_id"]
    event = {
        "event_id": "e1",
        "summary": "Tea",
        "start": "2026-03-02T09:00:00Z",
        "end": "2026-03-02T10:00:00Z",
    }
    created = api.client.post(f"/v1/calendars/{calendar_id}/events", json=event, headers=bearer)
    assert created.status_code == 403
    # A grant without read_account cannot read the account.
    code = person.code_for(authorize_params(app, scope="create_event"))
    bearer = {"Authorization": f"Bearer {_exchange(api, app, code).json()['access_token']}"}
    assert api.client.get("/v1/account", headers=bearer).status_code == 403


def test_use_another_account_signs_out_and_comes_back(api: Api, person: Browser) -> None:
    app = api.new_application()
    page = person.consent_page(authorize_params(app))
    switch = form_to(page.text, "/sign-out")
    response = person.submit(switch)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?return_to=")
    # Signed out: the authorization page asks to sign in again.
    again = person.client.get("/oauth/authorize", params=authorize_params(app))
    assert again.status_code == 302
    assert again.headers["location"].startswith("/sign-in")
    person.sign_up("grace@example.com", return_to=query_of(response.headers["location"])["return_to"][0])
    assert "grace@example.com" in person.consent_page(authorize_params(app)).text


def test_the_consent_form_is_checked_again_when_posted(api: Api, person: Browser) -> None:
    app = api.new_application(allowed_scopes="read_only")
    page = person.consent_page(authorize_params(app, scope="read_only"))
    form = form_to(page.text, "/oauth/authorize")
    # A tampered form: another redirect_uri is refused without a redirect, a wider scope is narrowed.
    tampered = person.submit(form, decision="allow", redirect_uri="https://evil.example/callback")
    assert tampered.status_code == 400
    assert "location" not in tampered.headers
    widened = person.submit(form, decision="allow", scope="read_write")
    code = query_of(widened.headers["location"])["code"][0]
    assert (
        _exchange(api, app, code).json()["scope"] == "read_account list_calendars read_events read_free_busy"
    )


def test_the_session_ending_on_the_consent_page_asks_to_sign_in_again(api: Api, person: Browser) -> None:
    app = api.new_application()
    page = person.consent_page(authorize_params(app))
    form = form_to(page.text, "/oauth/authorize")
    api.clock.advance(api.settings.session_ttl + 1)
    response = person.submit(form, decision="allow")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/sign-in?return_to=")
    return_to = query_of(location)["return_to"][0]
    assert urlsplit(return_to).path == "/oauth/authorize"
    assert person.sign_in(EMAIL, PASSWORD, return_to=return_to).status_code == 303
    assert person.consent_page(authorize_params(app)).status_code == 200
