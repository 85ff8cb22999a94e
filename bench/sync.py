"""Sync server throughput: push ingest against raw inserts of the same rows, pull against a raw
streaming SELECT of the same rows, measured in the same run on the same machine.

    python bench/sync.py [--events N] [--rounds 5] [--pull 25000,50000,100000] [--no-pg]

Prints one side-by-side table:

- **push ingest** (batches of 100, SQLite and PostgreSQL): events/s through the real server
  process (HTTP, auth, protocol parsing, the engine, idempotence, one transaction per batch),
  sent over one keep-alive ``http.client`` connection per phone (a lean client: one push at a
  time, its CPU adds to the time measured)
  against raw ``sqlite3`` / ``psycopg`` ``executemany`` of the same rows the server wrote (every
  table the push writes: events, answers, snapshots, step visits; into empty copies with the same
  indexes and no foreign keys), also one transaction per 100, with WAL checkpoints run as the
  server runs them (on a thread of their own). Goal: >= 35 % of raw. Beside it, a laxer baseline
  on SQLite (the same rows with SQLite's default checkpoints, in the commit that fills the log)
  and a stricter one (raw executemany of the events table's rows alone). Measured twice, each on a
  fresh database: the four phones' batches sent one after another (one request at a time), then
  the four phones pushing at once, each its own batches in order on its own connection (the
  server then overlaps one phone's HTTP and parsing with another's write, and commits pushes in
  groups). In five rounds (``--rounds``), each on fresh databases, with its baselines measured
  right after its pushes: each ratio is taken within its round, and the median is printed with
  the range. (Five, not three: this VM shares its cores with others, and one disturbed round
  moved the median of three.)
- **pull** (SQLite): a phone's first sync of a street with 25k, 50k and 100k events (pages of
  ``MAX_PULL_LIMIT``), seconds and the server's peak RSS growth (``VmHWM``, server restarted
  before each pull), against a raw streaming ``SELECT`` of the same rows (every column of the
  event but the server's stored page entry ``wire``; ``args`` not decoded, as the pull does not
  decode it). The client takes each page's cursor from the response headers and asks for the
  next page at once; the clock stops when the last page is in (best of three pulls, and of three
  raw SELECTs). The client then decodes every page with orjson and checks it (printed beside,
  not in the ratio): a phone parses on its own CPU, here the parser would share the server's two
  cores. Goal: >= 50 % of raw, memory flat as rows grow.

It starts its own server processes, its own throwaway PostgreSQL (``scripts/pg-throwaway``) and
works in a temporary directory; nothing is left behind.
"""

from __future__ import annotations

import argparse
import http.client
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import orjson  # noqa: E402

from server.checkpoint import FALLBACK_PAGES, WalCheckpointer  # noqa: E402
from server.db import SQLITE_WRITE_SYNC  # noqa: E402
from shared import (  # noqa: E402
    MAX_PULL_LIMIT,
    PROTOCOL_VERSION,
    PULL_CURSOR_HEADER,
    PULL_HAS_MORE_HEADER,
    PULL_PATH,
    PUSH_PATH,
    PullRequest,
    PushRequest,
    dumps,
)
from tests.server.proofs import (  # noqa: E402
    PgCluster,
    ServerProcess,
    SimPhone,
    fill_outbox,
    pull_everything,
    setup_street,
)

BATCH = 100


def make_bodies(phones: list[SimPhone], batch: int) -> list[tuple[SimPhone, bytes]]:
    """Every phone's outbox cut into request bodies, ready to send (the client's JSON work is not timed)."""
    bodies = []
    for phone in phones:
        for start in range(0, len(phone.outbox), batch):
            chunk = tuple(phone.outbox[start : start + batch])
            bodies.append((phone, dumps(PushRequest(PROTOCOL_VERSION, phone.device_id, chunk))))
    return bodies


