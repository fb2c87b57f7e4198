"""Column types and identifier generators."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant stored in UTC; naive datetimes are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused; pass an aware instant")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def hex_id(prefix: str) -> str:
    """Cronofy-shaped identifier: prefix plus 24 hex characters (``acc_`` ids are 28 long)."""
    return f"{prefix}_{secrets.token_hex(12)}"


def short_id(prefix: str, length: int = 10) -> str:
    """A URL-path-safe lower-case identifier, like ``pro_n23kjnwrw2``."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return f"{prefix}_" + "".join(secrets.choice(alphabet) for _ in range(length))


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since 1970 of a UTCDateTime column, computed by the database.

    Hot reads take instants as integers this way instead of building a datetime per value.
    """

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"
