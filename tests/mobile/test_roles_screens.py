"""The desk screens in a real (SDL offscreen) window: coordinator, handler, supervisor, overview, settings.

Each test builds the whole app on a phone signed in as one role, taps the real buttons (their
``on_release``), and saves a screenshot; the main screens' shots go to ``docs/screenshots/`` (the
README shows them). The last test fills a coordinator's queue with 2,000 cases and measures the
frames of opening and scrolling it.
"""

from __future__ import annotations

import shutil
import statistics
import time
from datetime import timedelta
from pathlib import Path

import pytest

from engine import Rejection, State, Trigger
from mobile import record_action
from mobile.viewmodels.coordinator import CoordinatorViewModel
from mobile.viewmodels.supervisor import SupervisorViewModel

from .phone import HERE, OTHER_ROAD, SUPERVISOR, jpeg
from .test_roles_viewmodels import completed, dispatched, filed, make_phones, make_server, sync, walk

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
WIDTH, HEIGHT = 420, 860


@pytest.fixture
def server():
    return make_server()


@pytest.fixture
def phones(tmp_path, server):
    made = make_phones(tmp_path, server)
    yield made
    for ctx in made.values():
        ctx.close()


# --- a window, an app, taps and screenshots ---------------------------------------------------------


def window():
    from kivy.config import Config

    Config.set("graphics", "width", str(WIDTH))
    Config.set("graphics", "height", str(HEIGHT))
    from kivy.core.window import Window

    if tuple(Window.size) != (WIDTH, HEIGHT):
        Window.size = (WIDTH, HEIGHT)
    return Window


def frames(n: int = 3) -> None:
    """Let Kivy run ``n`` frames: clock callbacks, layout, drawing."""
    from kivy.base import EventLoop

    for _ in range(n):
        EventLoop.idle()


class Running:
    """One phone's app in the window: build it, tap its buttons, take screenshots, close it."""

    def __init__(self, ctx, lang: str = "zh") -> None:
        from mobile.app import RoadChiefApp

        self.win = window()
        self.ctx = ctx
        self.app = RoadChiefApp(ctx=ctx, data_dir=ctx.data_dir, lang=lang)
        self.root = self.app.build()
        # the test's context posts to a queue; in the app, worker results come through the Clock
        ctx.post_to_ui = self.app.post_to_ui
        self.win.add_widget(self.root)
        self.taps = 0
        frames(4)

    def screen(self, name: str | None = None):
        manager = self.app.shell.ids.manager
        return self.app.screens[name or manager.current]

    def tap(self, widget) -> None:
        """A tap on a button: press, release (what a finger does), then a few frames."""
        assert not widget.disabled, f"{widget} is disabled"
        self.taps += 1
        widget.dispatch("on_press")
        widget.dispatch("on_release")
        frames(3)

    def tap_tab(self, name: str) -> None:
        nav = self.app.shell.ids.nav
        (button,) = [b for b in nav.children if b.target == name]
        self.tap(button)

    def tap_row(self, case_id: str) -> None:
        """Tap a case in the visible queue (RecycleView makes widgets only for visible rows)."""
        frames(2)
        rows = self.screen().ids.list.layout_manager.children
        (row,) = [r for r in rows if getattr(r, "case_id", None) == case_id]
        self.tap(row)

    def type(self, field, text: str) -> None:
        field.text = text
        frames(1)

    def shot(self, path: Path) -> Path:
        """Save what the window shows (read in ``on_flip``: after the swap the buffer is black)."""
        from kivy.core.window import Window

        path.parent.mkdir(parents=True, exist_ok=True)
        frames(3)
        saved: list[str] = []

        def grab(*_args) -> None:
            Window.unbind(on_flip=grab)
            saved.append(Window.screenshot(name=str(path.with_suffix("")) + "-shot.png"))

        Window.bind(on_flip=grab)
        Window.canvas.ask_update()
        for _ in range(10):
            frames(1)
            if saved:
                break
        assert saved, "no frame was drawn"
        shutil.move(saved[0], path)
        return path

    def close(self) -> None:
        self.win.remove_widget(self.root)
        self.ctx.stop_sync()
        frames(1)


