"""Tools for the sync proofs (``test_proof_*.py``): a server process that can be killed and restarted
on the same port, a phone that keeps an outbox exactly as the field app does, a flaky proxy, a
throwaway PostgreSQL cluster that can be crashed, and the checker that reads the server's ledger.

The checker's words:

- **lost**: a mutation a phone generated and either heard acknowledged or retried until its outbox
  was empty, that the server's ``mutations`` table does not hold (or, answered ``applied``, whose
  event is missing from ``events``);
- **duplicated**: the same mutation id twice, the same (device, seq) twice, or one event per
  mutation more than once;
- **half-applied batch**: some but not all mutations of a committed batch present. Phones send their
  outbox in order, so a device's processed seqs must be exactly ``1..last_seq`` (no hole) and
  ``last_seq`` must be the last seq of a batch the phone actually sent; the log, the snapshots and
  the counters must agree with one another.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from shared import (
    PROTOCOL_VERSION,
    PULL_PATH,
    PUSH_PATH,
    Mutation,
    MutationResult,
    MutationStatus,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    dumps,
    loads,
)

from .conftest import ROOT
from .world import CATEGORY, START, Server, Street, make_street

__all__ = [
    "FlakyProxy",
    "Fleet",
    "InThreadServer",
    "Ledger",
    "LostAck",
    "PgCluster",
    "ServerProcess",
    "SimPhone",
    "SwitchApp",
    "Verdict",
    "check",
    "fill_outbox",
    "free_port",
    "pull_everything",
    "read_ledger",
    "setup_street",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the server as a process -----------------------------------------------------------------------


class ServerProcess:
    """``python -m server`` in its own process group, on a port that stays the same across restarts.

    ``kill()`` is ``kill -9`` of the whole group; ``stop()`` is a polite SIGTERM. Use it as a
    context manager so no server outlives its test.
    """

    def __init__(self, database_url: str, workdir: Path, port: int | None = None, **env: str) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.port = port or free_port()
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        environ = {
            **os.environ,
            "ROADCHIEF_DATABASE_URL": self.database_url,
            "ROADCHIEF_HOST": "127.0.0.1",
            "ROADCHIEF_PORT": str(self.port),
            "ROADCHIEF_PHOTO_DIR": str(self.workdir / "photos"),
            "ROADCHIEF_PASSWORD_TIME_COST": "1",
            "ROADCHIEF_PASSWORD_MEMORY_KIB": "1024",
            "ROADCHIEF_LOG_LEVEL": "warning",
            # the server prunes photos only when a test asks it to (a prune mid-test would race its checks)
            "ROADCHIEF_PHOTO_PRUNE_EVERY_HOURS": "0",
            **self.env,
        }
        log_path = self.workdir / f"server-{self.port}.log"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server"],
                cwd=ROOT,
                env=environ,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group: kill -9 takes everything it started
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited:\n{log_path.read_text()[-3000:]}")
                try:
                    if http.get(f"{self.base_url}/api/v1/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        self.kill()
        raise RuntimeError("the server did not come up")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """``kill -9`` the server's process group and reap it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def peak_rss_kib(self) -> int:
        """The server's peak resident memory so far (``VmHWM``), in KiB."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("no VmHWM")

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.kill()


class SwitchApp:
    """An ASGI app that forwards to whichever app is current: one uvicorn, a fresh app per example."""

    def __init__(self) -> None:
        self.current: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.current is not None, "no application is current"
        await self.current(scope, receive, send)


class InThreadServer:
    """The real application (any ``create_app`` result) served by uvicorn in a thread of this process:
    starts in milliseconds, so a test can afford a fresh one (and a fresh database) per example."""

    def __init__(self, app: Any, lifespan: str = "on") -> None:
        import uvicorn

        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, ws="none", lifespan=lifespan, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.base_url = ""

    def __enter__(self) -> InThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.002)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def setup_street(server: ServerProcess, label: str = "A") -> tuple[Server, Street]:
    """A street with its cast (see ``world.make_street``) on a running server; close the ``Server``."""
    handle = Server(
        base_url=server.base_url, database_url=server.database_url, kind="", workdir=server.workdir
    )
    return handle, make_street(handle, label)


# --- the phone -------------------------------------------------------------------------------------

_JSON = {"content-type": "application/json"}


@dataclass
class SimPhone:
    """A phone's outbox as the field app keeps it (``mobile.sync``), talking the ``shared`` protocol.

    Mutations are queued in seq order and leave the outbox only when the server has answered them
    ``applied``, ``duplicate`` or ``rejected``; a transport failure or a 5xx resends the same batch.
    Everything heard is kept for the checker.
    """

    token: str
    name: str = "phone"
    device_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    seq: int = 0
    outbox: list[Mutation] = field(default_factory=list)
    generated: dict[str, Mutation] = field(default_factory=dict)
    heard: dict[str, list[MutationResult]] = field(default_factory=dict)
    sent_batches: list[tuple[int, int]] = field(default_factory=list)
    pushes: int = 0
    in_flight: bool = False  # a push request is on the wire now
    failures: int = 0  # transport errors and 5xx: the same batch goes again
    server_errors: Counter[str] = field(default_factory=Counter)  # 5xx answers, by status and code
    cursor: str | None = None
    last_seq: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}", **_JSON}

    def queue(self, name: str, case_id: str, **args: Any) -> Mutation:
        """Record a user action: a new seq, a fresh id, into the outbox."""
        self.seq += 1
        mutation = Mutation(
            id=str(uuid.uuid4()),
            seq=self.seq,
            name=name,
            case_id=case_id,
            args=args,
            occurred_at=START + timedelta(seconds=self.seq),
        )
        self.outbox.append(mutation)
        self.generated[mutation.id] = mutation
        return mutation

    def request_body(self, batch_size: int) -> tuple[list[Mutation], bytes]:
        batch = self.outbox[:batch_size]
        if not batch:
            return batch, b""
        return batch, dumps(PushRequest(PROTOCOL_VERSION, self.device_id, tuple(batch)))

    def push_once(self, http: httpx.Client, base_url: str, batch_size: int = 100) -> bool:
        """Send the head of the outbox once; True if the server's answer was heard."""
        batch, body = self.request_body(batch_size)
        if not batch:
            return True
        self.sent_batches.append((batch[0].seq, batch[-1].seq))
        self.pushes += 1
        self.in_flight = True
        try:
            response = http.post(base_url + PUSH_PATH, content=body, headers=self.headers)
        except httpx.HTTPError:
            self.failures += 1
            return False
        finally:
            self.in_flight = False
        if response.status_code >= 500:
            self.failures += 1
            self.server_errors[f"{response.status_code} {_error_code(response)}"] += 1
            return False
        assert response.status_code == 200, (
            f"{self.name}: push answered {response.status_code}: {response.text}"
        )
        self.hear(PushResponse.from_dict(loads(response.content)))
        return True

    def hear(self, answer: PushResponse) -> None:
        """Take answered mutations out of the outbox (a ``retry`` and what follows stay)."""
        done: set[str] = set()
        for result in answer.results:
            self.heard.setdefault(result.id, []).append(result)
            if result.status is MutationStatus.RETRY:
                break
            done.add(result.id)
        self.outbox = [m for m in self.outbox if m.id not in done]
        self.last_seq = max(self.last_seq, answer.last_seq)

    def first_answer(self, mutation_id: str) -> MutationResult | None:
        answers = self.heard.get(mutation_id)
        return answers[0] if answers else None


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "(no error body)"


