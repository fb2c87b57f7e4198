"""Queries shared by the use cases. Each takes the session of the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, exists, select, update
from sqlalchemy.orm import Session

from openslot.store.models import Account, Application, Calendar, Channel, Grant, Profile, Token
from openslot.store.statements import Statement, Statements


def application_by_client_id(session: Session, client_id: str) -> Application | None:
    return session.scalar(select(Application).where(Application.client_id == client_id))


APPLICATION_ID_BY_SECRET = select(Application.id, Application.secret_lookup).where(
    Application.secret_lookup == bindparam("lookup")
)


def application_id_by_secret_lookup(session: Session, lookup: str) -> Row[Any] | None:
    """The id (and stored lookup hash) of the application whose client secret has this lookup hash."""
    return session.connection().execute(APPLICATION_ID_BY_SECRET, {"lookup": lookup}).first()


def applications(session: Session) -> list[Application]:
    return list(session.scalars(select(Application).order_by(Application.created_at, Application.id)))


def demo_application(session: Session) -> Application | None:
    return session.scalar(select(Application).where(Application.is_demo.is_(True)))


def application_calendar_account(session: Session, application_id: str, apc_id: str) -> Account | None:
    return session.scalar(
        select(Account).where(
            Account.application_id == application_id, Account.application_calendar_id == apc_id
        )
    )


def token_with_grant(session: Session, digest: str) -> tuple[Token, Grant] | None:
    row = session.execute(
        select(Token, Grant).join(Grant, Grant.id == Token.grant_id).where(Token.token_hash == digest)
    ).first()
    return (row[0], row[1]) if row else None


def rotate_token(session: Session, digest: str, now: datetime) -> bool:
    """Mark a refresh token replaced; False when another transaction already did."""
    result = session.execute(
        update(Token).where(Token.token_hash == digest, Token.rotated_at.is_(None)).values(rotated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


ACCESS_TOKEN_GRANT = (
    select(
        Token.token_hash,
        Token.kind,
        Token.expires_at,
        Grant.id.label("grant_id"),
        Grant.account_id,
        Grant.application_id,
        Grant.scope,
        Grant.revoked_at,
    )
    .join(Grant, Grant.id == Token.grant_id)
    .where(Token.token_hash == bindparam("digest"))
)


def watched(account_id: Any) -> Any:
    """Whether an open channel watches the account: whether a change there must be reported."""
    return exists().where(Channel.account_id == account_id, Channel.closed_at.is_(None)).label("watched")


# The same, with the grant's account's calendar of a given id (its columns NULL when there is none)
# and whether any open channel watches that account: what an event write checks, in one round trip.
ACCESS_TOKEN_GRANT_AND_CALENDAR = Statement(
    ACCESS_TOKEN_GRANT.add_columns(
        Calendar.id,
        Calendar.readonly,
        Calendar.deleted,
        Calendar.max_event_seconds,
        watched(Grant.account_id),
    ).outerjoin(
        Calendar, and_(Calendar.id == bindparam("calendar_id"), Calendar.account_id == Grant.account_id)
    )
)

# The same, once per calendar of the grant's account (its columns NULL when it has none): what a read
# of events or free/busy checks, in one round trip.
ACCESS_TOKEN_GRANT_AND_CALENDARS = ACCESS_TOKEN_GRANT.add_columns(
    Calendar.id.label("calendar_id"), Calendar.max_event_seconds
).outerjoin(Calendar, Calendar.account_id == Grant.account_id)


def access_token_grant(session: Session, digest: str) -> Row[Any] | None:
    """What a bearer check needs of an access token and its grant, in one narrow constant query."""
    return session.connection().execute(ACCESS_TOKEN_GRANT, {"digest": digest}).first()


def access_token_grant_and_calendars(session: Session, digest: str) -> list[Row[Any]]:
    return list(session.connection().execute(ACCESS_TOKEN_GRANT_AND_CALENDARS, {"digest": digest}))


def access_token_grant_and_calendar(statements: Statements, digest: str, calendar_id: str) -> Any:
    return statements.first(ACCESS_TOKEN_GRANT_AND_CALENDAR, {"digest": digest, "calendar_id": calendar_id})


def active_grants(session: Session, application_id: str, account_id: str) -> list[Grant]:
    return list(
        session.scalars(
            select(Grant)
            .where(
                Grant.application_id == application_id,
                Grant.account_id == account_id,
                Grant.revoked_at.is_(None),
            )
            .order_by(Grant.created_at)
        )
    )


def profiles_of(session: Session, account_id: str) -> list[Profile]:
    return list(
        session.scalars(
            select(Profile).where(Profile.account_id == account_id).order_by(Profile.created_at, Profile.id)
        )
    )


def calendars_of(session: Session, account_id: str) -> list[Calendar]:
    return list(
        session.scalars(
            select(Calendar)
            .where(Calendar.account_id == account_id)
            .order_by(Calendar.primary.desc(), Calendar.created_at, Calendar.name, Calendar.id)
        )
    )
