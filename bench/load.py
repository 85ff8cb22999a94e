"""Sync server under load: many phones at once against one server process, with a correctness check.

    python bench/load.py [--pushers 32] [--push-secs 15] [--interval 0.25] [--phones 50] [--secs 60] [--pg]

Prints one side-by-side table from one run (each measurement on a fresh server and database):

- **push, closed loop** (saturation; SQLite, with ``--pg`` PostgreSQL too): 32 pushers, each a
  device sending batches of 10 new events back to back; p50 and p99 of the push round trip and the
  throughput the server sustains. Goal: p99 <= 100 ms on SQLite.
- **push, open loop** (a stated load): the same 32 pushers, each sending a batch of 10 every
  ``--interval`` s (jittered +-50 %), as phones in the field do; latency counts from the moment the
  batch was due (so a device stuck behind its own slow push is charged for the wait), with the
  offered and achieved rates. Same goal.
- **load, 50 phones for 60 s**: each phone records 1-10 actions, pushes its outbox, pulls from its
  cursor, then waits 0.5 s (a phone syncing as often as it possibly would); at the end every outbox
  is drained and the server's ledger is checked: 0 lost, 0 duplicated, 0 errors.

Every run ends with ``check(read_ledger(url), phones, drained=True)``: each mutation a phone recorded
is processed exactly once, nothing lost or duplicated, no half-applied batch.

The load generator is kept cheap so that it measures the server, not itself: each phone's actions
are recorded and their request bodies encoded before the clock starts; the timed part sends them
with aiohttp on uvloop over keep-alive connections (one per pusher) and reads only what it needs
from each answer (orjson: per-mutation status, ``last_seq``, the pull cursor). Every push answer is
kept and, after the clock stops, parsed with the strict ``PushResponse.from_dict`` and replayed
through ``SimPhone.hear``, so the checker sees exactly what a phone would have heard. Actions
recorded ahead but never reached before the deadline are dropped, as if never made. The table
shows the client's and the server process's CPU per request; the two share this machine's cores,
so absolute figures are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import orjson  # noqa: E402
import uvloop  # noqa: E402

from shared import (  # noqa: E402
    PROTOCOL_VERSION,
    PULL_PATH,
    PUSH_PATH,
    Mutation,
    PushRequest,
    PushResponse,
    dumps,
    loads,
)
from tests.server.proofs import (  # noqa: E402
    PgCluster,
    ServerProcess,
    SimPhone,
    Verdict,
    check,
    fill_outbox,
    read_ledger,
    setup_street,
)

WHO = [("chief", True), ("chief2", True), ("station", False), ("centre", False)]
GOAL_P99_MS = 100.0
THINK = 0.5  # field day: a phone's pause between syncs
POOL_RATE = 8.0  # closed loop: bodies encoded ahead per pusher per second (more are built if needed)
_DONE = frozenset({"applied", "duplicate", "rejected"})  # processed: leaves the outbox


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = {"push": [], "pull": [], "round trip": []}
        self.errors = 0
        self.error_kinds: Counter[str] = Counter()
        self.pushed_events = 0
        self.late = 0  # open loop: batches sent after their due time (the device was still busy)
        self.built_live = 0  # bodies encoded inside the timed part (the pool recorded ahead ran out)
        self.elapsed = 0.0  # seconds of the timed part, drain included
        self.client_cpu = 0.0  # this process's CPU seconds in the timed part
        self.server_cpu = 0.0  # the server process's CPU seconds in the timed part

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] += 1

    @property
    def requests(self) -> int:
        return len(self.latency["push"]) + len(self.latency["pull"]) + self.errors

    def summary(self, kind: str) -> tuple[int, float, float]:
        xs = sorted(self.latency[kind])
        if not xs:
            return 0, float("nan"), float("nan")
        return len(xs), statistics.median(xs) * 1000, xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1000

    def cpu(self) -> str:
        n = max(1, self.requests)
        return (
            f"client {self.client_cpu / n * 1000:.2f} ms/req, server {self.server_cpu / n * 1000:.1f} ms/req"
        )


# --- a phone whose outbox is encoded ahead of time -------------------------------------------------


@dataclass(slots=True)
class Batch:
    mutations: tuple[Mutation, ...]
    body: bytes


@dataclass
class Device:
    """A ``SimPhone`` whose actions are recorded and encoded before the clock starts.

    ``batches`` is the phone's outbox cut into request bodies, followed by actions recorded ahead of
    time; only the first ``ready`` batches count as recorded (in the outbox) so far. The head batch
    leaves once every mutation in it is answered processed; a ``retry`` keeps it and what follows,
    as ``SimPhone.hear`` does. Answers are kept raw for ``finish()``.
    """

    phone: SimPhone
    patrols: bool
    headers: dict[str, str]
    batches: deque[Batch] = field(default_factory=deque)
    ready: int = 0
    answers: list[bytes] = field(default_factory=list)

    def record(self, street: Any, rng: random.Random, count: int) -> None:
        """``count`` new actions as one more batch at the end (encoded now)."""
        phone = self.phone
        phone.outbox = []  # a staging area here; the real outbox is rebuilt by ``finish()``
        fill_outbox(phone, street, count, rng, patrols=self.patrols)
        mutations = tuple(phone.outbox)
        phone.outbox = []
        self.batches.append(Batch(mutations, self._encode(mutations)))

    def arm(self, street: Any, rng: random.Random, count: int, stats: Stats) -> None:
        """The next batch recorded ahead joins the outbox (one is recorded now if none is left)."""
        if self.ready == len(self.batches):
            self.record(street, rng, count)
            stats.built_live += 1
        self.ready += 1

    def _encode(self, mutations: tuple[Mutation, ...]) -> bytes:
        return dumps(PushRequest(PROTOCOL_VERSION, self.phone.device_id, mutations))

    def heard(self, payload: bytes) -> None:
        """Take a 200 answer to the head batch: leave what was processed, keep a retry and the rest."""
        batch = self.batches[0]
        results = orjson.loads(payload)["results"]
        if len(results) > len(batch.mutations):
            raise ValueError(f"{len(results)} answers to a batch of {len(batch.mutations)}")
        done = 0
        for result, mutation in zip(results, batch.mutations, strict=False):
            if result["id"] != mutation.id:
                raise ValueError(f"answer for {result['id']} where {mutation.id} was sent")
            status = result["status"]
            if status not in _DONE:
                if status != "retry":
                    raise ValueError(f"status {status!r}")
                break
            done += 1
        self.answers.append(payload)
        if done == len(batch.mutations):
            self.batches.popleft()
            self.ready -= 1
        elif done:
            rest = batch.mutations[done:]
            self.batches[0] = Batch(rest, self._encode(rest))

    def finish(self) -> None:
        """Drop actions recorded ahead but never reached; replay every answer through ``SimPhone.hear``
        (strictly parsed) so the phone holds what it would have heard, and its outbox what is left."""
        phone = self.phone
        while len(self.batches) > self.ready:
            for mutation in self.batches.pop().mutations:
                del phone.generated[mutation.id]
        phone.seq = max((m.seq for m in phone.generated.values()), default=0)
        phone.outbox = list(phone.generated.values())
        for payload in self.answers:
            phone.hear(PushResponse.from_dict(loads(payload)))
        left = [m.id for b in self.batches for m in b.mutations]
        if [m.id for m in phone.outbox] != left:
            raise AssertionError(f"{phone.name}: the replayed outbox differs from the one sent from")


def make_devices(street: Any, count: int) -> list[Device]:
    devices = []
    for i in range(count):
        who, patrols = WHO[i % len(WHO)]
        phone = SimPhone(token=street.apis[who].token or "", name=f"{who}-{i}")
        devices.append(Device(phone, patrols, phone.headers))
    return devices


def session(connections: int) -> aiohttp.ClientSession:
    # idle connections are dropped before uvicorn's 5 s keep-alive timeout can race a new request
    connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=2.0)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=30),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    )


async def push(
    http: aiohttp.ClientSession, url: str, device: Device, stats: Stats, due: float | None = None
) -> bool:
    """Send the head batch once; True if its answer was heard. Latency counts from ``due`` if given."""
    batch = device.batches[0]
    mutations = batch.mutations
    device.phone.sent_batches.append((mutations[0].seq, mutations[-1].seq))
    device.phone.pushes += 1
    started = time.perf_counter()
    try:
        async with http.post(url, data=batch.body, headers=device.headers) as response:
            payload = await response.read()
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        stats.error(f"push {type(exc).__name__}")
        return False
    if status != 200:
        stats.error(f"push {status} {payload[:120]!r}")
        return False
    answered = time.perf_counter()
    if due is None:
        stats.latency["push"].append(answered - started)
    else:  # open loop: from the moment the batch was due; the round trip alone is kept apart
        stats.latency["push"].append(answered - due)
        stats.latency["round trip"].append(answered - started)
    try:
        device.heard(payload)
    except (ValueError, KeyError, TypeError) as exc:
        stats.error(f"push answer {exc}")
        return False
    stats.pushed_events += len(mutations)
    return True


async def pull(http: aiohttp.ClientSession, url: str, device: Device, stats: Stats) -> None:
    phone = device.phone
    while True:
        body = orjson.dumps(
            {
                "protocol_version": PROTOCOL_VERSION,
                "device_id": phone.device_id,
                "cursor": phone.cursor,
                "limit": 500,
            }
        )
        started = time.perf_counter()
        try:
            async with http.post(url, data=body, headers=device.headers) as response:
                payload = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            stats.error(f"pull {type(exc).__name__}")
            return
        if status != 200:
            stats.error(f"pull {status} {payload[:120]!r}")
            return
        stats.latency["pull"].append(time.perf_counter() - started)
        page = page_tail(payload)
        phone.cursor = page["cursor"]
        if not page["has_more"]:
            return


def page_tail(payload: bytes) -> dict[str, Any]:
    """A pull page's ``cursor`` and ``has_more`` without decoding its events, which this load does not
    use (they are most of the bytes). The server writes those keys after ``events``: the last
    ``"cursor":`` outside a string starts them, and if that tail is not a JSON object holding both,
    the whole page is decoded instead."""
    at = payload.rfind(b'"cursor":')
    if at > 0:
        try:
            tail = orjson.loads(b"{" + payload[at:])
        except orjson.JSONDecodeError:
            pass
        else:
            if isinstance(tail, dict) and "has_more" in tail:
                return tail
    page: dict[str, Any] = orjson.loads(payload)
    return page


async def drain(
    http: aiohttp.ClientSession, url: str, device: Device, stats: Stats, tries: int = 100
) -> None:
    """A phone keeps pushing until the actions it recorded are all answered."""
    for _ in range(tries):
        if not device.ready:
            return
        if not await push(http, url, device, stats):
            await asyncio.sleep(0.05)


def _cpu_seconds(pid: int) -> float:
    """CPU seconds of the server's whole process group (its workers too, when it has several)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that ended meanwhile
        if int(fields[2]) == pid:  # its process group: ServerProcess starts the server as a leader
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run(
    url: str,
    workdir: Path,
    count: int,
    prepare: Callable[[Any, list[Device]], None],
    drive: Callable[[str, Any, list[Device], Stats], Awaitable[None]],
    workers: int = 1,
) -> tuple[Stats, Verdict]:
    """A fresh server; ``prepare`` records ahead (untimed), ``drive`` is timed; then the ledger check."""
    stats = Stats()
    with ServerProcess(url, workdir, ROADCHIEF_WORKERS=str(workers)) as server:
        handle, street = setup_street(server)
        handle.close()
        devices = make_devices(street, count)
        prepare(street, devices)
        assert server.process is not None
        pid = server.process.pid
        server_cpu, client_cpu, started = _cpu_seconds(pid), time.process_time(), time.perf_counter()
        uvloop.run(drive(server.base_url, street, devices, stats))
        stats.elapsed = time.perf_counter() - started
        stats.client_cpu = time.process_time() - client_cpu
        stats.server_cpu = _cpu_seconds(pid) - server_cpu
    for device in devices:
        device.finish()
    return stats, check(read_ledger(url), [d.phone for d in devices], drained=True)