def _on_screen(running: Running, name: str) -> None:
    assert running.app.shell.ids.manager.current == name


# --- the coordinator ------------------------------------------------------------------------------


def test_coordinator_triages_dispatches_and_sees_the_engine_refuse_a_later_deadline(phones, server):
    first = filed(phones, server)
    phones["chief"].clock.advance(minutes=25)
    duplicate = filed(phones, server, location=(HERE[0] + 0.0004, HERE[1] + 0.0006))
    phones["chief"].clock.advance(hours=3)
    filed(
        phones, server, location=(HERE[0] + 0.01, HERE[1] + 0.01), road_id=OTHER_ROAD, description="井盖缺失"
    )
    station = phones["station"]
    sync(station, server)
    run = Running(station)
    try:
        _on_screen(run, "coordinator")
        queue = run.screen()
        assert "共 3 件" in queue.summary
        tabs = [b.text for b in run.app.shell.ids.nav.children[::-1]]
        assert tabs == ["协调队列", "概览", "我的案件", "待同步", "设置"]
        run.shot(SHOTS / "coordinator.png")
        run.tap_row(duplicate)
        _on_screen(run, "coordinate")
        work = run.screen()
        assert work.heading == "占道经营" and work.ids.nearby.children
        assert [d["label"] for d in work.ids.sketch.dots] == ["1", ""]
        run.tap(work.ids.due_plus_hour)  # later than the category allows
        assert "超过类别时限" in work.due_error and work.ids.dispatch.disabled
        run.shot(ROOT / "build" / "screens" / "coordinate-refused.png")
        run.tap(work.ids.due_reset)
        assert work.due_error == "" and not work.ids.dispatch.disabled
        run.app.coordinator_vm.fetcher.wait()
        frames(3)
        run.shot(ROOT / "build" / "screens" / "coordinate.png")
        work.children[0].scroll_to(work.ids.sketch, padding=40, animate=False)
        run.shot(ROOT / "build" / "screens" / "coordinate-merge.png")
        (near,) = work.ids.nearby.children
        assert near.case_id == first
        run.tap(work.ids.dispatch)
        _on_screen(run, "coordinator")
        assert "已派遣" in run.screen().notice and "共 2 件" in run.screen().summary
        case = station.store.view_record(duplicate)
        assert case.state is State.DISPATCHED and station.store.unacknowledged() == 1
    finally:
        run.close()


def test_coordinator_escalate_without_reason_shows_the_refusal(phones, server):
    case_id = filed(phones, server)
    station = phones["station"]
    sync(station, server)
    run = Running(station)
    try:
        run.tap_row(case_id)
        work = run.screen()
        run.tap(work.ids.escalate)
        assert "缺少必填项" in work.error and run.app.shell.ids.manager.current == "coordinate"
        run.type(work.ids.reason, "涉及多个部门，需街道协调")
        run.tap(work.ids.escalate)
        _on_screen(run, "coordinator")
        assert station.store.view_record(case_id).escalated
    finally:
        run.close()


# --- the handler ----------------------------------------------------------------------------------


def test_handler_accepts_and_completes_with_an_after_photo(phones, server, tmp_path):
    late = dispatched(phones, server)
    phones["chief"].clock.advance(hours=30)
    soon = dispatched(phones, server, location=(HERE[0] + 0.0008, HERE[1]))
    handler = phones["handler"]
    sync(handler, server)
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "after.jpg").write_bytes(jpeg((60, 170, 70), (640, 480)))
    handler.services.photo_dir = samples
    run = Running(handler)
    try:
        _on_screen(run, "handler")
        rows = run.app.handler_vm.rows
        assert [r.id for r in rows] == [late, soon] and rows[0].overdue
        run.shot(SHOTS / "handler.png")
        run.tap_row(soon)
        work = run.screen()
        assert work.may_accept and not work.may_complete
        run.app.handler_vm.fetcher.wait()
        frames(3)
        run.tap(work.ids.accept)
        assert work.may_complete and not work.may_accept
        run.tap(work.ids.add_photo)
        assert len(run.app.handler_vm.photos) == 1 and work.has_after
        run.type(work.ids.note, "摊位已劝离，路面已清扫")
        run.shot(ROOT / "build" / "screens" / "handle.png")
        run.tap(work.ids.complete)
        _on_screen(run, "handler")
        assert handler.store.view_record(soon).state is State.SUPERVISION
    finally:
        run.close()


