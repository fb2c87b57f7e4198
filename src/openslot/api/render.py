"""Use-case results → Cronofy JSON."""

from __future__ import annotations

from typing import Any

from openslot.services.accounts import AccountInfo, LinkingProfile, ProfileInfo
from openslot.services.authorization import IssuedTokens
from openslot.services.calendars import CalendarInfo

USERINFO_TYPES = {"account": "account", "application_calendar": "application_calendar"}


def linking_profile(profile: LinkingProfile) -> dict[str, Any]:
    return {
        "provider_name": profile.provider_name,
        "provider_service": profile.provider_service,
        "profile_id": profile.profile_id,
        "profile_name": profile.profile_name,
    }


def token_response(tokens: IssuedTokens) -> dict[str, Any]:
    body: dict[str, Any] = {
        "token_type": "bearer",
        "access_token": tokens.access_token,
        "expires_in": tokens.expires_in,
        "refresh_token": tokens.refresh_token,
        "scope": tokens.scope,
        "sub": tokens.sub,
    }
    if tokens.account_kind == "account":
        body["account_id"] = tokens.sub
    if tokens.application_calendar_id is not None:
        body["application_calendar_id"] = tokens.application_calendar_id
    if tokens.linking_profile is not None:
        body["linking_profile"] = linking_profile(tokens.linking_profile)
    return body


def calendar(info: CalendarInfo, *, with_profile_fields: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if with_profile_fields:
        body |= {
            "provider_name": info.provider_name,
            "profile_id": info.profile_id,
            "profile_name": info.profile_name,
        }
    body |= {
        "calendar_id": info.calendar_id,
        "calendar_name": info.name,
        "calendar_readonly": info.readonly,
        "calendar_deleted": info.deleted,
        "calendar_primary": info.primary,
        "calendar_integrated_conferencing_available": info.integrated_conferencing_available,
        "calendar_attachments_available": info.attachments_available,
        "permission_level": info.permission_level,
    }
    if info.color:
        body["calendar_color"] = info.color
    return body


def profile(info: ProfileInfo) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider_name": info.provider_name,
        "provider_service": info.provider_service,
        "profile_id": info.profile_id,
        "profile_name": info.profile_name,
        "profile_connected": info.connected,
        "profile_initial_sync_required": info.initial_sync_required,
    }
    if info.relink_url:
        body["profile_relink_url"] = info.relink_url
    return body


def account(info: AccountInfo) -> dict[str, Any]:
    return {
        "account": {
            "account_id": info.account_id,
            "email": info.email,
            "name": info.name,
            "scope": info.scope,
            "default_tzid": info.default_tzid,
        },
        "sub": info.account_id,
    }


def userinfo(info: AccountInfo) -> dict[str, Any]:
    return {
        "sub": info.account_id,
        "email": info.email,
        "name": info.name,
        "zoneinfo": info.default_tzid,
        "cronofy.type": USERINFO_TYPES.get(info.kind, info.kind),
        "cronofy.data": {
            "authorization": {"scope": info.scope, "status": "active"},
            "profiles": [
                profile(p)
                | {"profile_calendars": [calendar(c, with_profile_fields=False) for c in p.calendars]}
                for p in info.profiles
            ],
        },
    }