class Fleet:
    """Phones pushing their outboxes in threads, each until empty; can be paused for a look.

    ``pause()`` returns once no push is on the wire, so the ledger can be read while nothing moves.
    With ``top_up``, each phone's thread calls it before every push (so the outbox is only ever
    touched by one thread) until ``stop_topping_up()``: the fleet stays busy for as long as a test
    needs, however fast the server drains it.
    """

    def __init__(
        self,
        phones: list[SimPhone],
        target: Any,
        *,
        batch_size: int = 100,
        deadline: float,
        pause: float = 0.02,
        timeout: float = 10,
        top_up: Callable[[SimPhone], None] | None = None,
    ) -> None:
        self.phones = phones
        self._top_up = top_up
        self._topping_up = top_up is not None
        self.target = target
        self.batch_size = batch_size
        self.deadline = deadline
        self.retry_pause = pause
        self.timeout = timeout
        self.errors: list[BaseException] = []
        self._cond = threading.Condition()
        self._paused = False
        self._aborted = False
        self._active = 0
        self._threads = [threading.Thread(target=self._run, args=(p,), name=p.name) for p in phones]

    def _run(self, phone: SimPhone) -> None:
        try:
            with httpx.Client(timeout=self.timeout) as http:
                while not self._aborted:
                    if self._top_up is not None and self._topping_up:
                        self._top_up(phone)
                    if not phone.outbox:
                        break
                    with self._cond:
                        if not self._cond.wait_for(
                            lambda: not self._paused or self._aborted,
                            timeout=max(0.0, self.deadline - time.monotonic()),
                        ):
                            raise TimeoutError(f"{phone.name}: paused past the deadline")
                        self._active += 1
                    try:
                        if time.monotonic() > self.deadline:
                            raise TimeoutError(f"{phone.name}: {len(phone.outbox)} mutations still queued")
                        base = self.target if isinstance(self.target, str) else self.target.base_url
                        heard = phone.push_once(http, base, self.batch_size)
                    finally:
                        with self._cond:
                            self._active -= 1
                            self._cond.notify_all()
                    if not heard:
                        time.sleep(self.retry_pause)
        except BaseException as exc:  # raised again by join()
            self.errors.append(exc)

    def start(self) -> Fleet:
        for thread in self._threads:
            thread.start()
        return self

    @property
    def busy(self) -> bool:
        return any(p.outbox for p in self.phones)

    def stop_topping_up(self) -> None:
        """From now on each phone only drains what its outbox holds."""
        self._topping_up = False

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.wait_for(lambda: self._active == 0, timeout=max(0.0, self.deadline - time.monotonic()))

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def abort(self) -> None:
        """Stop every phone after its current request (a test that already failed)."""
        with self._cond:
            self._aborted = True
            self._cond.notify_all()

    def __enter__(self) -> Fleet:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, *_exc: object) -> None:
        """Every outbox drained (``join``); after an error in the block, each phone stops after its
        current request first, and that error is the one raised."""
        if kind is not None:
            self.abort()
        self.join()

    def join(self) -> None:
        """Wait for every outbox to drain; raise the first error a phone met (unless aborted)."""
        self.resume()
        for thread in self._threads:
            thread.join(timeout=max(1.0, self.deadline - time.monotonic() + 5))
        assert not any(t.is_alive() for t in self._threads), "a phone thread did not finish"
        if self.errors and not self._aborted:
            raise self.errors[0]


