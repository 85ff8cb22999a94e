"""Engines and sessions: SQLite in WAL mode with one serialized writer, or PostgreSQL via psycopg.

``Database.read()`` and ``Database.write()`` open a session, commit it when the block ends without
an error, and roll it back otherwise. On SQLite every write runs under one process-wide lock and
starts with ``BEGIN IMMEDIATE``, so threads never fight for SQLite's write lock (see perf.md); pushes
go through one writer thread that commits them in groups (``server.writer``), on a Core connection
(``Database.write_connection``) rather than a session. On PostgreSQL writers run concurrently and
serialize per street on the street's counter row.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from .checkpoint import FALLBACK_PAGES, WalCheckpointer

__all__ = [
    "SQLITE_WRITE_SYNC",
    "Database",
    "Transaction",
    "is_sqlite",
    "json_text",
    "make_engine",
    "transaction_memo",
]

_SQLITE_WRITE_LOCK = threading.Lock()

# A push is answered once its commit returns, and the phone then drops it from its outbox: the
# commit has to be on disk by then. In WAL mode, SQLite's NORMAL syncs the log only at checkpoints,
# so a power cut or an OS crash could take back the last commits: pushes already acknowledged would
# be gone from the server and from the phones, and the street's counter would go back below the
# phones' pull cursors, so that the next events, numbered again from there, would be skipped by
# every phone. FULL syncs the log at every commit; the writer commits pushes in groups, so a group
# pays one sync (bench/load.py: 5-9 % fewer pushes a second at saturation).
SQLITE_WRITE_SYNC = "FULL"
# JSON columns are written compact with non-ASCII as is, the way ``shared.dumps`` writes the wire: a
# pull can then pass a stored ``args`` text through without parsing it again
_JSON_WRITER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
json_text = _JSON_WRITER.encode


# what a write runs in: an ORM session (admin, seeding) or a Core connection (the push writer)
Transaction = Session | Connection


def transaction_memo(session: Transaction) -> dict[Any, Any]:
    """What the session's transaction has learnt that later work in it may reuse: the street's
    counter (locked by the first push of a group, held until commit), its rules, the roads looked
    up. The writer undoes a push's additions when it rolls that push back (``server.writer``).
    A session's lives as long as the session; a connection's, as long as the transaction that
    ``Database.write_connection`` runs."""
    memo: dict[Any, Any] | None = session.info.get("memo")
    if memo is None:
        memo = session.info["memo"] = {}
    return memo


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, write: bool = True, wal_autocheckpoint: int | None = None) -> Engine:
    """An engine for ``url``. On SQLite, ``write`` decides whether transactions begin IMMEDIATE;
    ``wal_autocheckpoint`` (pages) replaces SQLite's default of 1,000 on its connections."""
    if is_sqlite(url):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            json_serializer=json_text,
            # readers: as many as the thread pool runs at once, so a burst of requests reuses
            # connections instead of opening (and setting up) overflow ones and closing them again
            pool_size=40 if not write else 5,
            max_overflow=10,
        )
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={SQLITE_WRITE_SYNC if write else 'NORMAL'}")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            if write:
                # each push's savepoints need a sub-journal; on disk that was a temp file created,
                # written and unlinked per push (strace: ~100 of each for 100 pushes), in memory it
                # is a buffer of at most the pages one push changes. Pushes of 100: ~5 % faster.
                cursor.execute("PRAGMA temp_store=MEMORY")
            if wal_autocheckpoint is not None:
                cursor.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql(begin)

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        json_serializer=json_text,
        # an unreachable server fails a connection in seconds, not minutes: a request waits for it
        connect_args={"connect_timeout": 5},
    )


