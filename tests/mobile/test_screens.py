"""The app in a real (offscreen) window: every screen with a street's worth of data, a patrol and a
report tapped through with simulated touches, and a screenshot of each in ``docs/screenshots/``.

One Kivy window per process, so one app for the module: the tests run in file order and each
leaves the app where the next one expects it. The data is real: a phone store seeded through the
outbox and a ``FakeServer`` (tests/mobile/phone.py) that replays everything through the engine, so
the cases have timelines, deadlines, an overdue one, a rework and a refusal with the server's
reason. A screenshot that is blank (one colour, or nearly) fails its test.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mobile.sync import SyncUnavailable

pytest.importorskip("kivy")
PIL = pytest.importorskip("PIL.Image")

from engine import PatrolState, State, Trigger, Urgency  # noqa: E402
from mobile import DesktopServices, SyncClient, keep_photo, record_action, report  # noqa: E402
from mobile.outbox import end_patrol, start_patrol  # noqa: E402

from .phone import (  # noqa: E402
    CHIEF,
    CHIEF2,
    DEPARTMENT,
    HANDLER,
    HERE,
    ROAD,
    STATION,
    SUPERVISOR,
    Clock,
    FakeServer,
    make_ctx,
)

ROOT = Path(__file__).resolve().parent.parent.parent
SHOTS = ROOT / "docs" / "screenshots"
TOKEN = "token-secret-123"
WIDTH, HEIGHT = 400, 800


# --- data ----------------------------------------------------------------------------------------


def street_photo(colour: tuple[int, int, int] = (214, 64, 46)) -> bytes:
    """A small drawn "photo" of a road with a traffic cone and a pile, as a JPEG."""
    from PIL import ImageDraw

    image = PIL.new("RGB", (640, 480), (170, 200, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 220, 640, 480), fill=(110, 112, 118))
    draw.rectangle((0, 200, 640, 232), fill=(196, 190, 178))
    for x in range(20, 640, 90):
        draw.rectangle((x, 350, x + 50, 360), fill=(235, 235, 235))
    draw.rectangle((40, 60, 240, 200), fill=(188, 150, 120))
    draw.rectangle((300, 90, 520, 200), fill=(160, 160, 150))
    draw.polygon([(380, 330), (420, 330), (400, 250)], fill=colour)
    draw.rectangle((372, 326, 428, 338), fill=(60, 60, 60))
    draw.ellipse((150, 250, 300, 320), fill=(120, 96, 70))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _sync(ctx: Any) -> Any:
    return SyncClient(
        "http://phone.test", ctx.credentials.token, session=ctx.http, clock=ctx.clock
    ).sync_once(ctx.store)


def _along_road(i: int) -> tuple[float, float]:
    return (HERE[0] + 0.00018 * i, HERE[1] + 0.0003 * i)


def seed_street(directory: Path) -> tuple[Any, FakeServer, Clock]:
    """王路长's phone after a few days' work on 金顶街, with the street acting on the server."""
    clock = Clock()
    server = FakeServer(
        users={
            TOKEN: CHIEF,
            "t-chief2": CHIEF2,
            "t-station": STATION,
            "t-handler": HANDLER,
            "t-super": SUPERVISOR,
        },
        clock=clock,
        page_size=50,
    )
    photos = directory / "samples"
    photos.mkdir(parents=True)
    (photos / "a-road.jpg").write_bytes(street_photo())
    (photos / "b-road.jpg").write_bytes(street_photo((240, 170, 20)))
    ctx = make_ctx(directory / "phone", clock=clock, http=server.session(), token=TOKEN)
    ctx.services = DesktopServices(position=HERE, photo_dir=photos)
    store = ctx.store

    # a patrol two days ago that found nothing: a record too
    clock.advance(hours=-48)
    patrol = start_patrol(store, CHIEF, ROAD, clock.now)
    clock.advance(minutes=38)
    end_patrol(store, CHIEF, patrol.id, [], clock.now)
    clock.advance(hours=48 - 38 / 60)

    filed = []
    reports = [
        ("E0501", "金顶街与模式口路口早市占道摆摊，影响通行", Urgency.NORMAL),
        ("C0101", "人行道井盖缺失，已放置临时警示", Urgency.URGENT),
        ("E0106", "小区外墙边堆放建筑垃圾和旧家具", Urgency.NORMAL),
        ("C0104", "3 号路灯夜间不亮", Urgency.NORMAL),
        ("E0201", "公交站牌贴满小广告", Urgency.NORMAL),
        ("E0101", "垃圾桶旁暴露垃圾未清运", Urgency.NORMAL),
    ]
    for i, (code, text, urgency) in enumerate(reports):
        sha = keep_photo(store, street_photo(), clock.now)
        case = report(
            store,
            CHIEF,
            category=code,
            road_id=ROAD,
            now=clock.now,
            description=text,
            urgency=urgency,
            photos=[sha],
            location=_along_road(i + 1),
        )
        filed.append(case.id)
        clock.advance(minutes=7)
    _sync(ctx)

    # the street works the cases on the server
    at = clock.advance(minutes=30)
    server.act(STATION, "dispatch", filed[0], {"department_id": DEPARTMENT}, at)
    server.act(STATION, "dispatch", filed[1], {"department_id": DEPARTMENT}, at)
    server.act(STATION, "dispatch", filed[2], {"department_id": DEPARTMENT}, at)
    server.act(STATION, "escalate", filed[3], {"reason": "需供电部门协同"}, at)
    server.act(HANDLER, "accept", filed[0], {}, clock.advance(minutes=40))
    server.act(HANDLER, "accept", filed[2], {}, clock.advance(minutes=5))
    done = server.act(
        HANDLER,
        "complete",
        filed[2],
        {"note": "已清运", "photos": [keep_photo(store, street_photo(), clock.now)]},
        clock.advance(hours=2),
    )
    assert done.state is State.SUPERVISION
    server.act(SUPERVISOR, "reject", filed[2], {"reason": "旧家具仍未清走，请返工"}, clock.advance(hours=1))
    # 李路长 reported the same kind of problem a few metres away: the report screen's hint
    server.act(
        CHIEF2,
        "report",
        "0c0c0c0c-0000-4000-8000-00000000e501",
        {
            "category": "E0501",
            "road_id": ROAD,
            "description": "路口流动摊贩",
            "location": {"lat": HERE[0] + 0.0002, "lon": HERE[1]},
        },
        clock.advance(minutes=10),
    )
    _sync(ctx)

    # three days on: the dispatched ones are overdue. Offline, the chief fixes one on the spot,
    # but the station dispatched it first: the server will refuse it with the reason.
    clock.advance(days=3)
    fix_photo = keep_photo(store, street_photo((240, 170, 20)), clock.now)
    record_action(
        store, CHIEF, Trigger.FIX_ON_SPOT, filed[4], {"note": "已现场清除", "photos": [fix_photo]}, clock.now
    )
    server.act(STATION, "dispatch", filed[4], {"department_id": DEPARTMENT}, clock.advance(minutes=1))
    record_action(
        store, CHIEF, Trigger.COMMENT, filed[0], {"text": "摊贩仍在，请尽快处置"}, clock.advance(minutes=2)
    )
    _sync(ctx)
    # an answer lost on the way back: the comment stays "sent" until the next round
    record_action(store, CHIEF, Trigger.COMMENT, filed[1], {"text": "警示桶被移走"}, clock.advance(minutes=3))
    server.drop_push_answers = 1
    with pytest.raises(SyncUnavailable):
        _sync(ctx)
    # and one more report, still only on the phone
    clock.advance(minutes=5)
    report(
        store,
        CHIEF,
        category="E0112",
        road_id=ROAD,
        now=clock.now,
        description="垃圾桶满溢",
        photos=[keep_photo(store, street_photo(), clock.now)],
        location=_along_road(7),
    )
    return ctx, server, clock


# --- the window ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from kivy.config import Config

    Config.set("graphics", "width", str(WIDTH))
    Config.set("graphics", "height", str(HEIGHT))
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from mobile.app import RoadChiefApp
    from mobile.worker import SyncOutcome

    directory = tmp_path_factory.mktemp("screens")
    ctx, server, clock = seed_street(directory)
    application = RoadChiefApp(ctx=ctx, data_dir=directory / "phone", lang="zh")
    ctx.post_to_ui = application.post_to_ui
    root = application.build()
    Window.size = (WIDTH, HEIGHT)
    Window.add_widget(root)
    application._on_sync(SyncOutcome("ok", clock.now))
    application.server, application.clock = server, clock
    settle()
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield application
    application.shutdown()
    Window.remove_widget(root)
    EventLoop.idle()


def settle(frames: int = 4) -> None:
    """Let Clock triggers, kv bindings and layouts run."""
    from kivy.base import EventLoop

    for _ in range(frames):
        EventLoop.idle()


def screenshot(name: str) -> Path:
    """Save the window as ``docs/screenshots/<name>.png`` (read inside on_flip, not blank)."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    settle()
    taken: list[str] = []

    def shoot(*_args: Any) -> None:
        Window.unbind(on_flip=shoot)
        taken.append(Window.screenshot(name=str(SHOTS / f"{name}.png")))

    Window.bind(on_flip=shoot)
    Window.canvas.ask_update()
    for _ in range(10):
        EventLoop.idle()
        if taken:
            break
    assert taken, "no frame was drawn"
    shutil.move(taken[0], SHOTS / f"{name}.png")  # Kivy numbers the file: name0001.png
    path = SHOTS / f"{name}.png"
    assert_not_blank(path)
    return path