def pull_everything(
    http: httpx.Client,
    base_url: str,
    token: str,
    device_id: str,
    cursor: str | None = None,
    limit: int = 500,
    *,
    deadline: float | None = None,
) -> tuple[list[dict[str, Any]], str | None, int]:
    """Pull page by page until ``has_more`` is false: (records as wire dicts, cursor, last_seq).

    With a ``deadline``, a page whose answer is lost (transport error or 5xx) is asked for again
    from the same cursor, as a phone does; the cursor moves only when a page is heard.
    """
    records: list[dict[str, Any]] = []
    headers = {"authorization": f"Bearer {token}", **_JSON}
    while True:
        body = dumps(PullRequest(PROTOCOL_VERSION, device_id, cursor, limit))
        try:
            response = http.post(base_url + PULL_PATH, content=body, headers=headers)
            if response.status_code >= 500:
                raise httpx.HTTPStatusError("server error", request=response.request, response=response)
        except httpx.HTTPError:
            if deadline is None or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
            continue
        assert response.status_code == 200, response.text
        page = loads(response.content)
        PullResponse.from_dict(page)  # the wire format is checked, not trusted
        records += page["events"]
        cursor = page["cursor"]
        if not page["has_more"]:
            return records, cursor, page["last_seq"]


_POINTS = [{"lat": 39.93 + i * 1e-4, "lon": 116.19 + i * 1e-4} for i in range(20)]


