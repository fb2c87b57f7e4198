"""Grants and tokens: application calendars, refresh, revocation and access-token checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openslot.services import scopes
from openslot.services.accounts import LinkingProfile, linking_profile, provision_account
from openslot.services.context import Bearer, Caller, Client, ServiceContext
from openslot.services.credentials import new_token, same_digest, token_hash
from openslot.services.errors import Forbidden, OAuthError, Unauthorized, ValidationFailed
from openslot.store import repos
from openslot.store.models import Account, Grant, Token
from openslot.store.statements import Statements
from openslot.store.types import hex_id

APPLICATION_CALENDAR_SCOPE = "read_write"
MAX_APPLICATION_CALENDAR_ID = 255


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str
    sub: str
    account_kind: str
    application_calendar_id: str | None
    linking_profile: LinkingProfile | None


def _issue_access_token(ctx: ServiceContext, session: Session, grant_id: str, now: datetime) -> str:
    token = new_token()
    session.add(
        Token(
            token_hash=token_hash(token),
            grant_id=grant_id,
            kind="access",
            created_at=now,
            expires_at=now + timedelta(seconds=ctx.access_token_ttl),
        )
    )
    return token


def _issue_refresh_token(session: Session, grant_id: str, now: datetime) -> str:
    token = new_token()
    session.add(Token(token_hash=token_hash(token), grant_id=grant_id, kind="refresh", created_at=now))
    return token


def _issued(
    ctx: ServiceContext, session: Session, grant: Grant, account: Account, refresh_token: str, now: datetime
) -> IssuedTokens:
    """A new access token for the grant, returned with the refresh token the caller holds."""
    return IssuedTokens(
        access_token=_issue_access_token(ctx, session, grant.id, now),
        refresh_token=refresh_token,
        expires_in=ctx.access_token_ttl,
        scope=grant.scope,
        sub=account.id,
        account_kind=account.kind,
        application_calendar_id=account.application_calendar_id,
        linking_profile=linking_profile(session, account.id),
    )


def application_calendar(ctx: ServiceContext, client: Client, application_calendar_id: str) -> IssuedTokens:
    """Create (first call) or find the application calendar, and issue it a fresh pair of tokens."""
    if len(application_calendar_id) > MAX_APPLICATION_CALENDAR_ID:
        raise ValidationFailed.single(
            "application_calendar_id",
            "too_long",
            f"application_calendar_id must be at most {MAX_APPLICATION_CALENDAR_ID} characters",
        )
    try:
        return _application_calendar(ctx, client, application_calendar_id)
    except IntegrityError:
        # A concurrent first call created the same application calendar; it exists now.
        return _application_calendar(ctx, client, application_calendar_id)


def _application_calendar(ctx: ServiceContext, client: Client, apc_id: str) -> IssuedTokens:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        account = repos.application_calendar_account(session, client.application_id, apc_id)
        if account is None:
            account = provision_account(
                session,
                now,
                kind="application_calendar",
                prefix="apc",
                application_id=client.application_id,
                application_calendar_id=apc_id,
                calendar_name=apc_id,
            )
            session.flush()
        grants = repos.active_grants(session, client.application_id, account.id)
        if grants:
            grant = grants[0]
        else:
            grant = Grant(
                id=hex_id("gra"),
                application_id=client.application_id,
                account_id=account.id,
                scope=APPLICATION_CALENDAR_SCOPE,
                created_at=now,
            )
            session.add(grant)
            session.flush()
        refresh = _issue_refresh_token(session, grant.id, now)
        return _issued(ctx, session, grant, account, refresh, now)


def open_grant(
    ctx: ServiceContext, session: Session, application_id: str, account: Account, scope: str, now: datetime
) -> tuple[Grant, IssuedTokens]:
    """A new grant of ``scope`` on ``account`` with its first pair of tokens, in the caller's transaction."""
    grant = Grant(
        id=hex_id("gra"),
        application_id=application_id,
        account_id=account.id,
        scope=scope,
        created_at=now,
    )
    session.add(grant)
    session.flush()
    refresh_token = _issue_refresh_token(session, grant.id, now)
    return grant, _issued(ctx, session, grant, account, refresh_token, now)


