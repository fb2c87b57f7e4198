"""``POST /v1/batch`` (reference §9): 207 with one entry per request."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from openslot.api.deps import Ctx, Params, UserCaller
from openslot.api.errors import error_status_and_body
from openslot.api.responses import JSONResponse
from openslot.services import batch

router = APIRouter(tags=["batch"])

MULTI_STATUS = 207


@router.post("/v1/batch", status_code=MULTI_STATUS)
def run_batch(ctx: Ctx, caller: UserCaller, params: Params) -> JSONResponse:
    entries: list[dict[str, Any]] = []
    for error in batch.run_batch(ctx, caller, params):
        if error is None:
            entries.append({"status": 202})
        else:
            status, body = error_status_and_body(error)
            entries.append({"status": status, "data": body})
    return JSONResponse({"batch": entries}, status_code=MULTI_STATUS)
