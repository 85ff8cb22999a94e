"""The sync client against a fake transport: lost answers, 5xx, timeouts, retry, 401, refusals."""

from __future__ import annotations

import os
import queue
import stat
import threading
import time

import pytest
import requests

from engine import Case, State, Trigger
from mobile import SignedOut, SyncClient, SyncUnavailable, SyncWorker, keep_photo, new_case_id, record_action
from mobile.worker import BACKOFF_CAP, backoff_delay

from .phone import CHIEF, CHIEF2, DEPARTMENT, STATION, FakeServer, jpeg, make_ctx, report_args

TOKEN = "token-secret-123"


@pytest.fixture
def server():
    return FakeServer(users={TOKEN: CHIEF, "t2": CHIEF2, "t-station": STATION})


@pytest.fixture
def ctx(tmp_path, server):
    context = make_ctx(tmp_path, http=server.session(), token=TOKEN)
    yield context
    context.close()


def client(ctx, server) -> SyncClient:
    return SyncClient("http://phone.test", ctx.credentials.token, session=server.session(), clock=ctx.clock)


def file_report(ctx, **extra):
    case_id = new_case_id()
    result = record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, report_args(**extra), ctx.now())
    assert isinstance(result, Case)
    return case_id


def statuses(ctx):
    return [i.status for i in ctx.store.outbox()]


def test_a_round_uploads_photos_pushes_and_pulls(ctx, server):
    sha = keep_photo(ctx.store, jpeg(), ctx.now())
    case_id = file_report(ctx, photos=[sha])
    report = client(ctx, server).sync_once(ctx.store)
    assert (report.photos_uploaded, report.acknowledged, report.pulled, report.pending) == (1, 1, 1, 0)
    assert sha in server.photos and statuses(ctx) == ["acknowledged"]
    assert ctx.store.confirmed(case_id).version == 1 and ctx.store.view_record(case_id).version == 1
    assert server.calls.index(f"PUT /api/v1/photos/{sha}") < server.calls.index("POST /api/v1/sync/push")
    # the next round sends nothing again
    again = client(ctx, server).sync_once(ctx.store)
    assert (again.pushed, again.photos_uploaded, again.pulled) == (0, 0, 0)


def test_a_lost_answer_is_resent_and_answered_duplicate(ctx, server):
    case_id = file_report(ctx)
    server.drop_push_answers = 1
    with pytest.raises(SyncUnavailable):
        client(ctx, server).sync_once(ctx.store)
    assert statuses(ctx) == ["sent"]  # applied on the server, but the phone cannot know
    report = client(ctx, server).sync_once(ctx.store)
    assert report.acknowledged == 1 and statuses(ctx) == ["acknowledged"]
    assert len(server.events) == 1  # nothing doubled
    assert ctx.store.view_record(case_id).version == 1


def test_server_errors_and_timeouts_leave_everything_resendable(ctx, server):
    file_report(ctx)
    server.server_errors = 1
    with pytest.raises(SyncUnavailable):
        client(ctx, server).sync_once(ctx.store)
    server.timeouts = 1
    with pytest.raises(SyncUnavailable):
        client(ctx, server).sync_once(ctx.store)
    assert ctx.store.unacknowledged() == 1
    client(ctx, server).sync_once(ctx.store)
    assert statuses(ctx) == ["acknowledged"] and len(server.events) == 1


def test_retry_when_the_server_lacks_a_photo(ctx, server):
    sha = keep_photo(ctx.store, jpeg(), ctx.now())
    file_report(ctx)  # no photo: goes through
    file_report(ctx, photos=[sha])
    file_report(ctx)
    sync = client(ctx, server)
    # the photo "was uploaded" once but the server lost it: the phone believes it is there
    ctx.store.mark_uploaded(sha)
    report = sync.sync_once(ctx.store)
    assert report.retry == 1 and statuses(ctx) == ["acknowledged", "retry", "queued"]
    # a retry means "upload, then send again": the next round checks the photo and uploads it
    assert not ctx.store.photo(sha).uploaded
    sync.sync_once(ctx.store)
    assert statuses(ctx) == ["acknowledged"] * 3 and sha in server.photos


def test_401_means_signed_out(ctx, server):
    file_report(ctx)
    expired = SyncClient("http://phone.test", lambda: "expired", session=server.session())
    with pytest.raises(SignedOut):
        expired.sync_once(ctx.store)
    assert ctx.store.unacknowledged() == 1
    nobody = SyncClient("http://phone.test", lambda: None, session=server.session())
    with pytest.raises(SignedOut):
        nobody.sync_once(ctx.store)


