"""Accounts and profiles: provisioning and the identity reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from openslot.services.calendars import CalendarInfo, calendar_infos, new_calendar_id
from openslot.services.context import Caller, ServiceContext
from openslot.services.errors import NotFound
from openslot.store import repos
from openslot.store.models import Account, Calendar, Profile
from openslot.store.types import hex_id, short_id

DEFAULT_TZID = "Etc/UTC"


@dataclass(frozen=True)
class LinkingProfile:
    provider_name: str
    provider_service: str
    profile_id: str
    profile_name: str


@dataclass(frozen=True)
class ProfileInfo:
    profile_id: str
    provider_name: str
    provider_service: str
    profile_name: str
    connected: bool
    initial_sync_required: bool
    relink_url: str | None
    calendars: list[CalendarInfo]


@dataclass(frozen=True)
class AccountInfo:
    account_id: str
    kind: str
    email: str | None
    name: str | None
    default_tzid: str
    scope: str
    profiles: list[ProfileInfo]


def provision_account(
    session: Session,
    now: datetime,
    *,
    kind: str,
    prefix: str,
    calendar_name: str,
    email: str | None = None,
    name: str | None = None,
    application_id: str | None = None,
    application_calendar_id: str | None = None,
) -> Account:
    """A new account with one ``cronofy`` profile holding one primary calendar."""
    account = Account(
        id=hex_id(prefix),
        kind=kind,
        email=email,
        name=name,
        default_tzid=DEFAULT_TZID,
        application_id=application_id,
        application_calendar_id=application_calendar_id,
        created_at=now,
    )
    profile_id = short_id("pro")
    profile = Profile(
        id=profile_id,
        account_id=account.id,
        provider_name="cronofy",
        provider_service="cronofy",
        name=email or profile_id.removeprefix("pro_"),
        connected=True,
        initial_sync_required=False,
        created_at=now,
    )
    calendar = Calendar(
        id=new_calendar_id(profile_id),
        account_id=account.id,
        profile_id=profile_id,
        name=calendar_name,
        primary=True,
        readonly=False,
        deleted=False,
        permission_level="sandbox",
        integrated_conferencing_available=False,
        attachments_available=False,
        created_at=now,
    )
    session.add(account)
    session.flush()
    session.add(profile)
    session.flush()
    session.add(calendar)
    return account


def linking_profile(session: Session, account_id: str) -> LinkingProfile | None:
    profiles = repos.profiles_of(session, account_id)
    if not profiles:
        return None
    first = profiles[0]
    return LinkingProfile(
        provider_name=first.provider_name,
        provider_service=first.provider_service,
        profile_id=first.id,
        profile_name=first.name,
    )


def _profile_info(profile: Profile, calendars: list[CalendarInfo], relink_base: str) -> ProfileInfo:
    return ProfileInfo(
        profile_id=profile.id,
        provider_name=profile.provider_name,
        provider_service=profile.provider_service,
        profile_name=profile.name,
        connected=profile.connected,
        initial_sync_required=profile.initial_sync_required,
        relink_url=None if profile.connected else f"{relink_base}/relink/{profile.id}",
        calendars=[c for c in calendars if c.profile_id == profile.id],
    )


def account(ctx: ServiceContext, caller: Caller, relink_base: str) -> AccountInfo:
    """The caller's account with its profiles and their calendars."""
    with ctx.db.read() as session:
        row = session.get(Account, caller.account_id)
        if row is None:
            raise NotFound()
        profiles = repos.profiles_of(session, row.id)
        calendars = calendar_infos(session, row.id)
        return AccountInfo(
            account_id=row.id,
            kind=row.kind,
            email=row.email,
            name=row.name,
            default_tzid=row.default_tzid,
            scope=caller.scope,
            profiles=[_profile_info(p, calendars, relink_base) for p in profiles],
        )
