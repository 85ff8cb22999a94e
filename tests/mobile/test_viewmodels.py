"""Every screen's view-model, driven without a window."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from engine import Domain, Patrol, PatrolState, Rejection, State, Step, Trigger, Urgency
from mobile import Credentials, SyncClient, SyncUnavailable, keep_photo, record_action
from mobile.viewmodels import (
    CaseDetailViewModel,
    CasesViewModel,
    HomeViewModel,
    OutboxViewModel,
    PatrolViewModel,
    ReportViewModel,
    SignInViewModel,
)
from mobile.worker import SyncOutcome

from .phone import (
    CATEGORY,
    CHIEF,
    CHIEF2,
    DEPARTMENT,
    HANDLER,
    HERE,
    ROAD,
    STATION,
    FakeServer,
    jpeg,
    make_ctx,
)

TOKEN = "token-secret-123"


@pytest.fixture
def server():
    return FakeServer(users={TOKEN: CHIEF, "t-chief2": CHIEF2, "t-station": STATION, "t-handler": HANDLER})


@pytest.fixture
def ctx(tmp_path, server):
    context = make_ctx(tmp_path / "phone", http=server.session(), token=TOKEN)
    yield context
    context.close()


def sync(ctx, server):
    return SyncClient("http://phone.test", ctx.credentials.token, session=server.session()).sync_once(
        ctx.store
    )


def filed(ctx, **changes) -> str:
    vm = ReportViewModel(ctx)
    vm.pick_category(changes.pop("category", CATEGORY))
    vm.set_description(changes.pop("description", "占道摆摊"))
    for key, value in changes.items():
        setattr(vm, key, value)
    case = vm.submit()
    assert case is not None and not isinstance(case, Rejection), vm.error
    return case.id


def test_report_picks_a_category_by_domain_and_files_offline(ctx):
    vm = ReportViewModel(ctx)
    calls = []
    vm.subscribe(lambda: calls.append(1))
    assert [d for d, _ in vm.domains] == list(Domain) and vm.categories == []
    vm.pick_domain(Domain.ORDER)
    codes = [c.code for c in vm.categories]
    assert CATEGORY in codes and all(c.label == c.name_zh for c in vm.categories)
    assert not vm.can_submit
    vm.pick_category(CATEGORY)
    vm.set_urgency(Urgency.URGENT)
    assert vm.location == HERE and vm.location_source == "gps"
    vm.add_photo(jpeg())
    assert vm.can_submit and len(vm.photos) == 1  # a photo alone is enough
    case = vm.submit()
    assert case.state is State.FEEDBACK and case.urgency is Urgency.URGENT and case.before_photos
    assert calls and vm.last_saved is case and vm.photos == [] and vm.category is None
    assert ctx.store.unacknowledged() == 1


def test_report_without_gps_uses_the_road(tmp_path):
    ctx = make_ctx(tmp_path, position=None)
    vm = ReportViewModel(ctx)
    assert vm.location_source == "road" and vm.road_id == ROAD
    assert vm.location == (39.931, 116.192) or vm.location == (39.930, 116.190)
    ctx.close()


def test_report_hints_at_an_open_case_of_the_same_category_close_by(ctx):
    near = filed(ctx)
    vm = ReportViewModel(ctx)
    vm.location = (HERE[0] + 0.0005, HERE[1])  # ~55 m north
    vm.pick_category(CATEGORY)
    assert [(row.id, round(m)) for row, m in vm.nearby] == [(near, 56)]
    vm.location = (HERE[0] + 0.002, HERE[1])  # ~220 m: too far
    assert vm.nearby_open_cases() == []
    vm.location = HERE
    vm.pick_category("E0101")  # another category, same place
    assert vm.nearby == []


def test_report_shows_the_engine_refusal(tmp_path):
    ctx = make_ctx(tmp_path, HANDLER)
    vm = ReportViewModel(ctx)
    vm.pick_category(CATEGORY)
    vm.set_description("x")
    result = vm.submit()
    assert isinstance(result, Rejection) and vm.error and ctx.store.unacknowledged() == 0
    ctx.close()


def test_patrol_start_points_report_and_end(ctx):
    vm = PatrolViewModel(ctx, flush_every=3, flush_seconds=999)
    assert [r.id for r in vm.roads] == [ROAD]
    assert vm.start()
    assert vm.active is not None and vm.active.state is PatrolState.WALKING
    services = ctx.services
    for i in range(5):
        services.position = (HERE[0] + 0.0001 * (i + 1), HERE[1])
        vm.tick(ctx.clock.advance(seconds=5))
    # the start fix and five more, saved as two actions of three points
    assert vm.elapsed == 25 and vm.points_recorded == 6 and vm.buffer == []
    assert vm.active.point_count == 6 and vm.active.distance_m > 50
    patrol_id = vm.report_problem()
    case_id = filed(ctx, patrol_id=patrol_id)
    vm.refresh()
    assert vm.found == [case_id]
    ended = vm.end()
    assert isinstance(ended, Patrol) and ended.findings == (case_id,) and not ended.nothing_found
    assert vm.active is None and vm.saved is ended and vm.recent[0].id == ended.id
    names = [i.name for i in ctx.store.outbox()]
    assert names[0] == "start_patrol" and names[-1] == "end_patrol" and "report" in names


def test_a_patrol_with_nothing_found_is_saved(ctx):
    vm = PatrolViewModel(ctx)
    vm.start(ROAD)
    ended = vm.end()
    assert isinstance(ended, Patrol) and ended.nothing_found and vm.saved is ended


def test_patrol_survives_a_restart(ctx, tmp_path):
    vm = PatrolViewModel(ctx)
    vm.start(ROAD)
    again = PatrolViewModel(ctx)  # the app was closed and opened
    assert again.active is not None and again.active.id == vm.active.id


def test_home_counts_my_open_cases_by_step_and_lists_overdue(ctx, server):
    mine = filed(ctx)
    filed(ctx)
    sync(ctx, server)
    server.act(STATION, "dispatch", mine, {"department_id": DEPARTMENT}, ctx.now())
    sync(ctx, server)
    home = HomeViewModel(ctx)
    assert [r.id for r in home.my_roads] == [ROAD]
    assert home.counts_by_step[Step.FEEDBACK] == 1 and home.counts_by_step[Step.DISPOSAL] == 1
    assert home.open_total == 2 and home.overdue == []
    ctx.clock.advance(days=30)
    home.refresh()
    assert [r.id for r in home.overdue] == [mine] and home.overdue[0].overdue
    home.on_sync(SyncOutcome("offline", ctx.now(), retry_in=4))
    assert home.online is False and "离线" in home.sync_text
    record_action(ctx.store, CHIEF, Trigger.COMMENT, mine, {"text": "仍在"}, ctx.now())
    home.refresh()
    assert home.pending == 1 and "待上传 1 条" in home.sync_text


def test_cases_are_mine_and_overdue_first(ctx, server):
    first, second = filed(ctx), filed(ctx)
    # a case on someone else's road by someone else: not mine
    server.act(
        CHIEF2,
        "report",
        "0c0c0c0c-0000-4000-8000-000000000001",
        {"category": CATEGORY, "road_id": "road-2", "description": "别处"},
        ctx.now(),
    )
    sync(ctx, server)
    server.act(STATION, "dispatch", second, {"department_id": DEPARTMENT}, ctx.now())
    sync(ctx, server)
    ctx.clock.advance(days=30)
    vm = CasesViewModel(ctx)
    assert [r.id for r in vm.rows] == [second, first]
    assert vm.rows[0].overdue and vm.rows[0].step_label == "处置" and vm.rows[0].sync_state == "synced"
    vm.set_filter("overdue")
    assert [r.id for r in vm.rows] == [second]
    with pytest.raises(ValueError):
        vm.set_filter("nonsense")


def test_case_detail_timeline_actions_and_refusal(ctx, server, tmp_path):
    case_id = filed(ctx)
    sync(ctx, server)
    detail = CaseDetailViewModel(ctx, case_id)
    assert [e.trigger for e in detail.timeline] == ["report"]
    assert detail.timeline[0].who == "我" and detail.timeline[0].sync_state == "synced"
    assert [t for t, _ in detail.actions()] == [Trigger.FIX_ON_SPOT, Trigger.COMMENT, Trigger.ATTACH_PHOTOS]
    # offline, the chief fixes it on the spot; the station had already cancelled it
    sha = keep_photo(ctx.store, jpeg((0, 200, 0)), ctx.now())
    fixed = detail.act(Trigger.FIX_ON_SPOT, {"note": "已劝离", "photos": [sha]})
    assert fixed.state is State.SUPERVISION
    assert detail.timeline[-1].sync_state == "saved" and detail.row.sync_state == "saved"
    server.act(STATION, "cancel", case_id, {"reason": "重复上报"}, ctx.clock.advance(minutes=1))
    sync(ctx, server)
    detail.refresh()
    assert detail.case.state is State.CANCELLED  # the server's state, the loser not applied
    (refusal,) = detail.refusals
    assert refusal.trigger == "fix_on_spot" and refusal.sync_state == "refused" and "作废" in refusal.reason
    assert detail.row.sync_state == "refused" and detail.row.refusal
    assert detail.actions() == []
    refused = detail.act(Trigger.COMMENT, {"text": "?"})
    assert isinstance(refused, Rejection) and detail.error
    detail.dismiss(ctx.store.outbox(statuses=["refused"])[0].id)
    assert detail.refusals == []


def test_case_detail_offers_only_what_the_engine_allows(tmp_path, server):
    chief = make_ctx(tmp_path / "chief", http=server.session(), token=TOKEN)
    case_id = filed(chief)
    sync(chief, server)
    handler = make_ctx(tmp_path / "handler", HANDLER, http=server.session(), token="t-handler")
    sync(handler, server)
    assert [t for t, _ in CaseDetailViewModel(handler, case_id).actions()] == []  # not dispatched
    server.act(STATION, "dispatch", case_id, {"department_id": DEPARTMENT}, chief.now())
    sync(handler, server)
    detail = CaseDetailViewModel(handler, case_id)
    assert Trigger.ACCEPT in [t for t, _ in detail.actions()]
    assert detail.department_name == "城管"
    # time per step: the feedback step is over, disposal is still counting
    assert [(t.step.value, t.current) for t in detail.times] == [("feedback", False), ("disposal", True)]
    accepted = detail.act(Trigger.ACCEPT)
    assert accepted.state is State.DISPOSAL
    chief.close()
    handler.close()


def test_outbox_states_reasons_and_export(ctx, server, tmp_path):
    filed(ctx)
    vm = OutboxViewModel(ctx)
    assert [r.state for r in vm.items] == ["saved"] and vm.pending == 1
    server.server_errors = 1
    with pytest.raises(SyncUnavailable):
        sync(ctx, server)
    vm.refresh()
    assert [r.state for r in vm.items] == ["sent"]
    sync(ctx, server)
    second = filed(ctx)
    vm.refresh()
    assert [r.state for r in vm.items] == ["saved", "acknowledged"]
    path = vm.export(tmp_path / "out.json")
    assert vm.export_count == 1 and json.loads(path.read_text())["mutations"][0]["case_id"] == second
    assert vm.items[0].what == "上报问题"


def test_outbox_shows_a_refusal_with_its_reason(ctx, server):
    case_id = filed(ctx)
    sync(ctx, server)
    record_action(ctx.store, CHIEF, Trigger.COMMENT, case_id, {"text": "补充"}, ctx.now())
    server.act(STATION, "cancel", case_id, {"reason": "重复"}, ctx.clock.advance(minutes=1))
    sync(ctx, server)
    vm = OutboxViewModel(ctx)
    assert vm.items[0].state == "refused" and "作废" in vm.items[0].reason and vm.refused == 1


def test_sign_in_runs_off_the_ui_thread_and_keeps_the_token_apart(tmp_path, server):
    ctx = make_ctx(tmp_path / "fresh", http=server.session(), token=None)
    with ctx.store.transaction():
        ctx.store.delete_meta("profile")
    ctx._profile = None
    vm = SignInViewModel(ctx)
    done = []
    vm.on_signed_in(done.append)
    vm.server_url, vm.username, vm.password = "http://phone.test", "chief", "wrong"
    vm.sign_in()
    assert vm.busy
    vm.wait()
    ctx.post_to_ui.run()
    assert not vm.busy and "wrong password" in vm.error and not done
    vm.password = "pw"
    vm.sign_in()
    vm.wait()
    ctx.post_to_ui.run()
    assert done == [CHIEF] and vm.error == "" and vm.password == ""
    assert ctx.credentials.token() == TOKEN and ctx.profile == CHIEF
    assert ctx.worker is not None and ctx.worker.running
    ctx.close()


def test_a_different_user_cannot_sign_in_over_unsent_work(ctx, server, tmp_path):
    filed(ctx)
    vm = SignInViewModel(ctx)
    vm.server_url, vm.username, vm.password = "http://phone.test", "chief2", "pw"
    vm.sign_in()
    vm.wait()
    ctx.post_to_ui.run()
    assert vm.pending_work == 1 and vm.error and ctx.profile == CHIEF
    assert ctx.store.unacknowledged() == 1  # nothing discarded
    export = tmp_path / "left-behind.json"
    vm.sign_in(export_to=export)
    vm.wait()
    ctx.post_to_ui.run()
    assert vm.signed_in == CHIEF2 and export.exists() and ctx.store.unacknowledged() == 0
    ctx.close()


def test_offline_user_may_continue(ctx):
    vm = SignInViewModel(ctx)
    assert vm.offline_user == CHIEF
    ctx.credentials.clear()
    assert vm.offline_user is None
    ctx.credentials.save(Credentials(TOKEN, "http://phone.test"))


def test_home_follows_the_worker(ctx, server):
    filed(ctx)
    ctx.start_sync()
    home = HomeViewModel(ctx)
    ctx.post_to_ui.run()  # the worker's first round lands on the "main thread"
    ctx.stop_sync()
    assert home.online is True and home.pending == 0 and home.last_sync is not None
    assert home.sync_text.startswith("已同步")
    ctx.clock.advance(hours=1)
    assert timedelta(hours=1) <= ctx.now() - home.last_sync


def test_a_timeline_names_colleagues_from_the_reference_data() -> None:
    from mobile.profile import Reference

    reference = Reference.from_dict(
        {"people": [{"id": "u-station", "display_name": "李站长", "role": "coordinator"}], "roads": []}
    )
    assert reference.person_name("u-station") == "李站长"
    assert reference.person_name("u-unknown") == "u-unknown"  # never blank: the id stands in
