"""The pages' own safety: headers, cookies, CSRF, the sign-in limit, no account enumeration."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from starlette.testclient import TestClient

from openslot.asgi import compose_app
from openslot.services import people
from openslot.services.context import ServiceContext
from openslot.services.errors import RateLimited, SignInFailed, ValidationFailed
from openslot.store.models import BrowserSession, Person
from tests.conftest import Api
from tests.web.conftest import EMAIL
from tests.web.helpers import PASSWORD, Browser, authorize_params, form_to


def _assert_page_headers(response) -> None:  # type: ignore[no-untyped-def]
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_every_page_carries_the_security_headers(api: Api, browser: Browser) -> None:
    app = api.new_application()
    for path in ("/", "/sign-in", "/sign-up"):
        response = browser.client.get(path)
        assert response.status_code == 200
        _assert_page_headers(response)
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in response.text
    refused = browser.client.get("/oauth/authorize", params={"client_id": "nope"})
    _assert_page_headers(refused)
    redirect = browser.client.get("/oauth/authorize", params=authorize_params(app))
    _assert_page_headers(redirect)
    assert browser.sign_up(EMAIL).status_code == 303
    consent = browser.consent_page(authorize_params(app))
    _assert_page_headers(consent)
    # The consent form may lead to the application's origin, and nowhere else.
    assert "form-action 'self' https://app.example.com;" in consent.headers["content-security-policy"]
    allowed = browser.decide(authorize_params(app), "allow")
    _assert_page_headers(allowed)


def test_the_stylesheet_is_served_from_the_package(api: Api, browser: Browser) -> None:
    response = browser.client.get("/static/openslot.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "@media" in response.text
    page = browser.client.get("/sign-in")
    assert 'href="/static/openslot.css"' in page.text
    assert "<style" not in page.text and "<script" not in page.text


def _set_cookies(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def test_cookies_are_secure_httponly_and_samesite_on_https(api: Api, browser: Browser) -> None:
    first = browser.client.get("/sign-in")
    cookies = _set_cookies(first)
    assert set(cookies) == {"__Host-openslot_browser"}
    response = browser.sign_up(EMAIL)
    cookies = _set_cookies(response)
    assert "__Host-openslot_session" in cookies
    for header in cookies.values():
        lowered = header.lower()
        assert "; secure" in lowered
        assert "; httponly" in lowered
        assert "samesite=lax" in lowered
        assert "; path=/" in lowered
        assert "domain=" not in lowered


def test_cookies_are_not_secure_on_plain_http(api: Api) -> None:
    settings = api.settings.model_copy(update={"base_url": "http://openslot.test"})
    client = TestClient(
        compose_app(settings, api.ctx), base_url="http://openslot.test", follow_redirects=False
    )
    browser = Browser(client)
    response = browser.sign_up(EMAIL)
    assert response.status_code == 303
    cookies = _set_cookies(response)
    assert "openslot_session" in cookies
    assert "; secure" not in cookies["openslot_session"].lower()
    assert "; httponly" in cookies["openslot_session"].lower()


def test_the_session_cookie_is_not_stored_in_the_clear(api: Api, person: Browser) -> None:
    value = person.client.cookies.get("__Host-openslot_session")
    assert value
    with api.ctx.db.read() as session:
        stored = list(session.scalars(select(BrowserSession.token_hash)))
    assert value not in stored and len(stored) == 1


# CSRF ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/sign-in", "/sign-up"])
def test_forms_without_a_valid_csrf_token_are_refused(api: Api, browser: Browser, path: str) -> None:
    page = browser.client.get(path)
    form = form_to(page.text, path)
    good = form.value("csrf_token")
    assert good
    fields = {"email": EMAIL, "password": PASSWORD, "return_to": "/"}
    for token in (None, "", "forged", good[:-1] + ("A" if good[-1] != "A" else "B"), "é"):
        data = fields | ({"csrf_token": token} if token is not None else {})
        response = browser.client.post(path, data=data)
        assert response.status_code == 403, token
        _assert_page_headers(response)
    # The right token from another browser (another cookie) is no good either.
    stranger = Browser(api.browser())
    response = stranger.client.post(path, data=fields | {"csrf_token": good})
    assert response.status_code == 403
    with api.ctx.db.read() as session:
        assert session.scalars(select(Person)).all() == []


def test_the_consent_form_needs_its_csrf_token(api: Api, person: Browser) -> None:
    app = api.new_application()
    page = person.consent_page(authorize_params(app))
    form = form_to(page.text, "/oauth/authorize")
    for token in ("", "forged"):
        response = person.submit(form, decision="allow", csrf_token=token)
        assert response.status_code == 403
        assert "location" not in response.headers
    fields = dict(form.fields)
    del fields["csrf_token"]
    response = person.client.post("/oauth/authorize", data=fields | {"decision": "allow"})
    assert response.status_code == 403


def test_sign_out_needs_its_csrf_token(api: Api, person: Browser) -> None:
    assert person.client.post("/sign-out", data={"csrf_token": "forged"}).status_code == 403
    assert EMAIL in person.client.get("/").text  # still signed in
    home = person.client.get("/")
    signed_out = person.submit(form_to(home.text, "/sign-out"))
    assert signed_out.status_code == 303
    assert EMAIL not in person.client.get("/").text
    with api.ctx.db.read() as session:
        assert session.scalars(select(BrowserSession)).all() == []


# Sign-in ----------------------------------------------------------------------------------------------


def _error_text(response) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', response.text)
    assert found, response.text
    return found.group(1)


def test_unknown_address_and_wrong_password_read_the_same(api: Api, person: Browser) -> None:
    stranger = Browser(api.browser())
    wrong_password = stranger.sign_in(EMAIL, "not the password")
    unknown_email = stranger.sign_in("nobody@example.com", PASSWORD)
    assert wrong_password.status_code == unknown_email.status_code == 400
    assert _error_text(wrong_password) == _error_text(unknown_email)
    assert "session" not in str(stranger.client.cookies)
    right = stranger.sign_in(EMAIL, PASSWORD)
    assert right.status_code == 303


def test_sign_in_is_limited_after_five_failures(api: Api, person: Browser) -> None:
    stranger = Browser(api.browser())
    for _ in range(5):
        assert stranger.sign_in(EMAIL, "wrong password").status_code == 400
    limited = stranger.sign_in(EMAIL, PASSWORD)  # even the right password, for now
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Too many attempts" in _error_text(limited)
    # Unknown addresses are limited just the same (nothing tells them apart).
    for _ in range(5):
        assert stranger.sign_in("nobody@example.com", "x" * 8).status_code == 400
    assert stranger.sign_in("nobody@example.com", "x" * 8).status_code == 429
    api.clock.advance(15 * 60 + 1)
    assert stranger.sign_in(EMAIL, PASSWORD).status_code == 303


def test_the_limits_count_per_address_and_per_email_too(api: Api) -> None:
    people.create_account(api.ctx, EMAIL, PASSWORD)
    # From many places at one account: 20 failures close it for a while.
    for n in range(20):
        with pytest.raises(SignInFailed):
            people.sign_in(api.ctx, EMAIL, "wrong password", f"198.51.100.{n}")
    with pytest.raises(RateLimited):
        people.sign_in(api.ctx, EMAIL, PASSWORD, "203.0.113.1")
    api.clock.advance(15 * 60 + 1)
    assert people.sign_in(api.ctx, EMAIL, PASSWORD, "203.0.113.1").person.email == EMAIL
    # From one place at many accounts: 50 failures close that place.
    for n in range(50):
        with pytest.raises(SignInFailed):
            people.sign_in(api.ctx, f"guess{n}@example.com", "wrong password", "192.0.2.7")
    with pytest.raises(RateLimited):
        people.sign_in(api.ctx, EMAIL, PASSWORD, "192.0.2.7")
    assert people.sign_in(api.ctx, EMAIL, PASSWORD, "192.0.2.8")


def test_a_success_clears_the_failures_of_that_place(api: Api) -> None:
    people.create_account(api.ctx, EMAIL, PASSWORD)
    for _ in range(3):
        for _ in range(4):
            with pytest.raises(SignInFailed):
                people.sign_in(api.ctx, EMAIL, "wrong password", "192.0.2.1")
        people.sign_in(api.ctx, EMAIL, PASSWORD, "192.0.2.1")


# Sign-up -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("not-an-address", PASSWORD, "email"),
        ("", PASSWORD, "email"),
        ("a@b", PASSWORD, "email"),
        (EMAIL, "short", "password"),
        (EMAIL, "x" * 1025, "password"),
    ],
)
def test_sign_up_validation(api: Api, browser: Browser, email: str, password: str, field: str) -> None:
    response = browser.sign_up(email, password)
    assert response.status_code == 400
    assert '<p class="error field" role="alert">' in response.text
    with pytest.raises(ValidationFailed) as caught:
        people.create_account(api.ctx, email, password)
    assert field in caught.value.errors


def test_an_address_signs_up_once_whatever_its_case(api: Api, person: Browser) -> None:
    again = Browser(api.browser()).sign_up(EMAIL.upper().replace("EXAMPLE", "Example"))
    assert again.status_code == 400
    assert "already exists" in again.text
    with pytest.raises(ValidationFailed):
        people.create_account(api.ctx, " " + EMAIL.title() + " ", PASSWORD)


def test_a_new_account_has_a_cronofy_profile_and_a_calendar(api: Api) -> None:
    from openslot.store import repos

    created = people.create_account(api.ctx, EMAIL, PASSWORD, "Ada")
    with api.ctx.db.read() as session:
        profiles = repos.profiles_of(session, created.account_id)
        calendars = repos.calendars_of(session, created.account_id)
        person = session.get(Person, created.account_id)
    assert [(p.provider_name, p.name) for p in profiles] == [("cronofy", EMAIL)]
    assert [(c.primary, c.profile_id) for c in calendars] == [(True, profiles[0].id)]
    assert person is not None
    assert person.password_hash.startswith("$argon2id$")
    assert PASSWORD not in person.password_hash


def test_passwords_are_hashed_with_argon2id_at_the_rfc_9106_cost_by_default(api: Api) -> None:
    hasher = ServiceContext(db=api.ctx.db, secrets=api.ctx.secrets, clock=api.ctx.clock).password_hasher
    assert hasher.hash("x").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hash_of_older_parameters_is_upgraded_at_sign_in(api: Api) -> None:
    people.create_account(api.ctx, EMAIL, PASSWORD)
    weaker = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    with api.ctx.db.transaction() as session:
        row = session.scalars(select(Person)).one()
        row.password_hash = weaker.hash(PASSWORD)
    people.sign_in(api.ctx, EMAIL, PASSWORD, "192.0.2.1")
    with api.ctx.db.read() as session:
        assert "m=1024" in session.scalars(select(Person.password_hash)).one()


# Where a sign-in may lead ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/",
        "//evil.example/oauth/authorize",
        "/\\evil.example",
        "/oauth/authorizeX",
        "/oauth/authorize\r\nLocation: https://evil.example",
        "javascript:alert(1)",
    ],
)
def test_sign_in_never_leads_off_site(api: Api, browser: Browser, return_to: str) -> None:
    response = browser.sign_up(EMAIL, return_to=return_to)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_application_names_are_escaped(api: Api, person: Browser) -> None:
    app = api.new_application("<script>alert(1)</script>")
    page = person.consent_page(authorize_params(app))
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_an_unknown_decision_shows_the_page_again(api: Api, person: Browser) -> None:
    app = api.new_application()
    page = person.consent_page(authorize_params(app))
    response = person.submit(form_to(page.text, "/oauth/authorize"), decision="maybe")
    assert response.status_code == 200
    assert "location" not in response.headers
