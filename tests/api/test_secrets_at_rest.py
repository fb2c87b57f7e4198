"""Tokens and client secrets never reach the database in plaintext."""

from __future__ import annotations

import base64

from sqlalchemy import inspect, select, text

from openslot.store.models import Application, Token
from tests.conftest import Api


def _dump(api: Api) -> str:
    """Every value of every table, as text."""
    parts: list[str] = []
    with api.ctx.db.read() as session:
        for table in inspect(session.connection()).get_table_names():
            for row in session.execute(text(f'SELECT * FROM "{table}"')):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def test_database_dump_holds_no_plaintext_token_or_secret(api: Api) -> None:
    apps = [api.new_application(f"App {i}") for i in range(2)]
    issued: list[str] = []
    for app in apps:
        tokens = api.application_calendar(app, "cal")
        refreshed = api.client.post(
            "/oauth/token",
            json={
                "client_id": app.info.client_id,
                "client_secret": app.client_secret,
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
            },
        ).json()
        issued += [tokens["access_token"], tokens["refresh_token"], refreshed["access_token"]]
    secrets = [app.client_secret for app in apps]
    dump = _dump(api)
    assert dump, "the dump read nothing"
    assert apps[0].info.client_id in dump  # the dump does see what is stored in the clear
    for value in issued + secrets:
        assert value not in dump
        assert base64.b64encode(value.encode()).decode() not in dump
        assert value.encode().hex() not in dump


def test_tokens_are_stored_as_sha256_and_secrets_encrypted(api: Api) -> None:
    import hashlib

    app = api.new_application()
    tokens = api.application_calendar(app)
    with api.ctx.db.read() as session:
        hashes = set(session.scalars(select(Token.token_hash)))
        stored = session.scalar(select(Application))
    assert hashlib.sha256(tokens["access_token"].encode()).hexdigest() in hashes
    assert hashlib.sha256(tokens["refresh_token"].encode()).hexdigest() in hashes
    assert stored is not None
    assert api.ctx.secrets.decrypt(stored.secret_encrypted) == app.client_secret
    assert stored.secret_lookup == api.ctx.secrets.lookup_hash(app.client_secret)


def test_tokens_carry_at_least_256_random_bits(api: Api) -> None:
    app = api.new_application()
    seen = set()
    for i in range(20):
        tokens = api.application_calendar(app, f"c{i}")
        for token in (tokens["access_token"], tokens["refresh_token"]):
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            assert len(raw) >= 32
            seen.add(token)
    assert len(seen) == 40
