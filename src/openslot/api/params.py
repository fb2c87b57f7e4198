"""Request parameters as the SDKs really send them: JSON or form bodies, bracketed arrays, nulls."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from openslot.services.errors import ValidationFailed

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def normalise_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``a[]=1&a[]=2`` → ``{"a": ["1", "2"]}``; other repeated keys keep their last value."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key.endswith("[]"):
            result.setdefault(key[:-2], []).append(value)
        else:
            result[key] = value
    return result


def drop_nulls(value: Any) -> Any:
    """A JSON ``null`` means the field was not given."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def parse_query(query_string: bytes) -> dict[str, Any]:
    # Decoded as Starlette decodes it: the bytes are ASCII; percent-escapes are UTF-8.
    return normalise_pairs(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))


def parse_body(raw: bytes, content_type_header: str) -> dict[str, Any]:
    """A JSON or form body as parameters; an empty body is none."""
    if not raw.strip():
        return {}
    content_type = content_type_header.split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed.single("body", "invalid", "the form body is not UTF-8") from exc
        return normalise_pairs(parse_qsl(text, keep_blank_values=True))
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed.single("body", "invalid", "the body is not valid JSON") from exc
    if data == []:  # PHP sends `[]` for an empty body
        return {}
    if not isinstance(data, dict):
        raise ValidationFailed.single("body", "invalid", "the body must be a JSON object")
    return drop_nulls(data)


def merged_params(method: str, query_string: bytes, body: bytes, content_type_header: str) -> dict[str, Any]:
    """Query parameters overlaid by body parameters (of the methods that have a body)."""
    params = parse_query(query_string)
    if method in BODY_METHODS:
        params.update(parse_body(body, content_type_header))
    return params


async def request_params(request: Request) -> dict[str, Any]:
    """``merged_params`` of a request; cached so credentials and handlers share them."""
    cached = getattr(request.state, "params", None)
    if cached is not None:
        return cached
    body = await request.body() if request.method in BODY_METHODS else b""
    params = merged_params(
        request.method, request.scope["query_string"], body, request.headers.get("content-type", "")
    )
    request.state.params = params
    return params
