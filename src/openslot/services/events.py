"""Writing events (reference §4.1, §4.3, §4.4): upserts by ``event_id``, deletes and bulk deletes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import Row, delete, select, update
from sqlalchemy.orm import Session

from openslot.services import authorization, scopes
from openslot.services.channels import record_change
from openslot.services.context import Bearer, Caller, ServiceContext
from openslot.services.credentials import token_hash
from openslot.services.errors import NotFound, ValidationFailed
from openslot.services.event_input import MAX_EVENT_ID, EventInput, parse_event
from openslot.services.validation import Lenient, validate
from openslot.store.event_writes import (
    CHECKED_NEW_EVENT,
    EXISTING_EVENT,
    INSERT_MOVE,
    INSERT_NEW_EVENT,
    INSERT_NEW_EVENT_STATEMENT,
    UPDATE_EVENT,
    WRITABLE_CALENDAR,
)
from openslot.store.events import managed_event
from openslot.store.models import Calendar, Event
from openslot.store.statements import Statements
from openslot.store.types import hex_id


class DeleteBody(Lenient):
    event_id: str = Field(min_length=1, max_length=MAX_EVENT_ID)


class BulkDeleteBody(Lenient):
    delete_all: bool | None = None
    calendar_ids: list[str] | None = Field(default=None, min_length=1, max_length=100)


def _writable(calendar: Any) -> Any:
    """The calendar, when it takes writes: 404 for none (or anyone else's), 422 when read-only or
    deleted."""
    if calendar is None:
        raise NotFound("calendar not found")
    if calendar.deleted:
        raise ValidationFailed.single("calendar_id", "calendar_deleted", "the calendar has been deleted")
    if calendar.readonly:
        raise ValidationFailed.single("calendar_id", "calendar_readonly", "the calendar is read-only")
    return calendar


def writable_calendar(session: Session, caller: Caller, calendar_id: str) -> Row[Any]:
    """The caller's calendar; 404 for anyone else's, 422 when it takes no writes."""
    calendar = session.connection().execute(WRITABLE_CALENDAR, {"calendar_id": calendar_id}).first()
    return _writable(calendar if calendar is not None and calendar.account_id == caller.account_id else None)


def _merged_details(existing: dict[str, Any], incoming: EventInput) -> dict[str, Any]:
    details = dict(incoming.details)
    if incoming.reminders_create_only and "reminders" in existing:
        details["reminders"] = existing["reminders"]
    if "attendees" not in details and "attendees" in existing:
        details["attendees"] = existing["attendees"]
    elif "attendees" in details:
        removed = set(details.pop("attendees_removed", []))
        invited = {a["email"]: a for a in existing.get("attendees", [])}
        invited.update({a["email"]: a for a in details["attendees"]})
        details["attendees"] = [a for email, a in invited.items() if email not in removed]
    if "conferencing" not in details and "conferencing" in existing:
        details["conferencing"] = existing["conferencing"]
    return details


def _event_fields(data: EventInput, now: datetime) -> dict[str, Any]:
    """The columns an upsert sets, on insert and on update alike."""
    return {
        "summary": data.summary,
        "description": data.description,
        "start_at": data.start,
        "end_at": data.end,
        "all_day": data.all_day,
        "start_tzid": data.start_tzid,
        "end_tzid": data.end_tzid,
        "transparency": data.transparency,
        "status": data.status,
        "deleted": False,
        "updated_at": now,
    }


def _new_event_values(data: EventInput, now: datetime) -> dict[str, Any]:
    """A new event's columns but those of its owner (account, calendar, application)."""
    details = dict(data.details)
    details.pop("attendees_removed", None)
    return {
        "uid": hex_id("evt"),
        "event_id": data.event_id,
        "details": details,
        "created_at": now,
        **_event_fields(data, now),
    }


def _new_event_row(caller: Caller, calendar_id: str, data: EventInput, now: datetime) -> dict[str, Any]:
    owner = {
        "account_id": caller.account_id,
        "calendar_id": calendar_id,
        "application_id": caller.application_id,
    }
    return owner | _new_event_values(data, now)


def _insert_new(session: Session, caller: Caller, calendar_id: str, data: EventInput, now: datetime) -> bool:
    """Insert the event unless the application's ``event_id`` exists in the calendar; whether it did."""
    connection = session.connection()
    row = _new_event_row(caller, calendar_id, data, now)
    return connection.execute(INSERT_NEW_EVENT[connection.dialect.name], row).first() is not None


def _span(data: EventInput) -> int:
    return int((data.end - data.start).total_seconds())


def _update_existing(
    session: Session, caller: Caller, calendar_id: str, data: EventInput, now: datetime
) -> None:
    """Update the application's event of this ``event_id``, recording where it was if it moves."""
    connection = session.connection()
    key = {"calendar_id": calendar_id, "application_id": caller.application_id, "event_id": data.event_id}
    existing = connection.execute(EXISTING_EVENT, key).first()
    if existing is None:
        # Its old tombstone was purged between the insert that found it and this read: it is new.
        _insert_new(session, caller, calendar_id, data, now)
        return
    if (existing.start_at, existing.end_at, existing.all_day) != (data.start, data.end, data.all_day):
        connection.execute(
            INSERT_MOVE,
            {
                "event_uid": existing.uid,
                "start_at": existing.start_at,
                "end_at": existing.end_at,
                "all_day": existing.all_day,
                "moved_at": now,
            },
        )
    details = _merged_details(existing.details or {}, data)
    connection.execute(
        UPDATE_EVENT, {"match_uid": existing.uid, "details": details, **_event_fields(data, now)}
    )


def upsert_event_in(
    session: Session, ctx: ServiceContext, caller: Caller, calendar_id: str, data: EventInput
) -> None:
    """The upsert inside the caller's transaction (batch runs many of these).

    Written with constant Core statements: this is the hottest write path, and the ORM's unit of
    work, or building statements anew, costs more than the statements themselves.
    """
    calendar = writable_calendar(session, caller, calendar_id)
    connection = session.connection()
    now = ctx.clock.now()
    if not _insert_new(session, caller, calendar.id, data, now):
        _update_existing(session, caller, calendar.id, data, now)
    if calendar.watched:
        record_change(session, caller.account_id, [calendar.id], caller.application_id, now)
    span = _span(data)
    if span > calendar.max_event_seconds:
        # Atomic, so concurrent writers to one calendar only ever raise the bound.
        connection.execute(
            update(Calendar)
            .where(Calendar.id == calendar.id, Calendar.max_event_seconds < span)
            .values(max_event_seconds=span)
        )


def _checked_insert(
    statements: Statements, ctx: ServiceContext, bearer: Bearer, calendar_id: str, data: EventInput
) -> tuple[Caller, Any, bool]:
    """``CHECKED_NEW_EVENT``: the caller, its calendar and whether the event was inserted."""
    digest = token_hash(bearer.value)
    now = ctx.clock.now()
    row = statements.first(
        CHECKED_NEW_EVENT,
        {
            "digest": digest,
            "calendar_id": calendar_id,
            "now": now,
            "granting": list(scopes.granting(bearer.scopes)),
            "span": _span(data),
            **_new_event_values(data, now),
        },
    )
    caller, found = authorization.caller_and_calendar_of(ctx, bearer, digest, row)
    return caller, found, bool(row.inserted)


def _parsed_ahead(params: dict[str, Any]) -> EventInput | None:
    try:
        return parse_event(params)
    except ValidationFailed:
        return None  # raised again after the credentials are checked, in the API's order of errors


def upsert_event(ctx: ServiceContext, bearer: Bearer, calendar_id: str, params: dict[str, Any]) -> None:
    # The common case, a new event that no channel watches and that is no longer than the
    # calendar's longest, is one write: checked and inserted without a transaction around it. On
    # PostgreSQL the insert rides on the statement that checks the token and the calendar, one
    # round trip in all; not when request limits are on, which count the request between the check
    # of the token and the rest.
    with ctx.db.single_writes() as statements:
        ahead = (
            _parsed_ahead(params)
            if statements.dialect_name == "postgresql" and bearer.admitted is None
            else None
        )
        if ahead is not None:
            caller, found, inserted = _checked_insert(statements, ctx, bearer, calendar_id, ahead)
            if inserted:
                return
        else:
            caller, found = authorization.caller_and_calendar_in(statements, ctx, bearer, calendar_id)
        data = ahead or parse_event(params)
        calendar = _writable(found)
        if (
            ahead is None
            and not calendar.watched
            and _span(data) <= calendar.max_event_seconds
            and statements.first(
                INSERT_NEW_EVENT_STATEMENT, _new_event_row(caller, calendar.id, data, ctx.clock.now())
            )
        ):
            return
    # An update, a change to report or a longer event: several writes that stand or fall together.
    with ctx.db.transaction() as session:
        upsert_event_in(session, ctx, caller, calendar_id, data)


def delete_event_in(
    session: Session, ctx: ServiceContext, caller: Caller, calendar_id: str, params: dict[str, Any]
) -> None:
    body = validate(DeleteBody, params)
    calendar = writable_calendar(session, caller, calendar_id)
    event = managed_event(session, calendar.id, caller.application_id, body.event_id)
    # Deleting an event that is not there (or already deleted) is done already.
    if event is not None and not event.deleted:
        now = ctx.clock.now()
        event.deleted, event.updated_at = True, now
        if calendar.watched:
            record_change(session, caller.account_id, [calendar.id], caller.application_id, now)


def delete_event(ctx: ServiceContext, bearer: Bearer, calendar_id: str, params: dict[str, Any]) -> None:
    with ctx.db.transaction() as session:
        caller = authorization.caller_in(session, ctx, bearer)
        delete_event_in(session, ctx, caller, calendar_id, params)


def bulk_delete(ctx: ServiceContext, bearer: Bearer, params: dict[str, Any]) -> int:
    """Delete the application's own events everywhere or in some calendars; returns how many."""
    with ctx.db.transaction() as session:
        caller = authorization.caller_in(session, ctx, bearer)
        return _bulk_delete_in(session, ctx, caller, params)


def _bulk_delete_in(session: Session, ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> int:
    body = validate(BulkDeleteBody, params)
    if body.delete_all is not None and body.calendar_ids is not None:
        raise ValidationFailed.single("delete_all", "invalid", "give delete_all or calendar_ids, not both")
    if body.calendar_ids is None and body.delete_all is not True:
        key = "invalid" if body.delete_all is False else "required"
        raise ValidationFailed.single("delete_all", key, "delete_all must be true, or calendar_ids given")
    now = ctx.clock.now()
    query = update(Event).where(
        Event.account_id == caller.account_id,
        Event.application_id == caller.application_id,
        Event.deleted.is_(False),
    )
    if body.calendar_ids is not None:
        owned = set(
            session.scalars(
                select(Calendar.id).where(
                    Calendar.account_id == caller.account_id, Calendar.id.in_(body.calendar_ids)
                )
            )
        )
        if owned != set(body.calendar_ids):
            raise NotFound("calendar not found")
        query = query.where(Event.calendar_id.in_(owned))
    changed = list(session.scalars(query.values(deleted=True, updated_at=now).returning(Event.calendar_id)))
    if changed:
        record_change(session, caller.account_id, set(changed), caller.application_id, now)
    return len(changed)


def purge_tombstones(ctx: ServiceContext, older_than: datetime) -> int:
    """Forget deleted events last changed before ``older_than``; returns how many."""
    with ctx.db.transaction() as session:
        result = session.execute(delete(Event).where(Event.deleted.is_(True), Event.updated_at < older_than))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