def test_an_action_overtaken_by_another_phone_is_refused_with_the_reason(ctx, server):
    case_id = file_report(ctx)
    sync = client(ctx, server)
    sync.sync_once(ctx.store)
    # offline, the chief comments; meanwhile the station cancels the case on the server
    record_action(ctx.store, CHIEF, Trigger.COMMENT, case_id, {"text": "还在摆摊"}, ctx.now())
    server.act(STATION, "cancel", case_id, {"reason": "重复上报"}, ctx.clock.advance(minutes=1))
    report = sync.sync_once(ctx.store)
    assert report.refused == 1 and report.refused_cases == [case_id]
    refused = ctx.store.outbox(statuses=["refused"])[0]
    assert refused.code == "case_final" and "作废" in (refused.message_zh or "")
    view = ctx.store.view_record(case_id)
    assert view.state is State.CANCELLED and view.comment_count == 0


def test_pull_pages_until_done_and_keeps_the_cursor(ctx, server):
    for i in range(7):
        case_id = new_case_id()
        server.act(STATION, "report", case_id, report_args(description=f"第{i}件"), ctx.now())
    server.act(STATION, "dispatch", case_id, {"department_id": DEPARTMENT}, ctx.now())
    report = client(ctx, server).sync_once(ctx.store)
    assert report.pulled == 8 and ctx.store.event_count() == 8
    assert ctx.store.cursor == "8"
    assert ctx.store.view_record(case_id).state is State.DISPATCHED


def _eight_events(ctx, server) -> str:
    for i in range(7):
        case_id = new_case_id()
        server.act(STATION, "report", case_id, report_args(description=f"第{i}件"), ctx.now())
    server.act(STATION, "dispatch", case_id, {"department_id": DEPARTMENT}, ctx.now())
    return case_id


def test_the_next_page_is_asked_for_while_this_one_is_stored(ctx, server, monkeypatch):
    """Storing page 1 waits until the server has heard the request for page 2: were the pages
    asked for one after another, that request would never come and the wait would time out."""
    import mobile.sync

    _eight_events(ctx, server)
    asked: list[str | None] = []
    second_asked = threading.Event()

    def heard(cursor):
        asked.append(cursor)
        if cursor == "3":
            second_asked.set()

    server.on_pull = heard
    store_page = mobile.sync.apply_pull
    stored_while_asked = []

    def slow_store(store, page, profile, rules):
        if page.cursor == "3":
            stored_while_asked.append(second_asked.wait(timeout=10))
        return store_page(store, page, profile, rules)

    monkeypatch.setattr(mobile.sync, "apply_pull", slow_store)
    report = client(ctx, server).sync_once(ctx.store)
    assert stored_while_asked == [True]
    assert asked == [None, "3", "6"]  # each page once, in order
    assert report.pulled == 8 and ctx.store.event_count() == 8 and ctx.store.cursor == "8"


def test_without_the_cursor_headers_the_pages_come_one_after_another(ctx, server):
    """An older server (no headers): the phone asks for each page once the last is stored."""
    case_id = _eight_events(ctx, server)
    server.pull_headers = False
    report = client(ctx, server).sync_once(ctx.store)
    assert report.pulled == 8 and ctx.store.cursor == "8"
    assert ctx.store.view_record(case_id).state is State.DISPATCHED


def test_a_page_fetched_ahead_that_fails_leaves_the_cursor_at_the_last_stored_page(ctx, server):
    _eight_events(ctx, server)
    failures = {"6": 1}

    def flaky(cursor):
        if failures.get(cursor):
            failures[cursor] -= 1
            raise requests.ConnectionError("the network dropped")

    server.on_pull = flaky
    with pytest.raises(SyncUnavailable):
        client(ctx, server).sync_once(ctx.store)
    assert ctx.store.cursor == "6" and ctx.store.event_count() == 6  # pages 1 and 2 are kept
    report = client(ctx, server).sync_once(ctx.store)  # the next round goes on from there
    assert report.pulled == 2 and ctx.store.event_count() == 8 and ctx.store.cursor == "8"


