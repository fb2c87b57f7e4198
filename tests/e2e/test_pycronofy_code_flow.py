"""pycronofy's authorization code flow against a real ``openslot serve``: the link it builds, the
real pages answered with plain form posts as a browser would, and the code exchanged by pycronofy."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pycronofy
import pytest

from tests.e2e.browser import PASSWORD, register_application
from tests.web.helpers import form_to

if TYPE_CHECKING:
    from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e

Cronofy = Callable[..., pycronofy.Client]
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"  # never visited: the code is read from the redirect


def _code_through_the_pages(link: str, email: str) -> dict[str, list[str]]:
    """Follow the pages from pycronofy's authorization link: sign up, then Allow."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        first = browser.get(link)
        assert first.status_code == 302, first.text
        sign_in = urlsplit(first.headers["location"])
        assert sign_in.path == "/sign-in"
        base = f"{urlsplit(link).scheme}://{urlsplit(link).netloc}"
        sign_up_page = browser.get(f"{base}/sign-up?{sign_in.query}")
        assert sign_up_page.status_code == 200
        form = form_to(sign_up_page.text, "/sign-up")
        data = dict(form.fields) | {"email": email, "password": PASSWORD, "name": "Ada"}
        signed_up = browser.post(f"{base}/sign-up", data=data)
        assert signed_up.status_code == 303, signed_up.text
        consent = browser.get(base + signed_up.headers["location"])
        assert consent.status_code == 200, consent.text
        form = form_to(consent.text, "/oauth/authorize")
        allowed = browser.post(
            f"{base}/oauth/authorize",
            content=urlencode([*form.fields, ("decision", "allow")]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert allowed.status_code == 303, allowed.text
        location = allowed.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return parse_qs(urlsplit(location).query)


def test_code_flow_with_pycronofy(server: Server, cronofy: Cronofy) -> None:
    app = register_application(server.env, server.log_path.parent, "pycronofy code flow", REDIRECT_URI)
    client = cronofy(server.base_url, client_id=app["client_id"], client_secret=app["client_secret"])
    state = secrets.token_urlsafe(12)
    link = client.user_auth_link(REDIRECT_URI, state=state)
    assert link.startswith(f"{server.base_url}/oauth/authorize?")

    email = f"grace-{secrets.token_hex(4)}@example.com"
    query = _code_through_the_pages(link, email)
    assert query["state"] == [state]

    tokens = client.get_authorization_from_code(query["code"][0], redirect_uri=REDIRECT_URI)
    assert tokens["access_token"] and tokens["refresh_token"]
    assert not client.is_authorization_expired()

    account = client.account()
    assert account["email"] == email
    assert account["account_id"].startswith("acc_")
    calendars = client.list_calendars()
    assert [c["calendar_name"] for c in calendars] == ["Calendar"]
    assert calendars[0]["calendar_primary"] is True

    # The refresh token pycronofy keeps works as well.
    client.refresh_authorization()
    assert client.account()["account_id"] == account["account_id"]
