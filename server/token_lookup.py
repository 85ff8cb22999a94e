"""Resolving a bearer token to its user, on the event loop, for every authenticated request.

SQLite: a primary-key read of a local file (~0.1 ms), done in place (``Database.lookup``).

PostgreSQL: a round trip to another process, often on another host. Done with a blocking driver
on the event loop, each lookup stopped every other request for its round trips (a pool checkout
with its ping, the query, the rollback at checkin: three); sent to the thread pool, each woke a
thread that then queued for the GIL. So the lookup awaits an asyncio connection of its own
(psycopg's ``AsyncConnection``), in autocommit: one round trip, during which the loop serves other
requests. Measured with 32 back-to-back pushers (bench/load.py --pg): ~95 → ~115 pushes/s, and
~1.2 ms less server CPU a push.

The connections are kept by ``_Connections`` rather than ``psycopg_pool``: that pool connects in
the background and, after a failed attempt, waits 1, 2, 4 … s before the next one, while requests
wait for it. Tried: with PostgreSQL down each request waited out the pool's whole timeout before
its 503, and once PostgreSQL was back the first request still waited ~5 s for the backoff. Here a
request connects itself when no idle connection is left, so a refused connection is a 503 at once
and the first request after a restart is served at once.

A connection PostgreSQL dropped (a restart) fails its query; it is thrown away with every idle one
(as old as it, so as dead), and the lookup tries once more on a fresh one. If PostgreSQL cannot be
reached, or does not answer within ``timeout``, the answer is 503 ``unavailable``: the phone keeps
its work and retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from sqlalchemy import make_url

from .auth import TOKEN_LOOKUP, CurrentUser, token_digest, user_for_token, user_from_row
from .db import Database
from .errors import database_unavailable

if TYPE_CHECKING:
    import psycopg

__all__ = ["TokenLookup"]

log = logging.getLogger("server")

_PG_TOKEN_LOOKUP = TOKEN_LOOKUP.replace("?", "%s")
_ATTEMPTS = 2  # a connection PostgreSQL dropped fails once; the next one is fresh


class TokenLookup:
    """``await lookup.user(token)``: the active user a live token belongs to, or None.

    ``close()`` belongs to the app's lifespan (PostgreSQL: it closes the idle connections).
    """

    def __init__(self, db: Database, *, max_size: int = 8, timeout: float = 5.0) -> None:
        self.db = db
        self.timeout = timeout
        self._connections: _Connections | None = None
        if not db.sqlite:
            conninfo = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
            self._connections = _Connections(conninfo, max_size, timeout)

    async def close(self) -> None:
        if self._connections is not None:
            await self._connections.close()

    async def user(self, token: str) -> CurrentUser | None:
        if self._connections is None:
            with self.db.lookup() as connection:
                return user_for_token(connection, token)
        digest = token_digest(token)
        if digest is None:
            return None
        import psycopg  # here, not at the top: an SQLite server never loads it (~10 MiB)

        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with asyncio.timeout(self.timeout), self._connections.connection() as connection:
                    cursor = await connection.execute(_PG_TOKEN_LOOKUP, (digest,), prepare=True)
                    row = await cursor.fetchone()
                return user_from_row(row, digest)
            except TimeoutError as exc:
                raise database_unavailable() from exc
            except psycopg.OperationalError as exc:
                # the idle connections are as old as this one: after a restart none of them works
                await self._connections.close()
                if attempt == _ATTEMPTS:
                    log.warning("token lookup: the database cannot be reached: %s", exc)
                    raise database_unavailable() from exc
        raise AssertionError("unreachable")


class _Connections:
    """Idle asyncio connections to PostgreSQL, reused; at most ``size`` in use at once. A request
    that finds none idle opens one; one that comes back broken, or mid-statement (its request was
    cancelled or timed out), is closed instead of kept."""

    def __init__(self, conninfo: str, size: int, timeout: float) -> None:
        self.conninfo = conninfo
        self.timeout = timeout
        self._idle: list[psycopg.AsyncConnection[tuple[object, ...]]] = []
        self._slots = asyncio.Semaphore(size)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
        import psycopg
        from psycopg.pq import TransactionStatus

        async with self._slots:
            if self._idle:
                connection = self._idle.pop()
            else:
                connection = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, connect_timeout=max(1, round(self.timeout))
                )
            try:
                yield connection
            finally:
                if connection.broken or connection.info.transaction_status != TransactionStatus.IDLE:
                    await connection.close()
                else:
                    self._idle.append(connection)

    async def close(self) -> None:
        """Close the idle connections (those in use are closed or kept when they come back)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()
