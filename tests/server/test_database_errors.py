"""A database that cannot do its part just now (PostgreSQL gone, SQLite locked past its timeout) is
an outage: the request is answered 503 ``unavailable`` and the phone tries again. A mistake in SQL
is a bug: it stays a 500 and is logged as one."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from server.errors import database_outage, install_error_handlers

from .conftest import ROOT


def _locked(path: Path) -> sqlite3.OperationalError:
    holder = sqlite3.connect(path, isolation_level=None)
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as caught:
            waiter.execute("BEGIN IMMEDIATE")
        return caught.value
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        waiter.close()


def _no_such_table() -> sqlite3.OperationalError:
    with pytest.raises(sqlite3.OperationalError) as caught:
        sqlite3.connect(":memory:").execute("SELECT * FROM nowhere")
    return caught.value


def test_sqlite_locked_past_its_timeout_is_an_outage(tmp_path: Path) -> None:
    assert database_outage(_locked(tmp_path / "a.db")) == "database is locked"


def test_a_mistake_in_sql_is_a_bug_not_an_outage() -> None:
    assert database_outage(_no_such_table()) is None
    engine = create_engine("sqlite://")
    with engine.connect() as connection, pytest.raises(DBAPIError) as caught:
        connection.execute(text("SELECT * FROM nowhere"))
    assert database_outage(caught.value) is None
    assert database_outage(ValueError("not a database error")) is None


def test_postgresql_that_cannot_be_reached_is_an_outage(tmp_path: Path) -> None:
    conninfo = f"postgresql://postgres@/roadchief?host={tmp_path}&connect_timeout=2"  # no server there
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(conninfo)
    assert database_outage(caught.value)
    engine = create_engine(conninfo.replace("postgresql://", "postgresql+psycopg://"))
    with pytest.raises(DBAPIError) as wrapped:
        engine.connect()
    assert database_outage(wrapped.value)  # as SQLAlchemy raises it, the driver's error inside


def test_an_outage_is_answered_503_and_a_bug_500_in_the_same_shape(tmp_path: Path) -> None:
    locked, bug = _locked(tmp_path / "b.db"), _no_such_table()
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/locked")
    def _locked_route() -> None:
        raise locked

    @app.get("/bug")
    def _bug_route() -> None:
        raise bug

    async def ask(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    outage = asyncio.run(ask("/locked"))
    assert outage.status_code == 503
    assert outage.json()["error"]["code"] == "unavailable"
    failure = asyncio.run(ask("/bug"))
    assert failure.status_code == 500
    assert failure.json()["error"]["code"] == "internal_error"


def test_a_server_on_sqlite_never_loads_the_postgresql_driver(tmp_path: Path) -> None:
    """psycopg costs ~10 MiB of memory; the embedded default has no use for it."""
    script = (
        "import sys\n"
        "from server import Settings, create_app\n"
        f"create_app(Settings(database_url='sqlite:///{tmp_path / 'a.db'}', photo_dir='{tmp_path}'))\n"
        "print('psycopg' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