def assert_not_blank(path: Path) -> None:
    with PIL.open(path) as image:
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 40, f"{path.name}: only {len(colours)} colours, looks blank"
        extremes = rgb.getextrema()
        assert any(high - low > 100 for low, high in extremes), f"{path.name}: no contrast"
        dominant = max(colours)[0] / (rgb.width * rgb.height)
        assert dominant < 0.9, f"{path.name}: {dominant:.0%} of it is one colour"


def tap(widget: Any) -> None:
    """A finger on the widget's centre: down, up, through the window's real touch dispatch."""
    from kivy.tests.common import UnitTestTouch
    from kivy.uix.scrollview import ScrollView

    assert widget.get_root_window() is not None, f"{widget!r} is not on screen"
    assert widget.opacity > 0 and not widget.disabled, f"{widget!r} is hidden or disabled"
    parent = widget.parent
    while parent is not None and not isinstance(parent, ScrollView):
        parent = None if parent.parent is parent else parent.parent  # the Window is its own parent
    x, y = widget.to_window(*widget.center)
    # as a thumb would: scroll it into view first, again if a layout still moving (a widget just
    # shown, on a busy machine) took it away; a widget that stays off screen is a defect
    if parent is not None:
        for _ in range(5):
            parent.scroll_to(widget, padding=20, animate=False)
            settle(2)
            x, y = widget.to_window(*widget.center)
            if 0 <= x <= WIDTH and 0 <= y <= HEIGHT:
                break
    assert 0 <= x <= WIDTH and 0 <= y <= HEIGHT, f"{widget!r} is off screen at {(x, y)}"
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    settle(2)
    touch.touch_up()
    settle(3)