def grant_access(ctx: ServiceContext, client: Client, account_id: str, scope: str) -> IssuedTokens:
    """A new grant of ``scope`` on an existing account for the client, with its first pair of tokens."""
    if bad := scopes.unknown(scope):
        raise OAuthError("invalid_scope", f"unknown scopes: {' '.join(bad)}")
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise OAuthError("invalid_grant", "no such account")
        return open_grant(ctx, session, client.application_id, account, scope, now)[1]


def refresh(ctx: ServiceContext, client: Client, refresh_token: str | None) -> IssuedTokens:
    """A new access token.

    A confidential client keeps its refresh token (clients may keep the one they have). A public
    client's refresh token is replaced by a new one on every use; presenting a replaced one again means
    two parties hold it, so the whole grant ends (RFC 9700 §4.14.2).
    """
    if not refresh_token:
        raise OAuthError("invalid_request", "refresh_token must be specified")
    digest = token_hash(refresh_token)
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        outcome = _refresh(ctx, session, client, refresh_token, digest, now)
    # Raised after the commit, so that the end of a grant whose token was replayed is kept.
    if isinstance(outcome, OAuthError):
        raise outcome
    return outcome


def _refresh(
    ctx: ServiceContext, session: Session, client: Client, refresh_token: str, digest: str, now: datetime
) -> IssuedTokens | OAuthError:
    invalid = OAuthError("invalid_grant", "the refresh token is not valid")
    found = repos.token_with_grant(session, digest)
    if found is None:
        return invalid
    token, grant = found
    if (
        token.kind != "refresh"
        or not same_digest(token.token_hash, digest)
        or grant.application_id != client.application_id
        or grant.revoked_at is not None
    ):
        return invalid
    if client.public:
        # Concurrent refreshes of one family rotate tokens and may end the grant: taking the grant's
        # row lock first gives them one order, instead of a deadlock between tokens and grant.
        locked = session.get(Grant, grant.id, with_for_update=True, populate_existing=True)
        if locked is None or locked.revoked_at is not None:
            return invalid
    if token.rotated_at is not None or (client.public and not repos.rotate_token(session, digest, now)):
        # Replayed, or replaced by a concurrent refresh a moment ago: either way two parties hold it.
        end_grants(session, [grant.id], now)
        return OAuthError("invalid_grant", "the refresh token was already used; the authorization has ended")
    account = session.get(Account, grant.account_id)
    assert account is not None
    if client.public:
        refresh_token = _issue_refresh_token(session, grant.id, now)
    return _issued(ctx, session, grant, account, refresh_token, now)


def revoke(ctx: ServiceContext, client: Client, token: str | None, sub: str | None) -> None:
    """End a grant, by any of its tokens or by the account's ``sub``; unknown values change nothing."""
    if not token and not sub:
        raise OAuthError("invalid_request", "token or sub must be specified")
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        if token:
            found = repos.token_with_grant(session, token_hash(token))
            grant_ids = (
                [found[1].id]
                if found is not None and found[1].application_id == client.application_id
                else []
            )
        else:
            assert sub is not None
            grant_ids = [g.id for g in repos.active_grants(session, client.application_id, sub)]
        end_grants(session, grant_ids, now)


def end_grants(session: Session, grant_ids: list[str], now: datetime) -> None:
    """Revoke the grants and delete every token issued under them, in the caller's transaction."""
    if not grant_ids:
        return
    session.execute(
        update(Grant).where(Grant.id.in_(grant_ids), Grant.revoked_at.is_(None)).values(revoked_at=now)
    )
    session.execute(delete(Token).where(Token.grant_id.in_(grant_ids)))


