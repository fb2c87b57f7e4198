"""Events: upsert, delete, bulk delete, read (reference §4.1–4.4) and free/busy (§4.8).

These are most of the requests a calendar API serves, so they are answered straight from ASGI
(``EventRoutes``) rather than through FastAPI's routing and dependency resolution, which at their rate
would cost more CPU than the requests' own work. A request is matched against a short table; its
parameters and bearer value are read by the same functions the FastAPI routes use, its use case runs
as theirs do (``run_use_case_of``), and its errors take the API's format through the same functions
as the app's exception handlers. Every other request goes on to the FastAPI app.

The table's path templates are FastAPI's, so the same table gives the app's OpenAPI schema its
entries for these endpoints (``openapi_paths``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

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
    """Create or update the application's event of an ``event_id`` in a calendar (reference §4.1)."""
    credentials = call.bearer(scopes.CREATE_EVENT)
    (calendar_id,) = call.path_args
    await run_use_case_of(call.state, events.upsert_event, credentials, calendar_id, call.params())
    return Response(status_code=ACCEPTED)


async def delete_event(call: Call) -> Response:
    """Delete the application's event of an ``event_id`` from a calendar (reference §4.3)."""
    credentials = call.bearer(scopes.DELETE_EVENT)
    (calendar_id,) = call.path_args
    await run_use_case_of(call.state, events.delete_event, credentials, calendar_id, call.params())
    return Response(status_code=ACCEPTED)


async def bulk_delete(call: Call) -> Response:
    """Delete the application's events everywhere or in some calendars (reference §4.4)."""
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
    """The first page of the events in a window (reference §4.2)."""
    return await _page(call, call.bearer(), event_reads.read_events, call.params(), "/v1/events")


async def read_events_page(call: Call) -> Response:
    """A next page of events, by the token of the previous page's ``next_page`` (reference §4.2)."""
    return await _page(call, call.bearer(), event_reads.read_events_page, call.path_args[0], "/v1/events")


async def free_busy(call: Call) -> Response:
    """The first page of the busy blocks in a window (reference §4.8)."""
    return await _page(call, call.bearer(), event_reads.free_busy, call.params(), "/v1/free_busy")


async def free_busy_page(call: Call) -> Response:
    """A next page of busy blocks, by the token of the previous page's ``next_page`` (reference §4.8)."""
    return await _page(call, call.bearer(), event_reads.free_busy_page, call.path_args[0], "/v1/free_busy")


Handler = Callable[[Call], Awaitable[Response]]

PATH_PARAMETER = re.compile(r"\{(\w+)\}")


def path_parameters(template: str) -> list[str]:
    return PATH_PARAMETER.findall(template)


def compiled(template: str) -> re.Pattern[str]:
    """The pattern of a path template in FastAPI's syntax; as in FastAPI, a parameter is one segment."""
    # re.split with a group alternates literal text and parameter names.
    parts = PATH_PARAMETER.split(template)
    return re.compile("".join(re.escape(part) if i % 2 == 0 else "([^/]+)" for i, part in enumerate(parts)))


class Route(NamedTuple):
    template: str
    pattern: re.Pattern[str]
    handlers: dict[str, Handler]  # by method; the GET handler also answers HEAD


def route(template: str, handlers: dict[str, Handler]) -> Route:
    return Route(template, compiled(template), handlers)


# The one source of the event endpoints: the middleware matches these, the OpenAPI schema lists them.
ROUTES: tuple[Route, ...] = (
    route("/v1/calendars/{calendar_id}/events", {"POST": upsert_event, "DELETE": delete_event}),
    route("/v1/events", {"GET": read_events, "DELETE": bulk_delete}),
    route("/v1/free_busy", {"GET": free_busy}),
    route("/v1/events/pages/{token}", {"GET": read_events_page}),
    route("/v1/free_busy/pages/{token}", {"GET": free_busy_page}),
)


def _route(path: str) -> tuple[re.Match[str], dict[str, Handler]] | None:
    for _template, pattern, handlers in ROUTES:
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


# The OpenAPI schema's entries for these endpoints, in the form FastAPI gives its own routes: FastAPI
# cannot generate them, as its routing never sees these requests.

OPENAPI_TAG = "events"
SUCCESSFUL = "Successful Response"


def _operation_id(handler: Handler, template: str, method: str) -> str:
    # FastAPI's generate_unique_id, so that clients generated from the schema name these as the others.
    return re.sub(r"\W", "_", f"{handler.__name__}{template}") + f"_{method.lower()}"


def _path_parameter(name: str) -> dict[str, Any]:
    schema = {"type": "string", "title": name.replace("_", " ").title()}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _responses(method: str) -> dict[str, Any]:
    # The reads answer JSON; every write answers 202 with an empty body.
    if method == "GET":
        return {"200": {"description": SUCCESSFUL, "content": {JSONResponse.media_type: {"schema": {}}}}}
    return {str(ACCEPTED): {"description": SUCCESSFUL}}


def _operation(template: str, method: str, handler: Handler) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": [OPENAPI_TAG],
        "summary": handler.__name__.replace("_", " ").title(),
    }
    description = inspect.getdoc(handler)
    if description:
        operation["description"] = description
    operation["operationId"] = _operation_id(handler, template, method)
    parameters = path_parameters(template)
    if parameters:
        operation["parameters"] = [_path_parameter(name) for name in parameters]
    operation["responses"] = _responses(method)
    return operation


def _path_item(template: str, handlers: dict[str, Handler]) -> dict[str, Any]:
    return {method.lower(): _operation(template, method, handler) for method, handler in handlers.items()}


def openapi_paths() -> dict[str, dict[str, Any]]:
    """The OpenAPI path items of every template and method of ``ROUTES``."""
    return {template: _path_item(template, handlers) for template, _pattern, handlers in ROUTES}
