"""The extended permissions page: the person answers an application's ``POST /v1/permissions``."""

from __future__ import annotations

from urllib.parse import urlsplit

from openslot.services import people
from tests.conftest import Api, User
from tests.web.helpers import PASSWORD, REDIRECT_URI, Browser, form_to, forms, query_of

EMAIL = "grace@example.com"


def _setup(api: Api, redirect_uri: str | None = REDIRECT_URI) -> tuple[User, str]:
    """A person's account, an application's grant on it, and a permissions request; returns the
    page's path."""
    person = people.create_account(api.ctx, EMAIL, PASSWORD, "Grace")
    app = api.new_application("Calendar Helper")
    user = api.grant(app, person.account_id, "read_account list_calendars read_events create_event")
    body: dict = {"permissions": [{"calendar_id": user.calendar_id, "permission_level": "unrestricted"}]}
    if redirect_uri:
        body["redirect_uri"] = redirect_uri
    response = user.post("/v1/permissions", json=body)
    assert response.status_code == 200, response.text
    return user, urlsplit(response.json()["permissions_request"]["url"]).path


def _level(user: User) -> str:
    return user.get("/v1/calendars").json()["calendars"][0]["permission_level"]


def test_sign_in_see_the_calendars_allow_and_go_back(api: Api, browser: Browser) -> None:
    user, path = _setup(api)
    first = browser.client.get(path)
    assert first.status_code == 302
    return_to = query_of(first.headers["location"])["return_to"][0]
    assert return_to == path
    signed_in = browser.sign_in(EMAIL, return_to=return_to)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == path

    page = browser.client.get(path)
    assert page.status_code == 200
    assert "Calendar Helper" in page.text and EMAIL in page.text
    assert "Calendar" in page.text and "Full access" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "form-action 'self' https://app.example.com" in page.headers["content-security-policy"]
    form = form_to(page.text, path)
    assert ("decision", "allow") in form.buttons and ("decision", "deny") in form.buttons

    allowed = browser.submit(form, decision="allow")
    assert allowed.status_code == 303
    assert allowed.headers["location"] == REDIRECT_URI  # nothing added
    assert _level(user) == "unrestricted"
    # Single use: the page is gone now.
    assert browser.client.get(path).status_code == 404
    assert browser.submit(form, decision="allow").status_code == 404


def test_deny_leaves_the_calendars(api: Api, browser: Browser) -> None:
    user, path = _setup(api)
    browser.sign_in(EMAIL)
    form = form_to(browser.client.get(path).text, path)
    denied = browser.submit(form, decision="deny")
    assert denied.status_code == 303 and denied.headers["location"] == REDIRECT_URI
    assert _level(user) == "sandbox"


def test_without_redirect_uri_the_page_says_so(api: Api, browser: Browser) -> None:
    user, path = _setup(api, redirect_uri=None)
    browser.sign_in(EMAIL)
    form = form_to(browser.client.get(path).text, path)
    done = browser.submit(form, decision="allow")
    assert done.status_code == 200 and "Permissions granted" in done.text
    assert _level(user) == "unrestricted"


def test_another_account_cannot_answer(api: Api, browser: Browser) -> None:
    user, path = _setup(api)
    browser.sign_up("someone.else@example.com")
    page = browser.client.get(path)
    assert page.status_code == 403 and "another account" in page.text
    assert not [f for f in forms(page.text) if f.action == path]
    # Forging the form does nothing either.
    csrf = form_to(page.text, "/sign-out").value("csrf_token")
    forged = browser.client.post(path, data={"csrf_token": csrf, "decision": "allow"})
    assert forged.status_code == 403
    assert _level(user) == "sandbox"


def test_a_post_without_csrf_token_is_refused(api: Api, browser: Browser) -> None:
    user, path = _setup(api)
    browser.sign_in(EMAIL)
    browser.client.get(path)
    assert browser.client.post(path, data={"decision": "allow"}).status_code == 403
    assert _level(user) == "sandbox"


def test_an_unknown_token_is_404(browser: Browser) -> None:
    assert browser.client.get("/permissions/nope").status_code == 404
