"""Push notification channels (reference §7.1–7.3)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from openslot.api.deps import Ctx, Params, UserCaller
from openslot.api.responses import JSONResponse
from openslot.services import channels

router = APIRouter(tags=["push notifications"])

ACCEPTED = 202


@router.post("/v1/channels")
def create_channel(ctx: Ctx, caller: UserCaller, params: Params) -> JSONResponse:
    channel = channels.create_channel(ctx, caller, params)
    return JSONResponse({"channel": channels.channel_json(channel)})


@router.get("/v1/channels")
def list_channels(ctx: Ctx, caller: UserCaller) -> JSONResponse:
    found = channels.list_channels(ctx, caller)
    return JSONResponse({"channels": [channels.channel_json(channel) for channel in found]})


@router.delete("/v1/channels/{channel_id}", status_code=ACCEPTED)
def close_channel(channel_id: str, ctx: Ctx, caller: UserCaller) -> Response:
    channels.close_channel(ctx, caller, channel_id)
    return Response(status_code=ACCEPTED)
