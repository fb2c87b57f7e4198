"""What every use case is given: the database, the secret box, the clock and a few limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from argon2 import PasswordHasher

from openslot.integrations.callbacks import CallbackGuard
from openslot.integrations.clock import Clock
from openslot.services.credentials import SecretBox
from openslot.store.uow import Database


@dataclass(frozen=True)
class ServiceContext:
    db: Database
    secrets: SecretBox
    clock: Clock
    access_token_ttl: int = 3600
    authorization_code_ttl: int = 60
    session_ttl: int = 12 * 3600
    # Argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile: 64 MiB, 3 passes).
    password_hasher: PasswordHasher = field(default_factory=PasswordHasher)
    callbacks: CallbackGuard = field(default_factory=CallbackGuard)
    webhook_failure_horizon: int = 120 * 3600


@dataclass(frozen=True)
class Caller:
    """An authenticated user access token: whose account, through which application, with what scope."""

    account_id: str
    application_id: str
    grant_id: str
    scope: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class Bearer:
    """A bearer value as presented, not yet checked.

    The hot use cases check it inside their own transaction, so a request costs one connection
    and one trip to a worker thread rather than two of each.
    """

    value: str
    # At least one of these scopes is needed; none named, any token will do.
    scopes: tuple[str, ...] = ()
    # Told the application of a valid token before any work is done (request limits).
    admitted: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Client:
    """An authenticated application."""

    application_id: str
    client_id: str
    name: str
    public: bool = False