def scroll_to_top(scroll: Any, widget: Any, margin: float = 0) -> None:
    """Scroll so that ``widget`` sits ``margin`` px below the top of the scroll view."""
    content = scroll.children[0]
    from_top = content.top - widget.top - margin
    scroll.scroll_y = 1 - max(0.0, from_top) / max(1.0, content.height - scroll.height)
    settle(2)


def type_into(field: Any, text: str) -> None:
    field.focus = True
    field.insert_text(text)
    field.focus = False
    settle(2)


def find(root: Any, cls_name: str, **props: Any) -> Any:
    """The first widget under ``root`` of class ``cls_name`` whose properties match."""
    for widget in root.walk():
        if type(widget).__name__ == cls_name and all(getattr(widget, k, None) == v for k, v in props.items()):
            return widget
    raise AssertionError(f"no {cls_name} with {props}")


# --- the screens -----------------------------------------------------------------------------------


def test_sign_in_screen(app: Any) -> None:
    app.show("signin")
    screen = app.screens["signin"]
    assert app.shell.show_nav is False
    assert screen.ids.server.text == "http://phone.test" and screen.ids.user.text == "chief"
    assert "王路长" in screen.ids.offline.text  # the last user can keep working offline
    screenshot("signin")
    tap(screen.ids.offline)
    assert app.shell.ids.manager.current == "home"


def test_home_shows_my_open_cases_by_step_and_overdue_in_red(app: Any) -> None:
    app.show("home")
    screen = app.screens["home"]
    settle()
    vm = app.home_vm
    assert vm.open_total >= 5 and vm.overdue, "the seeded street has overdue cases"
    counts = {tile.step: tile.count for tile in screen.ids.steps.children}
    assert counts["disposal"] >= 2 and counts["feedback"] >= 1 and counts["coordination"] >= 1
    assert screen.overdue_count == len(vm.overdue)
    assert "金顶街" in [w.text for w in screen.ids.roads.children]
    assert app.shell.ids.top.sync_text  # the dot has words: pending or refused
    screenshot("home")