def _caller_of_row(ctx: ServiceContext, row: Row[Any] | None, digest: str) -> Caller:
    if (
        row is None
        or row.kind != "access"
        or not same_digest(row.token_hash, digest)
        or row.revoked_at is not None
        or row.expires_at is None
        or row.expires_at <= ctx.clock.now()
    ):
        raise Unauthorized()
    return Caller(
        account_id=row.account_id,
        application_id=row.application_id,
        grant_id=row.grant_id,
        scope=row.scope,
        scopes=scopes.expand(row.scope),
    )


def authenticate_access_token(ctx: ServiceContext, bearer: Bearer) -> Caller:
    """``caller_in`` in a session of its own, for use cases that take a checked ``Caller``."""
    with ctx.db.read() as session:
        return caller_in(session, ctx, bearer)


def _admitted(bearer: Bearer, found: Caller) -> Caller:
    """401 came first; then the limits, then 403 without one of the scopes the use case needs."""
    if bearer.admitted is not None:
        bearer.admitted(found.application_id)
    if bearer.scopes and not found.scopes.intersection(bearer.scopes):
        raise Forbidden(f"this request needs the {' or '.join(bearer.scopes)} scope")
    return found


def caller_in(session: Session, ctx: ServiceContext, bearer: Bearer) -> Caller:
    """The caller of ``bearer``, checked inside the use case's own session."""
    digest = token_hash(bearer.value)
    return _admitted(bearer, _caller_of_row(ctx, repos.access_token_grant(session, digest), digest))


def caller_and_calendar_spans_in(
    session: Session, ctx: ServiceContext, bearer: Bearer
) -> tuple[Caller, dict[str, int]]:
    """As ``caller_in``, with the caller's calendars read in the same round trip: each calendar's id
    and the longest event it has held (``Calendar.max_event_seconds``)."""
    digest = token_hash(bearer.value)
    rows = repos.access_token_grant_and_calendars(session, digest)
    found = _admitted(bearer, _caller_of_row(ctx, rows[0] if rows else None, digest))
    return found, {row.calendar_id: int(row.max_event_seconds) for row in rows if row.calendar_id is not None}


def caller_and_calendar_in(
    statements: Statements, ctx: ServiceContext, bearer: Bearer, calendar_id: str
) -> tuple[Caller, Any]:
    """As ``caller_in`` (on ``Database.single_writes`` statements), with the caller's calendar of that
    id read in the same round trip: see ``caller_and_calendar_of``."""
    digest = token_hash(bearer.value)
    row = repos.access_token_grant_and_calendar(statements, digest, calendar_id)
    return caller_and_calendar_of(ctx, bearer, digest, row)


def caller_and_calendar_of(ctx: ServiceContext, bearer: Bearer, digest: str, row: Any) -> tuple[Caller, Any]:
    """The caller of a row of ``repos.ACCESS_TOKEN_GRANT_AND_CALENDAR`` (or a statement selecting the
    same columns), and its calendar: a row with ``id``, ``readonly``, ``deleted``,
    ``max_event_seconds`` and ``watched`` (whether an open channel watches the account), or None when
    the caller's account has no such calendar."""
    found = _admitted(bearer, _caller_of_row(ctx, row, digest))
    return found, row if row is not None and row.id is not None else None


def application_in(session: Session, ctx: ServiceContext, credentials: Bearer | Client) -> str:
    """The application behind credentials of an endpoint that takes the application's API key or a
    user's access token (reference §1.2): the bearer value is tried as a client secret, then as an
    access token, inside the use case's session."""
    if isinstance(credentials, Client):
        return credentials.application_id
    lookup = ctx.secrets.lookup_hash(credentials.value)
    app = repos.application_id_by_secret_lookup(session, lookup)
    if app is None or not same_digest(app.secret_lookup, lookup):
        return caller_in(session, ctx, credentials).application_id
    if credentials.admitted is not None:
        credentials.admitted(app.id)
    return str(app.id)


def purge_expired_access_tokens(ctx: ServiceContext) -> int:
    """Delete access tokens past their expiry; returns how many."""
    with ctx.db.transaction() as session:
        result = session.execute(
            delete(Token).where(Token.kind == "access", Token.expires_at <= ctx.clock.now())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