# --- the supervisor -------------------------------------------------------------------------------


def test_supervisor_compares_photos_and_sends_back_for_rework(phones, server):
    case_id = completed(phones, server)
    supervisor = phones["super"]
    sync(supervisor, server)
    run = Running(supervisor)
    try:
        _on_screen(run, "supervisor")
        run.shot(SHOTS / "supervisor.png")
        run.tap_row(case_id)
        run.app.supervisor_vm.fetcher.wait()
        frames(4)
        work = run.screen()
        compare = work.ids.compare
        assert compare.ids.before.source and compare.ids.after.source
        assert compare.ids.before.when.startswith("拍摄于") and "39.93" in compare.ids.after.where
        assert "相距 11 米" in compare.note
        run.shot(SHOTS / "compare.png")
        run.tap(work.ids.reject)  # no reason: the engine refuses
        assert "缺少必填项" in work.error
        run.type(work.ids.verdict, "路面仍有杂物，请返工")
        run.tap(work.ids.reject)
        _on_screen(run, "supervisor")
        case = supervisor.store.view_record(case_id)
        assert case.state is State.DISPOSAL and case.rework_count == 1
    finally:
        run.close()


# --- overview and settings ------------------------------------------------------------------------


def test_overview_and_settings(phones, server):
    filed(phones, server)
    dispatched(phones, server)
    done = completed(phones, server)
    walk(phones, server, "super", SupervisorViewModel, done, "reject", "返工：路面仍有杂物")
    closed = completed(phones, server)
    walk(phones, server, "super", SupervisorViewModel, closed, "approve")
    phones["chief"].clock.advance(days=2)
    supervisor = phones["super"]
    sync(supervisor, server)
    run = Running(supervisor)
    try:
        run.tap_tab("overview")
        screen = run.screen()
        assert (screen.overdue, screen.reworked, screen.closed) == (2, 1, 1)
        run.shot(SHOTS / "overview.png")
        # settings: switch to English and back, then sign out with work pending
        run.tap_tab("settings")
        settings = run.screen()
        run.tap(settings.ids.lang_en)
        assert run.app.lang == "en" and run.app.shell.ids.top.title == "Settings"
        run.tap(settings.ids.lang_zh)
        assert run.app.lang == "zh"
        # a note the server has not seen yet: signing out must keep it, and say so first
        note = record_action(
            supervisor.store, SUPERVISOR, Trigger.COMMENT, done, {"text": "明早复查"}, supervisor.now()
        )
        assert not isinstance(note, Rejection)
        settings.vm.refresh()
        frames(2)
        pending = supervisor.store.unacknowledged()
        assert pending == 1
        run.tap(settings.ids.sign_out)
        assert settings.confirming and "保留在本机" in settings.message and run.app.signed_in
        run.shot(SHOTS / "settings.png")
        run.tap(settings.ids.sign_out)
        _on_screen(run, "signin")
        assert supervisor.store.unacknowledged() == pending
    finally:
        run.close()


# --- a queue of 2,000 cases ---------------------------------------------------------------------------


