"""The local store: schema, durability settings, and the view = confirmed + pending rule."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from engine import Case, Event, State, Trigger
from mobile import LocalStore, new_case_id, record_action
from mobile.store import SCHEMA_VERSION
from mobile.view import apply_pull, reference_of
from shared import PROTOCOL_VERSION, EventRecord, PullResponse, new_id

from .phone import CHIEF, DEPARTMENT, HERE, STATION, make_ctx, report_args


@pytest.fixture
def ctx(tmp_path):
    context = make_ctx(tmp_path)
    yield context
    context.close()


def page(events, start, *, more=False, last_seq=0):
    records = tuple(EventRecord(e, start + i) for i, e in enumerate(events))
    return PullResponse(PROTOCOL_VERSION, records, f"c{start + len(events)}", more, last_seq)


def server_event(item_or_id, case_id, name, user, at, args):
    return Event(item_or_id, case_id, name, user.actor, user.role, at, args, received_at=at)


def test_schema_and_durability(tmp_path):
    store = LocalStore(tmp_path / "a.db")
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    device = store.device_id
    store.close()
    again = LocalStore(tmp_path / "a.db")  # reopening migrates nothing and keeps the device
    assert again.device_id == device
    again.close()


def test_the_store_has_no_place_for_the_token(ctx):
    tables = {r[0] for r in ctx.store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"events", "records", "view", "outbox", "photos", "meta"}
    assert ctx.store.get_meta("token") is None


def test_view_is_confirmed_state_with_pending_replayed_on_top(ctx):
    case_id = new_case_id()
    reported = record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, report_args(), ctx.now())
    (item,) = ctx.store.outbox()
    # the server applied the report (same id) and a coordinator dispatched it; meanwhile the chief
    # commented offline
    comment = record_action(ctx.store, CHIEF, Trigger.COMMENT, case_id, {"text": "还在"}, ctx.now())
    assert isinstance(comment, Case) and comment.state is State.FEEDBACK
    at = ctx.now() + timedelta(minutes=5)
    events = [
        server_event(item.id, case_id, "report", CHIEF, item.occurred_at, item.args),
        server_event(new_id(), case_id, "dispatch", STATION, at, {"department_id": DEPARTMENT}),
    ]
    rules = reference_of(ctx.store).rules
    assert apply_pull(ctx.store, page(events, 1), CHIEF, rules) == 2
    view = ctx.store.view_record(case_id)
    confirmed = ctx.store.confirmed(case_id)
    assert isinstance(view, Case) and isinstance(confirmed, Case)
    assert confirmed.state is State.DISPATCHED and confirmed.comment_count == 0
    # server state, with the pending comment on top, and the report not doubled
    assert view.state is State.DISPATCHED and view.comment_count == 1 and view.version == 3
    assert isinstance(reported, Case)
    assert ctx.store.outbox_item(item.id).seen


def test_pull_while_pending_neither_skips_nor_doubles(ctx):
    case_id = new_case_id()
    record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, report_args(), ctx.now())
    (item,) = ctx.store.outbox()
    rules = reference_of(ctx.store).rules
    other = new_case_id()
    other_report = server_event(new_id(), other, "report", STATION, ctx.now(), report_args())
    # a page with someone else's case while ours is pending: it is not skipped
    apply_pull(ctx.store, page([other_report], 1, more=True), CHIEF, rules)
    assert ctx.store.view_record(other) is not None
    assert ctx.store.view_record(case_id).version == 1
    # the same page again (a retried pull) adds nothing
    assert apply_pull(ctx.store, page([other_report], 1, more=True), CHIEF, rules) == 0
    # our report comes back from the server: it replaces the pending one, it does not double
    mine = server_event(item.id, case_id, "report", CHIEF, item.occurred_at, item.args)
    apply_pull(ctx.store, page([mine], 2), CHIEF, rules)
    assert ctx.store.view_record(case_id).version == 1
    assert ctx.store.confirmed(case_id).version == 1
    assert ctx.store.cursor == "c3"


def test_a_refused_action_is_not_applied_but_stays_beside_its_case(ctx):
    case_id = new_case_id()
    record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, report_args(), ctx.now())
    record_action(ctx.store, CHIEF, Trigger.COMMENT, case_id, {"text": "补充"}, ctx.now())
    _first, second = ctx.store.outbox()
    with ctx.store.transaction():
        ctx.store.set_status(
            [second.id], "refused", code="case_final", message_zh="已结案", message_en="closed"
        )
    from mobile.view import rebuild_view

    rebuild_view(ctx.store, [case_id], CHIEF, reference_of(ctx.store).rules)
    assert ctx.store.view_record(case_id).comment_count == 0
    assert ctx.store.outbox_item(second.id).status == "refused"


def test_a_restored_server_gets_back_what_it_acknowledged_and_nothing_refused(ctx):
    case_id = new_case_id()
    record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, report_args(), ctx.now())
    record_action(ctx.store, CHIEF, Trigger.COMMENT, case_id, {"text": "补充"}, ctx.now())
    report, comment = ctx.store.outbox()
    reported = server_event(report.id, case_id, "report", CHIEF, ctx.now(), report.args)
    with ctx.store.transaction():
        ctx.store.set_status([report.id], "acknowledged")
        ctx.store.set_status([comment.id], "refused", code="case_final", message_zh="已结案", message_en="x")
    apply_pull(ctx.store, page([reported], 1), CHIEF, reference_of(ctx.store).rules)
    assert ctx.store.event_count() == 1 and ctx.store.cursor is not None

    device, seq = ctx.store.device_id, ctx.store.get_meta("next_seq")
    assert ctx.store.forget_server_state() == [case_id]
    assert ctx.store.event_count() == 0 and ctx.store.cursor is None
    assert ctx.store.confirmed(case_id) is None and ctx.store.count_view() == 0
    assert [(i.status, i.seen) for i in ctx.store.outbox()] == [("queued", False), ("refused", False)]
    assert ctx.store.outbox()[1].code == "case_final"  # the refusal still stands
    assert (ctx.store.device_id, ctx.store.get_meta("next_seq")) == (device, seq)  # the same phone


def test_a_new_user_starts_clean_with_a_new_device(ctx):
    device = ctx.store.device_id
    record_action(ctx.store, CHIEF, Trigger.REPORT, new_case_id(), report_args(), ctx.now())
    ctx.store.reset_for_new_user()
    assert ctx.store.device_id != device and ctx.store.get_meta("next_seq") == 1
    assert ctx.store.count_view() == 0 and ctx.store.outbox() == []


def test_view_rows_carry_place_and_category_for_queries(ctx):
    case_id = new_case_id()
    record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, report_args(), ctx.now())
    row = ctx.store.conn.execute("SELECT state, owner_id, category_code, lat, lon FROM view").fetchone()
    assert row == ("feedback", CHIEF.id, "E0501", HERE[0], HERE[1])


def test_two_connections_see_each_others_commits(ctx):
    other = LocalStore(ctx.store.path)
    record_action(ctx.store, CHIEF, Trigger.REPORT, new_case_id(), report_args(), ctx.now())
    assert other.count_outbox(["queued"]) == 1
    other.close()
    with pytest.raises(sqlite3.ProgrammingError):
        other.count_outbox(["queued"])
