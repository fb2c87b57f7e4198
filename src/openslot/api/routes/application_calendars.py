"""``POST /v1/application_calendars``."""

from __future__ import annotations

from fastapi import APIRouter

from openslot.api import render
from openslot.api.deps import BodyClient, Ctx, Params
from openslot.api.responses import NO_STORE, JSONResponse
from openslot.api.schemas import ApplicationCalendarRequest
from openslot.services import authorization
from openslot.services.validation import validate

router = APIRouter(tags=["application calendars"])


@router.post("/v1/application_calendars")
def application_calendar(ctx: Ctx, params: Params, client: BodyClient) -> JSONResponse:
    request = validate(ApplicationCalendarRequest, params)
    issued = authorization.application_calendar(ctx, client, request.application_calendar_id)
    return JSONResponse(render.token_response(issued), headers=NO_STORE)