# --- the three loads -------------------------------------------------------------------------------


def closed_loop(count: int, secs: float) -> tuple[Callable[..., None], Callable[..., Awaitable[None]]]:
    """``count`` devices pushing batches of 10 new events back to back for ``secs``."""
    rng = random.Random(32)
    pool = math.ceil(secs * POOL_RATE)

    def prepare(street: Any, devices: list[Device]) -> None:
        for device in devices:
            for _ in range(pool):
                device.record(street, rng, 10)

    async def drive(base: str, street: Any, devices: list[Device], stats: Stats) -> None:
        url = base + PUSH_PATH
        async with session(count) as http:
            deadline = time.monotonic() + secs

            async def one(device: Device) -> None:
                while time.monotonic() < deadline:
                    if not device.ready:
                        device.arm(street, rng, 10, stats)
                    if not await push(http, url, device, stats):
                        await asyncio.sleep(0.05)
                await drain(http, url, device, stats)  # what is queued goes out before the figures are read

            await asyncio.gather(*(one(d) for d in devices))

    return prepare, drive


def open_loop(
    count: int, secs: float, interval: float
) -> tuple[Callable[..., None], Callable[..., Awaitable[None]]]:
    """``count`` devices, each recording a batch of 10 every ``interval`` s (+-50 %) and pushing it."""
    rng = random.Random(33)
    ticks = math.ceil(secs / (interval * 0.5)) + 1  # enough for the shortest gaps throughout

    def prepare(street: Any, devices: list[Device]) -> None:
        for device in devices:
            for _ in range(ticks):
                device.record(street, rng, 10)

    async def drive(base: str, street: Any, devices: list[Device], stats: Stats) -> None:
        url = base + PUSH_PATH
        async with session(count) as http:
            start = time.perf_counter()
            deadline = start + secs

            async def one(device: Device) -> None:
                due = start + rng.uniform(0, interval)
                while due < deadline:
                    wait = due - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    else:
                        stats.late += 1
                    device.arm(street, rng, 10, stats)  # the batch due now joins the outbox
                    await push(http, url, device, stats, due=due)
                    due += interval * rng.uniform(0.5, 1.5)
                await drain(http, url, device, stats)

            await asyncio.gather(*(one(d) for d in devices))

    return prepare, drive


