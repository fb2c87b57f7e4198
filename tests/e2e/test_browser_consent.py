"""The authorization code flow in a real browser (Debian's Chromium through Playwright) against a real
``openslot serve``: sign up, consent, and back to the application with a code or an error."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.e2e.browser import PASSWORD, SCREENSHOTS, CodeReceiver, register_application

if TYPE_CHECKING:
    from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e

SCOPE = "read_account list_calendars read_events create_event"
# Characters that must survive the round trip exactly.
STATE = "s 1/2?&=+%~ü"


def _authorize(
    page: Any, server: Server, receiver: CodeReceiver, app: dict[str, Any], email: str, shots: bool
) -> None:
    """Open the authorization URL, sign up as a new person and stop at the consent page."""
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": receiver.url,
        "scope": SCOPE,
        "state": STATE,
    }
    page.goto(f"{server.base_url}/oauth/authorize?{urlencode(params)}")
    page.wait_for_url(f"{server.base_url}/sign-in?**")
    assert "Calendar Helper" in page.content()
    if shots:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "sign-in.png"), full_page=True)

    page.get_by_role("link", name="Create an account").click()
    page.wait_for_url(f"{server.base_url}/sign-up?**")
    page.fill("#name", "Ada Lovelace")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Create account").click()

    page.wait_for_url(f"{server.base_url}/oauth/authorize?**")
    heading = page.locator("h1").inner_text()
    assert "Calendar Helper" in heading
    text = page.locator("main").inner_text()
    assert email in text
    assert "Read the events in your calendars" in text
    assert "Create new calendars" not in text
    if shots:
        page.screenshot(path=str(SCREENSHOTS / "consent.png"), full_page=True)


def test_allow_brings_a_code_that_works(chromium: Any, server: Server, code_receiver: CodeReceiver) -> None:
    app = register_application(server.env, server.log_path.parent, "Calendar Helper", code_receiver.url)
    # A fixed address (the server is fresh for each session) keeps the screenshots the same.
    email = "ada@example.com"
    _authorize(chromium, server, code_receiver, app, email, shots=True)

    chromium.get_by_role("button", name="Allow").click()
    chromium.wait_for_url(f"{code_receiver.url}?**")
    assert "Back at the application" in chromium.content()
    query = code_receiver.last()
    assert query["state"] == [STATE]
    assert set(query) == {"code", "state"}
    code = query["code"][0]

    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        token = http.post(
            "/oauth/token",
            json={
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": code_receiver.url,
            },
        )
        assert token.status_code == 200, token.text
        assert token.json()["scope"] == SCOPE
        account = http.get("/v1/account", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert account.status_code == 200, account.text
    assert account.json()["account"]["email"] == email


def test_deny_sends_access_denied(chromium: Any, server: Server, code_receiver: CodeReceiver) -> None:
    app = register_application(server.env, server.log_path.parent, "Calendar Helper", code_receiver.url)
    _authorize(chromium, server, code_receiver, app, f"ada-{secrets.token_hex(4)}@example.com", shots=False)

    chromium.get_by_role("button", name="Deny").click()
    chromium.wait_for_url(f"{code_receiver.url}?**")
    query = code_receiver.last()
    assert query["error"] == ["access_denied"]
    assert query["state"] == [STATE]
    assert "code" not in query
