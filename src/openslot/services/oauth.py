"""The authorization code flow (RFC 6749 §4.1 with PKCE, RFC 7636): requests, codes and their exchange.

A request is trusted only once its ``client_id`` names a registered application and its
``redirect_uri`` equals, character for character, one the application registered; until then every
problem is shown to the person (``AuthorizationRefused``) and the browser is never sent anywhere.
After that, problems go back to the application as ``error`` with the request's ``state``
(``AuthorizationError``).

Codes are random, stored as their SHA-256, live ``ctx.authorization_code_ttl`` seconds (60 by
default) and are bound to the application, the redirect URI and the PKCE challenge. The first
exchange uses a code up, right or wrong; a second one is refused and ends the grant the first one
opened, with all of its tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from openslot.services import applications, scopes
from openslot.services.authorization import IssuedTokens, end_grants, open_grant
from openslot.services.context import Client, ServiceContext
from openslot.services.credentials import new_token, token_hash
from openslot.services.errors import AuthorizationError, AuthorizationRefused, OAuthError
from openslot.store.models import Account, AuthorizationCode

RESPONSE_TYPE = "code"
PKCE_METHOD = "S256"
# An S256 challenge is the unpadded base64url SHA-256 of the verifier: always 43 characters.
CHALLENGE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
VERIFIER_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
REQUEST_PARAMETERS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked authorization request: whom to ask, for what, and where to send the answer."""

    application_id: str
    client_id: str
    application_name: str
    public_client: bool
    redirect_uri: str
    requested_scope: str
    scope: str  # what will be granted: the requested scopes the application may have
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None

    @property
    def descriptions(self) -> list[str]:
        return scopes.describe(self.scope)

    @property
    def parameters(self) -> list[tuple[str, str]]:
        """The request's parameters as sent, to carry through the consent form and be checked again."""
        values = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": RESPONSE_TYPE,
            "scope": self.requested_scope,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
        }
        return [(name, value) for name, value in values.items() if value is not None]


def check_request(ctx: ServiceContext, pairs: Sequence[tuple[str, str]]) -> AuthorizationRequest:
    """Check the parameters of ``/oauth/authorize``; raises ``AuthorizationRefused`` or
    ``AuthorizationError``. Parameters other than the ones of RFC 6749 and 7636 are ignored."""
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if name in REQUEST_PARAMETERS:
            values.setdefault(name, []).append(value)

    client_ids = values.get("client_id", [])
    if len(client_ids) != 1 or not client_ids[0]:
        raise AuthorizationRefused(
            "The request names no application." if not client_ids else "The request is malformed."
        )
    app = applications.find_application(ctx, client_ids[0])
    if app is None:
        raise AuthorizationRefused("The application asking for access is not known to this server.")
    redirect_uris = values.get("redirect_uri", [])
    if len(redirect_uris) != 1 or not redirect_uris[0]:
        raise AuthorizationRefused("The request does not say where to send the answer (redirect_uri).")
    redirect_uri = redirect_uris[0]
    # RFC 6749 §3.1.2.3 and RFC 9700 §2.1: simple string comparison, nothing normalised.
    if redirect_uri not in app.redirect_uris:
        raise AuthorizationRefused(
            "The address to send the answer to is not one this application registered."
        )

    states = values.get("state", [])
    state = states[0] if len(states) == 1 else None

    def fail(error: str, description: str) -> AuthorizationError:
        return AuthorizationError(error, description, redirect_uri, state)

    if repeated := sorted(name for name, given in values.items() if len(given) > 1):
        raise fail("invalid_request", f"parameters given more than once: {' '.join(repeated)}")
    response_type = _single(values, "response_type")
    if not response_type:
        raise fail("invalid_request", "response_type must be specified")
    if response_type != RESPONSE_TYPE:
        raise fail("unsupported_response_type", "response_type must be code")

    requested = " ".join((_single(values, "scope") or "").split())
    if not requested:
        raise fail("invalid_scope", "scope must be specified")
    if bad := scopes.unknown(requested):
        raise fail("invalid_scope", f"unknown scopes: {' '.join(bad)}")
    granted = scopes.narrow(requested, app.allowed_scopes)
    if not granted:
        raise fail("invalid_scope", "none of the requested scopes is allowed for this application")

    challenge = _single(values, "code_challenge")
    method = _single(values, "code_challenge_method")
    if method is not None and challenge is None:
        raise fail("invalid_request", "code_challenge_method was given without code_challenge")
    if challenge is not None:
        if method != PKCE_METHOD:
            raise fail("invalid_request", "code_challenge_method must be S256 (plain is not supported)")
        if not CHALLENGE_PATTERN.match(challenge):
            raise fail("invalid_request", "code_challenge must be 43 base64url characters")
    elif app.public:
        raise fail("invalid_request", "this application must use PKCE: send code_challenge with S256")

    return AuthorizationRequest(
        application_id=app.application_id,
        client_id=app.client_id,
        application_name=app.name,
        public_client=app.public,
        redirect_uri=redirect_uri,
        requested_scope=requested,
        scope=granted,
        state=state,
        code_challenge=challenge,
        code_challenge_method=method,
    )


