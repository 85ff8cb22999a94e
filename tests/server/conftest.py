"""A real server process on 127.0.0.1 per test module, on SQLite and on PostgreSQL, and a cast of
users in two streets (A and B) to act on it over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from .world import Server, World, build_world

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("ROADCHIEF_TEST_PG_URL")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _create_pg_database() -> tuple[str, str]:
    assert PG_URL is not None
    name = f"rc_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(name: str) -> None:
    assert PG_URL is not None
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def start_server(database_url: str, workdir: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    environ = {
        **os.environ,
        "ROADCHIEF_DATABASE_URL": database_url,
        "ROADCHIEF_PORT": str(port),
        "ROADCHIEF_PHOTO_DIR": str(workdir / "photos"),
        # cheap argon2id for tests; production keeps argon2-cffi's defaults
        "ROADCHIEF_PASSWORD_TIME_COST": "1",
        "ROADCHIEF_PASSWORD_MEMORY_KIB": "1024",
        "ROADCHIEF_LOG_LEVEL": "warning",
        # the server prunes photos only when a test asks it to (a prune mid-test would race its checks)
        "ROADCHIEF_PHOTO_PRUNE_EVERY_HOURS": "0",
        **env,
    }
    log_path = workdir / f"server-{port}.log"
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "server"], cwd=ROOT, env=environ, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log_path.read_text())
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not come up")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database on the throwaway cluster, dropped afterwards."""
    if PG_URL is None:
        pytest.skip("ROADCHIEF_TEST_PG_URL is not set (scripts/test sets it)")
    url, name = _create_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(name)


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param("postgres", marks=[pytest.mark.postgres]),
    ],
)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server process on a fresh database: an SQLite file, or a new PostgreSQL database."""
    workdir = tmp_path_factory.mktemp(f"server-{request.param}")
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'roadchief.db'}"
    else:
        if PG_URL is None:
            pytest.skip("ROADCHIEF_TEST_PG_URL is not set (scripts/test sets it)")
        url, pg_name = _create_pg_database()
    process, base = start_server(url, workdir)
    running = Server(base_url=base, database_url=url, kind=request.param, workdir=workdir)
    try:
        yield running
    finally:
        running.close()
        stop_server(process)
        if pg_name is not None:
            _drop_pg_database(pg_name)
    # every bad input must have been a 4xx: the last-resort handler logs each 500 it answers
    for log in workdir.glob("server-*.log"):
        text_ = log.read_text(errors="replace")
        assert "unhandled error" not in text_ and "Traceback" not in text_, text_[-4000:]


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    """Two streets, each with communities, departments, roads and one user per role, signed in."""
    return build_world(server)
