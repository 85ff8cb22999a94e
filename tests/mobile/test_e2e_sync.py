"""End to end: the phone's core against a real server process on 127.0.0.1.

1. 50 reports with photos filed while the server is down; the server starts; one sync: the server
   holds each case exactly once, with its photos.
2. The phone's sync process is SIGKILLed at random moments mid-sync, several times, then restarted:
   nothing lost, nothing doubled.
3. Two phones, one case: phone B's action was overtaken by phone A's; after sync phone B shows the
   refusal with the server's reason next to the case, and the server's state.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from engine import Rejection, State, Trigger
from mobile import SyncClient, SyncUnavailable, keep_photo, login, record_action, report
from mobile.session import complete_sign_in, open_app
from mobile.viewmodels import CaseDetailViewModel, OutboxViewModel
from tests.server.world import PASSWORD, Street

from .phone import Clock, UiQueue, jpeg
from .server_process import ROOT, Launcher


def phone(directory: Path, launcher: Launcher, street: Street, who: str):
    """A phone signed in as ``who`` of the street (over HTTP, as the sign-in screen does)."""
    ctx = open_app(directory, UiQueue(), clock=Clock(), start_sync=False)
    answer = login(launcher.base, street.users[who]["username"], PASSWORD)
    complete_sign_in(ctx, launcher.base, answer)
    ctx.stop_sync()  # the tests drive sync themselves
    return ctx


def server_api(launcher: Launcher, ctx) -> httpx.Client:
    return httpx.Client(
        base_url=launcher.base, timeout=30, headers={"Authorization": f"Bearer {ctx.credentials.token()}"}
    )


def assert_held_once(api: httpx.Client, case_ids: list[str], photos: dict[str, str]) -> None:
    """Each case exists on the server with exactly one report, and its photo is there."""
    for case_id in case_ids:
        answer = api.get(f"/api/v1/cases/{case_id}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        names = Counter(event["name"] for event in body["events"])
        assert names["report"] == 1, (case_id, names)
        assert body["record"]["before_photos"] == [photos[case_id]]
        assert api.head(f"/api/v1/photos/{photos[case_id]}").status_code == 200


def file_reports(ctx, street: Street, count: int, seed: int) -> tuple[list[str], dict[str, str]]:
    case_ids, photos = [], {}
    for i in range(count):
        sha = keep_photo(ctx.store, jpeg((seed % 256, i % 256, (i * 7) % 256), (320, 240)), ctx.now())
        case = report(
            ctx.store,
            ctx.profile,
            category="E0501",
            road_id=street.roads[0],
            now=ctx.clock.advance(seconds=30),
            description=f"第{i}处占道经营",
            photos=[sha],
            location=(39.93, 116.19),
        )
        assert not isinstance(case, Rejection), case
        case_ids.append(case.id)
        photos[case.id] = sha
    return case_ids, photos


def test_fifty_reports_filed_while_the_server_is_down(launcher, street, tmp_path):
    ctx = phone(tmp_path / "phone", launcher, street, "chief")
    launcher.stop()
    try:
        case_ids, photos = file_reports(ctx, street, 50, seed=1)
        client = SyncClient(launcher.base, ctx.credentials.token)
        with pytest.raises(SyncUnavailable):
            client.sync_once(ctx.store)
        assert ctx.store.unacknowledged() == 50
    finally:
        launcher.start()
    sync = client.sync_once(ctx.store)
    assert (sync.photos_uploaded, sync.acknowledged, sync.pending) == (50, 50, 0)
    with server_api(launcher, ctx) as api:
        assert_held_once(api, case_ids, photos)
    # the phone's view: the 50 cases once each, now confirmed by the server
    assert {i.status for i in ctx.store.outbox()} == {"acknowledged"}
    for case_id in case_ids:
        assert ctx.store.confirmed(case_id).version == 1 == ctx.store.view_record(case_id).version
    ctx.close()


def test_sync_killed_mid_round_loses_and_doubles_nothing(launcher, street, tmp_path):
    directory = tmp_path / "phone"
    ctx = phone(directory, launcher, street, "chief2")
    case_ids, photos = file_reports(ctx, street, 60, seed=2)
    rng = random.Random(5)
    kills: list[tuple[int, int]] = []  # (acknowledged, in flight) at each kill
    for _ in range(5):
        acked = ctx.store.count_outbox(["acknowledged"])
        target = acked + rng.randint(0, 9)
        with open(tmp_path / "child.log", "ab") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "tests.mobile.sync_child", str(directory), "3"],
                cwd=ROOT,
                stdout=log,
                stderr=log,
            )
        # kill at a random batch while it is in flight: marked sent, the answer not yet stored
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            in_flight = ctx.store.count_outbox(["sent"])
            if in_flight and ctx.store.count_outbox(["acknowledged"]) >= target:
                child.send_signal(signal.SIGKILL)
                kills.append((ctx.store.count_outbox(["acknowledged"]), in_flight))
                break
            time.sleep(0.002)
        child.wait()
        if ctx.store.unacknowledged() == 0:
            break
    print("kills (acknowledged, in flight):", kills)
    assert len(kills) >= 2, kills
    # the app restarts: whatever state each item was left in, the next sync finishes the job
    final = subprocess.run(
        [sys.executable, "-m", "tests.mobile.sync_child", str(directory), "3"],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert final.returncode == 0, final.stdout + final.stderr
    assert ctx.store.unacknowledged() == 0
    assert {i.status for i in ctx.store.outbox()} == {"acknowledged"}
    with server_api(launcher, ctx) as api:
        assert_held_once(api, case_ids, photos)
    # and the phone itself holds each server event once
    ids = [row[0] for row in ctx.store.conn.execute("SELECT id FROM events")]
    assert len(ids) == len(set(ids))
    assert all(ctx.store.view_record(c).version == 1 for c in case_ids)
    ctx.close()


def test_an_overtaken_action_is_shown_refused_with_the_reason(launcher, street, tmp_path):
    chief = phone(tmp_path / "b", launcher, street, "chief")
    station = phone(tmp_path / "a", launcher, street, "station")
    case = report(
        chief.store,
        chief.profile,
        category="E0501",
        road_id=street.roads[0],
        now=chief.now(),
        description="井盖缺失",
        location=(39.93, 116.19),
    )
    SyncClient(launcher.base, chief.credentials.token).sync_once(chief.store)
    # phone A (the station) sees the case and cancels it as a duplicate
    SyncClient(launcher.base, station.credentials.token).sync_once(station.store)
    cancelled = record_action(
        station.store,
        station.profile,
        Trigger.CANCEL,
        case.id,
        {"reason": "重复上报"},
        station.clock.advance(minutes=5),
    )
    assert not isinstance(cancelled, Rejection)
    SyncClient(launcher.base, station.credentials.token).sync_once(station.store)
    # phone B, offline meanwhile, fixed it on the spot: allowed by its (older) view
    sha = keep_photo(chief.store, jpeg((10, 200, 10), (320, 240)), chief.now())
    detail = CaseDetailViewModel(chief, case.id)
    fixed = detail.act(Trigger.FIX_ON_SPOT, {"note": "已清理", "photos": [sha]})
    assert fixed is not None and fixed.state is State.SUPERVISION
    result = SyncClient(launcher.base, chief.credentials.token).sync_once(chief.store)
    assert result.refused == 1
    detail.refresh()
    assert detail.case.state is State.CANCELLED  # the server's state
    (refusal,) = detail.refusals
    assert refusal.trigger == "fix_on_spot" and "作废" in refusal.reason
    assert detail.row.sync_state == "refused"
    outbox = OutboxViewModel(chief)
    assert outbox.items[0].state == "refused" and outbox.items[0].reason == refusal.reason
    chief.close()
    station.close()
