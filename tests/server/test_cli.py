"""A fresh server is usable: ``roadchief create-admin`` makes a street and its admin; migrations
apply on start and again harmlessly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.db import make_engine
from server.migrations import upgrade_database
from server.models import Base

from .conftest import ROOT, start_server, stop_server


def test_create_admin_then_serve_then_log_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {**os.environ, "ROADCHIEF_DATABASE_URL": url}
    command = [
        sys.executable,
        "-c",
        "from roadchief.cli import main; main()",
        "create-admin",
        "--street",
        "广宁街道",
        "--username",
        "boss",
        "--password",
        "a long password",
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "广宁街道" in done.stdout
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "taken" in again.stderr
    process, base = start_server(url, tmp_path)
    try:
        import httpx

        response = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "boss", "password": "a long password"}
        )
        assert response.status_code == 200 and response.json()["user"]["role"] == "admin"
        assert httpx.get(f"{base}/docs").status_code == 200
        assert "/api/v1/sync/push" in httpx.get(f"{base}/openapi.json").json()["paths"]
    finally:
        stop_server(process)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migrations_match_the_models_and_run_twice(tmp_path: Path, kind: str) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        from .conftest import PG_URL, _create_pg_database, _drop_pg_database

        if PG_URL is None:
            pytest.skip("ROADCHIEF_TEST_PG_URL is not set")
        url, name = _create_pg_database()
    try:
        upgrade_database(url)
        upgrade_database(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            assert (
                compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
                == []
            )
        engine.dispose()
    finally:
        if kind != "sqlite":
            _drop_pg_database(name)
