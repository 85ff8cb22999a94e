"""One case round the whole loop through the app, as four users, against a real server on 127.0.0.1.

Road chief reports with a photo → coordinator dispatches → handler accepts → completes with an
"after" photo → supervisor rejects (返工) → handler completes again → supervisor approves. Each
user has a phone of their own (data directory, store, device id), signs in on the sign-in screen
and syncs through the app's own sync worker. Every step is a screenshot in
``docs/screenshots/loop_NN_<step>.png``; taps (button releases) and seconds per step are printed
and written to ``build/loop-figures.json``.

Then two coordinators act on one case while offline — the station dispatches it, the street's
command centre cancels it — and sync: the one that lost sees the server's refusal next to the
case, and the case as it now is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine import State
from mobile.services import DesktopServices
from tests.server.conftest import start_server, stop_server
from tests.server.world import PASSWORD, Server, Street, make_street

from .phone import jpeg
from .test_roles_screens import ROOT, SHOTS, Running, frames, window

FIGURES = ROOT / "build" / "loop-figures.json"
SPOT = (39.9352, 116.1951)  # on the street's first road


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Street, str]]:
    workdir = tmp_path_factory.mktemp("roles-e2e")
    url = f"sqlite:///{workdir / 'roadchief.db'}"
    process, base = start_server(url, workdir)
    server = Server(base_url=base, database_url=url, kind="sqlite", workdir=workdir)
    try:
        yield make_street(server, "L"), base
    finally:
        server.close()
        stop_server(process)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Run frames (the UI thread) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        frames(1)
        time.sleep(0.01)


class Phone(Running):
    """A user's phone: its own directory; the app as the user would start it."""

    def __init__(self, directory: Path, base: str, photos: Path) -> None:
        from mobile.app import RoadChiefApp

        directory.mkdir(parents=True, exist_ok=True)
        services = DesktopServices(position=SPOT, photo_dir=photos)
        self.win = window()
        self.app = RoadChiefApp(data_dir=directory, server_url=base, lang="zh", services=services)
        self.root = self.app.build()
        self.ctx = self.app.ctx
        self.win.add_widget(self.root)
        self.taps = 0
        self.app.on_start()
        frames(3)

    def sign_in(self, username: str) -> None:
        screen = self.screen("signin")
        self.type(screen.ids.user, username)
        self.type(screen.ids.password, PASSWORD)
        self.tap(screen.ids.submit)
        wait_for(lambda: self.app.signed_in and self.app.shell.ids.manager.current != "signin")

    def sync(self) -> None:
        """Ask the app's worker for rounds now until everything is acknowledged and a whole round
        (push, then pull) has started after the ask; wait for its outcome to reach the UI."""
        self.app.start_sync()
        for _ in range(2):
            before = self.app.last_outcome
            self.ctx.sync_now()
            wait_for(
                lambda before=before: (
                    self.app.last_outcome is not before and self.app.last_outcome.state == "ok"
                )
            )
        wait_for(lambda: self.ctx.store.unacknowledged() == 0)
        settle = time.monotonic() + 0.4  # the app refreshes the visible screen 0.3 s after a round
        while time.monotonic() < settle:
            frames(1)
            time.sleep(0.01)

    def close(self) -> None:
        self.win.remove_widget(self.root)
        self.app.on_stop()
        frames(1)


