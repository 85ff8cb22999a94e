"""A real server process for the phone's end-to-end tests: ``Launcher`` starts (and restarts)
``python -m server`` on 127.0.0.1; ``launcher`` and ``street`` give each test module its own
server and a street with its cast (conftest.py makes them fixtures)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import stop_server
from tests.server.world import Server, Street, make_street

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Launcher:
    """Starts (and restarts) ``python -m server`` on one port and one SQLite file."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.url = f"sqlite:///{workdir / 'roadchief.db'}"
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        environ = {
            **os.environ,
            "ROADCHIEF_DATABASE_URL": self.url,
            "ROADCHIEF_PORT": str(self.port),
            "ROADCHIEF_PHOTO_DIR": str(self.workdir / "photos"),
            "ROADCHIEF_PASSWORD_TIME_COST": "1",
            "ROADCHIEF_PASSWORD_MEMORY_KIB": "1024",
            "ROADCHIEF_LOG_LEVEL": "warning",
            # the server prunes photos only when a test asks it to (a prune mid-test would race its checks)
            "ROADCHIEF_PHOTO_PRUNE_EVERY_HOURS": "0",
        }
        with open(self.workdir / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server"], cwd=ROOT, env=environ, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.workdir / "server.log").read_text())
            with contextlib.suppress(httpx.HTTPError):  # not listening yet
                if httpx.get(f"{self.base}/api/v1/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("the server did not come up")

    def stop(self) -> None:
        if self.process is not None:
            stop_server(self.process)
            self.process = None


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    running = Launcher(tmp_path_factory.mktemp("server"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def street(launcher: Launcher) -> Iterator[Street]:
    server = Server(
        base_url=launcher.base, database_url=launcher.url, kind="sqlite", workdir=launcher.workdir
    )
    try:
        yield make_street(server, "M")
    finally:
        server.close()
