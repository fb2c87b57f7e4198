"""Availability rules (reference §6.1–6.4): weekly working hours in a zone, per account."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from sqlalchemy import delete, select

from openslot.services.context import Caller, ServiceContext
from openslot.services.errors import NotFound, ValidationFailed
from openslot.services.validation import Lenient, TzId, validate
from openslot.store import repos
from openslot.store.models import AvailabilityRule

ASCII_ID = r"^[\x21-\x7e]+$"
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
MAX_WEEKLY_PERIODS = 100
MAX_RULE_CALENDARS = 100
Day = Literal["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]


class WeeklyPeriod(Lenient):
    day: Day
    start_time: str
    end_time: str

    @field_validator("start_time", "end_time")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not CLOCK.match(value):
            raise ValueError("must be a 24-hour HH:MM time")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> WeeklyPeriod:
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class RuleBody(Lenient):
    availability_rule_id: str = Field(min_length=1, max_length=64, pattern=ASCII_ID)
    tzid: TzId
    calendar_ids: list[str] | None = Field(default=None, min_length=1, max_length=MAX_RULE_CALENDARS)
    weekly_periods: list[WeeklyPeriod] = Field(max_length=MAX_WEEKLY_PERIODS)


@dataclass(frozen=True)
class RuleView:
    availability_rule_id: str
    tzid: TzId
    calendar_ids: list[str] | None
    weekly_periods: list[dict[str, str]]


def _view(rule: AvailabilityRule) -> RuleView:
    return RuleView(
        availability_rule_id=rule.rule_id,
        tzid=rule.tzid,
        calendar_ids=list(rule.calendar_ids) if rule.calendar_ids is not None else None,
        weekly_periods=[dict(p) for p in rule.weekly_periods],
    )


def upsert_rule(ctx: ServiceContext, caller: Caller, params: dict[str, Any]) -> RuleView:
    body = validate(RuleBody, params)
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        if body.calendar_ids is not None:
            own = {c.id for c in repos.calendars_of(session, caller.account_id)}
            if not set(body.calendar_ids) <= own:
                raise ValidationFailed.single("calendar_ids", "not_found", "a calendar was not found")
        rule = session.scalar(
            select(AvailabilityRule).where(
                AvailabilityRule.account_id == caller.account_id,
                AvailabilityRule.rule_id == body.availability_rule_id,
            )
        )
        if rule is None:
            rule = AvailabilityRule(
                account_id=caller.account_id, rule_id=body.availability_rule_id, created_at=now
            )
            session.add(rule)
        rule.tzid = body.tzid
        rule.calendar_ids = list(dict.fromkeys(body.calendar_ids)) if body.calendar_ids is not None else None
        rule.weekly_periods = [p.model_dump() for p in body.weekly_periods]
        rule.updated_at = now
        session.flush()
        return _view(rule)


def list_rules(ctx: ServiceContext, caller: Caller) -> list[RuleView]:
    with ctx.db.read() as session:
        rules = session.scalars(
            select(AvailabilityRule)
            .where(AvailabilityRule.account_id == caller.account_id)
            .order_by(AvailabilityRule.rule_id)
        )
        return [_view(rule) for rule in rules]


def get_rule(ctx: ServiceContext, caller: Caller, rule_id: str) -> RuleView:
    with ctx.db.read() as session:
        rule = session.scalar(
            select(AvailabilityRule).where(
                AvailabilityRule.account_id == caller.account_id, AvailabilityRule.rule_id == rule_id
            )
        )
        if rule is None:
            raise NotFound("availability rule not found")
        return _view(rule)


def delete_rule(ctx: ServiceContext, caller: Caller, rule_id: str) -> None:
    with ctx.db.transaction() as session:
        result = session.execute(
            delete(AvailabilityRule).where(
                AvailabilityRule.account_id == caller.account_id, AvailabilityRule.rule_id == rule_id
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound("availability rule not found")
