"""The unit of work: one transaction per use case."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openslot.store.db import READONLY_OPTION


class Database:
    """Hands out sessions whose transaction commits on success and rolls back on any error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write = sessionmaker(bind=engine, expire_on_commit=False)
        self._read = sessionmaker(
            bind=engine.execution_options(**{READONLY_OPTION: True}), expire_on_commit=False
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
