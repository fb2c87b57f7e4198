"""Redirect URIs: exact string comparison, and no redirect at all when the URI or client is not trusted.

RFC 6749 §3.1.2.3 and §4.1.2.1, RFC 9700 §2.1 (the reliability plan's suite E: at least 15 variants,
none accepted).
"""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.web.helpers import REDIRECT_URI, Browser, authorize_params

VARIANTS = {
    "trailing-slash": "https://app.example.com/callback/",
    "path-case": "https://app.example.com/Callback",
    "host-case": "https://APP.example.com/callback",
    "scheme-case": "HTTPS://app.example.com/callback",
    "extra-query": "https://app.example.com/callback?x=1",
    "empty-query": "https://app.example.com/callback?",
    "default-port-spelled": "https://app.example.com:443/callback",
    "other-port": "https://app.example.com:8443/callback",
    "http-for-https": "http://app.example.com/callback",
    "userinfo": "https://user@app.example.com/callback",
    "userinfo-host-swap": "https://app.example.com@evil.example/callback",
    "backslash-userinfo": "https://app.example.com\\@evil.example/callback",
    "fragment": "https://app.example.com/callback#x",
    "empty-fragment": "https://app.example.com/callback#",
    "percent-encoded-letter": "https://app.example.com/%63allback",
    "percent-encoded-slash": "https://app.example.com/callback%2F",
    "double-encoded": "https://app.example.com/callback%252F",
    "suffix-domain": "https://app.example.com.evil.example/callback",
    "prefix-domain": "https://evilapp.example.com/callback",
    "subdomain": "https://x.app.example.com/callback",
    "trailing-dot-host": "https://app.example.com./callback",
    "other-host": "https://evil.example/callback",
    "path-traversal": "https://app.example.com/callback/../callback",
    "path-traversal-from-other": "https://app.example.com/evil/../callback",
    "dot-segment": "https://app.example.com/./callback",
    "path-suffix": "https://app.example.com/callback-evil",
    "path-prefix": "https://app.example.com/callbac",
    "scheme-relative": "//app.example.com/callback",
    "javascript": "javascript:alert(document.cookie)",
    "javascript-comment": "javascript://app.example.com/callback%0aalert(1)",
    "data": "data:text/html,<script>alert(1)</script>",
    "leading-space": " https://app.example.com/callback",
    "trailing-space": "https://app.example.com/callback ",
    "trailing-newline": "https://app.example.com/callback\n",
    "nul-byte": "https://app.example.com/callback\x00",
    "ip-instead-of-name": "https://93.184.216.34/callback",
    "unicode-lookalike": "https://аpp.example.com/callback",
}


def _refused_without_redirect(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, (response.status_code, response.headers.get("location"))
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "cannot be completed" in response.text


def test_there_are_enough_variants() -> None:
    assert len(VARIANTS) >= 15


@pytest.mark.parametrize("uri", list(VARIANTS.values()), ids=list(VARIANTS))
def test_a_redirect_uri_that_is_not_exactly_registered_is_refused_without_redirect(
    api: Api, person: Browser, uri: str
) -> None:
    app = api.new_application()
    # Even with other errors in the request that would otherwise be sent back to the application.
    for extra in ({}, {"scope": "telepathy"}, {"response_type": "token"}):
        response = person.client.get(
            "/oauth/authorize", params=authorize_params(app, redirect_uri=uri, **extra)
        )
        _refused_without_redirect(response)
        assert uri not in response.headers.get("content-security-policy", "")


@pytest.mark.parametrize(
    "uri", ["https://app.example.com/callback/", "javascript:alert(1)"], ids=["slash", "js"]
)
def test_the_consent_form_refuses_them_too(api: Api, person: Browser, uri: str) -> None:
    app = api.new_application()
    page = person.consent_page(authorize_params(app))
    from tests.web.helpers import form_to

    form = form_to(page.text, "/oauth/authorize")
    for decision in ("allow", "deny"):
        _refused_without_redirect(person.submit(form, decision=decision, redirect_uri=uri))


def test_a_registered_uri_is_accepted(api: Api, person: Browser) -> None:
    app = api.new_application(redirect_uris=["https://other.example/cb", REDIRECT_URI])
    for uri in app.info.redirect_uris:
        response = person.decide(authorize_params(app, redirect_uri=uri), "allow")
        assert response.headers["location"].startswith(uri + "?code=")


def test_another_applications_redirect_uri_is_refused(api: Api, person: Browser) -> None:
    mine = api.new_application("Mine")
    theirs = api.new_application("Theirs", redirect_uris=["https://theirs.example/cb"])
    response = person.client.get(
        "/oauth/authorize", params=authorize_params(mine, redirect_uri=theirs.info.redirect_uris[0])
    )
    _refused_without_redirect(response)


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "no-such-client"},
        {"client_id": ""},
        {"client_id": None},
        {"redirect_uri": None},
        {"redirect_uri": ""},
    ],
    ids=["unknown-client", "empty-client", "no-client", "no-redirect-uri", "empty-redirect-uri"],
)
def test_an_unknown_client_or_missing_redirect_uri_is_refused_without_redirect(
    api: Api, browser: Browser, overrides: dict[str, str | None]
) -> None:
    app = api.new_application()
    response = browser.client.get("/oauth/authorize", params=authorize_params(app, **overrides))
    _refused_without_redirect(response)


def test_repeated_client_id_or_redirect_uri_is_refused_without_redirect(api: Api, browser: Browser) -> None:
    app = api.new_application()
    base = list(authorize_params(app).items())
    for extra in (("client_id", app.info.client_id), ("redirect_uri", REDIRECT_URI)):
        _refused_without_redirect(browser.client.get("/oauth/authorize", params=[*base, extra]))
