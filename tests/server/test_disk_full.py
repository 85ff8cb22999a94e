"""The disk under the database filling up loses nothing: while it is full, pushes and photo uploads
are told 503 ``unavailable`` and stay on the phones; once there is room again they go through, each
once. On SQLite and on PostgreSQL.

The disk is a real one: a tmpfs holding the database (the SQLite file, or a whole PostgreSQL
cluster) and the photo directory, filled by a file that is deleted while the phones keep retrying.
Mounting needs root (CI runs as root).
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from .photo_samples import jpeg, noise, sha
from .proofs import (
    Fleet,
    ServerProcess,
    SimPhone,
    check,
    fill_outbox,
    own_cluster,
    read_ledger,
    setup_street,
)

CAST = [("chief", True), ("chief2", True), ("station", False), ("centre", False)]
LEFT_FREE_KIB = 3_000  # what the filler leaves: far less than the phones' 8,000 events need


@contextmanager
def small_disk(size: str) -> Iterator[Path]:
    """A tmpfs of ``size``, mounted where the ``postgres`` user can reach it (pytest's own temporary
    directories are root's alone)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    path = Path(tempfile.mkdtemp(prefix="roadchief-disk-"))
    path.chmod(0o755)
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
        )
        if mounted.returncode != 0:
            pytest.skip(f"this machine does not let a test mount a tmpfs: {mounted.stderr.strip()}")
        try:
            yield path
        finally:
            subprocess.run(["umount", "--lazy", str(path)], check=False)
    finally:
        path.rmdir()


def free_kib(disk: Path) -> int:
    stat = os.statvfs(disk)
    return stat.f_bavail * stat.f_frsize // 1024


def fill_up(disk: Path, leave_kib: int) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, (free_kib(disk) - leave_kib) * 1024)
    return filler


def put_photo(base_url: str, token: str, data: bytes) -> httpx.Response:
    return httpx.put(
        f"{base_url}/api/v1/photos/{sha(data)}",
        content=data,
        headers={"authorization": f"Bearer {token}", "content-type": "image/jpeg"},
        timeout=30,
    )


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_full_disk_is_waited_out_and_nothing_pushed_meanwhile_is_lost_or_doubled(
    kind: str, tmp_path: Path
) -> None:
    with small_disk("160m") as disk, ExitStack() as stack:
        cluster = stack.enter_context(own_cluster(disk / "pg")) if kind == "postgres" else None
        url = cluster.url if cluster is not None else f"sqlite:///{disk / 'street.db'}"
        with ServerProcess(url, tmp_path, ROADCHIEF_PHOTO_DIR=str(disk / "photos")) as server:
            handle, street = setup_street(server)
            handle.close()
            token = street.apis["chief"].token or ""
            rng = random.Random(7)
            phones = [SimPhone(token=street.apis[who].token or "", name=who) for who, _ in CAST]
            for phone, (_, patrols) in zip(phones, CAST, strict=True):
                fill_outbox(phone, street, 2_000, rng, patrols=patrols)
            filler = fill_up(disk, LEFT_FREE_KIB)
            with Fleet(phones, server, batch_size=100, deadline=time.monotonic() + 180, pause=0.05) as fleet:
                started = time.monotonic()
                while not all(phone.server_errors for phone in phones):  # every phone has been told
                    assert fleet.busy, "the phones drained a full disk"
                    assert time.monotonic() - started < 60, "the disk never filled"
                    time.sleep(0.05)
                fleet.pause()  # nothing on the wire: the disk stays full while the photo is tried
                assert server.alive()
                photo = jpeg(noise(640, 480))
                assert free_kib(disk) * 1024 < len(photo)
                refused = put_photo(server.base_url, token, photo)
                assert refused.status_code == 503, refused.text
                assert refused.json()["error"]["code"] == "unavailable"

                filler.unlink()  # room again
                if cluster is not None and not cluster.running():
                    # PostgreSQL stops when it cannot write its WAL; its operator starts it again
                    cluster.restart()
            # leaving the block, every outbox has drained into the same server process
            stored = put_photo(server.base_url, token, photo)
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
        assert "database unavailable on POST /api/v1/sync/push" in log
        assert ("database or disk is full" if kind == "sqlite" else "No space left on device") in log
        assert "Traceback" not in log, log[-3000:]
