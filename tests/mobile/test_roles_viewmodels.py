"""The desk roles' view-models — coordinator, handler, supervisor, overview, settings — without a window.

Every action of each role is tried, and so are the refusals the engine gives, offline, before
anything is queued. The phones share a ``FakeServer`` (``tests/mobile/phone.py``), so a case walks
from one user's phone to the next through push and pull.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import Level, Rejection, RejectionCode, Role, State, Step, Trigger
from mobile import Credentials, SyncClient, UserProfile
from mobile.outbox import report
from mobile.viewmodels.coordinator import NEARBY_M, CoordinatorViewModel
from mobile.viewmodels.handler import HandlerViewModel
from mobile.viewmodels.overview import OverviewViewModel, step_times
from mobile.viewmodels.settings import SettingsViewModel
from mobile.viewmodels.supervisor import SupervisorViewModel

from .phone import (
    CATEGORY,
    CHIEF,
    DEPARTMENT,
    HANDLER,
    HERE,
    OTHER_ROAD,
    ROAD,
    STATION,
    STREET,
    SUPERVISOR,
    FakeServer,
    jpeg,
    make_ctx,
)

CENTRE = UserProfile("u-centre", "centre", Role.COORDINATOR, STREET, None, None, "指挥中心")
HANDLER2 = UserProfile("u-handler2", "handler2", Role.HANDLER, STREET, None, "dept-2", "环卫")
TOKENS = {
    "chief": CHIEF,
    "station": STATION,
    "centre": CENTRE,
    "handler": HANDLER,
    "handler2": HANDLER2,
    "super": SUPERVISOR,
}


class PhotoServer(FakeServer):
    """The fake server, plus ``GET`` of a photo (the desk phones fetch others' photos)."""

    def handle(self, method, path, token, body):
        if method == "GET" and path.startswith("/api/v1/photos/"):
            if token not in self.users:
                return 401, b'{"error": {"code": "unauthorized", "reason": "no"}}'
            data = self.photos.get(path.rsplit("/", 1)[1])
            return (200, data) if data is not None else (404, b'{"error": {"code": "photo_not_found"}}')
        return super().handle(method, path, token, body)


def make_server() -> PhotoServer:
    return PhotoServer(users=dict(TOKENS))


def make_phones(directory, server):
    """One signed-in phone per user, all on the same fake server and the same clock."""
    made = {}
    clock = None
    for token, user in TOKENS.items():
        ctx = make_ctx(directory / token, user, http=server.session(), token=token, clock=clock)
        clock = ctx.clock
        made[token] = ctx
    return made


@pytest.fixture
def server():
    return make_server()


@pytest.fixture
def phones(tmp_path, server):
    made = make_phones(tmp_path, server)
    yield made
    for ctx in made.values():
        ctx.close()


def sync(ctx, server):
    return SyncClient("http://phone.test", ctx.credentials.token, session=server.session()).sync_once(
        ctx.store
    )


def run_ui(ctx):
    """Run what worker threads posted to the "UI thread" (a queue in these tests)."""
    return ctx.post_to_ui.drain()


def filed(phones, server, **extra) -> str:
    """The road chief files a case (with a before photo) and syncs; returns its id."""
    chief = phones["chief"]
    from mobile import keep_photo

    sha = keep_photo(chief.store, jpeg((200, 40, 40)), chief.now())
    location = extra.pop("location", HERE)
    case = report(
        chief.store,
        CHIEF,
        category=CATEGORY,
        road_id=extra.pop("road_id", ROAD),
        now=chief.now(),
        description=extra.pop("description", "路口占道摆摊"),
        photos=[sha],
        location=location,
        **extra,
    )
    assert not isinstance(case, Rejection), case
    sync(chief, server)
    return case.id


def walk(phones, server, who, vm_class, case_id, action, *args):
    """``who`` syncs, opens the case in their queue, does ``action``, syncs; returns the answer."""
    ctx = phones[who]
    sync(ctx, server)
    vm = vm_class(ctx)
    vm.select(case_id)
    result = getattr(vm, action)(*args)
    assert not isinstance(result, Rejection), vm.error
    sync(ctx, server)
    return result


# --- the coordinator ------------------------------------------------------------------------------


def test_coordinator_queue_is_by_community_then_oldest_first(phones, server):
    first = filed(phones, server)
    phones["chief"].clock.advance(hours=2)
    second = filed(phones, server, location=(HERE[0] + 0.01, HERE[1]), road_id=OTHER_ROAD)
    station = phones["station"]
    sync(station, server)
    vm = CoordinatorViewModel(station)
    assert [r.id for r in vm.rows] == [first, second]  # the older one first
    ((community, rows),) = vm.groups
    assert community == "金顶街" and len(rows) == 2
    assert rows[0].age == timedelta(hours=2) and rows[1].age == timedelta(0)
    # the handler's queue does not show them: nothing is dispatched yet
    handler = phones["handler"]
    sync(handler, server)
    assert HandlerViewModel(handler).rows == []


def test_dispatch_suggests_the_category_deadline_and_refuses_stretching_it(phones, server):
    case_id = filed(phones, server)
    station = phones["station"]
    sync(station, server)
    vm = CoordinatorViewModel(station)
    vm.select(case_id)
    assert vm.may(Trigger.DISPATCH) and vm.department_id == DEPARTMENT
    suggested = vm.suggested_due
    assert suggested is not None and suggested > station.now()
    # later than the category allows: the engine says no at once, nothing is saved
    vm.shift_due(timedelta(hours=1))
    assert "超过类别时限" in vm.due_error
    result = vm.dispatch()
    assert isinstance(result, Rejection) and result.code is RejectionCode.INVALID_DEADLINE
    assert "处置时限无效" in vm.error and station.store.unacknowledged() == 0
    # before now: refused too
    vm.set_due(station.now() - timedelta(minutes=5))
    assert "早于派遣时间" in vm.due_error
    # tightening is fine
    vm.set_due(suggested - timedelta(hours=2))
    assert vm.due_error == ""
    case = vm.dispatch()
    assert case.state is State.DISPATCHED and case.due_at == suggested - timedelta(hours=2)
    assert case.department_id == DEPARTMENT and vm.rows == [] and vm.notice == "派遣"
    assert station.store.unacknowledged() == 1


def test_escalate_needs_a_reason_then_the_station_hands_over(phones, server):
    case_id = filed(phones, server)
    station = phones["station"]
    sync(station, server)
    vm = CoordinatorViewModel(station)
    vm.select(case_id)
    refused = vm.escalate("  ")
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.MISSING_FIELD
    assert "缺少必填项" in vm.error
    case = vm.escalate("涉及多个部门，社区无法协调")
    assert case.level is Level.STREET and case.state is State.COORDINATION
    # after 吹哨 the street's command centre holds it: it leaves the station's queue
    assert case_id not in [r.id for r in vm.rows]
    vm.select(case_id)
    assert vm.allowed == [Trigger.COMMENT, Trigger.ATTACH_PHOTOS]
    refused = vm.dispatch()
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.OUT_OF_SCOPE
    sync(station, server)
    centre = phones["centre"]
    sync(centre, server)
    queue = CoordinatorViewModel(centre)
    assert [r.id for r in queue.rows] == [case_id] and queue.rows[0].escalated
    queue.select(case_id)
    assert Trigger.ESCALATE not in queue.allowed and Trigger.DISPATCH in queue.allowed


def test_merge_offers_nearby_open_cases_on_a_sketch(phones, server):
    original = filed(phones, server)
    phones["chief"].clock.advance(minutes=10)
    duplicate = filed(phones, server, location=(HERE[0] + 0.0005, HERE[1]))  # ~56 m away
    far = filed(phones, server, location=(HERE[0] + 0.01, HERE[1] + 0.01), road_id=OTHER_ROAD)
    station = phones["station"]
    sync(station, server)
    vm = CoordinatorViewModel(station)
    vm.select(duplicate)
    assert [(n.number, n.row.id, round(n.metres)) for n in vm.nearby] == [(1, original, 56)]
    assert far not in [n.row.id for n in vm.nearby] and NEARBY_M == 200
    sketch = vm.sketch
    assert sketch.names == ["金顶街"] and len(sketch.lines[0]) == 2
    assert [(d.label, d.highlight) for d in sketch.dots] == [("1", False), ("", True)]
    refused = vm.merge(duplicate)
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.INVALID_FIELD
    case = vm.merge(original)
    assert case.state is State.MERGED and case.merged_into == original
    assert [r.id for r in vm.rows] == [original, far]


def test_cancel_needs_a_reason(phones, server):
    case_id = filed(phones, server)
    station = phones["station"]
    sync(station, server)
    vm = CoordinatorViewModel(station)
    vm.select(case_id)
    refused = vm.cancel("")
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.MISSING_FIELD
    case = vm.cancel("重复上报，现场已无问题")
    assert case.state is State.CANCELLED and case.reason == "重复上报，现场已无问题"
    assert vm.rows == []
    # a cancelled case is final: the engine refuses anything more
    refused = vm.escalate("再试")
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.CASE_FINAL


# --- the handler ----------------------------------------------------------------------------------


def dispatched(phones, server, **extra) -> str:
    case_id = filed(phones, server, **extra)
    walk(phones, server, "station", CoordinatorViewModel, case_id, "dispatch")
    return case_id


def test_handler_queue_counts_down_with_overdue_first(phones, server):
    early = dispatched(phones, server)
    clock = phones["chief"].clock
    clock.advance(hours=30)  # past the 1 working day of the first
    late = dispatched(phones, server)
    handler = phones["handler"]
    sync(handler, server)
    vm = HandlerViewModel(handler)
    assert [r.id for r in vm.rows] == [early, late]
    assert vm.rows[0].overdue and vm.rows[0].remaining < timedelta(0)
    assert not vm.rows[1].overdue and vm.rows[1].remaining > timedelta(0)
    # another department sees neither, and cannot act on them
    other = phones["handler2"]
    sync(other, server)
    vm2 = HandlerViewModel(other)
    assert vm2.rows == []
    vm2.select(late)
    refused = vm2.accept()
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.NOT_ASSIGNED


def test_handler_accepts_returns_and_completes_with_after_photos(phones, server):
    case_id = dispatched(phones, server)
    handler = phones["handler"]
    sync(handler, server)
    vm = HandlerViewModel(handler)
    vm.select(case_id)
    assert vm.allowed[:2] == [Trigger.ACCEPT, Trigger.RETURN_CASE]
    # the before photo was taken on the chief's phone: fetched from the server
    (sha,) = vm.before.photos
    assert vm.photo_path(sha) is None
    vm.fetcher.wait()
    run_ui(handler)
    assert vm.photo_path(sha) is not None
    assert vm.before.where == HERE and vm.before.when == phones["chief"].now()
    refused = vm.complete("已清理")
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.NOT_ALLOWED_IN_STATE
    case = vm.accept()
    assert case.state is State.DISPOSAL and case.handler_id == HANDLER.id
    assert vm.complete("已清理") is None and vm.error == "请先拍摄处置后照片"
    vm.add_photo(jpeg((40, 160, 40)))
    assert vm.can_complete and vm.location == HERE
    refused = vm.complete("")
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.MISSING_FIELD
    case = vm.complete("摊位已清理，路面已恢复")
    assert case.state is State.SUPERVISION and len(case.after_photos) == 1 and vm.photos == []
    (item,) = [i for i in handler.store.outbox() if i.name == "complete"]
    assert item.args["location"] == {"lat": HERE[0], "lon": HERE[1]}


def test_handler_returns_a_case_that_is_not_theirs(phones, server):
    case_id = dispatched(phones, server)
    handler = phones["handler"]
    sync(handler, server)
    vm = HandlerViewModel(handler)
    vm.select(case_id)
    refused = vm.return_case("")
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.MISSING_FIELD
    case = vm.return_case("属于环卫部门职责")
    assert case.state is State.COORDINATION and case.department_id is None and case.return_count == 1
    assert vm.rows == []
    sync(handler, server)
    station = phones["station"]
    sync(station, server)
    assert [r.id for r in CoordinatorViewModel(station).rows] == [case_id]


# --- the supervisor -------------------------------------------------------------------------------


def completed(phones, server) -> str:
    case_id = dispatched(phones, server)
    walk(phones, server, "handler", HandlerViewModel, case_id, "accept")
    handler = phones["handler"]
    phones["chief"].clock.advance(minutes=40)
    handler.services.position = (HERE[0] + 0.0001, HERE[1])
    vm = HandlerViewModel(handler)
    vm.select(case_id)
    vm.add_photo(jpeg((30, 170, 30)))
    assert isinstance(vm.complete("已清理"), type(vm.case))
    sync(handler, server)
    return case_id


def test_supervisor_compares_before_and_after_then_rejects_and_approves(phones, server):
    case_id = completed(phones, server)
    supervisor = phones["super"]
    sync(supervisor, server)
    vm = SupervisorViewModel(supervisor)
    assert [r.id for r in vm.rows] == [case_id] and not vm.rows[0].rework_count
    vm.select(case_id)
    before, after = vm.before, vm.after
    assert before.where == HERE and after.where == (HERE[0] + 0.0001, HERE[1])
    assert after.when - before.when == timedelta(minutes=40) and vm.after_note == "已清理"
    assert round(vm.moved_m) == 11
    assert vm.photo_path(before.photos[0]) is None and vm.photo_path(after.photos[0]) is None
    vm.fetcher.wait()
    run_ui(supervisor)
    assert vm.photo_path(before.photos[0]) and vm.photo_path(after.photos[0])
    refused = vm.reject("")
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.MISSING_FIELD
    case = vm.reject("路面仍有杂物，请返工")
    assert case.state is State.DISPOSAL and case.rework_count == 1 and vm.rows == []
    sync(supervisor, server)
    # the handler sees it back (flagged rework), completes again
    handler = phones["handler"]
    sync(handler, server)
    hvm = HandlerViewModel(handler)
    assert [r.id for r in hvm.rows] == [case_id] and hvm.rows[0].rework_count == 1
    hvm.select(case_id)
    hvm.add_photo(jpeg((10, 190, 10)))
    hvm.complete("已彻底清理")
    sync(handler, server)
    sync(supervisor, server)
    vm.refresh()
    assert vm.rows[0].rework_count == 1
    vm.select(case_id)
    assert vm.after_note == "已彻底清理" and len(vm.after.photos) == 1
    refused = phones["handler"]  # a handler cannot approve: the engine refuses the role
    hvm.select(case_id)
    bad = hvm.act(Trigger.APPROVE, {})
    assert isinstance(bad, Rejection) and bad.code is RejectionCode.ROLE_NOT_ALLOWED
    case = vm.approve("现场核实，已整改")
    assert case.state is State.CLOSED and vm.rows == []
    times = {
        t.step: t.spent for t in step_times(vm.case_events(), supervisor.reference.rules, supervisor.now())
    }
    assert set(times) == {Step.FEEDBACK, Step.DISPOSAL, Step.SUPERVISION}
    assert times[Step.DISPOSAL] >= timedelta(minutes=40)


def test_supervisor_flags_overdue_and_reworked_first(phones, server):
    on_time = completed(phones, server)
    phones["chief"].clock.advance(days=3)
    supervisor = phones["super"]
    sync(supervisor, server)
    vm = SupervisorViewModel(supervisor)
    (row,) = vm.rows
    assert row.id == on_time and row.overdue  # still open, past its deadline


# --- the overview ---------------------------------------------------------------------------------


def test_overview_counts_by_step_overdue_rework_and_department(phones, server):
    filed(phones, server)
    waiting = dispatched(phones, server)
    done = completed(phones, server)
    walk(phones, server, "super", SupervisorViewModel, done, "reject", "返工")
    phones["chief"].clock.advance(days=3)
    supervisor = phones["super"]
    sync(supervisor, server)
    vm = OverviewViewModel(supervisor)
    assert vm.counts_by_step == {
        Step.FEEDBACK: 1,
        Step.COORDINATION: 0,
        Step.DISPOSAL: 2,
        Step.SUPERVISION: 0,
    }
    assert vm.total_open == 3 and vm.overdue == 2 and vm.reworked == 1 and vm.closed == 0
    (line,) = vm.departments
    assert (line.name, line.open, line.overdue, line.reworked) == ("城管", 2, 2, 1)
    assert waiting


# --- settings -------------------------------------------------------------------------------------


def test_settings_language_and_server(phones):
    ctx = phones["station"]
    vm = SettingsViewModel(ctx)
    heard = []
    vm.on_language(heard.append)
    assert vm.languages == [("zh", "中文"), ("en", "English")] and vm.role_label == "协调员"
    vm.set_language("en")
    assert heard == ["en"] and ctx.lang == "en" and vm.role_label == "coordinator"
    with pytest.raises(ValueError):
        vm.set_language("fr")
    servers = []
    vm.on_server(servers.append)
    assert not vm.set_server("not a url") and vm.server_error
    assert vm.set_server("https://rc.example.cn/") and servers == ["https://rc.example.cn"]
    assert "next sign-in" in vm.message and vm.signed_in_server == "http://phone.test"


def test_sign_out_keeps_pending_work_and_says_so(phones, server, tmp_path):
    case_id = filed(phones, server)
    station = phones["station"]
    sync(station, server)
    coordinator = CoordinatorViewModel(station)
    coordinator.select(case_id)
    coordinator.cancel("无效上报")
    vm = SettingsViewModel(station)
    out = []
    vm.on_signed_out(out.append)
    assert vm.pending == 1
    assert vm.sign_out() is False  # first tap: a warning, nothing happens
    assert vm.confirming and "1条" in vm.message and station.credentials.load() is not None
    path = vm.export(tmp_path / "unsent.json")
    assert path.exists() and "已导出 1 条" in vm.message
    assert vm.sign_out() is True
    assert out == [1] and station.credentials.load() is None
    assert station.store.unacknowledged() == 1 and "保留在本机" in vm.message
    # signing in again as the same user sends it
    station.credentials.save(Credentials("station", "http://phone.test"))
    sync(station, server)
    assert station.store.unacknowledged() == 0


def test_sign_out_with_nothing_pending_is_one_tap(phones):
    vm = SettingsViewModel(phones["handler"])
    assert vm.sign_out() and vm.message == "" and vm.signed_out
