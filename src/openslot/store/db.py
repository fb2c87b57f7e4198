"""Database engines: SQLite in WAL mode with explicit transactions, or PostgreSQL through psycopg 3."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

READONLY_OPTION = "openslot_readonly"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_db_engine(url: str, *, pool_size: int = 20) -> Engine:
    """An engine whose pool holds ``pool_size`` connections, one per request thread."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, pool_size)
    # No pre-ping: it costs a round trip on every checkout. A connection that died with the server
    # fails its request once and is thrown away; recycling bounds how stale an idle one gets.
    return create_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=30, pool_recycle=1800)


def create_loop_engine(engine: Engine, *, pool_size: int) -> AsyncEngine | None:
    """For PostgreSQL, an engine on the same database whose connections wait on the event loop, or
    None for SQLite.

    Use cases run through its ``sync_engine`` inside a greenlet on the loop: their code stays
    synchronous, and a request costs no hand-over to a worker thread and back, nor the contention for
    the interpreter lock that many such threads bring. Its driver is asyncpg, whose protocol runs on
    the loop itself: a statement costs well under half the CPU of psycopg's async mode. Its
    connections belong to the loop that opened them (``api.calls``).
    """
    if engine.dialect.name != "postgresql":
        return None
    return create_async_engine(
        engine.url.set(drivername="postgresql+asyncpg"),
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        pool_recycle=1800,
    )


def _sqlite_engine(url: str, pool_size: int) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        from pathlib import Path

        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Keep enough connections for every request thread: opening one runs the PRAGMAs below again.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=pool_size,
        max_overflow=0,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the write lock up front, so two writers queue on busy_timeout
        # instead of failing when a read lock cannot be upgraded.
        readonly = connection.get_execution_options().get(READONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine
