"""People: sign-up and sign-in on Openslot's pages, browser sessions, and accounts made by operators.

Passwords are kept as Argon2id hashes. Failed sign-ins are counted in the database (so every process
sees them) under three keys: the email address together with the client's address, the email address
alone, and the client's address alone; past a limit in the window, sign-in is refused for a while
whatever the password. A wrong password and an unknown address fail alike, in message and in time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openslot.services.accounts import provision_account
from openslot.services.context import ServiceContext
from openslot.services.credentials import new_token, token_hash
from openslot.services.errors import RateLimited, SignInFailed, ValidationFailed
from openslot.store.models import Account, BrowserSession, Person, SignInFailure

MAX_EMAIL = 320
MAX_NAME = 200
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
DEFAULT_CALENDAR_NAME = "Calendar"
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

FAILURE_WINDOW = timedelta(minutes=15)
# Failed sign-ins allowed in the window, per key. The email-and-address pair is the tight one: it stops
# guessing from one place without letting a stranger lock a person out from everywhere; the looser
# email and address limits stop guessing spread over many places, or over many accounts.
FAILURE_LIMITS = {"pair": 5, "email": 20, "address": 50}


@dataclass(frozen=True)
class PersonInfo:
    account_id: str
    email: str
    name: str | None


@dataclass(frozen=True)
class SignedIn:
    """A new browser session; ``session_token`` goes into the session cookie and nowhere else."""

    session_token: str
    person: PersonInfo
    expires_in: int


def email_key(email: str) -> str:
    """Addresses that differ only in case are one person."""
    return email.strip().lower()


def _email_problem(email: str) -> str | None:
    email = email.strip()
    if not email:
        return "Enter your email address."
    if len(email) > MAX_EMAIL or not EMAIL_PATTERN.match(email):
        return "Enter a valid email address, such as name@example.com."
    return None


def _password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"Choose a password of at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Choose a password of at most {MAX_PASSWORD} characters."
    return None


def create_account(ctx: ServiceContext, email: str, password: str, name: str | None = None) -> PersonInfo:
    """A person's account: a ``cronofy`` profile with a primary calendar, and a password to sign in."""
    errors: dict[str, list[tuple[str, str]]] = {}
    if problem := _email_problem(email):
        errors["email"] = [("errors.invalid", problem)]
    if problem := _password_problem(password):
        errors["password"] = [("errors.invalid", problem)]
    name = (name or "").strip() or None
    if name is not None and len(name) > MAX_NAME:
        errors["name"] = [("errors.too_long", f"Use a name of at most {MAX_NAME} characters.")]
    if errors:
        raise ValidationFailed(errors)
    email = email.strip()
    password_hash = ctx.password_hasher.hash(password)  # slow on purpose: outside the transaction
    taken = ValidationFailed.single(
        "email", "taken", "An account with this email address already exists. Sign in instead."
    )
    now = ctx.clock.now()
    try:
        with ctx.db.transaction() as session:
            if _person_by_key(session, email_key(email)) is not None:
                raise taken
            account = provision_account(
                session,
                now,
                kind="account",
                prefix="acc",
                calendar_name=DEFAULT_CALENDAR_NAME,
                email=email,
                name=name,
            )
            session.flush()
            session.add(
                Person(
                    account_id=account.id,
                    email_key=email_key(email),
                    password_hash=password_hash,
                    created_at=now,
                    password_changed_at=now,
                )
            )
            session.flush()
            return PersonInfo(account_id=account.id, email=email, name=name)
    except IntegrityError as exc:  # the same address signed up a moment ago
        raise taken from exc


def sign_up(
    ctx: ServiceContext, email: str, password: str, name: str | None, address: str | None
) -> SignedIn:
    """Create the account and sign its person in. Attempts on a taken address count as failures."""
    _refuse_if_limited(ctx, email_key(email), address)
    try:
        person = create_account(ctx, email, password, name)
    except ValidationFailed as exc:
        if "email" in exc.errors and exc.errors["email"][0][0] == "errors.taken":
            _record_failure(ctx, email_key(email), address)
        raise
    return _open_session(ctx, person)


