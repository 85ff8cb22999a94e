"""An action changes the view and enters the outbox in one transaction; refused actions store nothing."""

from __future__ import annotations

import json

import pytest

from engine import Case, Patrol, PatrolState, Rejection, RejectionCode, State, Trigger
from mobile import export_unsent, new_case_id, record_action, report
from mobile.outbox import EXPORT_FORMAT, end_patrol, start_patrol
from mobile.photos import keep_photo

from .phone import CATEGORY, CHIEF, HANDLER, ROAD, jpeg, make_ctx, report_args


@pytest.fixture
def ctx(tmp_path):
    context = make_ctx(tmp_path)
    yield context
    context.close()


def outbox_rows(ctx) -> int:
    return ctx.store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]


def test_an_accepted_action_changes_the_view_and_enters_the_outbox(ctx):
    case_id = new_case_id()
    result = record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, report_args(), ctx.now())
    assert isinstance(result, Case) and result.state is State.FEEDBACK
    assert ctx.store.view_record(case_id) == result
    (item,) = ctx.store.outbox()
    assert (item.seq, item.case_id, item.name, item.status) == (1, case_id, "report", "queued")
    assert item.args["category"] == CATEGORY
    assert ctx.store.confirmed(case_id) is None  # nothing from the server yet


def test_a_refused_action_stores_nothing(ctx):
    case_id = new_case_id()
    refused = record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, {"road_id": ROAD}, ctx.now())
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.MISSING_FIELD
    assert outbox_rows(ctx) == 0 and ctx.store.view_record(case_id) is None
    # a road chief may not accept a case: refused offline, before anything is queued
    record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, report_args(), ctx.now())
    wrong = record_action(ctx.store, CHIEF, Trigger.ACCEPT, case_id, {}, ctx.now())
    assert isinstance(wrong, Rejection) and wrong.code is RejectionCode.ROLE_NOT_ALLOWED
    assert outbox_rows(ctx) == 1
    assert ctx.store.get_meta("next_seq") == 2  # the refused one took no seq


def test_args_the_server_would_find_malformed_are_refused_offline(ctx):
    huge = report_args(description="字" * 1900, extra=["x" * 4000] * 4)
    refused = record_action(ctx.store, CHIEF, Trigger.REPORT, new_case_id(), huge, ctx.now())
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.INVALID_FIELD
    assert outbox_rows(ctx) == 0 and ctx.store.get_meta("next_seq") == 1


def test_a_crash_inside_the_transaction_leaves_nothing_half_written(ctx, monkeypatch):
    case_id = new_case_id()

    def boom(record):
        raise RuntimeError("power cut between the outbox row and the view")

    monkeypatch.setattr(ctx.store, "put_view", boom)
    with pytest.raises(RuntimeError):
        record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, report_args(), ctx.now())
    monkeypatch.undo()
    assert outbox_rows(ctx) == 0
    assert ctx.store.view_record(case_id) is None
    assert ctx.store.get_meta("next_seq") == 1
    # and the store works on: the next action gets seq 1
    record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, report_args(), ctx.now())
    assert [i.seq for i in ctx.store.outbox()] == [1]


def test_seqs_increase_and_ids_are_unique(ctx):
    for _ in range(5):
        report(ctx.store, CHIEF, category=CATEGORY, road_id=ROAD, now=ctx.now(), description="乱堆乱放")
    items = ctx.store.outbox()
    assert [i.seq for i in items] == [1, 2, 3, 4, 5]
    assert len({i.id for i in items}) == 5


def test_the_next_action_builds_on_the_pending_view(ctx):
    case_id = new_case_id()
    record_action(ctx.store, CHIEF, Trigger.REPORT, case_id, report_args(), ctx.now())
    comment = record_action(ctx.store, CHIEF, Trigger.COMMENT, case_id, {"text": "已电话联系"}, ctx.now())
    assert isinstance(comment, Case) and comment.comment_count == 1 and comment.version == 2


def test_a_patrol_with_nothing_found_is_saved_too(ctx):
    patrol = start_patrol(ctx.store, CHIEF, ROAD, ctx.now())
    assert isinstance(patrol, Patrol)
    ended = end_patrol(ctx.store, CHIEF, patrol.id, [], ctx.now())
    assert isinstance(ended, Patrol) and ended.state is PatrolState.ENDED and ended.nothing_found
    assert [i.name for i in ctx.store.outbox()] == ["start_patrol", "end_patrol"]


def test_a_handler_cannot_report(tmp_path):
    ctx = make_ctx(tmp_path, HANDLER)
    refused = record_action(ctx.store, HANDLER, Trigger.REPORT, new_case_id(), report_args(), ctx.now())
    assert isinstance(refused, Rejection)
    ctx.close()


def test_export_writes_unsent_work_with_its_photos(ctx, tmp_path):
    sha = keep_photo(ctx.store, jpeg(), ctx.now())
    report(ctx.store, CHIEF, category=CATEGORY, road_id=ROAD, now=ctx.now(), photos=[sha])
    report(ctx.store, CHIEF, category=CATEGORY, road_id=ROAD, now=ctx.now(), description="第二件")
    target = tmp_path / "unsent.json"
    assert export_unsent(ctx.store, target, ctx.now()) == 2
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["format"] == EXPORT_FORMAT
    assert document["user"]["id"] == CHIEF.id and document["device_id"] == ctx.store.device_id
    assert [m["seq"] for m in document["mutations"]] == [1, 2]
    assert set(document["photos"]) == {sha}
