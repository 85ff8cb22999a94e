"""The server's disk filling up loses nothing: while it is full, pushes and photo uploads are told
503 ``unavailable`` and stay on the phones; once there is room again they go through, each once.

The disk is a real one, a small tmpfs holding the server's SQLite database and photo directory,
grown with a remount while the phones keep retrying. Mounting needs root (CI runs as root).
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from .photo_samples import jpeg, noise, sha
from .proofs import Fleet, ServerProcess, SimPhone, check, fill_outbox, read_ledger, setup_street

CAST = [("chief", True), ("chief2", True), ("station", False), ("centre", False)]


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine does not let a test mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=False)


def grow(disk: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(disk)], check=True)


def free_kib(disk: Path) -> int:
    stat = os.statvfs(disk)
    return stat.f_bavail * stat.f_frsize // 1024


def put_photo(base_url: str, token: str, data: bytes) -> httpx.Response:
    return httpx.put(
        f"{base_url}/api/v1/photos/{sha(data)}",
        content=data,
        headers={"authorization": f"Bearer {token}", "content-type": "image/jpeg"},
        timeout=30,
    )


def test_a_full_disk_is_waited_out_and_nothing_pushed_meanwhile_is_lost_or_doubled(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "3m") as disk:
        url = f"sqlite:///{disk / 'street.db'}"
        with ServerProcess(url, tmp_path, ROADCHIEF_PHOTO_DIR=str(disk / "photos")) as server:
            handle, street = setup_street(server)
            handle.close()
            rng = random.Random(7)
            phones = [SimPhone(token=street.apis[who].token or "", name=who) for who, _ in CAST]
            for phone, (_, patrols) in zip(phones, CAST, strict=True):
                fill_outbox(phone, street, 2_000, rng, patrols=patrols)  # far more than 3 MB holds
            fleet = Fleet(phones, server, batch_size=100, deadline=time.monotonic() + 120, pause=0.05)
            fleet.start()
            try:
                started = time.monotonic()
                while not all(phone.server_errors for phone in phones):  # every phone has been told
                    assert fleet.busy, "the phones drained a full disk"
                    assert time.monotonic() - started < 60, "the disk never filled"
                    time.sleep(0.05)
                fleet.pause()  # nothing on the wire: the disk stays full while the photo is tried
                assert server.alive()
                photo = jpeg(noise(640, 480))
                assert free_kib(disk) * 1024 < len(photo)
                refused = put_photo(server.base_url, street.apis["chief"].token or "", photo)
                assert refused.status_code == 503, refused.text
                assert refused.json()["error"]["code"] == "unavailable"

                grow(disk, "256m")
                fleet.join()  # every outbox drains, on the same server process
            except BaseException:
                fleet.abort()
                raise
            stored = put_photo(server.base_url, street.apis["chief"].token or "", photo)
            assert stored.status_code == 201, stored.text
            assert server.alive()

        told: Counter[str] = Counter()
        for phone in phones:
            told += phone.server_errors
        assert set(told) == {"503 unavailable"}, told  # refused as an outage, never a 500
        verdict = check(read_ledger(url), phones, drained=True)
        assert verdict.ok, verdict.summary()
        assert verdict.applied == verdict.generated == 8_000
        log = "".join(path.read_text() for path in tmp_path.glob("server-*.log"))
        assert "database or disk is full" in log
        assert "Traceback" not in log, log[-3000:]