def field_day(count: int, secs: float) -> tuple[Callable[..., None], Callable[..., Awaitable[None]]]:
    """``count`` phones: record 1-10 actions, push, pull, think 0.5 s; then drain."""
    rng = random.Random(50)
    rounds = math.ceil(secs / THINK) + 1  # a round takes at least THINK

    def prepare(street: Any, devices: list[Device]) -> None:
        for device in devices:
            for _ in range(rounds):
                device.record(street, rng, rng.randint(1, 10))

    async def drive(base: str, street: Any, devices: list[Device], stats: Stats) -> None:
        push_url, pull_url = base + PUSH_PATH, base + PULL_PATH
        async with session(count) as http:
            deadline = time.monotonic() + secs

            async def one(device: Device) -> None:
                await asyncio.sleep(rng.uniform(0, THINK))
                while time.monotonic() < deadline:
                    device.arm(street, rng, rng.randint(1, 10), stats)  # this round's actions
                    while device.ready and await push(http, push_url, device, stats):
                        pass
                    await pull(http, pull_url, device, stats)
                    await asyncio.sleep(THINK)
                await drain(http, push_url, device, stats)

            await asyncio.gather(*(one(d) for d in devices))

    return prepare, drive


# --- the table -------------------------------------------------------------------------------------


def ledger_cell(verdict: Verdict) -> str:
    return (
        f"lost {len(verdict.lost)}, duplicated {len(verdict.duplicated)}, "
        f"half batches {len(verdict.half_applied)}, inconsistent {len(verdict.inconsistent)}"
    )