class _Pusher:
    """One phone's keep-alive connection, on ``http.client``: the bench's side of a push costs
    ~0.7 ms of CPU where httpx cost ~2.5 (of ~25 ms per 100-event push), time that is the load
    generator's, not the server's, and that the raw baselines do not pay either."""

    def __init__(self, base_url: str) -> None:
        where = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=60)

    def push(self, phone: SimPhone, body: bytes) -> None:
        """POST one body; every mutation in it must come back applied."""
        self.connection.request("POST", PUSH_PATH, body=body, headers=phone.headers)
        response = self.connection.getresponse()
        payload = response.read()
        assert response.status == 200, payload
        statuses = {r["status"] for r in orjson.loads(payload)["results"]}
        assert statuses == {"applied"}, statuses

    def health(self) -> None:
        self.connection.request("GET", "/api/v1/health")
        response = self.connection.getresponse()
        response.read()
        assert response.status == 200

    def close(self) -> None:
        self.connection.close()


def push_all(base_url: str, bodies: list[tuple[SimPhone, bytes]]) -> float:
    """Send the bodies one after another; seconds taken. Every mutation must come back applied."""
    pusher = _Pusher(base_url)
    try:
        pusher.health()  # the connection is open before the clock
        started = time.perf_counter()
        for phone, body in bodies:
            pusher.push(phone, body)
        return time.perf_counter() - started
    finally:
        pusher.close()


def push_at_once(base_url: str, bodies: list[tuple[SimPhone, bytes]]) -> float:
    """Every phone sends its own bodies in order, all phones at the same time (a thread and a
    connection each, as phones do); seconds until the last answer. Every mutation must be applied."""
    by_phone: dict[str, list[tuple[SimPhone, bytes]]] = {}
    for phone, body in bodies:
        by_phone.setdefault(phone.device_id, []).append((phone, body))
    start = threading.Barrier(len(by_phone) + 1)
    failures: list[BaseException] = []

    def send(mine: list[tuple[SimPhone, bytes]]) -> None:
        pusher = _Pusher(base_url)
        try:
            pusher.health()  # the connection is open before the clock
            start.wait()
            for phone, body in mine:
                pusher.push(phone, body)
        except BaseException as exc:
            failures.append(exc)
            start.abort()
        finally:
            pusher.close()

    threads = [threading.Thread(target=send, args=(mine,)) for mine in by_phone.values()]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise failures[0]
    return seconds


def phones_for(street: Any, events: int, seed: int) -> list[SimPhone]:
    rng = random.Random(seed)
    cast = [("chief", True), ("chief2", True), ("station", False), ("centre", False)]
    phones = [SimPhone(token=street.apis[who].token or "", name=who) for who, _ in cast]
    for phone, (_, patrols) in zip(phones, cast, strict=True):
        fill_outbox(phone, street, events // len(phones), rng, patrols=patrols)
    return phones


# --- raw baselines ---------------------------------------------------------------------------------


def _raw_target(path: Path, checkpoints_beside: bool) -> tuple[sqlite3.Connection, WalCheckpointer | None]:
    """A raw baseline's database: WAL, and the server's ``synchronous`` (each commit on disk); with
    ``checkpoints_beside``, its checkpoints too (see ``raw_sqlite_all_rows``), started."""
    target = sqlite3.connect(path, isolation_level=None)
    target.execute("PRAGMA journal_mode=WAL")
    target.execute(f"PRAGMA synchronous={SQLITE_WRITE_SYNC}")
    if not checkpoints_beside:
        return target, None
    target.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")
    checkpointer = WalCheckpointer(path)
    checkpointer.start()
    return target, checkpointer


def raw_sqlite(server_db: Path, workdir: Path) -> tuple[float, int]:
    """executemany of the server's event rows into an empty copy of its events table, 100 a commit,
    checkpointed as the server does (see ``raw_sqlite_all_rows``)."""
    source = sqlite3.connect(server_db)
    ddl = source.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='events'").fetchone()[0]
    indexes = [
        r[0]
        for r in source.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name='events' AND sql NOT NULL AND type='index'"
        )
    ]
    columns = [r[1] for r in source.execute("PRAGMA table_info(events)")]
    rows = source.execute(f"SELECT {', '.join(columns)} FROM events ORDER BY position").fetchall()
    source.close()
    target, checkpointer = _raw_target(workdir / "raw.db", checkpoints_beside=True)
    # the server's own table and indexes, empty (no foreign-key checks: a faster baseline)
    target.execute(ddl)
    for statement in indexes:
        target.execute(statement)
    insert = f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        target.execute("BEGIN")
        target.executemany(insert, rows[start : start + BATCH])
        target.execute("COMMIT")
        if checkpointer is not None:
            checkpointer.nudge()
    seconds = time.perf_counter() - started
    if checkpointer is not None:
        checkpointer.stop()
    target.close()
    return seconds, len(rows)


