"""``POST /v1/permissions``: ask the account's person for extended permissions on calendars.

The person answers on a page (``/permissions/<token>``, see ``openslot.web``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from openslot.api.deps import Ctx, Params, UserCaller
from openslot.api.responses import JSONResponse
from openslot.services import permissions

router = APIRouter(tags=["permissions"])


@router.post("/v1/permissions")
def request_permissions(request: Request, ctx: Ctx, caller: UserCaller, params: Params) -> JSONResponse:
    token = permissions.request_permissions(
        ctx, caller, params.get("permissions"), params.get("redirect_uri")
    )
    url = f"{request.app.state.base_url}/permissions/{token}"
    return JSONResponse({"permissions_request": {"url": url}})
