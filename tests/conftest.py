"""Shared fixtures: the API tests run once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from openslot.asgi import compose_app
from openslot.integrations.clock import ManualClock
from openslot.services import applications, authorization
from openslot.services.context import ServiceContext
from openslot.services.credentials import SecretBox
from openslot.settings import Settings
from openslot.store.db import create_db_engine
from openslot.store.migrate import upgrade
from openslot.store.models import Base
from openslot.store.uow import Database

PG_ADMIN_URL = os.environ.get("OPENSLOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]
if os.environ.get("OPENSLOT_TEST_SKIP_POSTGRES") == "1":
    BACKENDS = ["sqlite"]


def _postgres_database(tmp_name: str) -> Iterator[str]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{tmp_name}"'))
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}). Start it, or set "
            "OPENSLOT_TEST_SKIP_POSTGRES=1 to run only the SQLite half deliberately.",
            pytrace=False,
        )
    url = admin.url.set(database=tmp_name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{tmp_name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "openslot.db"
        yield f"sqlite:///{path}"
    else:
        yield from _postgres_database(f"openslot_test_{os.getpid()}_{secrets.token_hex(4)}")


@pytest.fixture(scope="session")
def migrated_database(database_url: str) -> Iterator[Database]:
    engine = create_db_engine(database_url)
    upgrade(engine)
    db = Database(engine)
    yield db
    db.dispose()


def _empty_tables(db: Database) -> None:
    with db.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())


@dataclass
class Api:
    """The real app in-process, with its context and a clock the test can move."""

    client: TestClient
    ctx: ServiceContext
    clock: ManualClock
    settings: Settings
    app: FastAPI

    def browser(self) -> TestClient:
        """A browser of its own (its own cookies) on the public https URL, following no redirects."""
        return TestClient(
            self.app, base_url="https://openslot.test", follow_redirects=False, raise_server_exceptions=False
        )

    def new_application(self, name: str = "Test app", **kwargs: Any) -> applications.NewApplication:
        return applications.create_application(
            self.ctx, name, kwargs.pop("redirect_uris", ["https://app.example.com/callback"]), **kwargs
        )

    def application_calendar(
        self, app: applications.NewApplication, apc_id: str = "apc-1", **kwargs: Any
    ) -> dict[str, Any]:
        response = self.client.post(
            "/v1/application_calendars",
            json={
                "client_id": app.info.client_id,
                "client_secret": app.client_secret,
                "application_calendar_id": apc_id,
                **kwargs,
            },
        )
        assert response.status_code == 200, response.text
        return response.json()

    def grant(self, app: applications.NewApplication, account_id: str, scope: str) -> User:
        """Another application's grant on an existing account (as the OAuth flow will create)."""
        client = applications.authenticate_client(self.ctx, app.info.client_id, app.client_secret)
        issued = authorization.grant_access(self.ctx, client, account_id, scope)
        tokens = {
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "sub": issued.sub,
        }
        return User(self.client, app, tokens)

    def user(self, app: applications.NewApplication | None = None, apc_id: str = "apc-1") -> User:
        app = app or self.new_application()
        tokens = self.application_calendar(app, apc_id)
        return User(self.client, app, tokens)


@dataclass
class User:
    client: TestClient
    app: applications.NewApplication
    tokens: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers | (headers or {}), **kwargs)

    def post(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, headers=self.headers | (headers or {}), **kwargs)

    def delete(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.request("DELETE", path, headers=self.headers | (headers or {}), **kwargs)

    @property
    def calendar_id(self) -> str:
        return self.get("/v1/calendars").json()["calendars"][0]["calendar_id"]

    def upsert(self, calendar_id: str | None = None, **event: Any) -> Any:
        body = {"summary": "Meeting", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z"} | event
        return self.post(f"/v1/calendars/{calendar_id or self.calendar_id}/events", json=body)


FAST_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def make_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        base_url="https://openslot.test",
        secret_key=secrets.token_urlsafe(32),
        **overrides,
    )


@pytest.fixture
def api(migrated_database: Database, database_url: str, tmp_path: Path) -> Iterator[Api]:
    _empty_tables(migrated_database)
    settings = make_settings(tmp_path, database_url)
    clock = ManualClock()
    ctx = ServiceContext(
        db=migrated_database,
        secrets=SecretBox(settings.secret_key.get_secret_value()),
        clock=clock,
        access_token_ttl=settings.access_token_ttl,
        authorization_code_ttl=settings.authorization_code_ttl,
        session_ttl=settings.session_ttl,
        # Argon2id with a small cost keeps the tests quick; the production default is tested on its own.
        password_hasher=FAST_PASSWORD_HASHER,
    )
    app = compose_app(settings, ctx)
    # Started (its lifespan runs), so that requests run as in the server: on PostgreSQL on the event
    # loop, over the loop engine.
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client=client, ctx=ctx, clock=clock, settings=settings, app=app)
