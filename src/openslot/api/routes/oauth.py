"""``/oauth/token`` (refresh grant) and ``/oauth/token/revoke``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from openslot.api import render
from openslot.api.deps import BodyClient, Ctx, Params
from openslot.api.responses import NO_STORE, JSONResponse
from openslot.api.schemas import RevokeRequest, TokenRequest
from openslot.services import authorization
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
def token(ctx: Ctx, params: Params, client: BodyClient) -> JSONResponse:
    request = _oauth_parse(TokenRequest, params)
    if request.grant_type != "refresh_token":
        raise OAuthError("unsupported_grant_type", f"grant_type {request.grant_type!r} is not supported")
    issued = authorization.refresh(ctx, client, request.refresh_token)
    return JSONResponse(render.token_response(issued), headers=NO_STORE)


@router.post("/oauth/token/revoke")
def revoke(ctx: Ctx, params: Params, client: BodyClient) -> Response:
    request = _oauth_parse(RevokeRequest, params)
    authorization.revoke(ctx, client, request.token, request.sub)
    return Response(status_code=200, headers=NO_STORE)
