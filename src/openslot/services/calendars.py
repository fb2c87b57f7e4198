"""Calendars: listing and creation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from openslot.services.context import Caller, ServiceContext
from openslot.services.errors import Locked, NotFound, ValidationFailed
from openslot.store import repos
from openslot.store.models import Calendar, Profile

MAX_CALENDAR_NAME = 1024


@dataclass(frozen=True)
class CalendarInfo:
    calendar_id: str
    profile_id: str
    profile_name: str
    provider_name: str
    provider_service: str
    name: str
    color: str | None
    readonly: bool
    deleted: bool
    primary: bool
    permission_level: str
    integrated_conferencing_available: bool
    attachments_available: bool


def new_calendar_id(profile_id: str) -> str:
    """``cal_<profile part>_<calendar part>``, URL-path safe."""
    return f"cal_{profile_id.removeprefix('pro_')}_{secrets.token_hex(8)}"


def calendar_info(calendar: Calendar, profile: Profile) -> CalendarInfo:
    return CalendarInfo(
        calendar_id=calendar.id,
        profile_id=profile.id,
        profile_name=profile.name,
        provider_name=profile.provider_name,
        provider_service=profile.provider_service,
        name=calendar.name,
        color=calendar.color,
        readonly=calendar.readonly,
        deleted=calendar.deleted,
        primary=calendar.primary,
        permission_level=calendar.permission_level,
        integrated_conferencing_available=calendar.integrated_conferencing_available,
        attachments_available=calendar.attachments_available,
    )


def calendar_infos(session: Session, account_id: str) -> list[CalendarInfo]:
    profiles = {p.id: p for p in repos.profiles_of(session, account_id)}
    return [calendar_info(c, profiles[c.profile_id]) for c in repos.calendars_of(session, account_id)]


def list_calendars(ctx: ServiceContext, caller: Caller) -> list[CalendarInfo]:
    with ctx.db.read() as session:
        return calendar_infos(session, caller.account_id)


def create_calendar(
    ctx: ServiceContext, caller: Caller, profile_id: str, name: str, color: str | None
) -> CalendarInfo:
    name = name.strip()
    if not name:
        raise ValidationFailed.single("name", "required", "name must be specified")
    if len(name) > MAX_CALENDAR_NAME:
        raise ValidationFailed.single(
            "name", "too_long", f"name must be at most {MAX_CALENDAR_NAME} characters"
        )
    with ctx.db.transaction() as session:
        profile = session.get(Profile, profile_id)
        if profile is None or profile.account_id != caller.account_id:
            raise NotFound("profile not found")
        if not profile.connected:
            raise Locked("the profile is disconnected and must be relinked")
        taken = any(
            c.name.casefold() == name.casefold()
            for c in repos.calendars_of(session, caller.account_id)
            if c.profile_id == profile.id and not c.deleted
        )
        if taken:
            raise ValidationFailed.single(
                "name", "duplicate_calendar_name", f"a calendar named {name!r} already exists in this profile"
            )
        calendar = Calendar(
            id=new_calendar_id(profile.id),
            account_id=caller.account_id,
            profile_id=profile.id,
            name=name,
            color=color.upper() if color else None,
            readonly=False,
            deleted=False,
            primary=False,
            permission_level="sandbox",
            integrated_conferencing_available=False,
            attachments_available=False,
            created_at=ctx.clock.now(),
        )
        session.add(calendar)
        session.flush()
        return calendar_info(calendar, profile)
