"""Proof: PostgreSQL stopped with ``-m immediate`` (a crash: no checkpoint, WAL recovery on start)
and restarted during pushes, five times: every acknowledged event is there afterwards, phones retry
through the outage and end up with the same log as the server."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from .proofs import (
    Fleet,
    ServerProcess,
    SimPhone,
    check,
    outbox_filler,
    own_cluster,
    pull_everything,
    read_ledger,
    setup_street,
)

CRASHES = 5
# each phone's outbox is kept this full until the fifth crash, so the pushes outlast the crashes
# however fast the server drains them; then it drains
RESERVE = 200
TIME_LIMIT = 120.0

pytestmark = pytest.mark.postgres


def test_postgres_crashing_five_times_during_pushes_keeps_every_acknowledged_event(tmp_path: Path) -> None:
    rng = random.Random(5)
    with own_cluster() as cluster, ServerProcess(cluster.url, tmp_path) as server:
        handle, street = setup_street(server)
        handle.close()
        cast = [("chief", True), ("chief2", True), ("station", False), ("centre", False)]
        phones = [SimPhone(token=street.apis[who].token or "", name=who) for who, _ in cast]
        fill = outbox_filler(street, phones, [patrols for _, patrols in cast], rng)

        started = time.monotonic()
        crashes, acked_at_crash = 0, []
        with Fleet(
            phones,
            server,
            batch_size=50,
            deadline=started + TIME_LIMIT,
            pause=0.05,
            top_up=lambda phone: fill(phone, RESERVE),
        ) as fleet:
            for _ in range(CRASHES):
                time.sleep(rng.uniform(0.3, 0.7))
                assert fleet.busy, "the pushes finished before the crashes"
                cluster.crash()  # pushes on the wire fail; their phones resend
                crashes += 1
                acked_at_crash.append(sum(len(p.heard) for p in phones))
                time.sleep(rng.uniform(0.2, 0.5))
                cluster.restart()
                # look at the recovered database while no push moves
                fleet.pause()
                verdict = check(read_ledger(cluster.url), phones, drained=False)
                assert verdict.ok, f"after crash {crashes}: {verdict.summary()}"
                fleet.resume()
            fleet.stop_topping_up()
        assert crashes == CRASHES

        verdict = check(read_ledger(cluster.url), phones, drained=True)
        assert verdict.ok, verdict.summary()
        generated = sum(len(p.generated) for p in phones)
        assert generated >= len(phones) * RESERVE
        assert verdict.generated == verdict.processed == verdict.applied == generated

        # every phone pulls the same log as the server holds, once each, in order
        with httpx.Client(timeout=30) as http:
            logs = [
                [
                    r["event"]["id"]
                    for r in pull_everything(http, server.base_url, p.token, p.device_id)[0]
                ]
                for p in phones
            ]
        server_log = [e[0] for e in sorted(read_ledger(cluster.url).events, key=lambda e: e[2])]
        errors = sum((p.server_errors for p in phones), Counter[str]())
        assert all(log == server_log for log in logs)
        print(
            f"\npg crash proof: crashes={crashes} events={verdict.generated} {verdict.summary()} "
            f"acknowledged at each crash={acked_at_crash} resends={sum(p.failures for p in phones)} "
            f"server errors={dict(errors)} secs={time.monotonic() - started:.1f}"
        )
        assert sum(p.failures for p in phones) >= CRASHES, "no push met the outage"
        # the outage is the database's, not a bug: 503 "unavailable", never 500
        assert set(errors) <= {"503 unavailable"}, dict(errors)