def test_a_page_that_cannot_be_stored_drops_the_page_fetched_ahead(ctx, server, monkeypatch):
    import mobile.sync

    _eight_events(ctx, server)
    store_page = mobile.sync.apply_pull

    def broken_store(store, page, profile, rules):
        if page.cursor == "6":
            raise RuntimeError("disk full")
        return store_page(store, page, profile, rules)

    monkeypatch.setattr(mobile.sync, "apply_pull", broken_store)
    with pytest.raises(RuntimeError):
        client(ctx, server).sync_once(ctx.store)
    assert ctx.store.cursor == "3" and ctx.store.event_count() == 3
    monkeypatch.setattr(mobile.sync, "apply_pull", store_page)
    report = client(ctx, server).sync_once(ctx.store)
    assert report.pulled == 5 and ctx.store.event_count() == 8 and ctx.store.cursor == "8"


def test_backoff_grows_to_the_cap_with_jitter():
    assert backoff_delay(1, rng=lambda: 1.0) == 1.0
    assert backoff_delay(4, rng=lambda: 1.0) == 8.0
    assert backoff_delay(30, rng=lambda: 1.0) == BACKOFF_CAP
    assert backoff_delay(30, rng=lambda: 0.0) == 0.5


def test_the_worker_syncs_in_the_background_and_posts_to_the_ui(ctx, server):
    file_report(ctx)
    ui: queue.Queue = queue.Queue()
    seen = []
    path = ctx.store.path
    from mobile import LocalStore

    worker = SyncWorker(client(ctx, server), lambda: LocalStore(path), ui.put, interval=60)
    worker.subscribe(seen.append)
    server.server_errors = 1
    worker.start()
    try:
        ui.get(timeout=10)()  # the first round fails: offline, with a back-off
        assert seen[-1].state == "offline" and 0.5 <= seen[-1].retry_in <= 1.0
        worker.wake()  # the network is back
        ui.get(timeout=10)()
        assert seen[-1].state == "ok" and seen[-1].report.acknowledged == 1
    finally:
        worker.stop()
    assert not worker.running
    assert statuses(ctx) == ["acknowledged"]  # the UI's connection sees the worker's commits


def test_the_worker_pauses_when_signed_out(ctx, server):
    ui: queue.Queue = queue.Queue()
    seen = []
    path = ctx.store.path
    from mobile import LocalStore

    worker = SyncWorker(
        SyncClient("http://phone.test", lambda: "bad", session=server.session()),
        lambda: LocalStore(path),
        ui.put,
        interval=0.05,
    )
    worker.subscribe(seen.append)
    worker.start()
    ui.get(timeout=10)()
    time.sleep(0.3)
    assert seen[-1].state == "signed_out" and ui.empty()  # no busy loop of 401s
    worker.stop()


def test_the_token_never_reaches_the_database(ctx, server):
    sha = keep_photo(ctx.store, jpeg(), ctx.now())
    file_report(ctx, photos=[sha])
    client(ctx, server).sync_once(ctx.store)
    ctx.store.conn.execute("PRAGMA wal_checkpoint(FULL)")
    for name in os.listdir(ctx.data_dir):
        if name.startswith("roadchief.db"):
            assert TOKEN.encode() not in (ctx.data_dir / name).read_bytes(), name
    mode = stat.S_IMODE(os.stat(ctx.credentials.path).st_mode)
    assert mode == 0o600
    from mobile import sign_out

    sign_out(ctx)
    assert ctx.credentials.load() is None and not ctx.credentials.path.exists()
    assert ctx.store.unacknowledged() == 0


def test_a_batch_the_server_cannot_read_never_blocks_the_outbox(ctx, server):
    first, bad, last = file_report(ctx), file_report(ctx), file_report(ctx)
    bad_item = ctx.store.outbox(case_id=bad)[0]
    server.unreadable.add(bad_item.id)
    report = client(ctx, server).sync_once(ctx.store)
    assert report.acknowledged == 2 and report.refused == 1
    assert [i.status for i in ctx.store.outbox()] == ["acknowledged", "refused", "acknowledged"]
    refused = ctx.store.outbox_item(bad_item.id)
    assert refused.code == "malformed_payload" and "args" in (refused.message_en or "")
    assert ctx.store.view_record(bad) is None  # refused: not shown as filed
    assert ctx.store.view_record(first) is not None and ctx.store.view_record(last) is not None


def test_sign_out_keeps_unsent_work(ctx, server):
    from mobile import sign_out

    file_report(ctx)
    assert sign_out(ctx) == 1
    assert ctx.store.unacknowledged() == 1 and ctx.credentials.token() is None