# every table a push writes rows to (devices and street_counters: one row each, updated in place)
_PUSH_TABLES = ("events", "mutations", "cases", "patrols", "step_visits")


def raw_sqlite_all_rows(
    server_db: Path, workdir: Path, events: int, *, checkpoints_beside: bool = True
) -> tuple[float, int]:
    """executemany of EVERY row the push wrote (events, answers, snapshots, step visits) into empty
    copies of those tables, in as many transactions as the push had batches: the storage floor of
    this design.

    ``checkpoints_beside``: WAL checkpoints as the server runs them (``server.checkpoint``: a
    thread of their own, nudged after each commit), so that both sides pay the same for storage.
    Without it, SQLite's default: the commit that fills the log to 1,000 pages checkpoints and
    syncs the file itself. On this VM that sync's cost swings from day to day (half of this
    baseline's time on a slow day), which the server, checkpointing beside its writer, does not
    wait for: read against it, the ratio swung between 28 % and 42 %."""
    source = sqlite3.connect(server_db)
    path = workdir / ("raw-all.db" if checkpoints_beside else "raw-all-default.db")
    target, checkpointer = _raw_target(path, checkpoints_beside)
    tables = []
    for table in _PUSH_TABLES:
        for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql NOT NULL ORDER BY type = 'index'",
            (table,),
        ):
            target.execute(sql)
        columns = [r[1] for r in source.execute(f"PRAGMA table_info({table})")]
        rows = source.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        tables.append((insert, rows))
    source.close()
    batches = max(1, events // BATCH)
    started = time.perf_counter()
    for b in range(batches):
        target.execute("BEGIN")
        for insert, rows in tables:
            share = -(-len(rows) // batches)
            target.executemany(insert, rows[b * share : (b + 1) * share])
        target.execute("COMMIT")
        if checkpointer is not None:
            checkpointer.nudge()
    seconds = time.perf_counter() - started
    if checkpointer is not None:
        checkpointer.stop()
    target.close()
    return seconds, sum(len(rows) for _, rows in tables)


def raw_postgres(url: str) -> tuple[float, int]:
    """executemany of the server's event rows into an empty copy (LIKE ... INCLUDING ALL), 100 a commit."""
    import psycopg
    from psycopg.types.json import Jsonb

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name='events' ORDER BY ordinal_position"
            )
        ]
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM events ORDER BY position").fetchall()
        conn.execute("CREATE TABLE raw_events (LIKE events INCLUDING ALL)")
        conn.commit()
        args_at = columns.index("args")
        rows = [tuple(Jsonb(v) if i == args_at else v for i, v in enumerate(row)) for row in rows]
        insert = f"INSERT INTO raw_events ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for start in range(0, len(rows), BATCH):
                cursor.executemany(insert, rows[start : start + BATCH])
                conn.commit()
        return time.perf_counter() - started, len(rows)