def fill_outbox(phone: SimPhone, street: Street, count: int, rng: random.Random, *, patrols: bool) -> None:
    """``count`` engine-valid actions a road chief or station would file in a day.

    Reports (category, road, description, location) each followed by a comment or two, and, for
    road chiefs, patrols: start, a few GPS point batches, end.
    """
    road = street.roads[0]
    while len(phone.outbox) < count:
        room = count - len(phone.outbox)
        if patrols and room >= 4 and rng.random() < 0.3:
            patrol_id = str(uuid.uuid4())
            phone.queue("start_patrol", patrol_id, road_id=road)
            for _ in range(min(room - 2, rng.randint(1, 3))):
                phone.queue("record_points", patrol_id, points=_POINTS)
            phone.queue("end_patrol", patrol_id)
            continue
        case_id = str(uuid.uuid4())
        phone.queue(
            "report",
            case_id,
            category=CATEGORY,
            road_id=road,
            description=f"占道经营，第{phone.seq + 1}处",
            location={"lat": 39.93, "lon": 116.19},
        )
        for _ in range(min(count - len(phone.outbox), rng.randint(0, 2))):
            phone.queue("comment", case_id, text="已拍照，请尽快处理")


def outbox_filler(
    street: Street, phones: list[SimPhone], files_patrols: list[bool], rng: random.Random
) -> Callable[[SimPhone, int], None]:
    """``fill(phone, count)``: ``fill_outbox`` with each phone's own random stream (so a phone's
    thread can call it, as ``Fleet``'s ``top_up`` does) and whether that phone files patrols."""
    own = {
        phone.name: (random.Random(rng.random()), patrols)
        for phone, patrols in zip(phones, files_patrols, strict=True)
    }

    def fill(phone: SimPhone, count: int) -> None:
        phone_rng, patrols = own[phone.name]
        fill_outbox(phone, street, count, phone_rng, patrols=patrols)

    return fill


# --- a flaky network -------------------------------------------------------------------------------


@dataclass
class LostAck:
    """A response the proxy read in full from the server (so after commit) and never delivered."""

    path: str
    request_body: bytes
    status: int
    response_body: bytes


class FlakyProxy:
    """An HTTP/1.1-aware asyncio TCP proxy on 127.0.0.1 that misbehaves per request.

    For each request it may: refuse the connection (reset at accept), delay it, drop it before the
    server sees it, or forward it, read the server's whole answer, and cut the connection instead of
    delivering it (a lost acknowledgement). After a delivered answer it often hangs up, so phones
    open new connections (and meet refusals) often. It runs its own event loop in a thread.
    """

    def __init__(
        self,
        upstream_port: int,
        *,
        p_refuse: float = 0.1,
        p_drop_request: float = 0.05,
        p_cut_response: float = 0.2,
        max_delay: float = 0.05,
        p_hang_up: float = 0.5,
        seed: int = 0,
    ) -> None:
        self.upstream_port = upstream_port
        self.p_refuse = p_refuse
        self.p_drop_request = p_drop_request
        self.p_cut_response = p_cut_response
        self.max_delay = max_delay
        self.p_hang_up = p_hang_up
        self.rng = random.Random(seed)
        self.port = free_port()
        self.refused = self.dropped = self.forwarded = 0
        self.lost_acks: list[LostAck] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="flaky-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()
        await self._server.wait_closed()

    @staticmethod
    async def _read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError("chunked bodies are not expected on this API")
        return head, await reader.readexactly(length)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.rng.random() < self.p_refuse:
            self.refused += 1
            client_w.transport.abort()  # RST: the phone sees a refused/reset connection
            return
        upstream_w: asyncio.StreamWriter | None = None
        try:
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            while True:
                try:
                    head, body = await self._read_message(client_r)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                await asyncio.sleep(self.rng.uniform(0, self.max_delay))
                if self.rng.random() < self.p_drop_request:
                    self.dropped += 1
                    return
                upstream_w.write(head + body)
                await upstream_w.drain()
                response_head, response_body = await self._read_message(upstream_r)
                if self.rng.random() < self.p_cut_response:
                    status = int(response_head.split(b" ", 2)[1])
                    path = head.split(b" ", 2)[1].decode("ascii", "replace")
                    self.lost_acks.append(LostAck(path, body, status, response_body))
                    return
                self.forwarded += 1
                client_w.write(response_head + response_body)
                await client_w.drain()
                if self.rng.random() < self.p_hang_up:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            return
        finally:
            client_w.close()
            if upstream_w is not None:
                upstream_w.close()


# --- a PostgreSQL cluster of one's own -------------------------------------------------------------


