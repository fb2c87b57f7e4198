"""Events: upsert, delete, bulk delete, read (reference §4.1–4.4) and free/busy (§4.8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from openslot.api import render
from openslot.api.calls import run_use_case
from openslot.api.deps import AnyBearer, Params, bearer
from openslot.api.responses import JSONResponse
from openslot.services import event_reads, events, scopes
from openslot.services.context import Bearer

router = APIRouter(tags=["events"])

EventCreator = Annotated[Bearer, Depends(bearer(scopes.CREATE_EVENT))]
EventDeleter = Annotated[Bearer, Depends(bearer(scopes.DELETE_EVENT))]

ACCEPTED = 202


def _next_page_url(request: Request, path: str, token: str | None) -> str | None:
    return f"{request.app.state.base_url}{path}/pages/{token}" if token else None


@router.post("/v1/calendars/{calendar_id}/events", status_code=ACCEPTED)
async def upsert_event(
    request: Request, calendar_id: str, credentials: EventCreator, params: Params
) -> Response:
    await run_use_case(request, events.upsert_event, credentials, calendar_id, params)
    return Response(status_code=ACCEPTED)


@router.delete("/v1/calendars/{calendar_id}/events", status_code=ACCEPTED)
async def delete_event(
    request: Request, calendar_id: str, credentials: EventDeleter, params: Params
) -> Response:
    await run_use_case(request, events.delete_event, credentials, calendar_id, params)
    return Response(status_code=ACCEPTED)


@router.delete("/v1/events", status_code=ACCEPTED)
async def bulk_delete(request: Request, credentials: EventDeleter, params: Params) -> Response:
    await run_use_case(request, events.bulk_delete, credentials, params)
    return Response(status_code=ACCEPTED)


@router.get("/v1/events")
async def read_events(request: Request, credentials: AnyBearer, params: Params) -> JSONResponse:
    page = await run_use_case(request, event_reads.read_events, credentials, params)
    next_url = _next_page_url(request, "/v1/events", page.next_token)
    return JSONResponse(render.events_page(page, next_url))


@router.get("/v1/events/pages/{token}")
async def read_events_page(request: Request, token: str, credentials: AnyBearer) -> JSONResponse:
    page = await run_use_case(request, event_reads.read_events_page, credentials, token)
    next_url = _next_page_url(request, "/v1/events", page.next_token)
    return JSONResponse(render.events_page(page, next_url))


@router.get("/v1/free_busy")
async def free_busy(request: Request, credentials: AnyBearer, params: Params) -> JSONResponse:
    page = await run_use_case(request, event_reads.free_busy, credentials, params)
    return JSONResponse(
        render.free_busy_page(page, _next_page_url(request, "/v1/free_busy", page.next_token))
    )


@router.get("/v1/free_busy/pages/{token}")
async def free_busy_page(request: Request, token: str, credentials: AnyBearer) -> JSONResponse:
    page = await run_use_case(request, event_reads.free_busy_page, credentials, token)
    return JSONResponse(
        render.free_busy_page(page, _next_page_url(request, "/v1/free_busy", page.next_token))
    )
