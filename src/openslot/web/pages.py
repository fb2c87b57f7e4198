"""The pages: sign-up, sign-in, sign-out, the OAuth authorization (consent) page and the extended
permissions page.

Handlers are thin: the services decide, the pages render. Every POST checks its CSRF token first.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from openslot.services import applications, oauth, people, permissions
from openslot.services.errors import (
    AuthorizationError,
    AuthorizationRefused,
    NotFound,
    RateLimited,
    SignInFailed,
    ValidationFailed,
)
from openslot.web.security import CSRF_FIELD, WebState, browser_id, csrf_token, csrf_valid, origin_of, protect

router = APIRouter(include_in_schema=False)

AUTHORIZE_PATH = "/oauth/authorize"
PERMISSIONS_PATH = re.compile(r"^/permissions/[A-Za-z0-9_-]{1,200}$")


def web_state(request: Request) -> WebState:
    return request.app.state.web


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    form = await request.form()
    return [(key, value) for key, value in form.multi_items() if isinstance(value, str)]


Web = Annotated[WebState, Depends(web_state)]
Form = Annotated[list[tuple[str, str]], Depends(form_pairs)]


# Rendering -------------------------------------------------------------------------------------------


def _page(
    web: WebState,
    request: Request,
    template: str,
    status: int = 200,
    form_action: str | None = None,
    **context: Any,
) -> HTMLResponse:
    browser, new = browser_id(web, request)
    html = web.templates.get_template(template).render(
        root=request.scope.get("root_path", ""), csrf_token=csrf_token(web, browser), **context
    )
    response = HTMLResponse(html, status_code=status)
    if new:
        web.set_cookie(response, web.browser_cookie, browser)
    return protect(response, form_action)


def _redirect(location: str, status: int = 303, form_action: str | None = None) -> Response:
    return protect(RedirectResponse(location, status_code=status), form_action)


def _expired_form(web: WebState, request: Request) -> HTMLResponse:
    return _page(
        web,
        request,
        "message.html",
        403,
        title="This form has expired",
        message="Go back, reload the page and try again. Cookies must be enabled to sign in.",
    )


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _field(pairs: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in pairs if key == name), "")


# Where to go after signing in ---------------------------------------------------------------------


def safe_return_to(value: str | None) -> str:
    """Only the authorization page, a permissions page or the home page: never another site (no open
    redirect)."""
    if not value or any(ch in value for ch in "\\\r\n\t") or not value.isprintable():
        return "/"
    if value == AUTHORIZE_PATH or value.startswith(AUTHORIZE_PATH + "?"):
        return value
    if PERMISSIONS_PATH.match(value):
        return value
    return "/"


def _return_query(return_to: str) -> str:
    return "" if return_to == "/" else "?" + urlencode({"return_to": return_to}, quote_via=quote)


def _application_name(web: WebState, return_to: str) -> str | None:
    """The name of the application a sign-in will continue to, shown on the sign-in page."""
    if not return_to.startswith(AUTHORIZE_PATH):
        return None
    client_id = dict(parse_qsl(urlsplit(return_to).query)).get("client_id")
    app = applications.find_application(web.ctx, client_id) if client_id else None
    return app.name if app is not None else None


def _session(web: WebState, request: Request) -> people.PersonInfo | None:
    return people.session_person(web.ctx, request.cookies.get(web.session_cookie))


def _signed_in(web: WebState, signed: people.SignedIn, location: str) -> Response:
    response = _redirect(location)
    web.set_cookie(response, web.session_cookie, signed.session_token, max_age=signed.expires_in)
    return response


# Home, sign-in, sign-up, sign-out ---------------------------------------------------------------


@router.get("/")
def home(request: Request, web: Web) -> Response:
    return _page(web, request, "home.html", person=_session(web, request))


def _account_page(
    web: WebState, request: Request, template: str, return_to: str, status: int, context: dict[str, Any]
) -> HTMLResponse:
    """The sign-in or sign-up form, naming the application that sent the person here, if any."""
    return _page(
        web,
        request,
        template,
        status,
        return_to=return_to,
        return_query=_return_query(return_to),
        application_name=_application_name(web, return_to),
        **context,
    )


def _sign_in_page(
    web: WebState, request: Request, return_to: str, status: int = 200, **context: Any
) -> HTMLResponse:
    return _account_page(
        web, request, "sign_in.html", return_to, status, {"email": "", "error": None} | context
    )


@router.get("/sign-in")
def sign_in_form(request: Request, web: Web) -> Response:
    return _sign_in_page(web, request, safe_return_to(request.query_params.get("return_to")))


@router.post("/sign-in")
def sign_in(request: Request, web: Web, form: Form) -> Response:
    if not csrf_valid(web, request, _field(form, CSRF_FIELD)):
        return _expired_form(web, request)
    return_to = safe_return_to(_field(form, "return_to"))
    email = _field(form, "email")
    try:
        signed = people.sign_in(web.ctx, email, _field(form, "password"), _address(request))
    except SignInFailed as exc:
        return _sign_in_page(web, request, return_to, 400, email=email, error=exc.description)
    except RateLimited as exc:
        response = _sign_in_page(web, request, return_to, 429, email=email, error=exc.description)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    people.sign_out(web.ctx, request.cookies.get(web.session_cookie))
    return _signed_in(web, signed, return_to)


def _sign_up_page(
    web: WebState, request: Request, return_to: str, status: int = 200, **context: Any
) -> HTMLResponse:
    defaults: dict[str, Any] = {"email": "", "name": "", "errors": {}, "error": None}
    return _account_page(web, request, "sign_up.html", return_to, status, defaults | context)


@router.get("/sign-up")
def sign_up_form(request: Request, web: Web) -> Response:
    return _sign_up_page(web, request, safe_return_to(request.query_params.get("return_to")))


@router.post("/sign-up")
def sign_up(request: Request, web: Web, form: Form) -> Response:
    if not csrf_valid(web, request, _field(form, CSRF_FIELD)):
        return _expired_form(web, request)
    return_to = safe_return_to(_field(form, "return_to"))
    email, name = _field(form, "email"), _field(form, "name")
    try:
        signed = people.sign_up(web.ctx, email, _field(form, "password"), name, _address(request))
    except ValidationFailed as exc:
        errors = {field: items[0][1] for field, items in exc.errors.items()}
        return _sign_up_page(web, request, return_to, 400, email=email, name=name, errors=errors)
    except RateLimited as exc:
        response = _sign_up_page(web, request, return_to, 429, email=email, name=name, error=exc.description)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    people.sign_out(web.ctx, request.cookies.get(web.session_cookie))
    return _signed_in(web, signed, return_to)


@router.post("/sign-out")
def sign_out(request: Request, web: Web, form: Form) -> Response:
    if not csrf_valid(web, request, _field(form, CSRF_FIELD)):
        return _expired_form(web, request)
    people.sign_out(web.ctx, request.cookies.get(web.session_cookie))
    response = _redirect("/sign-in" + _return_query(safe_return_to(_field(form, "return_to"))))
    web.clear_cookie(response, web.session_cookie)
    return response


# The authorization page -----------------------------------------------------------------------------


def _refused(web: WebState, request: Request, exc: AuthorizationRefused) -> HTMLResponse:
    return _page(web, request, "refused.html", 400, message=exc.description)


def _send_back(exc: AuthorizationError, status: int) -> Response:
    return _redirect(oauth.error_location(exc), status, origin_of(exc.redirect_uri))


@router.get(AUTHORIZE_PATH)
def authorize(request: Request, web: Web) -> Response:
    try:
        checked = oauth.check_request(web.ctx, request.query_params.multi_items())
    except AuthorizationRefused as exc:
        return _refused(web, request, exc)
    except AuthorizationError as exc:
        return _send_back(exc, 302)
    person = _session(web, request)
    if person is None:
        here = AUTHORIZE_PATH + (f"?{request.url.query}" if request.url.query else "")
        return _redirect("/sign-in" + _return_query(here), 302)
    return _consent_page(web, request, checked, person)


def _consent_page(
    web: WebState, request: Request, checked: oauth.AuthorizationRequest, person: people.PersonInfo
) -> HTMLResponse:
    here = AUTHORIZE_PATH + "?" + urlencode(checked.parameters, quote_via=quote)
    return _page(
        web,
        request,
        "consent.html",
        form_action=origin_of(checked.redirect_uri),
        auth=checked,
        person=person,
        destination=urlsplit(checked.redirect_uri).hostname or checked.redirect_uri,
        return_to=here,
    )


@router.post(AUTHORIZE_PATH)
def decide(request: Request, web: Web, form: Form) -> Response:
    if not csrf_valid(web, request, _field(form, CSRF_FIELD)):
        return _expired_form(web, request)
    parameters = [(key, value) for key, value in form if key in oauth.REQUEST_PARAMETERS]
    try:
        checked = oauth.check_request(web.ctx, parameters)
    except AuthorizationRefused as exc:
        return _refused(web, request, exc)
    except AuthorizationError as exc:
        return _send_back(exc, 303)
    person = _session(web, request)
    if person is None:  # the session ended while the page was open: sign in, then see it again
        here = AUTHORIZE_PATH + "?" + urlencode(checked.parameters, quote_via=quote)
        return _redirect("/sign-in" + _return_query(here))
    decision = _field(form, "decision")
    form_action = origin_of(checked.redirect_uri)
    if decision == "allow":
        return _redirect(oauth.approve(web.ctx, checked, person.account_id), 303, form_action)
    if decision == "deny":
        return _redirect(oauth.deny(checked), 303, form_action)
    return _consent_page(web, request, checked, person)


# The extended permissions page -----------------------------------------------------------------------


def _request_gone(web: WebState, request: Request) -> HTMLResponse:
    return _page(
        web,
        request,
        "message.html",
        404,
        title="This request is no longer valid",
        message="It was already answered, it has expired, or the link is wrong. "
        "Go back to the application and ask again.",
    )


def _permissions_page(
    web: WebState,
    request: Request,
    token: str,
    pending: permissions.PendingRequest,
    person: people.PersonInfo,
) -> HTMLResponse:
    if pending.account_id != person.account_id:
        return _page(
            web,
            request,
            "wrong_account.html",
            403,
            person=person,
            return_to=f"/permissions/{token}",
        )
    return _page(
        web,
        request,
        "permissions.html",
        form_action=origin_of(pending.redirect_uri) if pending.redirect_uri else None,
        pending=pending,
        person=person,
        token=token,
        destination=urlsplit(pending.redirect_uri).hostname if pending.redirect_uri else None,
        return_to=f"/permissions/{token}",
    )


@router.get("/permissions/{token}")
def permissions_request(token: str, request: Request, web: Web) -> Response:
    pending = permissions.pending(web.ctx, token)
    if pending is None:
        return _request_gone(web, request)
    person = _session(web, request)
    if person is None:
        return _redirect("/sign-in" + _return_query(safe_return_to(f"/permissions/{token}")), 302)
    return _permissions_page(web, request, token, pending, person)


@router.post("/permissions/{token}")
def permissions_decide(token: str, request: Request, web: Web, form: Form) -> Response:
    if not csrf_valid(web, request, _field(form, CSRF_FIELD)):
        return _expired_form(web, request)
    pending = permissions.pending(web.ctx, token)
    if pending is None:
        return _request_gone(web, request)
    person = _session(web, request)
    if person is None:
        return _redirect("/sign-in" + _return_query(safe_return_to(f"/permissions/{token}")))
    decision = _field(form, "decision")
    if pending.account_id != person.account_id or decision not in ("allow", "deny"):
        return _permissions_page(web, request, token, pending, person)
    try:
        redirect_uri = permissions.decide(web.ctx, token, person.account_id, decision == "allow")
    except NotFound:
        return _request_gone(web, request)
    if redirect_uri:
        return _redirect(redirect_uri, 303, origin_of(redirect_uri))
    allowed = decision == "allow"
    return _page(
        web,
        request,
        "message.html",
        title="Permissions granted" if allowed else "Permissions refused",
        message=f"{pending.application_name} "
        + ("now has the access it asked for." if allowed else "was not given the access it asked for.")
        + " You can close this page.",
    )
