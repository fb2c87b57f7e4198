"""Validation of an event upsert body (reference §4.1) into an ``EventInput``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from openslot.engine import times
from openslot.engine.errors import InvalidValue
from openslot.services.errors import ValidationFailed
from openslot.services.validation import Lenient, TzId, validate

MAX_EVENT_ID = 256
MAX_SUMMARY = 1024
MAX_DESCRIPTION = 4096
MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 40320  # four weeks
MAX_ATTENDEES = 200
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COLOR = r"^#[0-9A-Fa-f]{6}$"


class Location(Lenient):
    description: str | None = Field(default=None, max_length=1024)
    lat: str | float | None = None
    long: str | float | None = None


class Reminder(Lenient):
    minutes: int = Field(ge=0, le=MAX_REMINDER_MINUTES)


class Attendee(Lenient):
    email: str = Field(max_length=320)
    display_name: str | None = Field(default=None, max_length=256)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise InvalidValue("errors.invalid", f"{value!r} is not an email address")
        return value


class Attendees(Lenient):
    invite: list[Attendee] = Field(default_factory=list, max_length=MAX_ATTENDEES)
    reject: list[Attendee] = Field(default_factory=list, max_length=MAX_ATTENDEES)
    remove: list[Attendee] = Field(default_factory=list, max_length=MAX_ATTENDEES)


class Conferencing(Lenient):
    profile_id: str = Field(min_length=1, max_length=64)
    provider_description: str | None = Field(default=None, max_length=256)
    join_url: str | None = Field(default=None, max_length=2048)


class EventBody(Lenient):
    event_id: str = Field(min_length=1, max_length=MAX_EVENT_ID)
    summary: str = Field(min_length=1, max_length=MAX_SUMMARY)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    start: str | dict[str, Any]
    end: str | dict[str, Any]
    tzid: TzId = "Etc/UTC"
    location: Location | None = None
    url: str | None = Field(default=None, max_length=2048)
    transparency: Literal["opaque", "transparent"] = "opaque"
    status: Literal["confirmed", "tentative", "cancelled"] = "confirmed"
    extended_transparency: (
        Literal["opaque", "transparent", "working_elsewhere", "tentative", "out_of_office"] | None
    ) = None
    color: str | None = Field(default=None, pattern=COLOR)
    reminders: list[Reminder] | None = Field(default=None, max_length=MAX_REMINDERS)
    reminders_create_only: bool = False
    attendees: Attendees | None = None
    event_private: bool = False
    conferencing: Conferencing | None = None


@dataclass(frozen=True)
class EventInput:
    event_id: str
    summary: str
    description: str
    start: datetime
    end: datetime
    all_day: bool
    start_tzid: str
    end_tzid: str
    transparency: str
    status: str
    details: dict[str, Any]
    reminders_create_only: bool


def date_as_instant(day: date) -> datetime:
    """All-day dates are stored as UTC midnights; the zone of the reader gives them real instants."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_event(params: dict[str, Any]) -> EventInput:
    """The validated event, or ``ValidationFailed`` naming every bad field at once."""
    body = validate(EventBody, params)
    errors: dict[str, list[tuple[str, str]]] = {}
    parsed: dict[str, times.EventTime] = {}
    for name in ("start", "end"):
        try:
            parsed[name] = times.parse_event_time(getattr(body, name), body.tzid)
        except InvalidValue as exc:
            errors.setdefault(name, []).append((exc.key, f"{name}: {exc.description}"))
    if errors:
        raise ValidationFailed(errors)
    start, end = parsed["start"], parsed["end"]
    if start.is_date != end.is_date:
        raise ValidationFailed.single("end", "invalid", "start and end must both be Dates or both be Times")
    start_at = date_as_instant(start.value) if start.is_date else start.value  # type: ignore[arg-type]
    end_at = date_as_instant(end.value) if end.is_date else end.value  # type: ignore[arg-type]
    if end_at < start_at or (start.is_date and end_at == start_at):
        raise ValidationFailed.single("end", "invalid", "end must be after start")
    if body.conferencing and body.conferencing.profile_id == "explicit" and not body.conferencing.join_url:
        raise ValidationFailed.single("conferencing", "required", "conferencing.join_url must be specified")
    details: dict[str, Any] = {}
    if body.location is not None:
        details["location"] = body.location.model_dump(exclude_none=True)
    if body.url:
        details["url"] = body.url
    if body.color:
        details["color"] = body.color.upper()
    if body.reminders is not None:
        details["reminders"] = [r.model_dump() for r in body.reminders]
    if body.attendees is not None:
        details["attendees"] = [a.model_dump(exclude_none=True) for a in body.attendees.invite]
        removed = body.attendees.reject + body.attendees.remove
        if removed:
            details["attendees_removed"] = [a.email for a in removed]
    if body.event_private:
        details["event_private"] = True
    if body.extended_transparency:
        details["extended_transparency"] = body.extended_transparency
    if body.conferencing is not None:
        details["conferencing"] = body.conferencing.model_dump(exclude_none=True)
    return EventInput(
        event_id=body.event_id,
        summary=body.summary,
        description=body.description,
        start=start_at,
        end=end_at,
        all_day=start.is_date,
        start_tzid=start.tzid,
        end_tzid=end.tzid,
        transparency=body.transparency,
        status=body.status,
        details=details,
        reminders_create_only=body.reminders_create_only,
    )
