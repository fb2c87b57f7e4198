"""Events: upsert, delete, bulk delete, read (reference §4.1–4.4) and free/busy (§4.8).

These are most of the requests a calendar API serves, so they are answered straight from ASGI
(``EventRoutes``) rather than through FastAPI's routing and dependency resolution, which at their rate
would cost more CPU than the requests' own work. A request is matched against a short table; its
parameters and bearer value are read by the same functions the FastAPI routes use, its use case runs
as theirs do (``run_use_case_of``), and its errors take the API's format through the same functions
as the app's exception handlers. Every other request goes on to the FastAPI app.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from openslot.api import errors, render
from openslot.api.calls import run_use_case_of
from openslot.api.deps import presented_bearer
from openslot.api.params import BODY_METHODS, merged_params
from openslot.api.responses import JSONResponse
from openslot.services import event_reads, events, scopes
from openslot.services.context import Bearer

ACCEPTED = 202
TOKEN_REQUIRED = "an access token is required"


@dataclass(frozen=True)
class Call:
    """One request to an event endpoint, as its handler needs it."""

    state: Any  # the app's state: contexts, base URL, rate limiter
    path_args: tuple[str, ...]
    authorization: str  # the Authorization header, "" when absent
    params: Callable[[], dict[str, Any]]  # query and body parameters, parsed when asked for

    def bearer(self, *needed: str) -> Bearer:
        return presented_bearer(self.authorization, needed, TOKEN_REQUIRED, self.state.rate_limiter)

    def next_page_url(self, path: str, token: str | None) -> str | None:
        return f"{self.state.base_url}{path}/pages/{token}" if token else None


# Each handler takes the bearer value before the parameters: a request without a token is 401
# whatever its body holds.


async def upsert_event(call: Call) -> Response:
    credentials = call.bearer(scopes.CREATE_EVENT)
    (calendar_id,) = call.path_args
    await run_use_case_of(call.state, events.upsert_event, credentials, calendar_id, call.params())
    return Response(status_code=ACCEPTED)


async def delete_event(call: Call) -> Response:
    credentials = call.bearer(scopes.DELETE_EVENT)
    (calendar_id,) = call.path_args
    await run_use_case_of(call.state, events.delete_event, credentials, calendar_id, call.params())
    return Response(status_code=ACCEPTED)


async def bulk_delete(call: Call) -> Response:
    credentials = call.bearer(scopes.DELETE_EVENT)
    await run_use_case_of(call.state, events.bulk_delete, credentials, call.params())
    return Response(status_code=ACCEPTED)


async def _page(
    call: Call, credentials: Bearer, use_case: Callable[..., Any], argument: Any, path: str
) -> Response:
    """A page of events or of free/busy: the first (``argument`` the parameters) or a next one (the
    page token)."""
    page = await run_use_case_of(call.state, use_case, credentials, argument)
    render_page = render.events_page if path == "/v1/events" else render.free_busy_page
    return JSONResponse(render_page(page, call.next_page_url(path, page.next_token)))


async def read_events(call: Call) -> Response:
    return await _page(call, call.bearer(), event_reads.read_events, call.params(), "/v1/events")


async def read_events_page(call: Call) -> Response:
    return await _page(call, call.bearer(), event_reads.read_events_page, call.path_args[0], "/v1/events")


async def free_busy(call: Call) -> Response:
    return await _page(call, call.bearer(), event_reads.free_busy, call.params(), "/v1/free_busy")


async def free_busy_page(call: Call) -> Response:
    return await _page(call, call.bearer(), event_reads.free_busy_page, call.path_args[0], "/v1/free_busy")


Handler = Callable[[Call], Awaitable[Response]]

# Path patterns (a path parameter is one segment, as in FastAPI) and their handlers by method; a GET
# handler also answers HEAD.
ROUTES: tuple[tuple[re.Pattern[str], dict[str, Handler]], ...] = (
    (re.compile(r"/v1/calendars/([^/]+)/events"), {"POST": upsert_event, "DELETE": delete_event}),
    (re.compile(r"/v1/events"), {"GET": read_events, "DELETE": bulk_delete}),
    (re.compile(r"/v1/free_busy"), {"GET": free_busy}),
    (re.compile(r"/v1/events/pages/([^/]+)"), {"GET": read_events_page}),
    (re.compile(r"/v1/free_busy/pages/([^/]+)"), {"GET": free_busy_page}),
)


def _route(path: str) -> tuple[re.Match[str], dict[str, Handler]] | None:
    for pattern, handlers in ROUTES:
        match = pattern.fullmatch(path)
        if match is not None:
            return match, handlers
    return None


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


class EventRoutes:
    """ASGI middleware answering the event endpoints itself (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _route(scope["path"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        match, handlers = found
        method = scope["method"]
        handler = handlers.get("GET" if method == "HEAD" else method)
        try:
            if handler is None:
                response = errors.http_error_response(405, headers={"Allow": ", ".join(handlers)})
            else:
                body = await _body(receive) if method in BODY_METHODS else b""
                content_type = _header(scope, b"content-type")

                def params() -> dict[str, Any]:
                    return merged_params(method, scope["query_string"], body, content_type)

                call = Call(scope["app"].state, match.groups(), _header(scope, b"authorization"), params)
                response = await handler(call)
        except ClientDisconnect:
            return
        except Exception as exc:
            response = errors.request_error_response(exc) or errors.internal_error_response(
                method, scope["path"], exc
            )
        await response(scope, receive, send)