class Database:
    """The server's connection to its database: a reading and a writing session factory.

    ``background_checkpoints`` (the server, on an SQLite file): WAL checkpoints run on a thread of
    their own (``server.checkpoint``), started by ``start()`` and stopped by ``dispose()``, instead
    of inside the commit that happens to fill the log.
    """

    def __init__(self, url: str, *, background_checkpoints: bool = False) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        path = make_url(url).database if self.sqlite else None
        self.checkpointer = (
            WalCheckpointer(path) if background_checkpoints and path and path != ":memory:" else None
        )
        self.write_engine = make_engine(
            url, write=True, wal_autocheckpoint=FALLBACK_PAGES if self.checkpointer else None
        )
        self.read_engine = make_engine(url, write=False) if self.sqlite else self.write_engine
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        # one reader connection kept checked out for one-statement reads (Database.lookup)
        self._lookup_lock = threading.Lock()
        self._lookup_fairy: Any = None
        self._writer_connection: Connection | None = None  # SQLite: kept open (write_connection)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        # closing ends the transaction without expiring what was loaded, so rows stay readable
        with self._read_sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session committed at the end of the block (and only then): the answer follows commit."""
        lock = _SQLITE_WRITE_LOCK if self.sqlite else None
        if lock is not None:
            lock.acquire()
        try:
            with self._write_sessions() as session, session.begin():
                yield session
            if self.checkpointer is not None:
                self.checkpointer.nudge()
        finally:
            if lock is not None:
                lock.release()

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection inside a transaction committed at the end of the block: the push
        writer's (``server.writer``), whose statements go straight to the driver, never the ORM.

        Setting up and tearing down a ``Session`` cost ~0.45 ms a transaction, twenty times SQLite's
        own BEGIN and COMMIT (and a push of one event does ~0.3 ms of work). On SQLite the
        connection is kept open from one transaction to the next, since a pool checkout and return
        cost more again; a transaction that fails gives it back to the pool (which rolls it back), and
        the next one checks out another.
        On PostgreSQL each transaction checks a connection out of the pool, pinged, so a restarted
        server costs a reconnect rather than an error. The transaction memo starts empty each time.
        """
        if not self.sqlite:
            with self.write_engine.begin() as connection:
                connection.info["memo"] = {}
                try:
                    yield connection
                finally:
                    connection.info.pop("memo", None)  # the pooled connection outlives the transaction
            return
        with _SQLITE_WRITE_LOCK:
            connection = self._writer_connection
            if connection is None:
                connection = self._writer_connection = self.write_engine.connect()
            connection.info["memo"] = {}
            try:
                with connection.begin():
                    yield connection
            except BaseException:
                self._writer_connection = None
                connection.info.pop("memo", None)
                connection.close()
                raise
            connection.info.pop("memo", None)
        if self.checkpointer is not None:
            self.checkpointer.nudge()

    @contextmanager
    def lookup(self) -> Iterator[Any]:
        """SQLite: the connection for the token lookup, which runs on every request, on the event
        loop: a reader's DB-API connection kept checked out, in autocommit (each statement reads
        the latest commit). Checking one out of SQLAlchemy's pool and back in for each lookup cost
        more than the read (bench/load.py, py-spy). PostgreSQL has its own asyncio pool for this
        (``server.token_lookup``)."""
        if not self.sqlite:
            raise RuntimeError("Database.lookup is SQLite's; PostgreSQL looks tokens up asynchronously")
        with self._lookup_lock:
            if self._lookup_fairy is None:
                self._lookup_fairy = self.read_engine.raw_connection()
            yield self._lookup_fairy.driver_connection

    def durability_warnings(self) -> list[str]:
        """What, in the database's own settings, could lose a push after it was acknowledged.

        On SQLite the server sets it itself (``SQLITE_WRITE_SYNC``). A PostgreSQL server is
        configured by whoever runs it: ``synchronous_commit = off`` answers a commit before its WAL
        is on disk, ``fsync = off`` may lose or corrupt anything on a crash of the host.
        """
        if self.sqlite:
            return []
        with self.write_engine.connect() as connection:
            fsync, synchronous_commit = connection.exec_driver_sql(
                "SELECT current_setting('fsync'), current_setting('synchronous_commit')"
            ).one()
        warnings = []
        if fsync == "off":
            warnings.append(
                "PostgreSQL runs with fsync = off: a crash of its host may lose or corrupt what "
                "phones pushed, though they were told it was stored"
            )
        if synchronous_commit == "off":
            warnings.append(
                "PostgreSQL runs with synchronous_commit = off: a crash of its host may lose the "
                "last pushes acknowledged to phones, which no longer hold them"
            )
        return warnings

    def start(self) -> None:
        """Start the background work this database was made with (the WAL checkpointer)."""
        if self.checkpointer is not None:
            self.checkpointer.start()

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        with self._lookup_lock:
            if self._lookup_fairy is not None:
                self._lookup_fairy.close()  # back to the pool, which dispose() then closes
                self._lookup_fairy = None
        # under the write lock, so that a transaction still running on it ends first; a writer
        # stuck past the wait leaves its connection to the process's exit, not a hung shutdown
        if self._writer_connection is not None and _SQLITE_WRITE_LOCK.acquire(timeout=5):
            try:
                if self._writer_connection is not None:
                    self._writer_connection.close()
                    self._writer_connection = None
            finally:
                _SQLITE_WRITE_LOCK.release()

        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