def _single(values: dict[str, list[str]], name: str) -> str | None:
    given = values.get(name)
    return given[0] if given else None


def redirect_location(redirect_uri: str, params: Sequence[tuple[str, str]]) -> str:
    """``redirect_uri`` with the answer added to its query; every value is percent-encoded, so the
    client decodes exactly the string we were given (``state`` in particular)."""
    query = urlencode(list(params), quote_via=quote, safe="")
    if "?" not in redirect_uri:
        return f"{redirect_uri}?{query}"
    return f"{redirect_uri}{'' if redirect_uri.endswith(('?', '&')) else '&'}{query}"


def _with_state(params: list[tuple[str, str]], state: str | None) -> list[tuple[str, str]]:
    return params + ([("state", state)] if state is not None else [])


def error_location(error: AuthorizationError) -> str:
    params = [("error", error.error), ("error_description", error.description)]
    return redirect_location(error.redirect_uri, _with_state(params, error.state))


def deny(request: AuthorizationRequest) -> str:
    """Where the browser goes when the person refuses."""
    return error_location(
        AuthorizationError(
            "access_denied", "the person declined the request", request.redirect_uri, request.state
        )
    )


def approve(ctx: ServiceContext, request: AuthorizationRequest, account_id: str) -> str:
    """Issue a code for the account's consent and return where the browser goes with it."""
    code = new_token()
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        session.add(
            AuthorizationCode(
                code_hash=token_hash(code),
                application_id=request.application_id,
                account_id=account_id,
                redirect_uri=request.redirect_uri,
                scope=request.scope,
                code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                created_at=now,
                expires_at=now + timedelta(seconds=ctx.authorization_code_ttl),
            )
        )
    return redirect_location(request.redirect_uri, _with_state([("code", code)], request.state))


def exchange_code(
    ctx: ServiceContext,
    client: Client,
    code: str | None,
    redirect_uri: str | None,
    code_verifier: str | None,
) -> IssuedTokens:
    """``grant_type=authorization_code``: a new grant with its first tokens, or ``invalid_grant``."""
    if not code:
        raise OAuthError("invalid_request", "code must be specified")
    if not redirect_uri:
        raise OAuthError("invalid_request", "redirect_uri must be specified")
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        outcome = _exchange(ctx, session, client, token_hash(code), redirect_uri, code_verifier, now)
    # Raised after the commit: a code is used up by its first exchange even when that one fails, and
    # the grant of a reused code stays ended.
    if isinstance(outcome, OAuthError):
        raise outcome
    return outcome


def _exchange(
    ctx: ServiceContext,
    session: Session,
    client: Client,
    digest: str,
    redirect_uri: str,
    code_verifier: str | None,
    now: datetime,
) -> IssuedTokens | OAuthError:
    row = session.get(AuthorizationCode, digest)
    if row is None or row.application_id != client.application_id:
        return OAuthError("invalid_grant", "the authorization code is not valid")
    claimed = session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.code_hash == digest, AuthorizationCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        # Used before, perhaps by a concurrent exchange that has just committed: read it afresh.
        session.refresh(row)
        if row.grant_id is not None:
            end_grants(session, [row.grant_id], now)
        return OAuthError(
            "invalid_grant", "the authorization code was already used; the tokens issued for it are revoked"
        )
    if row.expires_at <= now:
        return OAuthError("invalid_grant", "the authorization code has expired")
    if redirect_uri != row.redirect_uri:
        return OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
    if problem := _pkce_problem(row, client, code_verifier):
        return OAuthError("invalid_grant", problem)
    account = session.get(Account, row.account_id)
    if account is None:
        return OAuthError("invalid_grant", "the authorization code is not valid")
    grant, issued = open_grant(ctx, session, client.application_id, account, row.scope, now)
    row.grant_id = grant.id
    return issued


def _pkce_problem(row: AuthorizationCode, client: Client, verifier: str | None) -> str | None:
    if row.code_challenge is None:
        if verifier:
            # RFC 9700 §2.1.1: a verifier for a code issued without a challenge is a downgrade attempt.
            return "code_verifier was given but the authorization request had no code_challenge"
        if client.public:
            return "this application must use PKCE"
        return None
    if not verifier:
        return "code_verifier must be specified"
    if not VERIFIER_PATTERN.match(verifier):
        return "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~"
    if not hmac.compare_digest(s256(verifier), row.code_challenge):
        return "code_verifier does not match the code_challenge"
    return None


def s256(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def purge_expired_codes(ctx: ServiceContext, older_than: timedelta = timedelta(days=1)) -> int:
    """Forget codes expired more than a day ago (kept that long so that a late reuse still ends its grant)."""
    with ctx.db.transaction() as session:
        result = session.execute(
            delete(AuthorizationCode).where(AuthorizationCode.expires_at <= ctx.clock.now() - older_than)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