def test_outbox_shows_each_state_and_exports(app: Any, tmp_path: Path) -> None:
    tap(find(app.shell.ids.nav, "NavButton", target="outbox"))
    screen = app.screens["outbox"]
    settle()
    states = {row["state"] for row in screen.ids.list.data}
    assert {"saved", "sent", "acknowledged", "refused"} <= states
    refused = next(row for row in screen.ids.list.data if row["state"] == "refused")
    assert "已派遣" in refused["reason"]
    screenshot("outbox")
    tap(screen.ids.export_button)
    assert app.outbox_vm.last_export is not None and app.outbox_vm.last_export.exists()
    assert str(app.outbox_vm.last_export) in screen.export_text


def test_patrol_report_and_end_tapped_through(app: Any) -> None:
    tap(find(app.shell.ids.nav, "NavButton", target="patrol"))
    screen = app.screens["patrol"]
    assert app.shell.ids.manager.current == "patrol" and not screen.walking
    tap(screen.ids.start_button)
    assert screen.walking and app.patrol_vm.active.state is PatrolState.WALKING
    for i in range(4):  # GPS ticks on the interval, as the screen's Clock would fire them
        app.ctx.services.position = _along_road(3 - i)
        app.clock.advance(seconds=90)
        screen._gps_tick(0)
    screen.render_now()
    assert int(screen.points) >= 4
    screenshot("patrol")

    tap(screen.ids.report_button)
    report_screen = app.screens["report"]
    assert app.shell.ids.manager.current == "report" and report_screen.from_patrol
    tap(find(report_screen.ids.domains, "ChoiceButton", value="order"))
    tap(find(report_screen.ids.categories, "CategoryButton", value="E0501"))
    assert app.report_vm.category == "E0501"
    assert report_screen.nearby_text  # 李路长's case of the same kind, a few metres away
    tap(find(report_screen.ids.urgencies, "ChoiceButton", value="urgent"))
    type_into(report_screen.ids.description, "早市摊位占用盲道")
    tap(report_screen.ids.add_photo)  # the desktop stand-in for the camera: a sample photo
    assert len(app.report_vm.photos) == 1 and report_screen.can_submit
    scroll_to_top(report_screen.ids.scroll, report_screen.ids.domains, margin=44)
    screenshot("report")

    before = app.ctx.store.unacknowledged()
    report_screen.ids.scroll.scroll_y = 0
    settle()
    tap(report_screen.ids.submit)
    assert app.ctx.store.unacknowledged() == before + 1
    assert app.shell.ids.manager.current == "patrol"  # back to walking
    assert screen.found == "1"
    tap(screen.ids.end_button)
    assert not screen.walking and app.patrol_vm.saved.findings
    assert "发现 1 个问题" in screen.saved_text


def test_a_patrol_with_nothing_found_is_saved_too(app: Any) -> None:
    screen = app.screens["patrol"]
    tap(screen.ids.start_button)
    app.clock.advance(minutes=12)
    tap(screen.ids.end_button)
    assert app.patrol_vm.saved.nothing_found and "未发现问题" in screen.saved_text


def test_my_cases_list_overdue_first(app: Any) -> None:
    tap(find(app.shell.ids.nav, "NavButton", target="cases"))
    screen = app.screens["cases"]
    settle()
    data = screen.ids.list.data
    assert len(data) >= 6 and data[0]["overdue"]
    assert any(row["sync_state"] == "refused" and row["refusal"] for row in data)
    screenshot("cases")


def test_case_detail_shows_timeline_refusal_and_only_allowed_actions(app: Any) -> None:
    screen = app.screens["cases"]
    refused = next(row for row in screen.ids.list.data if row["sync_state"] == "refused")
    app.show_case(refused["case_id"])
    detail = app.screens["case_detail"]
    settle()
    assert app.shell.ids.manager.current == "case_detail" and app.shell.ids.top.can_go_back
    assert detail.ids.refusals.children, "the server's reason is shown in a red box"
    texts = [b.text for b in detail.ids.actions.children]
    allowed = [label for _t, label in app.case_vm.actions()]
    assert sorted(texts) == sorted(allowed)
    assert "核查通过" not in texts and "派遣" not in texts  # a road chief may not approve or dispatch
    assert len(detail.ids.timeline.children) >= 3
    screenshot("case_detail")
    detail.children[0].scroll_y = 0  # the bottom: actions and the timeline
    screenshot("case_detail_timeline")
    app.back()
    assert app.shell.ids.manager.current == "cases"