class PgCluster:
    """A throwaway cluster from ``scripts/pg-throwaway`` that a test may crash and restart.

    ``crash()`` is ``pg_ctl stop -m immediate`` (no checkpoint, WAL recovery on the next start).
    The test database runs with ``synchronous_commit=on``: pg-throwaway turns it off for speed, and
    with it off PostgreSQL itself may forget a commit it reported on a crash.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.dir = directory or Path(tempfile.mkdtemp(prefix="roadchief-pgcrash-"))
        self.env: dict[str, str] = {}

    @staticmethod
    def available() -> bool:
        return any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))

    def _as_pg(self, *command: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)

    def start(self) -> None:
        out = subprocess.run(
            [str(ROOT / "scripts" / "pg-throwaway"), "start", str(self.dir)],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        for line in out.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            self.env[name] = value.strip("'")
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("ALTER DATABASE roadchief_test SET synchronous_commit = on"))
        admin.dispose()

    @property
    def url(self) -> str:
        return self.env["ROADCHIEF_TEST_PG_URL"]

    def _pg_ctl(self, *args: str) -> None:
        pg_ctl = str(Path(self.env["ROADCHIEF_TEST_PG_BIN"]) / "pg_ctl")
        subprocess.run(
            self._as_pg(pg_ctl, "-w", "-D", str(self.dir / "data"), *args),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def running(self) -> bool:
        pg_ctl = str(Path(self.env["ROADCHIEF_TEST_PG_BIN"]) / "pg_ctl")
        status = subprocess.run(
            self._as_pg(pg_ctl, "-D", str(self.dir / "data"), "status"), capture_output=True, timeout=60
        )
        return status.returncode == 0

    def crash(self) -> None:
        self._pg_ctl("-m", "immediate", "stop")

    def restart(self) -> None:
        # restart reuses the options of the last start (postmaster.opts); the old server is gone
        self._pg_ctl("-l", str(self.dir / "server.log"), "restart")

    def destroy(self) -> None:
        subprocess.run(
            [str(ROOT / "scripts" / "pg-throwaway"), "stop", str(self.dir)], capture_output=True, timeout=60
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def own_cluster(directory: Path | None = None) -> Iterator[PgCluster]:
    """A started cluster of the test's own (in ``directory`` if given), destroyed afterwards; the
    test is skipped where PostgreSQL is not installed."""
    if not PgCluster.available():
        pytest.skip("PostgreSQL binaries are not installed (apt-get install postgresql)")
    cluster = PgCluster(directory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


# --- the checker -----------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the server's database holds, read directly (not through the API)."""

    mutations: list[tuple[str, str, int, str]]  # id, device_id, seq, status
    events: list[tuple[str, str, int, str]]  # id, street_id, street_seq, case_id
    devices: dict[str, int]  # device_id -> last_seq
    counters: dict[str, int]  # street_id -> value
    versions: dict[str, int]  # case or patrol id -> snapshot version


def read_ledger(database_url: str) -> Ledger:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return Ledger(
                mutations=[
                    tuple(r) for r in conn.execute(text("SELECT id, device_id, seq, status FROM mutations"))
                ],  # type: ignore[misc]
                events=[
                    tuple(r)
                    for r in conn.execute(text("SELECT id, street_id, street_seq, case_id FROM events"))
                ],  # type: ignore[misc]
                devices=dict(conn.execute(text("SELECT device_id, last_seq FROM devices")).all()),  # type: ignore[arg-type]
                counters=dict(conn.execute(text("SELECT street_id, value FROM street_counters")).all()),  # type: ignore[arg-type]
                versions=dict(
                    conn.execute(
                        text("SELECT id, version FROM cases UNION ALL SELECT id, version FROM patrols")
                    ).all()  # type: ignore[arg-type]
                ),
            )
    finally:
        engine.dispose()


@dataclass
class Verdict:
    generated: int
    processed: int
    applied: int
    acknowledged: int
    lost: list[str]
    duplicated: list[str]
    half_applied: list[str]
    inconsistent: list[str]

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.half_applied or self.inconsistent)

    def summary(self) -> str:
        return (
            f"generated={self.generated} processed={self.processed} applied={self.applied} "
            f"acknowledged={self.acknowledged} lost={len(self.lost)} duplicated={len(self.duplicated)} "
            f"half_applied={len(self.half_applied)} inconsistent={len(self.inconsistent)}"
            + (
                ""
                if self.ok
                else f"\n{(self.lost + self.duplicated + self.half_applied + self.inconsistent)[:10]}"
            )
        )


