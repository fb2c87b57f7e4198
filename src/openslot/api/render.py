"""Use-case results → Cronofy JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from openslot.engine import times
from openslot.engine.availability import Available
from openslot.services.accounts import AccountInfo, LinkingProfile, ProfileInfo
from openslot.services.authorization import IssuedTokens
from openslot.services.availability import AvailabilityResult, SequencedResult
from openslot.services.availability_rules import RuleView
from openslot.services.available_periods import PeriodPage
from openslot.services.calendars import CalendarInfo
from openslot.services.event_reads import EventView, FreeBusyView, Page

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


def moment(value: datetime | date, tzid: str, localized: bool) -> str | dict[str, str]:
    """A Time, or a Date for all-day values; as ``{time, tzid}`` with the local offset when localized."""
    if isinstance(value, datetime):
        text = times.format_localized(value, tzid) if localized else times.format_instant(value)
    else:
        text = times.format_date(value)
    return {"time": text, "tzid": tzid} if localized else text


def pages(current: int, total: int, next_url: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"current": current, "total": total}
    if next_url:
        body["next_page"] = next_url
    return body


def event(view: EventView, *, localized: bool, include_geo: bool) -> dict[str, Any]:
    details = view.details
    managed = view.event_id is not None
    body: dict[str, Any] = {"calendar_id": view.calendar_id, "event_uid": view.uid}
    if managed:
        body["event_id"] = view.event_id
    body |= {
        "summary": view.summary,
        "description": view.description,
        "start": moment(view.start, view.start_tzid, localized),
        "end": moment(view.end, view.end_tzid, localized),
        "deleted": view.deleted,
        "created": times.format_instant(view.created),
        "updated": times.format_instant(view.updated),
    }
    location = details.get("location")
    if location:
        shown = {"description": location["description"]} if "description" in location else {}
        if include_geo:
            shown |= {k: str(location[k]) for k in ("lat", "long") if k in location}
        if shown:
            body["location"] = shown
    body |= {
        "participation_status": "accepted",
        "attendees": [
            {"email": a["email"], "display_name": a.get("display_name"), "status": "needs_action"}
            for a in details.get("attendees", [])
        ],
        "transparency": view.transparency,
        "status": view.status,
        "categories": [],
        "recurring": False,
        "event_private": bool(details.get("event_private", False)),
        "options": {"delete": managed, "update": managed, "change_participation_status": False},
    }
    for key in ("url", "color", "extended_transparency"):
        if key in details:
            body[key] = details[key]
    if "reminders" in details:
        body["reminders"] = details["reminders"]
    conferencing = details.get("conferencing")
    if conferencing and conferencing.get("join_url"):
        body["meeting_url"] = conferencing["join_url"]
        body["conferencing"] = {
            "provider_name": conferencing.get("provider_description", "explicit"),
            "join_url": conferencing["join_url"],
        }
    return body


def events_page(page: Page[EventView], next_url: str | None) -> dict[str, Any]:
    return {
        "pages": pages(page.current, page.total, next_url),
        "events": [
            event(v, localized=page.localized_times, include_geo=page.include_geo) for v in page.items
        ],
    }


def free_busy_page(page: Page[FreeBusyView], next_url: str | None) -> dict[str, Any]:
    return {
        "pages": pages(page.current, page.total, next_url),
        "free_busy": [
            {
                "calendar_id": block.calendar_id,
                "start": moment(block.start, block.start_tzid, page.localized_times),
                "end": moment(block.end, block.end_tzid, page.localized_times),
                "free_busy_status": block.status,
            }
            for block in page.items
        ],
    }


def availability_rule(rule: RuleView) -> dict[str, Any]:
    body: dict[str, Any] = {"availability_rule_id": rule.availability_rule_id, "tzid": rule.tzid}
    if rule.calendar_ids is not None:
        body["calendar_ids"] = rule.calendar_ids
    body["weekly_periods"] = rule.weekly_periods
    return body


def available_periods_page(page: PeriodPage, next_url: str | None) -> dict[str, Any]:
    return {
        "pages": pages(page.current, page.total, next_url),
        "available_periods": [
            {
                "available_period_id": period.available_period_id,
                "start": moment(period.start, period.start_tzid, page.localized_times),
                "end": moment(period.end, period.end_tzid, page.localized_times),
            }
            for period in page.items
        ],
    }


def available(item: Available) -> dict[str, Any]:
    return {
        "start": times.format_instant(datetime.fromtimestamp(item.start, UTC)),
        "end": times.format_instant(datetime.fromtimestamp(item.end, UTC)),
        "participants": [{"sub": sub} for sub in item.subs],
    }


def availability(result: AvailabilityResult) -> dict[str, Any]:
    key = "available_periods" if result.response_format == "periods" else "available_slots"
    body: dict[str, Any] = {key: [available(item) for item in result.items]}
    if result.member_statuses is not None:
        body["member_statuses"] = [{"sub": sub, "sync_status": "active"} for sub in result.member_statuses]
    return body


def sequences(result: SequencedResult) -> dict[str, Any]:
    return {
        "sequences": [
            {"sequence": [{"sequence_id": sequence_id} | available(item) for sequence_id, item in sequence]}
            for sequence in result.sequences
        ]
    }
