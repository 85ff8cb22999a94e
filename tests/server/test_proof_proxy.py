"""Proof: through a flaky network (refused connections, delays, requests dropped, answers cut after
the server committed) nothing is lost or doubled, and every lost acknowledgement is answered
``duplicate`` (or the same refusal) when the phone sends the mutation again."""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx

from shared import PUSH_PATH, MutationStatus, PushRequest, PushResponse, loads

from .proofs import (
    FlakyProxy,
    Fleet,
    ServerProcess,
    SimPhone,
    check,
    fill_outbox,
    pull_everything,
    read_ledger,
    setup_street,
)

PER_PHONE = 500
REFUSED_PER_PHONE = 10  # a road chief trying to approve: refused for good, never blocks the outbox
TIME_LIMIT = 90.0


def _pull_through(proxy: FlakyProxy, phone: SimPhone, deadline: float) -> list[dict]:
    """Pull everything through the proxy; a page whose answer is lost is asked for again."""
    with httpx.Client(timeout=5) as http:
        records, _, _ = pull_everything(
            http, proxy.base_url, phone.token, phone.device_id, limit=200, deadline=deadline
        )
        return records


def test_a_flaky_network_loses_nothing_and_every_lost_ack_is_answered_duplicate_on_resend(
    tmp_path: Path,
) -> None:
    rng = random.Random(7)
    url = f"sqlite:///{tmp_path / 'roadchief.db'}"
    with ServerProcess(url, tmp_path) as server:
        handle, street = setup_street(server)
        handle.close()
        cast = [("chief", True), ("chief2", True), ("station", False), ("centre", False)]
        phones = [SimPhone(token=street.apis[who].token or "", name=who) for who, _ in cast]
        for phone, (_, patrols) in zip(phones, cast, strict=True):
            fill_outbox(phone, street, PER_PHONE - REFUSED_PER_PHONE, rng, patrols=patrols)
            reports = [m.case_id for m in phone.outbox if m.name == "report"]
            for case_id in rng.sample(reports, REFUSED_PER_PHONE):
                phone.queue("approve", case_id, note="自己核查")  # not a supervisor: rejected

        started = time.monotonic()
        deadline = started + TIME_LIMIT
        with FlakyProxy(
            server.port, p_refuse=0.1, p_drop_request=0.05, p_cut_response=0.2, max_delay=0.05, seed=11
        ) as proxy:
            Fleet(phones, proxy, batch_size=25, deadline=deadline, pause=0.005, timeout=5).start().join()
            pulled = {p.name: _pull_through(proxy, p, deadline) for p in phones}

        verdict = check(read_ledger(url), phones, drained=True)
        assert verdict.ok, verdict.summary()
        total = len(phones) * PER_PHONE
        assert verdict.generated == verdict.processed == total
        assert verdict.applied == total - len(phones) * REFUSED_PER_PHONE

        # every answer the proxy swallowed: the phone resent it and heard "duplicate" (or the same refusal)
        by_device = {p.device_id: p for p in phones}
        checked = replayed_applied = 0
        pushes_lost = [lost for lost in proxy.lost_acks if lost.path == PUSH_PATH]
        for lost in pushes_lost:
            assert lost.status == 200, lost.response_body
            request = PushRequest.from_dict(loads(lost.request_body))
            phone = by_device[request.device_id]
            for result in PushResponse.from_dict(loads(lost.response_body)).results:
                heard = phone.first_answer(result.id)
                assert heard is not None, f"{result.id} was never answered again"
                checked += 1
                if result.status in (MutationStatus.APPLIED, MutationStatus.DUPLICATE):
                    replayed_applied += result.status is MutationStatus.APPLIED
                    assert heard.status is MutationStatus.DUPLICATE, (result, heard)
                else:
                    assert (heard.status, heard.code) == (result.status, result.code), (result, heard)

        # and every phone's pull stream holds each applied event exactly once, in server order
        applied = {mid for p in phones for mid in p.generated} - {
            mid for p in phones for mid, m in p.generated.items() if m.name == "approve"
        }
        for name, records in pulled.items():
            ids = [r["event"]["id"] for r in records]
            assert len(ids) == len(set(ids)), f"{name} pulled an event twice"
            assert set(ids) == applied, f"{name} pulled {len(ids)} events, expected {len(applied)}"
            assert [r["position"] for r in records] == list(range(1, len(records) + 1))

        print(
            f"\nflaky proxy proof: events={total} {verdict.summary()} refused_connections={proxy.refused} "
            f"dropped_requests={proxy.dropped} lost_push_acks={len(pushes_lost)} "
            f"lost_pull_pages={len(proxy.lost_acks) - len(pushes_lost)} (mutations in them={checked}, "
            f"of which first-time applied={replayed_applied}) "
            f"resends={sum(p.failures for p in phones)} secs={time.monotonic() - started:.1f}"
        )
        assert len(pushes_lost) >= 10 and replayed_applied >= 100, "the proxy was not flaky enough"
