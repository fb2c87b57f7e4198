"""What every page needs to be safe: cookies, CSRF tokens and response headers.

CSRF uses a signed double-submit token: a random, HttpOnly browser cookie, and in every form the
server's signature of that cookie's value. A forged cross-site POST carries the cookie but cannot know
the signature. Cookies are SameSite=Lax, HttpOnly, and Secure (with the ``__Host-`` prefix) when the
public base URL is https.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import jinja2
from starlette.requests import Request
from starlette.responses import Response

from openslot.services.context import ServiceContext
from openslot.services.credentials import new_token

CSRF_FIELD = "csrf_token"
R = TypeVar("R", bound=Response)
# A redirect URI's origin may join the consent page's form-action only when it is plainly an origin.
ORIGIN_PATTERN = re.compile(
    r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$"
)


@dataclass(frozen=True)
class WebState:
    """What the pages share, set once when the pages are installed into the app."""

    ctx: ServiceContext
    templates: jinja2.Environment
    secure: bool

    @property
    def session_cookie(self) -> str:
        return "__Host-openslot_session" if self.secure else "openslot_session"

    @property
    def browser_cookie(self) -> str:
        return "__Host-openslot_browser" if self.secure else "openslot_browser"

    def set_cookie(self, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=self.secure, httponly=True, samesite="lax"
        )

    def clear_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", secure=self.secure, httponly=True, samesite="lax")


def browser_id(web: WebState, request: Request) -> tuple[str, bool]:
    """This browser's CSRF cookie value, and whether it is new (to be set on the response)."""
    value = request.cookies.get(web.browser_cookie)
    if value and 20 <= len(value) <= 100:
        return value, False
    return new_token(), True


def csrf_token(web: WebState, browser: str) -> str:
    return web.ctx.secrets.sign(b"openslot/csrf:" + browser.encode())


def csrf_valid(web: WebState, request: Request, submitted: str | None) -> bool:
    browser = request.cookies.get(web.browser_cookie)
    if not browser or not submitted or not submitted.isascii():
        return False
    return web.ctx.secrets.verify(b"openslot/csrf:" + browser.encode(), submitted)


def origin_of(uri: str) -> str | None:
    parts = urlsplit(uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if ORIGIN_PATTERN.match(origin) else None


def protect(response: R, form_action: str | None = None) -> R:
    """The headers of every page and page redirect: no framing, no referrer, no caching, and a CSP.

    ``form_action`` adds an origin that forms may lead to: the consent form answers with a redirect
    to the application, and browsers apply ``form-action`` to that redirect too.
    """
    targets = "'self'" + (f" {form_action}" if form_action else "")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; frame-ancestors 'none'; form-action {targets}; "
        "base-uri 'none'; object-src 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
