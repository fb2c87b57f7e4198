"""Applications (OAuth clients): registration and client authentication."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from openslot.services import scopes
from openslot.services.context import Client, ServiceContext
from openslot.services.credentials import new_token, same_digest
from openslot.services.errors import OAuthError, ValidationFailed
from openslot.store import repos
from openslot.store.models import Application
from openslot.store.types import hex_id

DEFAULT_ALLOWED_SCOPES = " ".join(sorted(scopes.ALL_SCOPES))


@dataclass(frozen=True)
class ApplicationInfo:
    application_id: str
    client_id: str
    name: str
    redirect_uris: list[str]
    allowed_scopes: str
    created_at: datetime
    is_demo: bool
    public: bool = False


@dataclass(frozen=True)
class NewApplication:
    """Returned once at registration: the only time the plaintext secret leaves the server.

    A public application's ``client_secret`` is empty: it has none that it could use.
    """

    info: ApplicationInfo
    client_secret: str


def _info(app: Application) -> ApplicationInfo:
    return ApplicationInfo(
        application_id=app.id,
        client_id=app.client_id,
        name=app.name,
        redirect_uris=list(app.redirect_uris),
        allowed_scopes=app.allowed_scopes,
        created_at=app.created_at,
        is_demo=app.is_demo,
        public=app.public,
    )


def _client(app: Application) -> Client:
    return Client(application_id=app.id, client_id=app.client_id, name=app.name, public=app.public)


def validate_redirect_uri(uri: str) -> str | None:
    """Why the URI cannot be registered, or None when it can."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http or https URL"
    if parts.fragment or "#" in uri:
        return "must not contain a fragment"
    if parts.username or parts.password:
        return "must not contain user information"
    return None


def create_application(
    ctx: ServiceContext,
    name: str,
    redirect_uris: list[str],
    allowed_scopes: str | None = None,
    *,
    is_demo: bool = False,
    public: bool = False,
) -> NewApplication:
    """Register an application. A public one (``public=True``) gets a random secret that is never shown:
    it signs the application's push notifications, and nothing can authenticate with it."""
    errors: dict[str, list[tuple[str, str]]] = {}
    if not name.strip():
        errors["name"] = [("errors.required", "name must be specified")]
    for uri in redirect_uris:
        problem = validate_redirect_uri(uri)
        if problem:
            errors.setdefault("redirect_uri", []).append(("errors.invalid", f"{uri} {problem}"))
    allowed = allowed_scopes or DEFAULT_ALLOWED_SCOPES
    if bad := scopes.unknown(allowed):
        errors["scope"] = [("errors.invalid", f"unknown scopes: {' '.join(bad)}")]
    if errors:
        raise ValidationFailed(errors)
    secret = new_token()
    with ctx.db.transaction() as session:
        app = Application(
            id=hex_id("app"),
            client_id=secrets.token_urlsafe(24),
            secret_lookup=ctx.secrets.lookup_hash(secret),
            secret_encrypted=ctx.secrets.encrypt(secret),
            name=name.strip(),
            redirect_uris=redirect_uris,
            allowed_scopes=allowed,
            is_demo=is_demo,
            public=public,
            created_at=ctx.clock.now(),
        )
        session.add(app)
        session.flush()
        return NewApplication(info=_info(app), client_secret="" if public else secret)


def list_applications(ctx: ServiceContext) -> list[ApplicationInfo]:
    with ctx.db.read() as session:
        return [_info(app) for app in repos.applications(session)]


def ensure_demo_application(ctx: ServiceContext, redirect_uri: str) -> NewApplication:
    """The demo application's credentials, registering it on the first start."""
    with ctx.db.read() as session:
        app = repos.demo_application(session)
        if app is not None:
            return NewApplication(info=_info(app), client_secret=ctx.secrets.decrypt(app.secret_encrypted))
    return create_application(ctx, "Demo application", [redirect_uri], is_demo=True)


def authenticate_client(
    ctx: ServiceContext, client_id: str | None, client_secret: str | None, *, allow_public: bool = False
) -> Client:
    """Body credentials of the token and application-calendar endpoints (RFC 6749 ``invalid_client``).

    With ``allow_public`` (the token endpoints), a public application identifies itself by its
    ``client_id`` alone; a confidential one always needs its secret.
    """
    if allow_public and client_id and not client_secret:
        with ctx.db.read() as session:
            app = repos.application_by_client_id(session, client_id)
            if app is not None and app.public:
                return _client(app)
    if not client_id or not client_secret:
        raise OAuthError("invalid_client", "client_id and client_secret are required", status=401)
    with ctx.db.read() as session:
        app = repos.application_by_client_id(session, client_id)
        if app is None or not same_digest(app.secret_lookup, ctx.secrets.lookup_hash(client_secret)):
            raise OAuthError("invalid_client", "the client credentials were not recognised", status=401)
        return _client(app)


def find_application(ctx: ServiceContext, client_id: str) -> ApplicationInfo | None:
    """The application with this ``client_id``, for the authorization pages."""
    with ctx.db.read() as session:
        app = repos.application_by_client_id(session, client_id)
        return _info(app) if app is not None else None