def _live(stats: Stats) -> str:
    return f", {stats.built_live} bodies encoded in the timed part" if stats.built_live else ""


def goal_cell(p99: float, applies: bool) -> str:
    if not applies:
        return ""
    return f"p99 <= {GOAL_P99_MS:.0f} ms: {'met' if p99 <= GOAL_P99_MS else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushers", type=int, default=32)
    parser.add_argument("--push-secs", type=float, default=15, help="seconds of each push measurement")
    parser.add_argument(
        "--interval", type=float, default=0.25, help="open loop: seconds between a pusher's batches"
    )
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--secs", type=float, default=60)
    parser.add_argument("--pg", action="store_true", help="also measure the pushers on PostgreSQL")
    parser.add_argument("--pg-workers", type=int, default=1, help="server processes on PostgreSQL")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="roadchief-load-"))
    cluster = None
    rows: list[tuple[str, ...]] = []
    error_kinds: Counter[str] = Counter()
    verdicts: list[Verdict] = []
    saturation = ""
    n_pushers, secs, interval = options.pushers, options.push_secs, options.interval
    try:
        targets = [("SQLite", f"sqlite:///{workdir / 'closed.db'}", f"sqlite:///{workdir / 'open.db'}")]
        if options.pg and PgCluster.available():
            cluster = PgCluster()
            cluster.start()
            targets.append(("PostgreSQL", cluster.url, cluster.url))
        for label, closed_url, open_url in targets:
            if label == "PostgreSQL":
                _reset_pg(closed_url)
            workers = options.pg_workers if label == "PostgreSQL" else 1
            shown = f"{label}, {workers} server processes" if workers > 1 else label
            stats, verdict = run(closed_url, workdir, n_pushers, *closed_loop(n_pushers, secs), workers)
            error_kinds += stats.error_kinds
            verdicts.append(verdict)
            n, p50, p99 = stats.summary("push")
            if label == "SQLite":
                saturation = _saturation(n_pushers, n / stats.elapsed, stats.server_cpu / max(1, n))
            rows.append(
                (
                    f"push, closed loop (saturation): {n_pushers} pushers back to back, batch 10, {shown}",
                    f"p50 {p50:.0f} ms / p99 {p99:.0f} ms",
                    f"{n:,} pushes, {n / stats.elapsed:,.0f} pushes/s, "
                    f"{stats.pushed_events / stats.elapsed:,.0f} events/s, "
                    f"errors {stats.errors}{_live(stats)}",
                    ledger_cell(verdict),
                    stats.cpu(),
                    goal_cell(p99, label == "SQLite"),
                )
            )
            if label == "PostgreSQL":
                _reset_pg(open_url)
            stats, verdict = run(open_url, workdir, n_pushers, *open_loop(n_pushers, secs, interval), workers)
            error_kinds += stats.error_kinds
            verdicts.append(verdict)
            n, p50, p99 = stats.summary("push")
            _, rtt50, rtt99 = stats.summary("round trip")
            offered = n_pushers / interval
            rows.append(
                (
                    f"push, open loop: {n_pushers} pushers x batch 10 every {interval * 1000:.0f} ms "
                    f"(+-50 %), {shown}",
                    f"p50 {p50:.0f} ms / p99 {p99:.0f} ms from due time "
                    f"(round trip alone p50 {rtt50:.0f} / p99 {rtt99:.0f})",
                    f"offered {offered:,.0f} pushes/s, achieved {n / stats.elapsed:,.0f} pushes/s "
                    f"({stats.pushed_events / stats.elapsed:,.0f} events/s), late {stats.late}, "
                    f"errors {stats.errors}{_live(stats)}",
                    ledger_cell(verdict),
                    stats.cpu(),
                    goal_cell(p99, label == "SQLite"),
                )
            )
        load_url = f"sqlite:///{workdir / 'load.db'}"
        stats, verdict = run(load_url, workdir, options.phones, *field_day(options.phones, options.secs))
        error_kinds += stats.error_kinds
        verdicts.append(verdict)
        title = f"load, {options.phones} phones x {options.secs:.0f} s"
        for kind in ("push", "pull"):
            n, p50, p99 = stats.summary(kind)
            rows.append(
                (
                    f"{title}, {kind} (SQLite)",
                    f"p50 {p50:.0f} ms / p99 {p99:.0f} ms",
                    f"{n:,} {kind} requests",
                    "",
                    stats.cpu() if kind == "push" else "(push and pull together)",
                    "",
                )
            )
        rows.append(
            (
                f"{title}, correctness",
                f"errors {stats.errors}, lost {len(verdict.lost)}, duplicated {len(verdict.duplicated)}",
                f"events {verdict.generated:,}, applied {verdict.applied:,}",
                f"half batches {len(verdict.half_applied)}, inconsistent {len(verdict.inconsistent)}",
                "",
                "0 lost, 0 errors: " + ("met" if not stats.errors and not verdict.lost else "MISSED"),
            )
        )
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    if error_kinds:
        print("errors:", dict(error_kinds))
    for verdict in verdicts:
        if not verdict.ok:
            print(verdict.summary())
    header = ("measure", "latency", "volume", "ledger check", "CPU per request", "goal")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print()
    print(saturation)


def _saturation(pushers: int, rate: float, cpu_per_push: float) -> str:
    """What the closed loop's latency is bound to: with no pause between a pusher's pushes, the mean
    wait is pushers / rate (Little's law), whatever the server does with its time."""
    return (
        f"Closed loop on SQLite, read by Little's law: {pushers} pushers that never pause wait "
        f"{pushers} / {rate:,.0f} pushes/s = {pushers / rate * 1000:,.0f} ms on average, so a p99 "
        f"within 100 ms needs more than {pushers / 0.1:,.0f} pushes/s. The server did {rate:,.0f}, "
        f"at {cpu_per_push * 1000:.1f} ms of CPU each: one process, whose Python runs on one core "
        f"at a time, tops out near {1 / cpu_per_push:,.0f} pushes/s."
    )


def _reset_pg(url: str) -> None:
    """PostgreSQL runs share one database: start each from empty (the server creates its schema)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
