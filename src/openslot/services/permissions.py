"""Extended calendar permissions (``POST /v1/permissions``): a request made with a user access token,
which the account's person approves or refuses on a page.

A request's token is random, stored as its SHA-256, lives ``REQUEST_TTL`` and is used up by the first
decision. Approval sets the requested calendars' ``permission_level``; refusal leaves them as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from openslot.services.applications import validate_redirect_uri
from openslot.services.context import Caller, ServiceContext
from openslot.services.credentials import new_token, token_hash
from openslot.services.errors import NotFound, ValidationFailed
from openslot.store import repos
from openslot.store.models import Application, Calendar, PermissionRequest

REQUEST_TTL = timedelta(hours=1)
LEVELS = ("unrestricted", "sandbox")
MAX_PERMISSIONS = 100

LEVEL_WORDS = {
    "unrestricted": "Full access: change and delete any event in this calendar, not only its own",
    "sandbox": "Limited access: change only the events it created itself",
}


@dataclass(frozen=True)
class RequestedCalendar:
    calendar_id: str
    name: str
    current_level: str
    level: str

    @property
    def description(self) -> str:
        return LEVEL_WORDS.get(self.level, self.level)


@dataclass(frozen=True)
class PendingRequest:
    """A request awaiting its person's decision, as the page shows it."""

    account_id: str
    application_name: str
    calendars: list[RequestedCalendar]
    redirect_uri: str | None


def _invalid(field: str, description: str) -> ValidationFailed:
    return ValidationFailed.single(field, "invalid", description)


def _parse_permissions(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, list) or not value:
        raise ValidationFailed.single("permissions", "required", "permissions must be a non-empty array")
    if len(value) > MAX_PERMISSIONS:
        raise _invalid("permissions", f"at most {MAX_PERMISSIONS} permissions may be requested at once")
    wanted: dict[str, str] = {}
    for item in value:
        if not isinstance(item, dict):
            raise _invalid("permissions", "each permission must be an object")
        calendar_id, level = item.get("calendar_id"), item.get("permission_level")
        if not isinstance(calendar_id, str) or not calendar_id:
            raise ValidationFailed.single("permissions", "required", "calendar_id must be specified")
        if level not in LEVELS:
            raise _invalid("permissions", f"permission_level must be one of: {', '.join(LEVELS)}")
        wanted[calendar_id] = level  # the last one for a calendar wins
    return list(wanted.items())


def _check_redirect_uri(app: Application, redirect_uri: Any) -> str | None:
    if redirect_uri is None or redirect_uri == "":
        return None
    if not isinstance(redirect_uri, str):
        raise _invalid("redirect_uri", "redirect_uri must be a string")
    if problem := validate_redirect_uri(redirect_uri):
        raise _invalid("redirect_uri", f"redirect_uri {problem}")
    # The same rule as the authorization flow: character for character one the application registered.
    if app.redirect_uris and redirect_uri not in app.redirect_uris:
        raise _invalid("redirect_uri", "redirect_uri is not one this application registered")
    return redirect_uri


def request_permissions(ctx: ServiceContext, caller: Caller, permissions: Any, redirect_uri: Any) -> str:
    """Record the request and return its token (for the page's URL). Calendars that are not the
    caller's are ``NotFound``, as everywhere else."""
    wanted = _parse_permissions(permissions)
    now = ctx.clock.now()
    token = new_token()
    with ctx.db.transaction() as session:
        app = session.get(Application, caller.application_id)
        if app is None:
            raise NotFound("application not found")
        checked_uri = _check_redirect_uri(app, redirect_uri)
        owned = {c.id for c in repos.calendars_of(session, caller.account_id) if not c.deleted}
        if any(calendar_id not in owned for calendar_id, _ in wanted):
            raise NotFound("calendar not found")
        session.add(
            PermissionRequest(
                token_hash=token_hash(token),
                application_id=app.id,
                account_id=caller.account_id,
                permissions=[{"calendar_id": c, "permission_level": level} for c, level in wanted],
                redirect_uri=checked_uri,
                created_at=now,
                expires_at=now + REQUEST_TTL,
            )
        )
    return token


def _live(session: Session, token: str | None, ctx: ServiceContext) -> PermissionRequest | None:
    if not token or len(token) > 200:
        return None
    row = session.get(PermissionRequest, token_hash(token))
    if row is None or row.used_at is not None or row.expires_at <= ctx.clock.now():
        return None
    return row


def pending(ctx: ServiceContext, token: str | None) -> PendingRequest | None:
    """The request behind ``token``, unless it is unknown, used or expired."""
    with ctx.db.read() as session:
        row = _live(session, token, ctx)
        if row is None:
            return None
        app = session.get(Application, row.application_id)
        calendars = {c.id: c for c in repos.calendars_of(session, row.account_id)}
        requested = [
            RequestedCalendar(
                calendar_id=item["calendar_id"],
                name=calendars[item["calendar_id"]].name,
                current_level=calendars[item["calendar_id"]].permission_level,
                level=item["permission_level"],
            )
            for item in row.permissions
            if item["calendar_id"] in calendars
        ]
        return PendingRequest(
            account_id=row.account_id,
            application_name=app.name if app is not None else "An application",
            calendars=requested,
            redirect_uri=row.redirect_uri,
        )


def decide(ctx: ServiceContext, token: str | None, account_id: str, allow: bool) -> str | None:
    """Use the request up and, when ``allow``, apply it; returns its ``redirect_uri`` (or None).

    ``NotFound`` when the request is unknown, used, expired or was made for another account.
    """
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        row = _live(session, token, ctx)
        if row is None or row.account_id != account_id:
            raise NotFound("permission request not found")
        claimed = session.execute(
            update(PermissionRequest)
            .where(PermissionRequest.token_hash == row.token_hash, PermissionRequest.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            raise NotFound("permission request not found")
        if allow:
            for item in row.permissions:
                session.execute(
                    update(Calendar)
                    .where(Calendar.id == item["calendar_id"], Calendar.account_id == account_id)
                    .values(permission_level=item["permission_level"])
                    .execution_options(synchronize_session=False)
                )
        return row.redirect_uri
