"""The pull cursor never skips a committed change, with many phones pushing at once.

On PostgreSQL, transactions commit in any order; the street's counter row, bumped in each push
transaction, makes ``street_seq`` order the commit order, so a puller running alongside sees every
event exactly once. The same test runs on SQLite, whose single writer gives the same guarantee.
"""

from __future__ import annotations

import threading
import uuid

from .world import CATEGORY, World


def test_a_puller_running_alongside_concurrent_pushers_misses_nothing(world: World) -> None:
    a = world.a
    who = ["chief", "chief2", "station", "centre"]
    phones = [a.phone(w) for w in who for _ in range(2)]  # eight phones, two per user
    applied: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    done = threading.Event()

    def pusher(phone) -> None:  # type: ignore[no-untyped-def]
        try:
            for _ in range(6):
                case_id = str(uuid.uuid4())
                batch = [
                    phone.mutation(
                        "report", case_id, category=CATEGORY, road_id=a.roads[0], description="并发"
                    ),
                    *[phone.mutation("comment", case_id, text=f"第{i}条") for i in range(3)],
                ]
                results = phone.push(*batch)
                with lock:
                    applied.extend(r["id"] for r in results if r["status"] == "applied")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    puller = a.phone("supervisor")
    seen: list[dict] = []

    def pull_until_done() -> None:
        try:
            while not done.is_set():
                seen.extend(puller.pull_all())
            seen.extend(puller.pull_all())
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    start = puller.pull_all()  # everything before the test: skip it
    del start
    reader = threading.Thread(target=pull_until_done)
    reader.start()
    threads = [threading.Thread(target=pusher, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert not errors, errors
    assert len(applied) == len(phones) * 6 * 4
    ids = [r["event"]["id"] for r in seen]
    assert len(ids) == len(set(ids)), "an event was pulled twice"
    assert set(applied) <= set(ids), f"{len(set(applied) - set(ids))} committed events were never pulled"
    positions = [r["position"] for r in seen]
    assert positions == sorted(positions)
    # and a fresh phone pulling from the start sees the same street in the same order
    fresh = [r["event"]["id"] for r in a.phone("handler").pull_all()]
    assert [i for i in fresh if i in set(ids)] == ids


def test_a_late_commit_is_not_skipped_by_a_pull_in_between(world: World) -> None:
    """Tx A starts first and commits last; tx B waits for A on the street's counter row, so a pull
    taken while A is open sees neither, and the next pull sees both, A's first."""
    from datetime import UTC, datetime

    from server.auth import CurrentUser
    from server.models import User
    from server.rules import load_rules
    from server.sync import apply_push
    from shared import PushRequest

    a = world.a
    db = world.server.database()
    try:
        with db.read() as session:
            users = {k: CurrentUser.of(session.get(User, a.users[k]["id"])) for k in ("chief", "chief2")}
            rules = load_rules(session, a.id)
        puller = a.phone("supervisor")
        puller.pull_all()

        def request(who: str) -> tuple[PushRequest, str]:
            phone = a.phone(who)
            mutation = phone.mutation(
                "report", str(uuid.uuid4()), category=CATEGORY, road_id=a.roads[0], description=who
            )
            mutation["occurred_at"] = datetime.now(UTC).isoformat()
            body = {"protocol_version": 1, "device_id": phone.device_id, "mutations": [mutation]}
            return PushRequest.from_dict(body), mutation["id"]

        (req_a, id_a), (req_b, id_b) = request("chief"), request("chief2")
        b_done = threading.Event()
        a_open = db.write()
        session_a = a_open.__enter__()
        try:
            apply_push(session_a, users["chief"], req_a, rules)

            def push_b() -> None:
                with db.write() as session_b:
                    apply_push(session_b, users["chief2"], req_b, rules)
                b_done.set()

            thread = threading.Thread(target=push_b)
            thread.start()
            # B is blocked behind A (on PostgreSQL: the counter row lock; on SQLite: the writer lock)
            assert not b_done.wait(0.5)
            assert [r["event"]["id"] for r in puller.pull_all()] == []
        finally:
            a_open.__exit__(None, None, None)  # A commits now, after B asked to
        thread.join(10)
        assert b_done.is_set()
        assert [r["event"]["id"] for r in puller.pull_all()] == [id_a, id_b]
    finally:
        db.dispose()
