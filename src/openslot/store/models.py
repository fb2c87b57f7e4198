"""ORM tables. One history of migrations serves SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from openslot.store.types import UTCDateTime


class Base(DeclarativeBase):
    pass


class Application(Base):
    """An OAuth client. Its secret is kept encrypted (it signs webhooks) plus a keyed hash for look-up."""

    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_lookup: Mapped[str] = mapped_column(String(64), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    allowed_scopes: Mapped[str] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # A public client (a browser or mobile app) cannot keep a secret: its secret above is random and
    # never shown, it authenticates with its client_id alone, must use PKCE and gets rotating
    # refresh tokens.
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Account(Base):
    """A person's account (``acc_``) or an application calendar's account (``apc_``)."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("application_id", "application_calendar_id", name="uq_accounts_apc"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    default_tzid: Mapped[str] = mapped_column(String(64))
    application_id: Mapped[str | None] = mapped_column(ForeignKey("applications.id"))
    application_calendar_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Profile(Base):
    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    provider_name: Mapped[str] = mapped_column(String(32))
    provider_service: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(320))
    connected: Mapped[bool] = mapped_column(Boolean, default=True)
    initial_sync_required: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Calendar(Base):
    __tablename__ = "calendars"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id"), index=True)
    name: Mapped[str] = mapped_column(String(1024))
    color: Mapped[str | None] = mapped_column(String(7))
    readonly: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    primary: Mapped[bool] = mapped_column(Boolean, default=False)
    permission_level: Mapped[str] = mapped_column(String(32), default="sandbox")
    integrated_conferencing_available: Mapped[bool] = mapped_column(Boolean, default=False)
    attachments_available: Mapped[bool] = mapped_column(Boolean, default=False)
    # The longest event ever stored here bounds how far before a window an overlapping event can start,
    # so window reads scan an index range instead of every earlier event.
    max_event_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Grant(Base):
    """One authorization of an application by an account; revoking it ends all of its tokens."""

    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_app_account", "application_id", "account_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Token(Base):
    """An access or refresh token, stored only as the SHA-256 of its value.

    The grant is the token family: a public client's refresh token is replaced on every use and the
    used one is kept with ``rotated_at`` set, so presenting it again is recognised as reuse and ends
    the grant.
    """

    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuthorizationCode(Base):
    """A code of the authorization code flow, stored only as the SHA-256 of its value.

    Single use: ``used_at`` is set by the first exchange, and ``grant_id`` names the grant that exchange
    opened, so a second use can end it (RFC 6749 §4.1.2).
    """

    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grant_id: Mapped[str | None] = mapped_column(ForeignKey("grants.id"))