def test_english_relabels_everything_live(app: Any) -> None:
    app.show_report()
    screen = app.screens["report"]
    tap(find(app.shell.ids.top, "BarButton", text="English"))
    assert app.lang == "en" and app.ctx.lang == "en"
    assert app.shell.ids.top.title == "Report a problem"
    tap(find(screen.ids.domains, "ChoiceButton", value="safety"))
    labels = [b.text for b in screen.ids.categories.children]
    assert "Missing manhole cover" in labels
    assert find(app.shell.ids.nav, "NavButton", target="cases").text == "My cases"
    screen.ids.scroll.scroll_y = 1
    screenshot("report_en")
    tap(find(app.shell.ids.top, "BarButton", text="中文"))
    assert app.lang == "zh" and app.shell.ids.top.title == "上报问题"
    assert app.load_settings()["lang"] == "zh"


def test_every_screenshot_is_there_and_not_blank() -> None:
    for name in (
        "signin",
        "home",
        "patrol",
        "report",
        "cases",
        "case_detail",
        "outbox",
        "report_en",
        "case_detail_timeline",
    ):
        assert_not_blank(SHOTS / f"{name}.png")


def test_cold_start_without_a_server_shows_sign_in(tmp_path: Path, app: Any) -> None:
    """A fresh phone, no server anywhere: the sign-in screen, and nothing waits on the network."""
    from mobile.app import RoadChiefApp

    fresh = RoadChiefApp(data_dir=tmp_path / "fresh", services=DesktopServices())
    try:
        root = fresh.build()
        assert fresh.shell.ids.manager.current == "signin" and not fresh.signed_in
        assert root is fresh.shell
    finally:
        fresh.shutdown()
        app.activate()  # the module's app is still the one on screen
    assert os.environ.get("KIVY_HOME", "").endswith(".kivyhome")


def test_signed_in_but_offline_opens_on_cached_data_and_never_waits(tmp_path: Path, app: Any) -> None:
    """The server is unreachable: home shows the cached cases, sync fails in the background."""
    import time

    from kivy.base import EventLoop

    from mobile.app import RoadChiefApp

    phone = make_ctx(tmp_path / "phone", server_url="http://127.0.0.1:9", token=TOKEN)  # nothing listens
    report(phone.store, CHIEF, category="E0501", road_id=ROAD, now=phone.now(), description="占道")
    phone.close()
    offline = RoadChiefApp(data_dir=tmp_path / "phone", services=DesktopServices(position=HERE))
    try:
        offline.build()
        assert offline.signed_in and offline.shell.ids.manager.current == "home"
        assert offline.home_vm.open_total == 1
        began = time.perf_counter()
        offline.start_sync()  # a worker thread does the network; this returns at once
        assert time.perf_counter() - began < 0.5
        deadline = time.monotonic() + 20
        while offline.last_outcome is None and time.monotonic() < deadline:
            EventLoop.idle()
        assert offline.last_outcome is not None and offline.last_outcome.state == "offline"
        assert offline.sync_status == "offline" and "待上传 1 条" in offline.sync_label
    finally:
        offline.shutdown()
        app.activate()


def test_the_app_command_loads_kivy_only_when_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    from typer.testing import CliRunner

    import mobile.main
    from roadchief.cli import app as cli

    probe = "import sys, roadchief.cli; assert 'kivy' not in sys.modules and 'mobile' not in sys.modules"
    subprocess.run([sys.executable, "-c", probe], check=True, cwd=ROOT)
    opened: list[dict[str, Any]] = []
    monkeypatch.setattr(mobile.main, "main", lambda **kwargs: opened.append(kwargs))
    result = CliRunner().invoke(cli, ["app", "--data-dir", str(tmp_path), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert opened == [{"data_dir": tmp_path, "server_url": None, "lang": "en"}]
    assert CliRunner().invoke(cli, ["app", "--lang", "fr"]).exit_code != 0