def raw_postgres_all_rows(url: str, events: int) -> tuple[float, int]:
    """executemany of EVERY row the push wrote into empty copies of those tables (LIKE ... INCLUDING
    ALL: indexes, no foreign keys), in as many transactions as the push had batches: the PostgreSQL
    twin of ``raw_sqlite_all_rows``."""
    import psycopg
    from psycopg.types.json import Jsonb

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    tables = []
    with psycopg.connect(dsn) as conn:
        for table in _PUSH_TABLES:
            described = conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = %s ORDER BY ordinal_position",
                (table,),
            ).fetchall()
            columns = [name for name, _ in described]
            json_at = {i for i, (_, kind) in enumerate(described) if kind in ("json", "jsonb")}
            rows = [
                tuple(Jsonb(v) if i in json_at else v for i, v in enumerate(row))
                for row in conn.execute(f"SELECT {', '.join(columns)} FROM {table}")
            ]
            conn.execute(f"CREATE TABLE raw_all_{table} (LIKE {table} INCLUDING ALL)")
            placeholders = ", ".join(["%s"] * len(columns))
            tables.append(
                (f"INSERT INTO raw_all_{table} ({', '.join(columns)}) VALUES ({placeholders})", rows)
            )
        conn.commit()
        batches = max(1, events // BATCH)
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for b in range(batches):
                for insert, rows in tables:
                    share = -(-len(rows) // batches)
                    part = rows[b * share : (b + 1) * share]
                    if part:
                        cursor.executemany(insert, part)
                conn.commit()
        return time.perf_counter() - started, sum(len(rows) for _, rows in tables)


def _fresh_pg_database(url: str, name: str = "roadchief_together") -> str:
    """An empty database beside the cluster's test database; its URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url.replace("/roadchief_test?", f"/{name}?")


def raw_streaming_select(server_db: Path, street_id: str) -> tuple[float, int]:
    """The same rows, every column of the event (all but ``wire``, the server's stored page entry,
    which would make the baseline slower), streamed by one SELECT in street order with ``sqlite3``.

    ``args`` is not decoded: the pull does not parse it, so the baseline does not either.
    """
    conn = sqlite3.connect(server_db)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(events)") if r[1] != "wire"]
    query = f"SELECT {', '.join(columns)} FROM events WHERE street_id = ? ORDER BY street_seq"
    started = time.perf_counter()
    count = 0
    for _row in conn.execute(query, (street_id,)):
        count += 1
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, count


# --- the runs --------------------------------------------------------------------------------------


def ingest(
    kind: str, url_for: Callable[[str], str], workdir: Path, events: int, rounds: int
) -> list[dict[str, Any]]:
    """``rounds`` rounds, each on fresh databases (``url_for(name)``): the pushes one after another,
    the raw baselines of the rows they wrote, then the four phones pushing at once.

    Each ratio is taken within its round, server and baseline seconds apart, so that the load of
    this shared machine, which drifts by ±20 % over minutes, falls on both sides alike."""
    figures_by_round = []
    for n in range(rounds):
        place = workdir / f"{kind}-{n}"
        place.mkdir()
        url = url_for(f"ingest_{n}")
        with ServerProcess(url, place) as server:
            handle, street = setup_street(server)
            handle.close()
            phones = phones_for(street, events, seed=1)
            bodies = make_bodies(phones, BATCH)
            seconds = push_all(server.base_url, bodies)
        figures: dict[str, Any] = {"server": events / seconds}
        if kind == "sqlite":
            db = Path(url.removeprefix("sqlite:///"))
            raw_seconds, rows = raw_sqlite(db, place)
            all_seconds, all_rows = raw_sqlite_all_rows(db, place, events)
            default_seconds, _ = raw_sqlite_all_rows(db, place, events, checkpoints_beside=False)
            figures["all_rows_default"] = events / default_seconds
        else:
            raw_seconds, rows = raw_postgres(url)
            all_seconds, all_rows = raw_postgres_all_rows(url, events)
        assert rows == events
        figures["raw"] = rows / raw_seconds
        figures["all_rows"] = events / all_seconds  # events/s if storing their rows were all there is
        figures["rows_per_event"] = all_rows / events
        # the same pushes again, on a fresh database, the four phones sending at once
        with ServerProcess(url_for(f"together_{n}"), place) as server:
            handle, street = setup_street(server)
            handle.close()
            phones = phones_for(street, events, seed=1)
            figures["together"] = events / push_at_once(server.base_url, make_bodies(phones, BATCH))
        figures_by_round.append(figures)
    return figures_by_round


def first_sync(http: httpx.Client, base_url: str, phone: SimPhone) -> tuple[float, float, int]:
    """Pull every page from no cursor, asking for the next page as soon as this one's headers give
    its cursor; (seconds until the last page is in, seconds to decode them all afterwards, events).

    The pages are decoded with orjson (and their cursors checked) after the clock stops: on a
    phone that work runs on the phone's CPU, here it would share the server's two cores."""
    bodies: list[tuple[bytes, str]] = []
    cursor = None
    started = time.perf_counter()
    while True:
        body = dumps(PullRequest(PROTOCOL_VERSION, phone.device_id, cursor, MAX_PULL_LIMIT))
        response = http.post(base_url + PULL_PATH, content=body, headers=phone.headers)
        assert response.status_code == 200, response.text
        cursor = response.headers[PULL_CURSOR_HEADER]
        bodies.append((response.content, cursor))
        if response.headers[PULL_HAS_MORE_HEADER] != "true":
            break
    delivered = time.perf_counter() - started
    started = time.perf_counter()
    count = 0
    for content, page_cursor in bodies:
        page = orjson.loads(content)
        assert page["cursor"] == page_cursor, (page["cursor"], page_cursor)
        count += len(page["events"])
    return delivered, time.perf_counter() - started, count


def pull_sizes(workdir: Path, sizes: list[int]) -> list[dict[str, Any]]:
    db = workdir / "pull.db"
    url = f"sqlite:///{db}"
    results = []
    server = ServerProcess(url, workdir)
    try:
        server.start()
        handle, street = setup_street(server)
        handle.close()
        loaded = 0
        for size in sizes:
            phones = phones_for(street, size - loaded, seed=size)
            push_all(server.base_url, make_bodies(phones, 200))
            loaded = size
            server.stop()
            server.start()  # a fresh process: its peak memory is the pull's
            reader = SimPhone(token=street.apis["supervisor"].token or "", name="new phone")
            with httpx.Client(timeout=120) as http:
                pull_everything(http, server.base_url, reader.token, reader.device_id, limit=10)  # warm up
                before = server.peak_rss_kib()
                runs = [first_sync(http, server.base_url, reader) for _ in range(3)]
                peak = server.peak_rss_kib()
            assert all(count == size for _, _, count in runs), (runs, size)
            seconds, decode, _ = min(runs)
            raws = [raw_streaming_select(db, street.id) for _ in range(3)]
            assert all(rows == size for _, rows in raws), (raws, size)
            raw_seconds = min(seconds for seconds, _ in raws)
            results.append(
                {
                    "rows": size,
                    "seconds": seconds,
                    "decode": decode,
                    "raw": raw_seconds,
                    "rss_before": before,
                    "rss_peak": peak,
                }
            )
    finally:
        server.kill()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="events pushed for the ingest figures")
    parser.add_argument("--pull", default="25000,50000,100000", help="street sizes for the pull figures")
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--rounds", type=int, default=5, help="ingest rounds (the median round is shown)")
    options = parser.parse_args()
    sizes = [int(s) for s in options.pull.split(",") if s]

    workdir = Path(tempfile.mkdtemp(prefix="roadchief-bench-"))
    cluster = None
    try:
        rows: list[tuple[str, str, str, str, str]] = []
        sqlite = ingest(
            "sqlite", lambda name: f"sqlite:///{workdir / name}.db", workdir, options.events, options.rounds
        )
        rows += _ingest_rows("SQLite", sqlite, "sqlite3")
        if not options.no_pg and PgCluster.available():
            cluster = PgCluster()
            cluster.start()
            url = cluster.url
            pg = ingest(
                "postgres",
                lambda name: _fresh_pg_database(url, f"roadchief_{name}"),
                workdir,
                options.events,
                options.rounds,
            )
            rows += _ingest_rows("PostgreSQL", pg, "psycopg")
        pulls = pull_sizes(workdir, sizes)
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)

    for pull in pulls:
        rows.append(
            (
                f"pull, first sync of {pull['rows']:,} events (SQLite)",
                f"{pull['seconds']:.2f} s ({pull['rows'] / pull['seconds']:,.0f} ev/s) "
                f"+ {pull['decode']:.2f} s client orjson",
                f"{pull['raw']:.2f} s raw streaming SELECT",
                f"{pull['raw'] / pull['seconds']:.0%}",
                ">= 50%",
            )
        )
    for pull in pulls:
        growth = (pull["rss_peak"] - pull["rss_before"]) / 1024
        rows.append(
            (
                f"pull, server peak RSS at {pull['rows']:,} events",
                f"{pull['rss_peak'] / 1024:.0f} MiB (+{growth:.1f} MiB in the pull)",
                f"{pull['rss_before'] / 1024:.0f} MiB before",
                "",
                "flat",
            )
        )
    _print_table(rows)


def _ratio_cell(rounds: list[dict[str, Any]], measure: str, baseline: str) -> str:
    """The median of the rounds' ratios, and their range when there were several rounds."""
    ratios = [r[measure] / r[baseline] for r in rounds]
    if len(ratios) == 1:
        return f"{ratios[0]:.0%}"
    return f"{statistics.median(ratios):.0%} ({min(ratios):.0%}-{max(ratios):.0%})"


def _ingest_rows(
    kind: str, rounds: list[dict[str, Any]], driver: str
) -> list[tuple[str, str, str, str, str]]:
    """The goal is read against raw executemany of the same rows the push wrote (every table);
    the event rows alone, a stricter baseline, are printed beside it. Figures: medians of the rounds."""

    def median_of(key: str) -> float:
        return statistics.median([r[key] for r in rounds])

    same_rows = f"{median_of('all_rows'):,.0f} events/s raw {driver} executemany of the same rows"
    return [
        (
            f"push ingest, {kind}, batch 100",
            f"{median_of('server'):,.0f} events/s",
            f"{same_rows} ({median_of('rows_per_event'):.1f}/event)",
            _ratio_cell(rounds, "server", "all_rows"),
            ">= 35%",
        ),
        (
            "  same, the 4 phones pushing at once",
            f"{median_of('together'):,.0f} events/s",
            f"{same_rows} (the same baseline)",
            _ratio_cell(rounds, "together", "all_rows"),
            ">= 35%",
        ),
        *(
            [
                (
                    "  same, against raw with checkpoints in the commit",
                    f"{median_of('server'):,.0f} events/s",
                    f"{median_of('all_rows_default'):,.0f} events/s the same rows, SQLite's default"
                    " checkpoints (in the commit that fills the log)",
                    _ratio_cell(rounds, "server", "all_rows_default"),
                    "(laxer)",
                )
            ]
            if "all_rows_default" in rounds[0]
            else []
        ),
        (
            "  same, against the event rows alone",
            f"{median_of('server'):,.0f} events/s",
            f"{median_of('raw'):,.0f} rows/s raw {driver} executemany of the events table's rows",
            _ratio_cell(rounds, "server", "raw"),
            "(stricter)",
        ),
    ]


def _print_table(rows: list[tuple[str, str, str, str, str]]) -> None:
    header = ("measure", "roadchief server", "baseline (same run)", "ratio", "goal")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
