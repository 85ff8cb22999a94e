"""Several server processes: on PostgreSQL they share the work and the login limit; on SQLite the
server refuses to start."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shared import LOGIN_PATH

from .proofs import ROOT, Fleet, ServerProcess, SimPhone, check, fill_outbox, read_ledger, setup_street


def test_sqlite_refuses_more_than_one_worker(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ROADCHIEF_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        "ROADCHIEF_PORT": "0",
        "ROADCHIEF_WORKERS": "2",
    }
    done = subprocess.run(
        [sys.executable, "-m", "server"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "ROADCHIEF_WORKERS > 1 needs PostgreSQL" in done.stderr


@pytest.mark.postgres
def test_two_workers_on_postgres_take_every_push_once(pg_database: str, tmp_path: Path) -> None:
    rng = random.Random(7)
    with ServerProcess(pg_database, tmp_path, ROADCHIEF_WORKERS="2") as server:
        handle, street = setup_street(server)
        handle.close()
        # the workers are among the server's children (uvicorn also starts a process of its own)
        assert server.process is not None
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        assert len(children) >= 2
        cast = [("chief", True), ("chief2", True), ("station", False), ("centre", False)]
        phones = [SimPhone(token=street.apis[who].token or "", name=who) for who, _ in cast]
        for phone, (_, patrols) in zip(phones, cast, strict=True):
            fill_outbox(phone, street, 200, rng, patrols=patrols)
        fleet = Fleet(phones, server, batch_size=10, deadline=time.monotonic() + 60).start()
        fleet.join()
        assert not fleet.errors, fleet.errors
    verdict = check(read_ledger(pg_database), phones, drained=True)
    assert verdict.ok, verdict.summary()
    assert verdict.processed == 800


@pytest.mark.postgres
def test_a_failed_login_counts_on_every_server_process(pg_database: str, tmp_path: Path) -> None:
    limit = {"ROADCHIEF_LOGIN_ATTEMPTS_PER_MINUTE": "3"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        ServerProcess(pg_database, tmp_path / "a", **limit) as first,
        ServerProcess(pg_database, tmp_path / "b", **limit) as second,
    ):

        def guess(server: ServerProcess) -> int:
            body = {"username": "zhang.wei", "password": "123456"}
            return httpx.post(server.base_url + LOGIN_PATH, json=body, timeout=30).status_code

        assert [guess(first), guess(second), guess(first)] == [401, 401, 401]
        # each process saw fewer than three failures itself: the count is the database's
        assert guess(second) == 429
        assert guess(first) == 429
