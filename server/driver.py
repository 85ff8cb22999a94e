"""The push's SQL straight through the DB-API driver, inside the request's SQLAlchemy transaction.

On the push, SQLAlchemy's per-statement machinery (execution contexts, bind and result
processors, events) cost several times what SQLite itself spent on the dozen small statements a
push runs, and its ``executemany`` ran every value of every row through a bind processor
(bench/sync.py, py-spy, cProfile). The push knows each column's type, so it converts values once,
the way the column types would, and hands SQL text and ready tuples to the driver of the same
connection — the transaction, savepoints and commit stay SQLAlchemy's.

SQL is written with ``?`` placeholders (turned into ``%s`` for psycopg) and ``{lock}`` where
PostgreSQL takes ``FOR UPDATE`` (SQLite has one writer and no row locks).

What the column types would have done, per dialect:
- ``Moment`` (an aware UTC datetime): SQLite keeps SQLAlchemy's text form
  ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC; PostgreSQL takes the aware datetime.
- ``JSON``/``JSONB``: compact JSON text (PostgreSQL casts the text parameter to ``jsonb``); read
  back, SQLite gives the text and psycopg the decoded object (``Driver.json``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

try:  # the server's fast JSON reader; the phone never needs it
    import orjson
except ImportError:  # pragma: no cover - the server extra installs it
    orjson = None  # type: ignore[assignment]

__all__ = ["Driver", "insert_rows", "update_rows"]


class Driver:
    """One connection's driver, with the SQL of its dialect."""

    __slots__ = ("_dbapi", "lock", "name", "sqlite")

    def __init__(self, where: Connection | Session | sqlite3.Connection) -> None:
        if isinstance(where, sqlite3.Connection):  # a connection of our own (Database.lookup)
            self.name = "sqlite"
            self.sqlite = True
            self.lock = ""
            self._dbapi = where
            return
        connection = where.connection() if isinstance(where, Session) else where
        self.name = connection.dialect.name
        self.sqlite = self.name == "sqlite"
        self.lock = "" if self.sqlite else " FOR UPDATE"
        self._dbapi: Any = connection.connection.driver_connection

    def sql(self, text: str) -> str:
        """``text`` in this dialect (cached: the push's statements are a small fixed set)."""
        key = (self.sqlite, text)
        sql = _SQL.get(key)
        if sql is None:
            sql = text.replace("{lock}", self.lock)
            if not self.sqlite:
                sql = sql.replace("?", "%s")
            _SQL[key] = sql
        return sql

    def rows(
        self, text: str, params: Sequence[Any] = (), *, prepare: bool | None = None
    ) -> list[tuple[Any, ...]]:
        """The statement's rows. ``prepare=False`` (PostgreSQL): never as a prepared statement, so
        it is planned for its own parameters every time (see ``read_all``)."""
        if self.sqlite:
            return self._dbapi.execute(self.sql(text), params).fetchall()  # type: ignore[no-any-return]
        return self._dbapi.execute(self.sql(text), params, prepare=prepare).fetchall()  # type: ignore[no-any-return]

    def first(self, text: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        return self._dbapi.execute(self.sql(text), params).fetchone()  # type: ignore[no-any-return]

    def read_all(
        self, statements: Sequence[tuple[str, Sequence[Any]]], *, prepare: bool | None = None
    ) -> list[list[tuple[Any, ...]]]:
        """Every statement's rows. On PostgreSQL they go out together in one round trip (a
        pipeline, nested in the caller's if there is one); on SQLite, one after another.

        ``prepare=False`` (PostgreSQL): the statements are never prepared. psycopg prepares a
        statement on its fifth run; PostgreSQL then plans it once for any parameters (a generic
        plan) once five plans for actual ones cost no less, which they do while a table is nearly
        empty. So on a new database the push's ``id IN (…)`` reads kept a plan that scans the whole
        table, long after it had grown: 24 ms instead of 1 ms a read by a push of 100, after 8,000
        events (bench, pg_stat_statements). Planned for their own ids each time, they use the index.
        """
        if self.sqlite:
            return [self.rows(text, params) for text, params in statements]
        cursors = []
        with self._dbapi.pipeline():
            for text, params in statements:
                cursor = self._dbapi.cursor()
                cursor.execute(self.sql(text), params, prepare=prepare)
                cursors.append(cursor)
        return [cursor.fetchall() for cursor in cursors]

    def run(self, text: str, params: Sequence[Any] = ()) -> None:
        self._dbapi.execute(self.sql(text), params)

    def many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.sqlite:
            self._dbapi.executemany(self.sql(text), rows)
        else:
            with self._dbapi.cursor() as cursor:
                cursor.executemany(self.sql(text), rows)

    def pipeline(self) -> AbstractContextManager[Any]:
        """PostgreSQL: statements inside the block are sent without waiting for each answer (psycopg's
        pipeline mode): only a statement whose rows are read waits, and the block's end. A push ran
        some fifteen statements, each a round trip to the server (~0.3 ms here, bench/load.py), and
        those round trips were most of a small push's time. SQLite: nothing changes."""
        if self.sqlite:
            return nullcontext()
        return self._dbapi.pipeline()  # type: ignore[no-any-return]

    @property
    def in_pipeline(self) -> bool:
        return not self.sqlite and self._dbapi.pgconn.pipeline_status != 0

    def copy(self, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        """PostgreSQL: ``rows`` into ``table`` with one ``COPY … FROM STDIN``."""
        with (
            self._dbapi.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    @staticmethod
    def marks(count: int) -> str:
        """``?, ?, …`` for an ``IN (…)`` of ``count`` values."""
        return ", ".join(["?"] * count)

    def moment(self, value: datetime | None) -> Any:
        """A ``Moment`` column's parameter."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        if not self.sqlite:
            return value
        value = value.astimezone(UTC)
        return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond:06d}"

    @staticmethod
    def read_moment(value: Any) -> datetime:
        """A ``Moment`` column as read: SQLite gives its UTC text, psycopg an aware datetime."""
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value.astimezone(UTC)  # type: ignore[no-any-return]

    @staticmethod
    def json(value: Any) -> Any:
        """A JSON column's value as read: psycopg decodes ``jsonb`` itself, SQLite gives text."""
        if isinstance(value, str | bytes):
            return orjson.loads(value) if orjson is not None else json.loads(value)
        return value


_SQL: dict[tuple[bool, str], str] = {}


def insert_rows(
    where: Connection | Session | Driver, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
) -> None:
    """``INSERT INTO table (columns) VALUES (…)`` for every row: one ``executemany`` on SQLite, one
    ``COPY … FROM STDIN`` on PostgreSQL.

    ``executemany`` makes PostgreSQL plan and run one INSERT per row, a push's largest cost there
    (bench/sync.py); COPY loads the rows in one statement, about twice as fast (perf.md), in the
    same transaction, with the same constraints checked. Values go as text in COPY's format: JSON
    text parses into ``jsonb`` as the INSERT's cast did, aware datetimes into ``timestamptz``.
    """
    if not rows:
        return
    driver = where if isinstance(where, Driver) else Driver(where)
    if driver.sqlite or driver.in_pipeline:  # COPY cannot run in a pipeline
        driver.many(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({driver.marks(len(columns))})", rows)
    else:
        driver.copy(table, columns, rows)


def update_rows(
    where: Connection | Session | Driver,
    table: str,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    *,
    extra: str = "",
) -> None:
    """``UPDATE table SET columns WHERE keys`` for every row (values: the columns', then the keys')."""
    if not rows:
        return
    driver = where if isinstance(where, Driver) else Driver(where)
    assignments = ", ".join(f"{name} = ?" for name in columns)
    condition = " AND ".join(f"{name} = ?" for name in keys)
    driver.many(f"UPDATE {table} SET {assignments} WHERE {condition}{extra}", rows)
