"""``/v1/account``, ``/v1/userinfo`` and ``/v1/profiles``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from openslot.api import render
from openslot.api.deps import Ctx, UserCaller, require_scope
from openslot.api.responses import JSONResponse
from openslot.services import accounts, scopes
from openslot.services.context import Caller

router = APIRouter(tags=["identity"])

AccountReader = Annotated[Caller, Depends(require_scope(scopes.READ_ACCOUNT))]


def _base_url(request: Request) -> str:
    return request.app.state.base_url


@router.get("/v1/account")
def account(request: Request, ctx: Ctx, caller: AccountReader) -> JSONResponse:
    return JSONResponse(render.account(accounts.account(ctx, caller, _base_url(request))))


@router.get("/v1/userinfo")
def userinfo(request: Request, ctx: Ctx, caller: UserCaller) -> JSONResponse:
    return JSONResponse(render.userinfo(accounts.account(ctx, caller, _base_url(request))))


@router.get("/v1/profiles")
def profiles(request: Request, ctx: Ctx, caller: UserCaller) -> JSONResponse:
    info = accounts.account(ctx, caller, _base_url(request))
    return JSONResponse({"profiles": [render.profile(p) for p in info.profiles]})
