"""JSON responses serialised by pydantic-core, with the content type Cronofy uses."""

from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi.responses import JSONResponse as _JSONResponse


class JSONResponse(_JSONResponse):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content)


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