def _fill_queue(ctx, count: int) -> None:
    """``count`` server-confirmed new reports in the coordinator's community, as after a pull."""
    from engine import Event, Role, apply
    from shared import new_id

    from .phone import CATEGORY, CHIEF, ROAD

    start = ctx.now() - timedelta(days=3)
    with ctx.store.transaction():
        for n in range(count):
            case_id = new_id()
            event = Event(
                new_id(),
                case_id,
                "report",
                CHIEF.actor,
                Role.ROAD_CHIEF,
                start + timedelta(seconds=n * 7),
                {
                    "category": CATEGORY,
                    "road_id": ROAD,
                    "description": f"第 {n} 号",
                    "photos": [],
                    "location": {"lat": HERE[0] + (n % 50) * 1e-4, "lon": HERE[1]},
                },
            )
            ctx.store.insert_events([(n + 1, event)])
            case = apply(None, event)
            ctx.store.put_confirmed(case)
            ctx.store.put_view(case)


def measure_queue(ctx, count: int = 2000) -> dict[str, float]:
    """Open a coordinator's queue of ``count`` cases and scroll it; times in ms.

    Each frame is timed to ``glFinish``: here GL is Mesa's llvmpipe (software, 2 cores), which
    rasterises asynchronously, so without it a frame's drawing is billed to whichever later frame
    happens to upload a texture. The same redraw with nothing moving is timed too: the renderer's
    floor on this machine. What scrolling adds on top of it is the app's cost.
    """
    from kivy.base import EventLoop
    from kivy.graphics.opengl import glFinish

    def frame() -> float:
        tick = time.perf_counter()
        EventLoop.idle()
        glFinish()
        return (time.perf_counter() - tick) * 1000

    _fill_queue(ctx, count)
    run = Running(ctx)
    try:
        started = time.perf_counter()
        vm = CoordinatorViewModel(ctx)
        screen = run.screen("coordinator")
        screen.attach(vm)
        screen.render_now()
        EventLoop.idle()
        glFinish()
        opened = (time.perf_counter() - started) * 1000
        assert vm.count == count
        rv = screen.ids.list
        frames(2)
        static = []
        for _ in range(20):
            rv.canvas.ask_update()
            static.append(frame())
        # a finger's scroll: 40 px a frame (2,400 px/s at 60 fps), across 90 frames (~37 rows)
        travel = rv.children[0].height - rv.height
        times = []
        for step in range(1, 91):
            rv.scroll_y = max(0.0, 1 - step * 40 / travel)
            times.append(frame())
        # a fling to the far end: every visible row is replaced in one frame
        jumps = []
        for target in (0.5, 0.0, 1.0):
            rv.scroll_y = target
            jumps.append(frame())
        ordered = sorted(times)
        return {
            "open_ms": opened,
            "static_median_ms": statistics.median(static),
            "scroll_median_ms": statistics.median(times),
            "scroll_p95_ms": ordered[int(len(ordered) * 0.95)],
            "scroll_max_ms": ordered[-1],
            "fling_max_ms": max(jumps),
        }
    finally:
        run.close()


def test_a_queue_of_2000_cases_opens_and_scrolls_smoothly(phones):
    figures = measure_queue(phones["station"])
    print("queue of 2,000:", {k: round(v, 1) for k, v in figures.items()})
    assert figures["open_ms"] < 3000
    # What scrolling costs beyond redrawing the same screen: measured at 9-17 ms here (a 60 fps
    # frame is 16.7 ms). The bound is two frames, because llvmpipe's timing is noisy on 2 cores.
    assert figures["scroll_median_ms"] - figures["static_median_ms"] < 33.4, figures


@pytest.mark.parametrize("name", ["coordinator", "handler", "supervisor", "overview", "settings"])
def test_every_role_string_is_in_the_bundled_font(name):
    from fontTools.ttLib import TTFont

    from mobile.i18n import ROLES_STRINGS
    from mobile.widgets.theme import FONT_PATH

    cmap = TTFont(str(FONT_PATH)).getBestCmap()
    texts = [t for key, pair in ROLES_STRINGS.items() if key.startswith((name, "roles", "nav")) for t in pair]
    missing = {ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in cmap}
    assert not missing, missing
    assert Trigger  # the queue screens offer only engine triggers
