"""Sync server under load: many phones at once against one server process, with a correctness check.

    python bench/load.py [--pushers 32] [--push-secs 15] [--phones 50] [--secs 60] [--pg]

Prints one side-by-side table from one run:

- **push latency, 32 concurrent pushers** (SQLite; with ``--pg`` PostgreSQL too): each pusher is a
  device sending batches of 10 new events back to back; p50 and p99 of the push round trip.
  Goal: p99 <= 100 ms on SQLite.
- **load, 50 phones for 60 s**: each phone records 1-10 actions, pushes its outbox, pulls from its
  cursor, then waits 0.5 s (a phone syncing as often as it possibly would); at the end every outbox
  is drained and the server's ledger is checked: 0 lost, 0 duplicated, 0 errors.

Load generator and server share this machine's cores, so absolute figures are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from shared import (  # noqa: E402
    PROTOCOL_VERSION,
    PULL_PATH,
    PUSH_PATH,
    PullRequest,
    PullResponse,
    PushResponse,
    dumps,
    loads,
)
from tests.server.proofs import (  # noqa: E402
    PgCluster,
    ServerProcess,
    SimPhone,
    check,
    fill_outbox,
    read_ledger,
    setup_street,
)

WHO = [("chief", True), ("chief2", True), ("station", False), ("centre", False)]


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = {"push": [], "pull": []}
        self.errors = 0
        self.error_kinds: Counter[str] = Counter()
        self.pushed_events = 0

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] += 1

    def summary(self, kind: str) -> tuple[int, float, float]:
        xs = sorted(self.latency[kind])
        if not xs:
            return 0, float("nan"), float("nan")
        return len(xs), statistics.median(xs) * 1000, xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1000


async def push(http: httpx.AsyncClient, base: str, phone: SimPhone, stats: Stats, batch: int = 100) -> bool:
    """Push the head of the outbox once; the latency of heard answers is recorded."""
    mutations, body = phone.request_body(batch)
    if not mutations:
        return True
    phone.sent_batches.append((mutations[0].seq, mutations[-1].seq))
    started = time.perf_counter()
    try:
        response = await http.post(base + PUSH_PATH, content=body, headers=phone.headers)
    except httpx.HTTPError as exc:
        stats.error(f"push {type(exc).__name__}")
        return False
    if response.status_code != 200:
        stats.error(f"push {response.status_code} {response.text[:120]}")
        return False
    stats.latency["push"].append(time.perf_counter() - started)
    stats.pushed_events += len(mutations)
    phone.hear(PushResponse.from_dict(loads(response.content)))
    return True


async def pull(http: httpx.AsyncClient, base: str, phone: SimPhone, stats: Stats) -> None:
    while True:
        body = dumps(PullRequest(PROTOCOL_VERSION, phone.device_id, phone.cursor, 500))
        started = time.perf_counter()
        try:
            response = await http.post(base + PULL_PATH, content=body, headers=phone.headers)
        except httpx.HTTPError as exc:
            stats.error(f"pull {type(exc).__name__}")
            return
        if response.status_code != 200:
            stats.error(f"pull {response.status_code} {response.text[:120]}")
            return
        stats.latency["pull"].append(time.perf_counter() - started)
        page = PullResponse.from_dict(loads(response.content))
        phone.cursor = page.cursor
        if not page.has_more:
            return


def make_phones(street: Any, count: int) -> list[tuple[SimPhone, bool]]:
    phones = []
    for i in range(count):
        who, patrols = WHO[i % len(WHO)]
        phones.append((SimPhone(token=street.apis[who].token or "", name=f"{who}-{i}"), patrols))
    return phones


async def pushers(base: str, street: Any, count: int, secs: float) -> tuple[Stats, list[SimPhone]]:
    """``count`` devices pushing batches of 10 new events back to back for ``secs``."""
    stats = Stats()
    phones = make_phones(street, count)
    rng = random.Random(32)
    # idle connections are dropped before uvicorn's 5 s keep-alive timeout can race a new request
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count, keepalive_expiry=2.0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        deadline = time.monotonic() + secs

        async def run(phone: SimPhone, patrols: bool) -> None:
            while time.monotonic() < deadline:
                if not phone.outbox:
                    fill_outbox(phone, street, 10, rng, patrols=patrols)
                if not await push(http, base, phone, stats, batch=10):
                    await asyncio.sleep(0.05)
            while phone.outbox:  # what is queued goes out before the figures are read
                await push(http, base, phone, stats, batch=10)

        await asyncio.gather(*(run(p, patrols) for p, patrols in phones))
    return stats, [p for p, _ in phones]


async def field_day(base: str, street: Any, count: int, secs: float) -> tuple[Stats, list[SimPhone]]:
    """``count`` phones: record 1-10 actions, push, pull, think 0.5 s; then drain."""
    stats = Stats()
    phones = make_phones(street, count)
    rng = random.Random(50)
    # idle connections are dropped before uvicorn's 5 s keep-alive timeout can race a new request
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count, keepalive_expiry=2.0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        deadline = time.monotonic() + secs

        async def run(phone: SimPhone, patrols: bool) -> None:
            await asyncio.sleep(rng.uniform(0, 0.5))
            while time.monotonic() < deadline:
                fill_outbox(phone, street, len(phone.outbox) + rng.randint(1, 10), rng, patrols=patrols)
                while phone.outbox and await push(http, base, phone, stats):
                    pass
                await pull(http, base, phone, stats)
                await asyncio.sleep(0.5)
            for _ in range(100):  # drain: a phone keeps trying until its outbox is empty
                if not phone.outbox:
                    break
                await push(http, base, phone, stats)

        await asyncio.gather(*(run(p, patrols) for p, patrols in phones))
    return stats, [p for p, _ in phones]


def run_pushers(url: str, workdir: Path, count: int, secs: float) -> tuple[Stats, Any]:
    with ServerProcess(url, workdir) as server:
        handle, street = setup_street(server)
        handle.close()
        stats, phones = asyncio.run(pushers(server.base_url, street, count, secs))
    return stats, check(read_ledger(url), phones, drained=True)


def run_field_day(url: str, workdir: Path, count: int, secs: float) -> tuple[Stats, Any]:
    with ServerProcess(url, workdir) as server:
        handle, street = setup_street(server)
        handle.close()
        stats, phones = asyncio.run(field_day(server.base_url, street, count, secs))
    return stats, check(read_ledger(url), phones, drained=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushers", type=int, default=32)
    parser.add_argument("--push-secs", type=float, default=15)
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--secs", type=float, default=60)
    parser.add_argument("--pg", action="store_true", help="also measure the pushers on PostgreSQL")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="roadchief-load-"))
    cluster = None
    rows: list[tuple[str, str, str, str, str]] = []
    try:
        targets = [("SQLite", f"sqlite:///{workdir / 'pushers.db'}")]
        if options.pg and PgCluster.available():
            cluster = PgCluster()
            cluster.start()
            targets.append(("PostgreSQL", cluster.url))
        for label, url in targets:
            stats, verdict = run_pushers(url, workdir, options.pushers, options.push_secs)
            n, p50, p99 = stats.summary("push")
            rate = stats.pushed_events / options.push_secs
            rows.append(
                (
                    f"push, {options.pushers} concurrent pushers, batch 10, {label}",
                    f"p50 {p50:.0f} ms / p99 {p99:.0f} ms",
                    f"{n:,} pushes, {rate:,.0f} events/s, errors {stats.errors}",
                    f"lost {len(verdict.lost)}, duplicated {len(verdict.duplicated)}, "
                    f"half batches {len(verdict.half_applied)}",
                    "p99 <= 100 ms" if label == "SQLite" else "",
                )
            )
        load_url = f"sqlite:///{workdir / 'load.db'}"
        stats, verdict = run_field_day(load_url, workdir, options.phones, options.secs)
        for kind in ("push", "pull"):
            n, p50, p99 = stats.summary(kind)
            rows.append(
                (
                    f"load, {options.phones} phones x {options.secs:.0f} s, {kind} (SQLite)",
                    f"p50 {p50:.0f} ms / p99 {p99:.0f} ms",
                    f"{n:,} {kind} requests",
                    "",
                    "",
                )
            )
        rows.append(
            (
                f"load, {options.phones} phones x {options.secs:.0f} s, correctness",
                f"errors {stats.errors}, lost {len(verdict.lost)}, duplicated {len(verdict.duplicated)}",
                f"events {verdict.generated:,}, applied {verdict.applied:,}",
                f"half batches {len(verdict.half_applied)}",
                "0 lost, 0 errors",
            )
        )
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    if stats.error_kinds:
        print("errors:", dict(stats.error_kinds))
    header = ("measure", "figure", "volume", "check", "goal")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
