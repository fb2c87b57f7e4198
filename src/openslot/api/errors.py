"""The one place where errors become Cronofy response bodies."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from openslot.api.responses import JSONResponse
from openslot.services.errors import (
    Forbidden,
    Locked,
    NotFound,
    OAuthError,
    RateLimited,
    ServiceError,
    Unauthorized,
    ValidationFailed,
    validation_failed_from_pydantic,
)

log = logging.getLogger("openslot.api")

STATUS_BY_ERROR: list[tuple[type[ServiceError], int]] = [
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Locked, 423),
    (RateLimited, 429),
    (ValidationFailed, 422),
]


class BodyTooLarge(Exception):
    pass


def errors_body(field: str, key: str, description: str) -> dict[str, Any]:
    return {"errors": {field: [{"key": key, "description": description}]}}


def error_status_and_body(exc: ServiceError) -> tuple[int, dict[str, Any]]:
    """The status and Cronofy body of a service error (batch entries use this too)."""
    if isinstance(exc, OAuthError):
        return exc.status, {"error": exc.error, "error_description": exc.description}
    if isinstance(exc, ValidationFailed):
        return 422, {
            "errors": {
                field: [{"key": key, "description": description} for key, description in items]
                for field, items in exc.errors.items()
            }
        }
    status = next((code for cls, code in STATUS_BY_ERROR if isinstance(exc, cls)), 400)
    return status, errors_body("base", exc.key, exc.description)


def service_error_response(exc: ServiceError) -> JSONResponse:
    status, body = error_status_and_body(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, OAuthError):
        headers |= {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="openslot", error="invalid_token"'
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(body, status_code=status, headers=headers)


HTTP_KEYS = {404: "errors.not_found", 405: "errors.method_not_allowed", 413: "errors.too_large"}


def too_large_response() -> JSONResponse:
    return JSONResponse(
        errors_body("base", "errors.too_large", "the request body is too large"), status_code=413
    )


def http_error_response(status: int, detail: str = "", headers: dict[str, str] | None = None) -> JSONResponse:
    """An HTTP-level error (no such path, wrong method ...) in the API's format."""
    key = HTTP_KEYS.get(status, "errors.invalid")
    description = {404: "no such resource", 405: "method not allowed"}.get(status, detail)
    return JSONResponse(errors_body("base", key, description), status_code=status, headers=headers)


def request_error_response(exc: Exception) -> JSONResponse | None:
    """The answer to an error a request brought on itself, or None for a fault of the server."""
    if isinstance(exc, ServiceError):
        return service_error_response(exc)
    if isinstance(exc, ValidationError | RequestValidationError):
        return service_error_response(validation_failed_from_pydantic(list(exc.errors())))
    if isinstance(exc, BodyTooLarge):
        return too_large_response()
    return None


def internal_error_response(method: str, path: str, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", method, path, exc_info=exc)
    return JSONResponse(errors_body("base", "errors.internal", "an internal error occurred"), status_code=500)


def install(app: FastAPI) -> None:
    async def _request_error(_request: Request, exc: Exception) -> JSONResponse:
        response = request_error_response(exc)
        assert response is not None
        return response

    for kind in (ServiceError, ValidationError, RequestValidationError, BodyTooLarge):
        app.add_exception_handler(kind, _request_error)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error_response(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return internal_error_response(request.method, request.url.path, exc)
