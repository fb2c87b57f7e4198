"""ORM tables. One history of migrations serves SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
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
    """An access or refresh token, stored only as the SHA-256 of its value."""

    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
