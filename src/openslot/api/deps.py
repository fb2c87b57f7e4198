"""Dependencies: the service context, credential resolution (reference §1.2) and scopes."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from openslot.api.params import request_params
from openslot.api.ratelimit import RateLimiter
from openslot.services import applications, authorization
from openslot.services.context import Bearer, Caller, Client, ServiceContext
from openslot.services.errors import OAuthError, Unauthorized


async def service_context(request: Request) -> ServiceContext:
    return request.app.state.ctx


Ctx = Annotated[ServiceContext, Depends(service_context)]
Params = Annotated[dict[str, Any], Depends(request_params)]


def bearer_of(authorization_header: str) -> str | None:
    """The value of a ``Bearer`` Authorization header (the scheme in any case), else None."""
    scheme, _, value = authorization_header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return value or None


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1 HTTP Basic client authentication, used when the body carries none."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


def _limit(request: Request, application_id: str) -> None:
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is not None:
        limiter.hit(application_id)


def presented_bearer(
    authorization_header: str, needed: tuple[str, ...], missing: str, limiter: RateLimiter | None
) -> Bearer:
    """The bearer value of the header, to be checked by the use case; 401 when there is none."""
    token = bearer_of(authorization_header)
    if token is None:
        raise Unauthorized(missing)
    return Bearer(token, needed, admitted=limiter.hit if limiter is not None else None)


def _body_client(request: Request, ctx: ServiceContext, params: dict[str, Any], allow_public: bool) -> Client:
    client_id, secret = params.get("client_id"), params.get("client_secret")
    if not (client_id and secret):
        basic = basic_credentials(request)
        if basic:
            client_id, secret = basic
    client = applications.authenticate_client(
        ctx,
        str(client_id) if client_id else None,
        str(secret) if secret else None,
        allow_public=allow_public,
    )
    _limit(request, client.application_id)
    return client


def body_client(request: Request, ctx: Ctx, params: Params) -> Client:
    """Client credentials from the body; the Authorization header is ignored when they are present."""
    return _body_client(request, ctx, params, allow_public=False)


def token_client(request: Request, ctx: Ctx, params: Params) -> Client:
    """As ``body_client``, and a public application may name itself by ``client_id`` alone."""
    return _body_client(request, ctx, params, allow_public=True)


def _presented(request: Request, needed: tuple[str, ...], missing: str) -> Bearer:
    return presented_bearer(
        request.headers.get("authorization", ""), needed, missing, request.app.state.rate_limiter
    )


def bearer(*needed: str) -> Callable[[Request], Awaitable[Bearer]]:
    """The access token, for a use case that checks it in its own session (see ``Bearer``)."""

    # Async (no I/O here) so that the request makes a single trip to the thread pool.
    async def presented(request: Request) -> Bearer:
        return _presented(request, needed, "an access token is required")

    return presented


def require_scope(*needed: str) -> Callable[[Request, ServiceContext], Caller]:
    """The caller of the access token, checked here, holding one of the named scopes (any token
    when none are named): for the endpoints whose use cases take a checked ``Caller``."""

    def check(request: Request, ctx: Ctx) -> Caller:
        return authorization.authenticate_access_token(
            ctx, _presented(request, needed, "an access token is required")
        )

    return check


async def api_key_or_bearer(request: Request, ctx: Ctx, params: Params) -> Client | Bearer:
    """Endpoints that take an API key or a user's token (reference §1.2): body credentials first,
    checked at once in a thread; else the bearer value, which the use case checks in its own
    session as a client secret, then as an access token."""
    if params.get("client_id") and params.get("client_secret"):
        try:
            return await run_in_threadpool(body_client, request, ctx, params)
        except OAuthError as exc:
            raise Unauthorized(exc.description) from exc
    return _presented(request, (), "an API key or access token is required")


BodyClient = Annotated[Client, Depends(body_client)]
TokenClient = Annotated[Client, Depends(token_client)]
UserCaller = Annotated[Caller, Depends(require_scope())]
AnyBearer = Annotated[Bearer, Depends(bearer())]
ApiKeyOrBearer = Annotated[Client | Bearer, Depends(api_key_or_bearer)]
