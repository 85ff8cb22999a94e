"""Proof: two server processes on one PostgreSQL database take pushes for the same street at once;
nothing is lost, and phones pulling all the while from either server never miss an event: the
street's counter row orders commits, so a cursor can never pass a transaction that commits late
(design.md, "Cursor safety on PostgreSQL")."""

from __future__ import annotations

import random
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from shared import PROTOCOL_VERSION, PULL_PATH, PullRequest, PullResponse, dumps, loads

from .proofs import Fleet, ServerProcess, SimPhone, check, fill_outbox, read_ledger, setup_street

PER_PHONE = 800
TIME_LIMIT = 90.0

pytestmark = pytest.mark.postgres


class EitherServer:
    """A push target that picks one of the servers at random for every request."""

    def __init__(self, servers: list[ServerProcess], seed: int) -> None:
        self.servers = servers
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        with self.lock:
            return self.rng.choice(self.servers).base_url


class Puller:
    """A phone that pulls again and again while others push, checking every page as it comes."""

    def __init__(self, name: str, token: str, target: EitherServer) -> None:
        self.name, self.token, self.target = name, token, target
        self.device_id = str(uuid.uuid4())
        self.cursor: str | None = None
        self.positions: list[int] = []
        self.ids: list[str] = []
        self.pages = 0
        self.problems: list[str] = []

    def pull_page(self, http: httpx.Client) -> bool:
        body = dumps(PullRequest(PROTOCOL_VERSION, self.device_id, self.cursor, 100))
        response = http.post(
            self.target.base_url + PULL_PATH,
            content=body,
            headers={"authorization": f"Bearer {self.token}", "content-type": "application/json"},
        )
        assert response.status_code == 200, response.text
        page = PullResponse.from_dict(loads(response.content))
        self.pages += 1
        for record in page.events:
            expected = (self.positions[-1] if self.positions else 0) + 1
            if record.position != expected:
                self.problems.append(f"page {self.pages}: position {record.position}, expected {expected}")
            self.positions.append(record.position)
            self.ids.append(record.event.id)
        self.cursor = page.cursor
        return page.has_more

    def run(self, stop: threading.Event, deadline: float) -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set() and time.monotonic() < deadline:
                if not self.pull_page(http):
                    time.sleep(0.01)
            more = True
            while more:  # the pushes are over: catch up to the end
                more = self.pull_page(http)


def test_two_servers_on_one_postgres_lose_nothing_and_pulls_miss_nothing(
    pg_database: str, tmp_path: Path
) -> None:
    rng = random.Random(2)
    first = ServerProcess(pg_database, tmp_path)
    second = ServerProcess(pg_database, tmp_path)
    try:
        first.start()  # migrates the database
        second.start()
        handle, street = setup_street(first)
        handle.close()
        target = EitherServer([first, second], seed=3)
        cast = [("chief", True), ("chief2", True), ("station", False), ("centre", False)]
        phones = [SimPhone(token=street.apis[who].token or "", name=who) for who, _ in cast]
        for phone, (_, patrols) in zip(phones, cast, strict=True):
            fill_outbox(phone, street, PER_PHONE, rng, patrols=patrols)
        pullers = [
            Puller(who, street.apis[who].token or "", target) for who in ("supervisor", "handler", "centre")
        ]

        started = time.monotonic()
        deadline = started + TIME_LIMIT
        stop = threading.Event()
        errors: list[BaseException] = []

        def pull(puller: Puller) -> None:
            try:
                puller.run(stop, deadline)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=pull, args=(p,), name=p.name) for p in pullers]
        for thread in threads:
            thread.start()
        fleet = Fleet(phones, target, batch_size=20, deadline=deadline).start()
        try:
            fleet.join()
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=max(1.0, deadline - time.monotonic()))
        assert not errors, errors

        ledger = read_ledger(pg_database)
        verdict = check(ledger, phones, drained=True)
        assert verdict.ok, verdict.summary()
        assert verdict.generated == verdict.processed == verdict.applied == len(phones) * PER_PHONE
        server_log = [e[0] for e in sorted(ledger.events, key=lambda e: e[2])]
        for puller in pullers:
            assert not puller.problems, (puller.name, puller.problems[:5])
            assert puller.ids == server_log, f"{puller.name} saw {len(puller.ids)} of {len(server_log)}"
        print(
            f"\ntwo servers proof: events={verdict.generated} {verdict.summary()} "
            f"pull pages during pushes={[p.pages for p in pullers]} gaps=0 "
            f"pushes={sum(p.pushes for p in phones)} secs={time.monotonic() - started:.1f}"
        )
    finally:
        first.kill()
        second.kill()
