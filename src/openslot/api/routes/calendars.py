"""``GET /v1/calendars`` and ``POST /v1/calendars``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from openslot.api import render
from openslot.api.deps import Ctx, Params, UserCaller, require_scope
from openslot.api.responses import JSONResponse
from openslot.api.schemas import CreateCalendarRequest
from openslot.services import calendars, scopes
from openslot.services.context import Caller
from openslot.services.validation import validate

router = APIRouter(tags=["calendars"])

CalendarCreator = Annotated[Caller, Depends(require_scope(scopes.CREATE_CALENDAR))]


@router.get("/v1/calendars")
def list_calendars(ctx: Ctx, caller: UserCaller) -> JSONResponse:
    found = calendars.list_calendars(ctx, caller)
    return JSONResponse({"sub": caller.account_id, "calendars": [render.calendar(c) for c in found]})


@router.post("/v1/calendars")
def create_calendar(ctx: Ctx, caller: CalendarCreator, params: Params) -> JSONResponse:
    request = validate(CreateCalendarRequest, params)
    created = calendars.create_calendar(ctx, caller, request.profile_id, request.name, request.color)
    return JSONResponse({"calendar": render.calendar(created)})
