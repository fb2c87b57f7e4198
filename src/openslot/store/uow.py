"""The unit of work: one transaction per use case."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openslot.store.db import READONLY_OPTION


class Database:
    """Hands out sessions whose transaction commits on success and rolls back on any error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer. Writers of this process queue on a lock rather than on SQLite's busy
        # handler, which sleeps in growing steps and turns contention into long tail latencies.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )
        self._write = sessionmaker(bind=engine, expire_on_commit=False)
        self._read = sessionmaker(
            bind=engine.execution_options(**{READONLY_OPTION: True}), expire_on_commit=False
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._write_lock, self._write() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
