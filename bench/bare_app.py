"""The baseline for ``bench/run.py``: the least an ASGI server can do for ``GET /v1/calendars``.

It answers with the exact bytes openslot answered (read from the file named by
``BENCH_BARE_BODY_FILE``), without authentication, routing framework or database, so the
difference to openslot is everything openslot does per request.

``app`` is raw ASGI; ``starlette_app`` is the same with Starlette routing (``--baseline starlette``).
Both are served by uvicorn in a subprocess: ``uvicorn bare_app:app --app-dir bench``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_body_file = os.environ.get("BENCH_BARE_BODY_FILE", "")
BODY = Path(_body_file).read_bytes() if _body_file else b'{"calendars":[]}'
HEALTH = b'{"status":"ok"}'
NOT_FOUND = b'{"error":"not_found"}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/v1/calendars":
        status, body = 200, BODY
    elif path == "/healthz":
        status, body = 200, HEALTH
    else:
        status, body = 404, NOT_FOUND
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _calendars(request: Request) -> Response:
    return Response(BODY, media_type="application/json; charset=utf-8")


async def _healthz(request: Request) -> Response:
    return Response(HEALTH, media_type="application/json; charset=utf-8")


starlette_app = Starlette(routes=[Route("/v1/calendars", _calendars), Route("/healthz", _healthz)])
