"""Batch (reference §9): up to 50 writes in one request, each on its own, in order.

Entries call the use cases directly (never HTTP again), each in a savepoint of one transaction, so
one bad entry never touches the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openslot.services import available_periods, events, scopes
from openslot.services.context import Caller, ServiceContext
from openslot.services.errors import (
    Forbidden,
    NotFound,
    ServiceError,
    ValidationFailed,
)
from openslot.services.event_input import parse_event
from openslot.services.validation import Lenient, validate

MAX_ENTRIES = 50
EVENTS_PATH = re.compile(r"^/v1/calendars/([^/]+)/events$")


class Entry(Lenient):
    method: str = Field(min_length=1)
    relative_url: str = Field(min_length=1, max_length=2048)
    data: dict[str, Any] = Field(default_factory=dict)


class BatchBody(Lenient):
    batch: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ENTRIES)


Operation = Callable[[Session], None]


def _require(caller: Caller, scope: str) -> None:
    if scope not in caller.scopes:
        raise Forbidden(f"this request needs the {scope} scope")


def _operation(ctx: ServiceContext, caller: Caller, entry: Entry) -> Operation:
    method = entry.method.upper()
    path = urlsplit(entry.relative_url).path.rstrip("/")
    data = {k: v for k, v in entry.data.items() if v is not None}
    if match := EVENTS_PATH.match(path):
        calendar_id = unquote(match.group(1))
        if method == "POST":
            _require(caller, scopes.CREATE_EVENT)
            event = parse_event(data)
            return lambda session: events.upsert_event_in(session, ctx, caller, calendar_id, event)
        if method == "DELETE":
            _require(caller, scopes.DELETE_EVENT)
            return lambda session: events.delete_event_in(session, ctx, caller, calendar_id, data)
    elif path == "/v1/available_periods":
        if method == "POST":
            return lambda session: available_periods.upsert_period_in(session, ctx, caller, data)
        if method == "DELETE":
            return lambda session: available_periods.delete_periods_in(session, caller, data)
    else:
        raise NotFound(f"{entry.relative_url} is not available in a batch")
    raise ValidationFailed.single("method", "invalid", f"{method} is not supported for {path}")


def _run_entry(
    session: Session, ctx: ServiceContext, caller: Caller, raw: dict[str, Any]
) -> ServiceError | None:
    try:
        operation = _operation(ctx, caller, validate(Entry, raw))
        with session.begin_nested():
            operation(session)
    except ServiceError as exc:
        return exc
    except IntegrityError:
        return ValidationFailed.single("event_id", "conflict", "a concurrent write conflicted; send it again")
    return None


def run_batch(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> list[ServiceError | None]:
    """One result per entry, in order: None where the entry succeeded, else its error.

    The batch is one transaction, committed once; each entry runs inside a savepoint of its own, so
    a failing entry is undone alone and the others still take effect.
    """
    body = validate(BatchBody, params)
    with ctx.db.transaction() as session:
        return [_run_entry(session, ctx, caller, raw) for raw in body.batch]