def check(ledger: Ledger, phones: list[SimPhone], *, drained: bool) -> Verdict:
    """Compare the server's ledger with what ``phones`` generated and heard.

    ``drained``: every phone's outbox has been pushed to completion, so every generated mutation
    must be processed; otherwise (mid-run, e.g. right after a crash) only the acknowledged ones.
    """
    lost: list[str] = []
    duplicated: list[str] = []
    half: list[str] = []
    inconsistent: list[str] = []

    by_id: dict[str, tuple[str, int, str]] = {}
    for mid, device, seq, status in ledger.mutations:
        if mid in by_id:
            duplicated.append(f"mutation {mid} processed twice")
        by_id[mid] = (device, seq, status)
    for (device, seq), n in Counter((d, s) for _, d, s, _ in ledger.mutations).items():
        if n > 1:
            duplicated.append(f"device {device} seq {seq} processed {n} times")
    event_ids = Counter(e[0] for e in ledger.events)
    for eid, n in event_ids.items():
        if n > 1:
            duplicated.append(f"event {eid} stored {n} times")

    acknowledged = 0
    for phone in phones:
        for mid, mutation in phone.generated.items():
            first = phone.first_answer(mid)
            heard_processed = first is not None and first.status is not MutationStatus.RETRY
            acknowledged += heard_processed
            must_be_there = heard_processed or (drained and not phone.outbox)
            row = by_id.get(mid)
            if must_be_there and row is None:
                lost.append(f"{phone.name} {mutation.name} seq {mutation.seq} ({mid}): not processed")
                continue
            if row is None:
                continue
            if row[:2] != (phone.device_id, mutation.seq):
                inconsistent.append(f"{mid}: stored as {row[:2]}, sent as {(phone.device_id, mutation.seq)}")
            stored_applied = row[2] == MutationStatus.APPLIED.value
            if stored_applied and event_ids.get(mid, 0) == 0:
                lost.append(f"{phone.name} seq {mutation.seq} ({mid}): applied but its event is missing")
            if first is not None and first.status is MutationStatus.APPLIED and not stored_applied:
                lost.append(f"{phone.name} seq {mutation.seq} ({mid}): answered applied, stored {row[2]}")

        # a committed batch is all or nothing: the processed seqs are 1..last_seq, ending on a batch
        seqs = sorted(s for _, d, s, _ in ledger.mutations if d == phone.device_id)
        last = ledger.devices.get(phone.device_id, 0)
        if seqs != list(range(1, len(seqs) + 1)) or (seqs and seqs[-1] != last):
            half.append(f"{phone.name}: processed seqs are not 1..{last} (count {len(seqs)})")
        if last and last not in {end for _, end in phone.sent_batches}:
            half.append(f"{phone.name}: last_seq {last} is not the end of any batch the phone sent")

    applied_ids = {mid for mid, (_, _, status) in by_id.items() if status == MutationStatus.APPLIED.value}
    if set(event_ids) != applied_ids:
        inconsistent.append(
            f"events vs applied mutations differ: {len(set(event_ids) - applied_ids)} events without "
            f"an applied mutation, {len(applied_ids - set(event_ids))} applied without an event"
        )
    for street, value in ledger.counters.items():
        positions = sorted(e[2] for e in ledger.events if e[1] == street)
        if positions != list(range(1, value + 1)):
            inconsistent.append(f"street {street}: street_seq is not 1..{value} ({len(positions)} events)")
    per_record = Counter(e[3] for e in ledger.events)
    for record_id, version in ledger.versions.items():
        if per_record.get(record_id, 0) != version:
            inconsistent.append(
                f"record {record_id}: version {version} but {per_record.get(record_id, 0)} events"
            )
    for record_id in per_record.keys() - ledger.versions.keys():
        inconsistent.append(f"record {record_id}: events but no snapshot")

    return Verdict(
        generated=sum(len(p.generated) for p in phones),
        processed=len(by_id),
        applied=len(applied_ids),
        acknowledged=acknowledged,
        lost=lost,
        duplicated=duplicated,
        half_applied=half,
        inconsistent=inconsistent,
    )