class Loop:
    """Taps and seconds per step, and the screenshots."""

    def __init__(self) -> None:
        self.steps: list[dict[str, object]] = []

    def step(self, number: int, name: str, phone: Phone, started: float, taps_before: int) -> None:
        self.steps.append(
            {
                "step": f"{number:02d}_{name}",
                "taps": phone.taps - taps_before,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        phone.shot(SHOTS / f"loop_{number:02d}_{name}.png")


def test_one_case_round_the_whole_loop_with_one_rework(street, tmp_path):
    street_, base = street
    users = street_.users
    photos = tmp_path / "camera"
    photos.mkdir()
    (photos / "before.jpg").write_bytes(jpeg((190, 60, 40), (800, 600)))
    after = tmp_path / "camera-after"
    after.mkdir()
    (after / "after.jpg").write_bytes(jpeg((60, 170, 70), (800, 600)))
    loop = Loop()

    # 1. the road chief reports a problem with a photo
    chief = Phone(tmp_path / "chief", base, photos)
    t0, k0 = time.perf_counter(), chief.taps
    chief.sign_in(users["chief"]["username"])
    chief.sync()  # the street's roads and categories arrive with the first sync
    chief.tap_tab("report")
    report = chief.screen("report")
    if report.vm.road_id is None:
        # the form was made before the roads arrived: the chief picks the road (open, choose)
        chief.type(report.ids.road_picker, "路0")  # the first road, in the chief's community
        chief.taps += 2
    (order,) = [b for b in report.ids.domains.children if b.value == "order"]
    chief.tap(order)
    (vending,) = [b for b in report.ids.categories.children if b.value == "E0501"]
    chief.tap(vending)
    chief.type(report.ids.description, "金顶街路口有人占道摆摊，影响通行")
    chief.tap(report.ids.add_photo)
    chief.tap(report.ids.submit)
    chief.sync()
    case_id = chief.app.report_vm.last_saved.id
    statuses = [(i.name, i.status, i.message_en) for i in chief.ctx.store.outbox()]
    assert all(status == "acknowledged" for _, status, _ in statuses), statuses
    loop.step(1, "report", chief, t0, k0)
    chief.close()

    # 2. the station coordinator dispatches it to 城管 with the suggested deadline
    station = Phone(tmp_path / "station", base, photos)
    t0, k0 = time.perf_counter(), station.taps
    station.sign_in(users["station"]["username"])
    station.sync()
    vm = station.app.coordinator_vm
    assert case_id in [r.id for r in vm.rows], (
        station.app.shell.ids.manager.current,
        [r.id for r in vm.rows],
        station.ctx.store.view_record(case_id),
        station.ctx.profile,
    )
    station.tap_row(case_id)
    station.app.coordinator_vm.fetcher.wait()
    frames(3)
    work = station.screen()
    assert work.ids.header.before_count == 1, (work.heading, station.app.coordinator_vm.allowed)
    vm = station.app.coordinator_vm
    assert work.may_dispatch, (vm.allowed, vm.case, station.ctx.profile)
    station.tap(work.ids.dispatch)
    station.sync()
    loop.step(2, "dispatch", station, t0, k0)
    station.close()

    # 3. the handler accepts; 4. completes with an after photo
    handler = Phone(tmp_path / "handler", base, after)
    t0, k0 = time.perf_counter(), handler.taps
    handler.sign_in(users["handler"]["username"])
    handler.sync()
    handler.tap_row(case_id)
    handler.app.handler_vm.fetcher.wait()
    frames(3)
    handle = handler.screen()
    handler.tap(handle.ids.accept)
    handler.sync()
    loop.step(3, "accept", handler, t0, k0)
    t0, k0 = time.perf_counter(), handler.taps
    handler.tap(handle.ids.add_photo)
    handler.type(handle.ids.note, "摊位已劝离，路面已清扫")
    handler.shot(ROOT / "build" / "screens" / "loop-complete-form.png")
    handler.tap(handle.ids.complete)
    handler.sync()
    loop.step(4, "complete", handler, t0, k0)
    handler.close()

    # 5. the supervisor compares and sends it back for rework
    supervisor = Phone(tmp_path / "supervisor", base, photos)
    t0, k0 = time.perf_counter(), supervisor.taps
    supervisor.sign_in(users["supervisor"]["username"])
    supervisor.sync()
    supervisor.tap_row(case_id)
    supervisor.app.supervisor_vm.fetcher.wait()
    wait_for(lambda: bool(supervisor.screen().ids.compare.ids.after.source))
    verify = supervisor.screen()
    supervisor.shot(ROOT / "build" / "screens" / "loop-compare.png")
    supervisor.type(verify.ids.verdict, "路边仍有杂物，请清理干净")
    supervisor.tap(verify.ids.reject)
    supervisor.sync()
    loop.step(5, "reject", supervisor, t0, k0)
    supervisor.close()

    # 6. the handler (same phone, still signed in) fixes it again
    handler = Phone(tmp_path / "handler", base, after)
    t0, k0 = time.perf_counter(), handler.taps
    handler.sync()
    rows = handler.app.handler_vm.rows
    assert [r.id for r in rows] == [case_id] and rows[0].rework_count == 1
    handler.tap_row(case_id)
    handle = handler.screen()
    handler.tap(handle.ids.add_photo)
    handler.type(handle.ids.note, "杂物已全部清运")
    handler.tap(handle.ids.complete)
    handler.sync()
    loop.step(6, "rework", handler, t0, k0)
    handler.close()

    # 7. the supervisor approves: the loop is closed
    supervisor = Phone(tmp_path / "supervisor", base, photos)
    t0, k0 = time.perf_counter(), supervisor.taps
    supervisor.sync()
    supervisor.tap_row(case_id)
    supervisor.app.supervisor_vm.fetcher.wait()
    verify = supervisor.screen()
    supervisor.type(verify.ids.verdict, "现场核实，已整改到位")
    supervisor.tap(verify.ids.approve)
    supervisor.sync()
    case = supervisor.ctx.store.view_record(case_id)
    assert case.state is State.CLOSED and case.rework_count == 1
    supervisor.app.show_case(case_id)
    frames(4)
    loop.step(7, "approve", supervisor, t0, k0)
    supervisor.close()

    total = {
        "taps": sum(s["taps"] for s in loop.steps),
        "seconds": round(sum(s["seconds"] for s in loop.steps), 2),
    }
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps({"steps": loop.steps, "total": total}, ensure_ascii=False, indent=1))
    print("loop:", loop.steps, total)


def test_two_coordinators_offline_on_one_case_the_loser_sees_why(street, tmp_path):
    street_, base = street
    users = street_.users
    case_id = street_.report(location={"lat": SPOT[0], "lon": SPOT[1]})
    photos = tmp_path / "camera"
    photos.mkdir()

    # both pull the case, then lose the network and act on it
    station = Phone(tmp_path / "station", base, photos)
    station.sign_in(users["station"]["username"])
    station.sync()
    station.ctx.stop_sync()
    station.tap_row(case_id)
    station.tap(station.screen().ids.dispatch)
    assert station.ctx.store.unacknowledged() == 1
    station.close()

    centre = Phone(tmp_path / "centre", base, photos)
    centre.sign_in(users["centre"]["username"])
    centre.sync()
    centre.ctx.stop_sync()
    centre.tap_row(case_id)
    work = centre.screen()
    centre.type(work.ids.reason, "重复上报，现场已无问题")
    centre.tap(work.ids.cancel)
    assert centre.ctx.store.view_record(case_id).state is State.CANCELLED  # as far as this phone knows
    centre.close()

    # the station's phone gets online first: its dispatch is applied
    station = Phone(tmp_path / "station", base, photos)
    station.sync()
    assert station.ctx.store.unacknowledged() == 0
    assert station.ctx.store.view_record(case_id).state is State.DISPATCHED
    station.close()

    # the centre's phone syncs: its cancel is refused, with the reason, and the case as it is now
    centre = Phone(tmp_path / "centre", base, photos)
    centre.sync()
    assert centre.ctx.store.view_record(case_id).state is State.DISPATCHED
    queue = centre.app.coordinator_vm
    assert [r.id for r in queue.rows] == [case_id] and queue.rows[0].row.sync_state == "refused"
    frames(3)
    centre.shot(SHOTS / "loop_08_conflict_queue.png")
    centre.tap_row(case_id)
    work = centre.screen()
    (refusal,) = work.ids.refusals.children
    assert "已派遣待接收" in refusal.text and work.state_label == "已派遣待接收"
    assert not work.may_cancel  # a dispatched case can only be re-dispatched, not cancelled
    centre.shot(SHOTS / "loop_09_conflict_refused.png")
    centre.close()