class PermissionRequest(Base):
    """A request for extended calendar permissions (``POST /v1/permissions``), stored only as the
    SHA-256 of its token; the person approves or refuses it on a page, once, before ``expires_at``."""

    __tablename__ = "permission_requests"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    # ``[{"calendar_id": ..., "permission_level": ...}]``
    permissions: Mapped[list[dict]] = mapped_column(JSON)
    redirect_uri: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Person(Base):
    """How a person signs in to their account on Openslot's pages: an email and an Argon2id hash.

    ``email_key`` is the address folded to lower case, unique, so that addresses differing only in
    case name the same person.
    """

    __tablename__ = "people"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BrowserSession(Base):
    """A signed-in browser, stored only as the SHA-256 of its cookie value."""

    __tablename__ = "browser_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SignInFailure(Base):
    """One failed sign-in, counted under a hashed key (the email, the address, or both together)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key", "key_hash", "failed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Events that block time: ``store.events.busy_events`` selects with the same terms.
BUSY_EVENT_CONDITION = "deleted = false AND transparency <> 'transparent' AND status <> 'cancelled'"


class Event(Base):
    """A calendar event. Managed events carry the ``event_id`` of the application that manages them.

    Instants are UTC. An all-day event keeps its dates as UTC midnights in ``start_at``/``end_at`` with
    ``all_day`` set: its real instants depend on the zone it is read in.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("calendar_id", "application_id", "event_id", name="uq_events_managed"),
        Index("ix_events_calendar_start", "calendar_id", "start_at"),
        Index("ix_events_account_updated", "account_id", "updated_at"),
        # Busy time for availability: only blocking events, and on PostgreSQL everything the read needs,
        # so that it is an index-only scan rather than a visit to every event's row.
        Index(
            "ix_events_busy",
            "calendar_id",
            "start_at",
            postgresql_include=["end_at", "all_day", "application_id"],
            postgresql_where=text(BUSY_EVENT_CONDITION),
            sqlite_where=text(BUSY_EVENT_CONDITION),
        ),
    )

    uid: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    calendar_id: Mapped[str] = mapped_column(ForeignKey("calendars.id"))
    application_id: Mapped[str | None] = mapped_column(ForeignKey("applications.id"))
    event_id: Mapped[str | None] = mapped_column(String(256))
    summary: Mapped[str] = mapped_column(String(1024))
    description: Mapped[str] = mapped_column(Text)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    all_day: Mapped[bool] = mapped_column(Boolean)
    start_tzid: Mapped[str] = mapped_column(String(64))
    end_tzid: Mapped[str] = mapped_column(String(64))
    transparency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict] = mapped_column(JSON)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AvailabilityRule(Base):
    __tablename__ = "availability_rules"
    __table_args__ = (UniqueConstraint("account_id", "rule_id", name="uq_availability_rules_account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    rule_id: Mapped[str] = mapped_column(String(64))
    tzid: Mapped[str] = mapped_column(String(64))
    calendar_ids: Mapped[list[str] | None] = mapped_column(JSON)
    weekly_periods: Mapped[list[dict]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AvailablePeriod(Base):
    __tablename__ = "available_periods"
    __table_args__ = (
        UniqueConstraint("account_id", "period_id", name="uq_available_periods_account"),
        Index("ix_available_periods_account_start", "account_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    period_id: Mapped[str] = mapped_column(String(64))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    start_tzid: Mapped[str] = mapped_column(String(64))
    end_tzid: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventMove(Base):
    """Where an event used to be, so reads with ``include_moved`` find events moved out of a window."""

    __tablename__ = "event_moves"
    __table_args__ = (Index("ix_event_moves_uid", "event_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_uid: Mapped[str] = mapped_column(ForeignKey("events.uid", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    all_day: Mapped[bool] = mapped_column(Boolean)
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Channel(Base):
    """A push notification channel: where to POST, and which changes to report."""

    __tablename__ = "channels"
    __table_args__ = (Index("ix_channels_account", "account_id", "closed_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    callback_url: Mapped[str] = mapped_column(String(2048))
    only_managed: Mapped[bool] = mapped_column(Boolean, default=False)
    calendar_ids: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(200))


class NotificationJob(Base):
    """The outbox: a notification to deliver, written in the transaction of the change it reports.

    At most one ``pending`` change job exists per channel (a partial unique index): later changes
    are already covered by its ``changes_since``. A job being delivered is ``delivering`` with a
    lease; one whose lease ran out is taken again.
    """

    __tablename__ = "notification_jobs"
    __table_args__ = (
        Index("ix_notification_jobs_due", "state", "due_at"),
        Index(
            "uq_notification_jobs_pending_change",
            "channel_id",
            unique=True,
            sqlite_where=text("state = 'pending' AND kind = 'change'"),
            postgresql_where=text("state = 'pending' AND kind = 'change'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    changes_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    webhook_id: Mapped[str] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # ``host:pid:nonce`` of the worker holding the lease, so a restarted worker can tell a lease of
    # a dead process on its host from one of a live worker.
    locked_by: Mapped[str | None] = mapped_column(String(200))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One delivery attempt. Never holds anything the receiver sent back but its status code."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_channel", "channel_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("notification_jobs.id"), index=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(500))
