"""A small browser for the pages: read forms from HTML and submit them as a person would."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.testclient import TestClient

from openslot.services.applications import NewApplication
from openslot.services.oauth import s256

PASSWORD = "correct horse battery staple"
REDIRECT_URI = "https://app.example.com/callback"


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        return next((v for k, v in self.fields if k == name), None)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif self.forms and tag == "input" and "name" in values:
            self.forms[-1].fields.append((values["name"], values.get("value", "")))
        elif self.forms and tag == "button" and "name" in values:
            self.forms[-1].buttons.append((values["name"], values.get("value", "")))


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def form_to(html: str, action: str) -> Form:
    found = [f for f in forms(html) if f.action == action]
    assert found, f"no form posting to {action} in:\n{html}"
    return found[0]


def query_of(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query, keep_blank_values=True)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def authorize_params(app: NewApplication, **overrides: Any) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": app.info.client_id,
        "redirect_uri": app.info.redirect_uris[0],
        "scope": "read_account list_calendars read_events create_event delete_event",
        "state": "state-123",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


@dataclass
class Browser:
    """One person's browser: its own cookie jar, no automatic redirects."""

    client: TestClient

    def submit(self, form: Form, extra: dict[str, str] | None = None, **overrides: str) -> Any:
        data = dict(form.fields)
        data.update(overrides)
        data.update(extra or {})
        return self.client.post(form.action, data=data)

    def sign_up(
        self, email: str, password: str = PASSWORD, return_to: str | None = None, **extra: str
    ) -> Any:
        page = self.client.get("/sign-up", params={"return_to": return_to} if return_to else None)
        assert page.status_code == 200, page.text
        form = form_to(page.text, "/sign-up")
        return self.submit(form, email=email, password=password, **extra)

    def sign_in(self, email: str, password: str = PASSWORD, return_to: str | None = None) -> Any:
        page = self.client.get("/sign-in", params={"return_to": return_to} if return_to else None)
        assert page.status_code == 200, page.text
        form = form_to(page.text, "/sign-in")
        return self.submit(form, email=email, password=password)

    def consent_page(self, params: dict[str, str]) -> Any:
        page = self.client.get("/oauth/authorize", params=params)
        assert page.status_code == 200, (page.status_code, page.headers.get("location"), page.text)
        return page

    def decide(self, params: dict[str, str], decision: str) -> Any:
        """Open the consent page for ``params`` and press Allow or Deny; returns the redirect response."""
        page = self.consent_page(params)
        form = form_to(page.text, "/oauth/authorize")
        assert ("decision", decision) in form.buttons
        return self.submit(form, decision=decision)

    def code_for(self, params: dict[str, str]) -> str:
        response = self.decide(params, "allow")
        assert response.status_code == 303, response.text
        return query_of(response.headers["location"])["code"][0]
