"""Constant statements run on the driver's own connection, for the hottest requests.

An event upsert is two statements. Through SQLAlchemy's ``Connection`` and ``Session`` each would
cost several times the database's own work in Python (cache-key lookup, execution context, result
wrappers, session and transaction state). A ``Statement`` is a constant Core statement compiled once
per dialect; ``Statements`` runs it through the DBAPI cursor (PEP 249) of a pooled connection,
applying the bind and result processors of the statement's column types, so values come and go in the
same forms as through SQLAlchemy. Errors of the driver are raised as SQLAlchemy's ``DBAPIError``
kinds, as a ``Connection`` raises them.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # of the bound parameters, in the order of a positional paramstyle
    constants: dict[str, Any]  # values of the parameters the statement holds (literals in its terms)
    positional: bool
    bind_processors: tuple[tuple[str, Processor], ...]
    row: Any  # a namedtuple class of the result columns, or None
    result_processors: tuple[Processor | None, ...]


class Statement:
    """A constant Core statement whose values all come as parameters at execution; or one statement
    per dialect name, for constructs of a dialect's own (``INSERT … ON CONFLICT``).

    For an INSERT, ``columns`` names the columns given (every one of them on every execution): a
    column's Python-side default is not applied here.
    """

    def __init__(
        self, statement: Executable | Mapping[str, Executable], columns: Sequence[str] | None = None
    ) -> None:
        self.statement = statement
        self.columns = list(columns) if columns is not None else None
        self._compiled: dict[tuple[str, str, str], _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        statement = self.statement[dialect.name] if isinstance(self.statement, Mapping) else self.statement
        compiled = statement.compile(dialect=dialect, column_keys=self.columns)
        names = tuple(compiled.positiontup or compiled.binds)
        processors = []
        for name in names:
            processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((name, processor))
        # what a SELECT selects, or what an INSERT, UPDATE or DELETE returns
        columns = list(getattr(statement, "exported_columns", ()))
        return _Compiled(
            sql=compiled.string,
            names=names,
            constants={
                name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
            },
            positional=bool(compiled.positional),
            bind_processors=tuple(processors),
            row=namedtuple("Row", [c.key for c in columns], rename=True) if columns else None,  # type: ignore[misc]
            result_processors=tuple(
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
            ),
        )


class Statements:
    """Runs ``Statement``s on one DBAPI connection of a ``Database`` (see ``Database.single_writes``)."""

    def __init__(self, dbapi_connection: Any, dialect: Dialect) -> None:
        self._connection = dbapi_connection
        self._dialect = dialect
        self.failed = False  # a driver error was raised: the connection may be unusable

    @property
    def dialect_name(self) -> str:
        return str(self._dialect.name)

    def first(self, statement: Statement, params: Mapping[str, Any]) -> Any:
        """The first row (a named tuple), or None."""
        rows = self._execute(statement, params, fetch_all=False)
        return rows[0] if rows else None

    def all(self, statement: Statement, params: Mapping[str, Any]) -> list[Any]:
        return self._execute(statement, params, fetch_all=True)

    def execute(self, sql: str) -> None:
        """A plain statement of the driver's dialect, without parameters (BEGIN, COMMIT ...)."""
        self._run(sql, None, fetch=None)

    def _execute(self, statement: Statement, params: Mapping[str, Any], fetch_all: bool) -> list[Any]:
        compiled = statement.compiled(self._dialect)
        values = compiled.constants | dict(params)
        for name, processor in compiled.bind_processors:
            values[name] = processor(values[name])
        bound: Any = tuple(values[name] for name in compiled.names) if compiled.positional else values
        fetch = (-1 if fetch_all else 1) if compiled.row else None
        return [self._row(compiled, row) for row in self._run(compiled.sql, bound, fetch)]

    def _run(self, sql: str, bound: Any, fetch: int | None) -> list[Any]:
        """Execute on a new cursor and fetch ``fetch`` rows (-1: all; None: none)."""
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql) if bound is None else cursor.execute(sql, bound)
            if fetch is None:
                return []
            return list(cursor.fetchall() if fetch < 0 else cursor.fetchmany(fetch))
        except Exception as exc:
            self.failed = True
            raise DBAPIError.instance(sql, bound, exc, self._dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()

    @staticmethod
    def _row(compiled: _Compiled, row: Sequence[Any]) -> Any:
        return compiled.row._make(
            value if processor is None or value is None else processor(value)
            for processor, value in zip(compiled.result_processors, row, strict=True)
        )
