"""Managed availability: availability rules and available periods (reference §6)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openslot.api import render
from openslot.api.deps import Ctx, Params, UserCaller
from openslot.api.responses import JSONResponse
from openslot.services import availability_rules, available_periods

router = APIRouter(tags=["managed availability"])

ACCEPTED = 202


@router.post("/v1/availability_rules")
def upsert_rule(ctx: Ctx, caller: UserCaller, params: Params) -> JSONResponse:
    rule = availability_rules.upsert_rule(ctx, caller, params)
    return JSONResponse({"availability_rule": render.availability_rule(rule)})


@router.get("/v1/availability_rules")
def list_rules(ctx: Ctx, caller: UserCaller) -> JSONResponse:
    rules = availability_rules.list_rules(ctx, caller)
    return JSONResponse({"availability_rules": [render.availability_rule(rule) for rule in rules]})


@router.get("/v1/availability_rules/{rule_id}")
def get_rule(rule_id: str, ctx: Ctx, caller: UserCaller) -> JSONResponse:
    rule = availability_rules.get_rule(ctx, caller, rule_id)
    return JSONResponse({"availability_rule": render.availability_rule(rule)})


@router.delete("/v1/availability_rules/{rule_id}", status_code=ACCEPTED)
def delete_rule(rule_id: str, ctx: Ctx, caller: UserCaller) -> Response:
    availability_rules.delete_rule(ctx, caller, rule_id)
    return Response(status_code=ACCEPTED)


@router.post("/v1/available_periods", status_code=ACCEPTED)
def upsert_period(ctx: Ctx, caller: UserCaller, params: Params) -> Response:
    available_periods.upsert_period(ctx, caller, params)
    return Response(status_code=ACCEPTED)


@router.delete("/v1/available_periods", status_code=ACCEPTED)
def delete_periods(ctx: Ctx, caller: UserCaller, params: Params) -> Response:
    available_periods.delete_periods(ctx, caller, params)
    return Response(status_code=ACCEPTED)


def _periods_page(request: Request, page: available_periods.PeriodPage) -> JSONResponse:
    base = request.app.state.base_url
    next_url = f"{base}/v1/available_periods/pages/{page.next_token}" if page.next_token else None
    return JSONResponse(render.available_periods_page(page, next_url))


@router.get("/v1/available_periods")
def read_periods(request: Request, ctx: Ctx, caller: UserCaller, params: Params) -> JSONResponse:
    return _periods_page(request, available_periods.read_periods(ctx, caller, params))


@router.get("/v1/available_periods/pages/{token}")
def read_periods_page(request: Request, token: str, ctx: Ctx, caller: UserCaller) -> JSONResponse:
    return _periods_page(request, available_periods.read_periods_page(ctx, caller, token))
