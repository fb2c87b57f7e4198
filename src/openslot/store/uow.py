"""The unit of work: one transaction per use case."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.util import greenlet_spawn

from openslot.store.db import READONLY_OPTION
from openslot.store.statements import Statements
from openslot.store.write_lock import WriterLock, lock_path_of

P = ParamSpec("P")
T = TypeVar("T")


class Database:
    """Hands out sessions whose transaction commits on success and rolls back on any error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer_lock = (
            WriterLock(lock_path_of(engine.url.database)) if engine.dialect.name == "sqlite" else None
        )
        self._write_lock: AbstractContextManager[Any] = self._writer_lock or nullcontext()
        self._write = sessionmaker(bind=engine, expire_on_commit=False)
        # Called after a transaction that queued notifications commits (wakes an in-process worker).
        self.after_outbox_commit: list[Callable[[], None]] = []
        # Reads on PostgreSQL run in autocommit: a read-committed transaction gives each statement a
        # fresh snapshot anyway, and BEGIN/COMMIT would add two round trips to every request.
        read_options: dict[str, Any] = {READONLY_OPTION: True}
        if engine.dialect.name == "postgresql":
            read_options["isolation_level"] = "AUTOCOMMIT"
        self._read = sessionmaker(bind=engine.execution_options(**read_options), expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._write_lock, self._write() as session:
            with session.begin():
                yield session
            if session.info.pop("outbox_written", False):
                for hook in self.after_outbox_commit:
                    hook()

    @contextmanager
    def single_writes(self) -> Iterator[Statements]:
        """Constant statements (``store.statements``) on a connection of its own: reads followed by at
        most one write.

        On PostgreSQL every statement commits by itself, which spares BEGIN and COMMIT (two round
        trips); SQLite runs the block as one write transaction. Either way nothing in the block may
        rely on two writes being atomic together: a use case that needs that uses ``transaction``.
        """
        sqlite = self.engine.dialect.name == "sqlite"
        with self._write_lock:
            pooled = self.engine.raw_connection()
            dbapi_connection = pooled.dbapi_connection
            statements = Statements(dbapi_connection, self.engine.dialect)
            try:
                if sqlite:
                    statements.execute("BEGIN IMMEDIATE")
                else:
                    dbapi_connection.autocommit = True
                yield statements
                if sqlite:
                    statements.execute("COMMIT")
            except BaseException:
                if sqlite and not statements.failed:
                    statements.execute("ROLLBACK")
                raise
            finally:
                if statements.failed:
                    pooled.invalidate()
                else:
                    if not sqlite:
                        dbapi_connection.autocommit = False
                    pooled.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    async def call_on_loop(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run synchronous ``work`` in a greenlet on the running event loop, where the statements of
        a Database on a loop engine (``store.db.create_loop_engine``) wait without blocking it."""
        result: T = await greenlet_spawn(work, *args, **kwargs)
        return result

    def twin(self, engine: Engine) -> Database:
        """A Database on another engine of the same database whose commits call the same hooks."""
        other = Database(engine)
        other.after_outbox_commit = self.after_outbox_commit
        return other

    def dispose(self) -> None:
        self.engine.dispose()
        if self._writer_lock is not None:
            self._writer_lock.close()
