"""``POST /v1/availability`` (reference §5.1) and ``POST /v1/sequenced_availability`` (§5.2)."""

from __future__ import annotations

from fastapi import APIRouter

from openslot.api import render
from openslot.api.deps import ApplicationOrCaller, Ctx, Params
from openslot.api.responses import JSONResponse
from openslot.services import availability

router = APIRouter(tags=["availability"])


@router.post("/v1/availability")
def query_availability(ctx: Ctx, credentials: ApplicationOrCaller, params: Params) -> JSONResponse:
    result = availability.availability(ctx, credentials.application_id, params)
    return JSONResponse(render.availability(result))


@router.post("/v1/sequenced_availability")
def sequenced_availability(ctx: Ctx, credentials: ApplicationOrCaller, params: Params) -> JSONResponse:
    result = availability.sequenced_availability(ctx, credentials.application_id, params)
    return JSONResponse(render.sequences(result))
