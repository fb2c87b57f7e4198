"""The body of ``POST /v1/availability`` (reference §5.1), validated, with its limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from openslot.engine import times
from openslot.engine.errors import InvalidValue
from openslot.services.errors import ValidationFailed
from openslot.services.validation import Lenient, validate

MAX_GROUPS = 20
MAX_MEMBERS_PER_GROUP = 100
MAX_MEMBERS = 200
MAX_QUERY_PERIODS = 50
MAX_QUERY_SLOTS = 100
MAX_SPAN_DAYS = 90
MAX_DURATION_MINUTES = 24 * 60
MAX_BUFFER_MINUTES = 24 * 60
MAX_RESULTS = 512


class Duration(Lenient):
    hours: int | None = Field(default=None, ge=0, le=MAX_DURATION_MINUTES // 60)
    minutes: int | None = Field(default=None, ge=0, le=MAX_DURATION_MINUTES)

    @model_validator(mode="after")
    def _shape(self) -> Duration:
        if self.hours is None and self.minutes is None:
            raise ValueError("hours or minutes must be specified")
        if self.hours is not None and self.minutes is not None and self.minutes >= 60:
            raise ValueError("minutes must be below 60 when hours are given")
        if self.seconds > MAX_DURATION_MINUTES * 60:
            raise InvalidValue("errors.out_of_range", f"must be at most {MAX_DURATION_MINUTES // 60} hours")
        return self

    @property
    def seconds(self) -> int:
        return ((self.hours or 0) * 60 + (self.minutes or 0)) * 60


class BufferSide(Duration):
    minimum: Duration | None = None
    maximum: Duration | None = None


class Buffer(Lenient):
    before: BufferSide | None = None
    after: BufferSide | None = None


class Period(Lenient):
    start: str | dict[str, Any]
    end: str | dict[str, Any]


class QuerySlot(Lenient):
    start: str | dict[str, Any]


class MemberBody(Lenient):
    sub: str = Field(min_length=1, max_length=64)
    calendar_ids: list[str] | None = Field(default=None, min_length=1, max_length=100)
    available_periods: list[Period] | None = Field(default=None, min_length=1, max_length=MAX_QUERY_PERIODS)
    managed_availability: bool = False
    availability_rule_ids: list[str] | None = Field(default=None, min_length=1, max_length=50)
    only_managed_events: bool = False


class GroupBody(Lenient):
    members: list[MemberBody] = Field(min_length=1, max_length=MAX_MEMBERS_PER_GROUP)
    required: Literal["all"] | int = "all"

    @field_validator("members", mode="before")
    @classmethod
    def _bare_subs(cls, value: Any) -> Any:
        # SDKs let a member be given as its bare sub.
        if isinstance(value, list):
            return [{"sub": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("required")
    @classmethod
    def _positive(cls, value: str | int) -> str | int:
        if isinstance(value, int) and value < 1:
            raise ValueError("required must be 'all' or a positive number")
        return value


class AvailabilityBody(Lenient):
    participants: list[GroupBody] = Field(min_length=1, max_length=MAX_GROUPS)
    required_duration: Duration
    query_periods: list[Period] | None = Field(default=None, min_length=1, max_length=MAX_QUERY_PERIODS)
    available_periods: list[Period] | None = Field(default=None, min_length=1, max_length=MAX_QUERY_PERIODS)
    query_slots: list[QuerySlot] | None = Field(default=None, min_length=1, max_length=MAX_QUERY_SLOTS)
    buffer: Buffer | None = None
    start_interval: Duration | None = None
    response_format: Literal["periods", "slots", "overlapping_slots"] = "periods"
    max_results: int = Field(default=MAX_RESULTS, ge=1, le=MAX_RESULTS)
    include_member_statuses: bool = False

    @field_validator("participants", mode="before")
    @classmethod
    def _single_group(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


def instant(value: str | dict[str, Any], field: str) -> datetime:
    try:
        parsed = times.parse_event_time(value, "Etc/UTC")
    except InvalidValue as exc:
        raise ValidationFailed({field: [(exc.key, f"{field}: {exc.description}")]}) from exc
    if parsed.is_date:
        raise ValidationFailed.single(field, "invalid", f"{field} must be a Time")
    assert isinstance(parsed.value, datetime)
    return parsed.value


def parse_periods(periods: list[Period], field: str) -> list[tuple[int, int]]:
    result = []
    for period in periods:
        start, end = instant(period.start, field), instant(period.end, field)
        if end <= start:
            raise ValidationFailed.single(field, "invalid", f"{field}: each end must be after its start")
        result.append((int(start.timestamp()), int(end.timestamp())))
    return result


def parse_body(params: dict[str, Any]) -> AvailabilityBody:
    body = validate(AvailabilityBody, params)
    if body.query_periods is None and body.available_periods is None and body.query_slots is None:
        raise ValidationFailed.single("query_periods", "required", "query_periods must be specified")
    subs = [member.sub for group in body.participants for member in group.members]
    if len(set(subs)) > MAX_MEMBERS:
        raise ValidationFailed.single("participants", "too_many", f"at most {MAX_MEMBERS} members in all")
    if body.required_duration.seconds < 60:
        raise ValidationFailed.single(
            "required_duration", "out_of_range", "required_duration must be a minute or more"
        )
    if body.start_interval is not None and body.start_interval.seconds < 60:
        raise ValidationFailed.single(
            "start_interval", "out_of_range", "start_interval must be a minute or more"
        )
    return body


MAX_SEQUENCE_STEPS = 10
DEFAULT_SEQUENCES = 20


class SequenceStepBody(Lenient):
    sequence_id: str | int
    ordinal: int | None = None
    participants: list[GroupBody] = Field(min_length=1, max_length=MAX_GROUPS)
    required_duration: Duration
    start_interval: Duration | None = None
    buffer: Buffer | None = None
    available_periods: list[Period] | None = Field(default=None, min_length=1, max_length=MAX_QUERY_PERIODS)
    event: dict[str, Any] | None = None

    @field_validator("participants", mode="before")
    @classmethod
    def _single_group(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class SequencedBody(Lenient):
    sequence: list[SequenceStepBody] = Field(min_length=1, max_length=MAX_SEQUENCE_STEPS)
    query_periods: list[Period] | None = Field(default=None, min_length=1, max_length=MAX_QUERY_PERIODS)
    available_periods: list[Period] | None = Field(default=None, min_length=1, max_length=MAX_QUERY_PERIODS)
    max_results: int = Field(default=DEFAULT_SEQUENCES, ge=1, le=MAX_RESULTS)


def parse_sequenced_body(params: dict[str, Any]) -> SequencedBody:
    body = validate(SequencedBody, params)
    if body.query_periods is None and body.available_periods is None:
        raise ValidationFailed.single("query_periods", "required", "query_periods must be specified")
    ids = [str(step.sequence_id) for step in body.sequence]
    if len(set(ids)) != len(ids):
        raise ValidationFailed.single("sequence", "invalid", "each sequence_id must be different")
    for step in body.sequence:
        if step.required_duration.seconds < 60:
            raise ValidationFailed.single(
                "sequence", "out_of_range", "required_duration must be a minute or more"
            )
    return body