def sign_in(ctx: ServiceContext, email: str, password: str, address: str | None) -> SignedIn:
    """A new session for the person with this email and password.

    Raises ``SignInFailed`` for an unknown address and a wrong password alike (after the same
    Argon2 work), and ``RateLimited`` past the failure limits.
    """
    key = email_key(email)
    _refuse_if_limited(ctx, key, address)
    with ctx.db.read() as session:
        found = _person_by_key(session, key) if key else None
        if found is not None:
            person_row, account = found
            stored_hash = person_row.password_hash
            person = PersonInfo(account_id=account.id, email=account.email or email, name=account.name)
    if found is None or len(password) > MAX_PASSWORD:
        _verify(ctx.password_hasher, _dummy_hash(ctx.password_hasher), password[:MAX_PASSWORD])
        _record_failure(ctx, key, address)
        raise SignInFailed()
    if not _verify(ctx.password_hasher, stored_hash, password):
        _record_failure(ctx, key, address)
        raise SignInFailed()
    if ctx.password_hasher.check_needs_rehash(stored_hash):
        _rehash(ctx, person.account_id, password)
    _forget_failures(ctx, key, address)
    return _open_session(ctx, person)


def session_person(ctx: ServiceContext, session_token: str | None) -> PersonInfo | None:
    """The person signed in with this session cookie, or None."""
    if not session_token:
        return None
    with ctx.db.read() as session:
        row = session.execute(
            select(BrowserSession.expires_at, Account.id, Account.email, Account.name)
            .join(Account, Account.id == BrowserSession.account_id)
            .where(BrowserSession.token_hash == token_hash(session_token))
        ).first()
    if row is None or row.expires_at <= ctx.clock.now():
        return None
    return PersonInfo(account_id=row.id, email=row.email or "", name=row.name)


def sign_out(ctx: ServiceContext, session_token: str | None) -> None:
    if not session_token:
        return
    with ctx.db.transaction() as session:
        session.execute(delete(BrowserSession).where(BrowserSession.token_hash == token_hash(session_token)))


def purge_expired(ctx: ServiceContext) -> int:
    """Forget expired sessions and failures older than the window; returns how many rows went."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        sessions = session.execute(delete(BrowserSession).where(BrowserSession.expires_at <= now))
        failures = session.execute(
            delete(SignInFailure).where(SignInFailure.failed_at <= now - FAILURE_WINDOW)
        )
        return int(sessions.rowcount or 0) + int(failures.rowcount or 0)  # type: ignore[attr-defined]


def _person_by_key(session: Session, key: str) -> tuple[Person, Account] | None:
    row = session.execute(
        select(Person, Account).join(Account, Account.id == Person.account_id).where(Person.email_key == key)
    ).first()
    return (row[0], row[1]) if row else None


def _verify(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with the hasher's parameters, verified when the address is unknown to spend the same time."""
    return hasher.hash(new_token())


def _rehash(ctx: ServiceContext, account_id: str, password: str) -> None:
    new_hash = ctx.password_hasher.hash(password)
    with ctx.db.transaction() as session:
        person = session.get(Person, account_id)
        if person is not None:
            person.password_hash = new_hash


def _open_session(ctx: ServiceContext, person: PersonInfo) -> SignedIn:
    token = new_token()
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        session.add(
            BrowserSession(
                token_hash=token_hash(token),
                account_id=person.account_id,
                created_at=now,
                expires_at=now + timedelta(seconds=ctx.session_ttl),
            )
        )
    return SignedIn(session_token=token, person=person, expires_in=ctx.session_ttl)


def _failure_keys(key: str, address: str | None) -> dict[str, str]:
    where = address or "unknown"
    return {
        "pair": token_hash(f"sign-in pair:{key}|{where}"),
        "email": token_hash(f"sign-in email:{key}"),
        "address": token_hash(f"sign-in address:{where}"),
    }


def _refuse_if_limited(ctx: ServiceContext, key: str, address: str | None) -> None:
    now = ctx.clock.now()
    wait = 0.0
    with ctx.db.read() as session:
        for kind, hashed in _failure_keys(key, address).items():
            limit = FAILURE_LIMITS[kind]
            recent = list(
                session.scalars(
                    select(SignInFailure.failed_at)
                    .where(SignInFailure.key_hash == hashed, SignInFailure.failed_at > now - FAILURE_WINDOW)
                    .order_by(SignInFailure.failed_at.desc())
                    .limit(limit)
                )
            )
            if len(recent) >= limit:
                wait = max(wait, (recent[-1] + FAILURE_WINDOW - now).total_seconds())
    if wait > 0:
        minutes = max(1, round(wait / 60))
        raise RateLimited(
            int(wait) + 1,
            f"Too many attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
        )


def _record_failure(ctx: ServiceContext, key: str, address: str | None) -> None:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        session.add_all(
            SignInFailure(key_hash=hashed, failed_at=now) for hashed in _failure_keys(key, address).values()
        )


def _forget_failures(ctx: ServiceContext, key: str, address: str | None) -> None:
    with ctx.db.transaction() as session:
        session.execute(
            delete(SignInFailure).where(SignInFailure.key_hash == _failure_keys(key, address)["pair"])
        )
