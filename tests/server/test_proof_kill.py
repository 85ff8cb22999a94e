"""Proof: ``kill -9`` of the server at random moments during a push of 5,000 events or more from several
phones loses nothing, doubles nothing and never leaves half a batch behind."""

from __future__ import annotations

import random
import time
from pathlib import Path

from .proofs import Fleet, ServerProcess, SimPhone, check, outbox_filler, read_ledger, setup_street

EVENTS = 5000
KILLS = 20
BATCH = 100
# until the last kill each phone's outbox is kept at least this full, so the push outlasts the
# kills however fast the server drains it
RESERVE = 300
TIME_LIMIT = 120.0


def test_kill_minus_nine_during_a_5000_event_push_loses_nothing_doubles_nothing_halves_nothing(
    tmp_path: Path,
) -> None:
    rng = random.Random(4)
    url = f"sqlite:///{tmp_path / 'roadchief.db'}"
    with ServerProcess(url, tmp_path) as server:
        handle, street = setup_street(server)
        handle.close()
        cast = [("chief", True), ("chief2", True), ("station", False), ("centre", False)]
        phones = [SimPhone(token=street.apis[who].token or "", name=who) for who, _ in cast]
        fill = outbox_filler(street, phones, [patrols for _, patrols in cast], rng)
        for phone in phones:
            fill(phone, EVENTS // len(phones))

        started = time.monotonic()
        kills, in_flight = 0, 0
        with Fleet(
            phones,
            server,
            batch_size=BATCH,
            deadline=started + TIME_LIMIT,
            pause=0.01,
            top_up=lambda phone: fill(phone, RESERVE),
        ) as fleet:
            while kills < KILLS and fleet.busy:
                # a random moment of a short window of service
                time.sleep(rng.uniform(0.0, 0.04))
                if not fleet.busy:
                    break
                in_flight += any(p.in_flight for p in phones)
                server.kill()
                kills += 1
                # the database as the crash left it: every acknowledged batch whole, no half batch
                verdict = check(read_ledger(url), phones, drained=False)
                assert verdict.ok, f"after kill {kills}: {verdict.summary()}"
                server.start()
            fleet.stop_topping_up()
        assert kills >= KILLS, f"the push finished after only {kills} kills"
        verdict = check(read_ledger(url), phones, drained=True)
        elapsed = time.monotonic() - started
        print(
            f"\nkill -9 proof: kills={kills} (push on the wire at {in_flight}) events={verdict.generated} "
            f"{verdict.summary()} "
            f"resends={sum(p.failures for p in phones)} secs={elapsed:.1f}"
        )
        assert verdict.ok, verdict.summary()
        generated = sum(len(p.generated) for p in phones)
        assert generated >= EVENTS
        assert verdict.generated == generated and verdict.processed == generated
        assert verdict.applied == generated, "every action was engine-valid: all must be applied"
