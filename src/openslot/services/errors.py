"""The service error hierarchy. The API maps each class to a status code in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ServiceError(Exception):
    key = "errors.unknown"
    description = "the request could not be completed"

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description or self.description)
        self.description = description or self.description


class Unauthorized(ServiceError):
    key = "errors.unauthorized"
    description = "the credentials were not recognised"


class Forbidden(ServiceError):
    key = "errors.forbidden"
    description = "the authorization does not permit this request"


class NotFound(ServiceError):
    key = "errors.not_found"
    description = "the resource was not found"


class Locked(ServiceError):
    key = "errors.locked"
    description = "the profile is not in a writable state"


class RateLimited(ServiceError):
    key = "errors.rate_limited"
    description = "too many requests"

    def __init__(self, retry_after: int, description: str | None = None) -> None:
        super().__init__(description)
        self.retry_after = retry_after


FieldErrors = Mapping[str, Sequence[tuple[str, str]]]


class ValidationFailed(ServiceError):
    """Invalid parameters: field name to ``(key, description)`` pairs, the Cronofy 422 body."""

    key = "errors.invalid"
    description = "the parameters were not valid"

    def __init__(self, errors: FieldErrors) -> None:
        super().__init__("; ".join(f"{field}: {d}" for field, items in errors.items() for _, d in items))
        self.errors = {field: list(items) for field, items in errors.items()}

    @classmethod
    def single(cls, field: str, key: str, description: str) -> ValidationFailed:
        return cls({field: [(f"errors.{key}", description)]})


class OAuthError(ServiceError):
    """An RFC 6749 §5.2 error of the token endpoint: ``{"error": code}`` with 400 or 401."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status


class AuthorizationRefused(ServiceError):
    """An authorization request whose client or redirect URI cannot be trusted.

    It is shown to the person and never redirected (RFC 6749 §4.1.2.1): sending the browser to an
    unregistered address would make the server an open redirector.
    """

    key = "errors.invalid"


class AuthorizationError(OAuthError):
    """An authorization request refused after its redirect URI was verified: the browser goes back to
    the client with ``error`` and the request's ``state`` (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None) -> None:
        super().__init__(error, description)
        self.redirect_uri = redirect_uri
        self.state = state


class SignInFailed(ServiceError):
    """Wrong email or password. One message for both, so that it never tells which addresses exist."""

    key = "errors.unauthorized"
    description = "The email address or password is not right."


# Pydantic error types → Cronofy error keys.
PYDANTIC_KEYS = {
    "missing": "errors.required",
    "string_too_long": "errors.too_long",
    "too_long": "errors.too_many",
    "string_too_short": "errors.required",
    "too_short": "errors.required",
    "greater_than": "errors.out_of_range",
    "greater_than_equal": "errors.out_of_range",
    "less_than": "errors.out_of_range",
    "less_than_equal": "errors.out_of_range",
}


def validation_failed_from_pydantic(errors: list[Any]) -> ValidationFailed:
    fields: dict[str, list[tuple[str, str]]] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        field = loc[0] if loc else "base"
        where = ".".join(loc) or "request"
        cause = (error.get("ctx") or {}).get("error")
        if hasattr(cause, "key") and hasattr(cause, "description"):
            # A validator raised an engine error that already names its Cronofy key.
            fields.setdefault(field, []).append((cause.key, f"{where}: {cause.description}"))
            continue
        key = PYDANTIC_KEYS.get(error["type"], "errors.invalid")
        message = "must be specified" if key == "errors.required" else error.get("msg", "is invalid")
        fields.setdefault(field, []).append((key, f"{where} {message[0].lower()}{message[1:]}"))
    return ValidationFailed(fields)
