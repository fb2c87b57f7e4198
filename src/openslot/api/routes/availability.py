"""``POST /v1/availability`` (reference §5.1) and ``POST /v1/sequenced_availability`` (§5.2)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from openslot.api import render
from openslot.api.calls import run_use_case
from openslot.api.deps import ApiKeyOrBearer, Params
from openslot.api.responses import JSONResponse
from openslot.services import availability

router = APIRouter(tags=["availability"])


@router.post("/v1/availability")
async def query_availability(request: Request, credentials: ApiKeyOrBearer, params: Params) -> JSONResponse:
    result = await run_use_case(request, availability.availability, credentials, params)
    return JSONResponse(render.availability(result))


@router.post("/v1/sequenced_availability")
async def sequenced_availability(
    request: Request, credentials: ApiKeyOrBearer, params: Params
) -> JSONResponse:
    result = await run_use_case(request, availability.sequenced_availability, credentials, params)
    return JSONResponse(render.sequences(result))
