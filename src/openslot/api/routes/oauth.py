"""``/oauth/token`` (authorization code and refresh grants) and ``/oauth/token/revoke``.

The browser half of the flow, ``/oauth/authorize``, is a page: see ``openslot.web``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from openslot.api import render
from openslot.api.deps import Ctx, Params, TokenClient
from openslot.api.responses import NO_STORE, JSONResponse
from openslot.api.schemas import RevokeRequest, TokenRequest
from openslot.services import authorization, oauth
from openslot.services.errors import OAuthError, ValidationFailed
from openslot.services.validation import Model, validate

router = APIRouter(tags=["oauth"])


def _oauth_parse(model: type[Model], params: dict[str, Any]) -> Model:
    """Parameter errors of the OAuth endpoints are RFC 6749 ``invalid_request``."""
    try:
        return validate(model, params)
    except ValidationFailed as exc:
        fields = ", ".join(exc.errors)
        raise OAuthError("invalid_request", f"invalid or missing parameters: {fields}") from exc


@router.post("/oauth/token")
def token(ctx: Ctx, params: Params, client: TokenClient) -> JSONResponse:
    request = _oauth_parse(TokenRequest, params)
    if request.grant_type == "authorization_code":
        issued = oauth.exchange_code(ctx, client, request.code, request.redirect_uri, request.code_verifier)
    elif request.grant_type == "refresh_token":
        issued = authorization.refresh(ctx, client, request.refresh_token)
    else:
        raise OAuthError("unsupported_grant_type", f"grant_type {request.grant_type!r} is not supported")
    return JSONResponse(render.token_response(issued), headers=NO_STORE)


@router.post("/oauth/token/revoke")
def revoke(ctx: Ctx, params: Params, client: TokenClient) -> Response:
    request = _oauth_parse(RevokeRequest, params)
    authorization.revoke(ctx, client, request.token, request.sub)
    return Response(status_code=200, headers=NO_STORE)
