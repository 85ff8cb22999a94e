"""The field app's figures: what a road chief waits for on the phone.

    python bench/mobile.py [SECTION ...]

Sections (all by default):

- ``save_report``: saving a report with one photo locally — engine check, outbox row and view row
  in one ``synchronous=FULL`` transaction — in a store already holding 5,000 cases; the photo is
  kept beforehand (shrinking is excluded, as the goal says). Median ms over 200 saves, printed
  with a baseline from the same run: a raw sqlite3 ``INSERT`` + ``COMMIT`` on the same file with
  the same pragmas. Goal: ≤ 50 ms.

- ``cold_start``: a fresh process (``python -c``) to the app's first drawn frame, in an offscreen
  window: signed out (the sign-in screen, no server anywhere) and signed in with 5,000 cached
  cases (the home screen, offline). Median of 5 starts each, ms of wall time seen by the parent.
- ``case_list``: "my cases" with 5,000 cases, in-process: the tap to the first frame of the
  RecycleView (view-model load + rows + layout + draw); then a drag of 40 px a frame for 120
  frames (median, p95, worst frame ms) and 30 jumps far down the list, where every frame draws
  rows never drawn before (median). Kivy's frame cap is off and each frame ends with ``glFinish``,
  so a figure is the time until the frame is really drawn; Kivy's own share (layout, new row
  textures, draw calls, before the GL works) is printed beside it. Goal: the drag's median frame
  within 16.7 ms (60 fps). The GL here is Mesa llvmpipe, software rasterising on a shared CPU,
  which is what most of a frame costs; a phone's GPU does that part in hardware.
- ``queue``: the coordinator's queue (协调队列) with 2,000 new reports in their community, the
  same way (issue 6: "a queue of 2,000 cases opens and scrolls smoothly"): the phone signed in as
  a station coordinator, whose home tab the queue is. Opening, twice: the app starting on it
  in-process (build to the first frame with rows), and a tap back onto its tab from another tab
  to the first frame after the redraw (the screen reloads the 2,000 cases from the store on
  entering; the rows come out the same, so the RecycleView keeps its row widgets). Then the same
  40 px-a-frame drag for 120 frames (median, p95, worst frame ms, and Kivy's own share).
  Printed beside it, a baseline from the same run: the same frame loop with nothing moving (the
  window redrawn as is), the renderer's floor on this machine; the ratio is what scrolling adds.
- ``first_sync``: a fresh phone (the street's command centre) signs in to a real server process
  whose street holds 10,000 events and pulls them all: the sync client's own pull (strict parse,
  engine fold, view rows, cursor; pages of 500), asking for the next page while it stores this
  one, against the baseline from the same run, the same client asking for each page only once the
  last is stored. On loopback, and through a proxy that delays every request 0–80 ms (a phone's
  network). Seconds of the pull alone (the sign-in and reference fetch are not timed).
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# ``mobile`` package it measures: drop that folder.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
# and the repository root first: an editable install made before mobile/ existed does not map it
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from engine import Event, Role, apply  # noqa: E402
from mobile import LocalStore, UserProfile, keep_photo, report  # noqa: E402
from mobile.view import save_profile  # noqa: E402
from shared import new_id  # noqa: E402

GOAL_MS = 50.0
CASES = 5_000
SAVES = 200
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CHIEF = UserProfile("u-chief", "chief", Role.ROAD_CHIEF, "street-1", "community-1", None, "王路长")
# a station coordinator (站长) of the chief's community: its new reports are their queue
STATION = UserProfile("u-station", "station", Role.COORDINATOR, "street-1", "community-1", None, "站长")
QUEUE = 2_000
FIRST_SYNC_EVENTS = 10_000


def _fill(store: LocalStore, count: int) -> None:
    """``count`` server-confirmed cases, as a phone has them after pulling its street."""
    with store.transaction():
        for n in range(count):
            case_id = new_id()
            event = Event(
                new_id(),
                case_id,
                "report",
                CHIEF.actor,
                CHIEF.role,
                START + timedelta(seconds=n),
                {
                    "category": "E0501",
                    "road_id": f"road-{n % 40}",
                    "description": f"占道经营 {n}",
                    "location": {"lat": 39.90 + n * 1e-5, "lon": 116.19},
                },
            )
            case = apply(None, event)
            assert not hasattr(case, "code"), case
            store.put_confirmed(case)  # type: ignore[arg-type]
            store.put_view(case)  # type: ignore[arg-type]


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (180, 90, 40)).save(out, "JPEG", quality=85)
    return out.getvalue()


def measure_save_report(cases: int = CASES, saves: int = SAVES) -> dict[str, float]:
    """Median ms to save one report with one kept photo, and the raw INSERT+COMMIT baseline."""
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(Path(tmp) / "phone.db")
        save_profile(store, CHIEF)
        _fill(store, cases)
        sha = keep_photo(store, _photo(), START, shrink_first=False)
        timings = []
        for n in range(saves):
            now = START + timedelta(days=1, seconds=n)
            began = time.perf_counter()
            result = report(
                store,
                CHIEF,
                category="E0501",
                road_id="road-1",
                now=now,
                description="路口有人占道摆摊",
                photos=[sha],
                location=(39.93, 116.19),
            )
            timings.append((time.perf_counter() - began) * 1000)
            assert not hasattr(result, "code"), result
        # the baseline: the cheapest durable write this file can do, same pragmas, same run
        store.conn.execute("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, body TEXT)")
        raw = []
        for n in range(saves):
            began = time.perf_counter()
            store.conn.execute("BEGIN IMMEDIATE")
            store.conn.execute("INSERT INTO bench_raw(body) VALUES (?)", (f"row {n}",))
            store.conn.execute("COMMIT")
            raw.append((time.perf_counter() - began) * 1000)
        assert store.count_view() == cases + saves
        store.close()
    return {
        "save_report_ms": statistics.median(timings),
        "save_report_p95_ms": sorted(timings)[int(len(timings) * 0.95) - 1],
        "raw_insert_commit_ms": statistics.median(raw),
    }


# --- the UI: cold start and the 5,000-case list (Kivy, offscreen) -------------------------------

_ROOT = Path(__file__).resolve().parent.parent
FRAME_GOAL_MS = 1000 / 60
_REFERENCE = {
    "street": {"id": "street-1", "name": "广宁街道"},
    "communities": [{"id": "community-1", "name": "金顶街"}],
    "departments": [{"id": "dept-1", "name": "城管"}],
    "roads": [
        {
            "id": f"road-{n}",
            "name": f"金顶街{n + 1}巷",
            "community_id": "community-1",
            "chief_id": CHIEF.id,
            "geometry": {"type": "LineString", "coordinates": [[116.19, 39.9 + n / 1e3], [116.191, 39.9]]},
        }
        for n in range(40)
    ],
    "categories": [],
}


def _kivy_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.update(KIVY_NO_ARGS="1", KIVY_NO_FILELOG="1", KIVY_HOME=str(_ROOT / ".kivyhome"))
    if not env.get("DISPLAY"):
        env["SDL_VIDEODRIVER"] = "offscreen"
    return env


def _signed_in_phone(directory: Path, cases: int, profile: UserProfile = CHIEF) -> None:
    """A phone's data directory: ``profile`` (王路长 unless told) signed in (token kept), 40 roads
    and ``cases`` cached cases, new reports of 王路长's in community-1."""
    from mobile import Credentials, CredentialStore
    from mobile.session import DB_NAME
    from mobile.view import save_reference

    directory.mkdir(parents=True, exist_ok=True)
    store = LocalStore(directory / DB_NAME, photo_dir=directory / "photos")
    save_profile(store, profile)
    save_reference(store, _REFERENCE)
    with store.transaction():
        store.set_meta("server_url", "http://127.0.0.1:9")  # nothing listens: the phone is offline
    _fill(store, cases)
    store.close()
    CredentialStore(directory).save(Credentials("bench-token", "http://127.0.0.1:9"))


_CHILD = """
import sys, time
from kivy.config import Config
Config.set("graphics", "width", "400")
Config.set("graphics", "height", "800")
from kivy.core.window import Window
from mobile.app import RoadChiefApp

class Bench(RoadChiefApp):
    def load_kv(self, filename=None):  # a class from "python -c" has no file to find a .kv beside
        return None

    def on_start(self):
        super().on_start()
        Window.bind(on_flip=self._first)
        Window.canvas.ask_update()

    def _first(self, *args):
        Window.unbind(on_flip=self._first)
        print("first-frame", self.shell.ids.manager.current, flush=True)
        self.stop()

Bench(data_dir=sys.argv[1]).run()
"""


def measure_cold_start(runs: int = 5, cases: int = CASES) -> dict[str, float]:
    """Median ms from spawning a process to the first frame: signed out, and signed in offline."""
    import subprocess

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        signed_in = Path(tmp) / "signed-in"
        _signed_in_phone(signed_in, cases)
        for key, screen, make_dir in (
            ("cold_start_signin_ms", "signin", lambda n: Path(tmp) / f"fresh-{n}"),
            ("cold_start_home_ms", "home", lambda n: signed_in),
        ):
            timings = []
            for n in range(runs):
                began = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", _CHILD, str(make_dir(n))],
                    env=_kivy_env(),
                    cwd=_ROOT,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                elapsed = (time.perf_counter() - began) * 1000
                if f"first-frame {screen}" not in done.stdout:
                    raise RuntimeError(f"cold start ({screen}) failed:\n{done.stdout}\n{done.stderr[-2000:]}")
                timings.append(elapsed)
            figures[key] = statistics.median(timings)
    return figures


def _in_process_kivy() -> None:
    """Kivy in this process: offscreen unless there is a display, a phone-sized window, no cap."""
    import os

    os.environ.update({k: v for k, v in _kivy_env().items() if k.startswith(("KIVY_", "SDL_"))})
    from kivy.config import Config

    Config.set("graphics", "width", "400")
    Config.set("graphics", "height", "800")
    Config.set("graphics", "maxfps", "0")  # measure the work, not the 60 fps cap's sleep


def _p95(ordered: list[float]) -> float:
    return ordered[int(len(ordered) * 0.95) - 1]


def measure_case_list(cases: int = CASES, steps: int = 120) -> dict[str, float]:
    """Open "my cases" with ``cases`` rows, then drag and fling it: open ms and frame times."""
    _in_process_kivy()
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.graphics.opengl import glFinish

    from mobile.app import RoadChiefApp

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "phone"
        _signed_in_phone(directory, cases)
        app = RoadChiefApp(data_dir=directory)
        root = app.build()
        Window.add_widget(root)
        for _ in range(5):
            EventLoop.idle()
        drawn: list[float] = []

        def flipped(*_args: object) -> None:
            drawn.append(time.perf_counter())

        Window.bind(on_flip=flipped)
        try:
            screen = app.screens["cases"]
            began = time.perf_counter()
            app.show("cases")  # what the tab does
            while not drawn or drawn[-1] < began or not screen.ids.list.view_adapter.views:
                EventLoop.idle()
            glFinish()
            open_ms = (time.perf_counter() - began) * 1000
            rows = len(screen.ids.list.data)
            listing = screen.ids.list

            def frame_after(scroll_y: float) -> tuple[float, float]:
                """Move the list; ms until the frame is drawn, and until the GL has finished it."""
                listing.scroll_y = max(0.0, scroll_y)
                began = time.perf_counter()
                count = len(drawn)
                while len(drawn) == count:
                    EventLoop.idle()
                submitted = time.perf_counter()
                glFinish()  # without it llvmpipe queues frames and a later texture upload pays for all
                return (submitted - began) * 1000, (time.perf_counter() - began) * 1000

            travel = listing.children[0].height - listing.height  # scrollable pixels
            # a thumb's drag: 40 px a frame (2,400 px/s at 60 fps), rows slide in one by one
            drag = [frame_after(1 - step * 40 / travel) for step in range(1, steps + 1)]
            # a fling far down the list: every frame shows rows never drawn before
            jumps = [frame_after(1 - step / 30)[1] for step in range(1, 31)]
        finally:
            Window.unbind(on_flip=flipped)
            app.shutdown()
            Window.remove_widget(root)
    if rows != cases:
        raise RuntimeError(f"the list shows {rows} rows, not {cases}")
    frames = sorted(total for _cpu, total in drag)
    cpu = sorted(cpu for cpu, _total in drag)
    jumps.sort()
    return {
        "case_list_open_ms": open_ms,
        "case_list_frame_median_ms": statistics.median(frames),
        "case_list_frame_p95_ms": _p95(frames),
        "case_list_frame_max_ms": frames[-1],
        "case_list_frame_cpu_median_ms": statistics.median(cpu),
        "case_list_frame_cpu_p95_ms": _p95(cpu),
        "case_list_jump_median_ms": statistics.median(jumps),
    }


def measure_queue(count: int = QUEUE, steps: int = 120, still: int = 60) -> dict[str, float]:
    """The coordinator's queue of ``count`` cases: opening it, then the drag's frames, in ms.

    Opening is timed twice: the app starting on it (the queue is a coordinator's home tab: build
    every screen, load the queue, make, lay out and draw its first rows), and a tap back onto its
    tab from another one (the screen reloads the queue from the store on entering and redraws;
    the rows are the same, so the RecycleView keeps the row widgets it has). Then ``still`` frames
    of the same loop with nothing moving (the window redrawn as it is): what this software GL
    costs to draw the screen at all, so the drag's figures can be read against it.
    """
    _in_process_kivy()
    from kivy.base import EventLoop
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.graphics.opengl import glFinish

    from mobile.app import RoadChiefApp

    drawn: list[float] = []

    def flipped(*_args: object) -> None:
        drawn.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "phone"
        _signed_in_phone(directory, count, STATION)
        Window.bind(on_flip=flipped)
        began = time.perf_counter()
        app = RoadChiefApp(data_dir=directory)
        root = app.build()
        Window.add_widget(root)
        try:
            screen = app.screens["coordinator"]
            listing = screen.ids.list
            while not drawn or drawn[-1] < began or not listing.view_adapter.views:
                EventLoop.idle()
            glFinish()
            start_ms = (time.perf_counter() - began) * 1000
            if app.shell.ids.manager.current != "coordinator":
                raise RuntimeError(f"a coordinator's app opened on {app.shell.ids.manager.current!r}")
            app.show("overview")  # the coordinator looks at another tab, then taps back onto the queue
            for _ in range(5):
                EventLoop.idle()
            reloads: list[int] = []
            unsubscribe = screen.vm.subscribe(lambda: reloads.append(1))
            rendered: list[float] = []
            began = time.perf_counter()
            app.show("coordinator")  # what the tab does: the screen reloads its queue on entering
            unsubscribe()
            # runs after the screen's redraw that show() scheduled (same frame, scheduling order)
            Clock.schedule_once(lambda _dt: rendered.append(time.perf_counter()), 0)
            while not rendered or not drawn or drawn[-1] < rendered[-1]:
                EventLoop.idle()
            glFinish()
            open_ms = (time.perf_counter() - began) * 1000
            if not reloads:
                raise RuntimeError("the tab did not reload the queue: the open figure would be too low")
            rows = sum(1 for row in listing.data if row.get("viewclass") == "CaseRowView")
            queued = screen.vm.count

            def frame_after(scroll_y: float | None) -> tuple[float, float]:
                """Move the list (``None``: only redraw); ms until drawn, and until the GL is done."""
                if scroll_y is None:
                    Window.canvas.ask_update()
                else:
                    listing.scroll_y = max(0.0, scroll_y)
                began = time.perf_counter()
                seen = len(drawn)
                while len(drawn) == seen:
                    EventLoop.idle()
                submitted = time.perf_counter()
                glFinish()
                return (submitted - began) * 1000, (time.perf_counter() - began) * 1000

            for _ in range(5):  # settle: the open's last textures, the clock's first ticks
                frame_after(None)
            resting = [frame_after(None) for _ in range(still)]
            travel = listing.children[0].height - listing.height
            # a thumb's drag, as in "my cases": 40 px a frame (2,400 px/s at 60 fps)
            drag = [frame_after(1 - step * 40 / travel) for step in range(1, steps + 1)]
        finally:
            Window.unbind(on_flip=flipped)
            app.shutdown()
            Window.remove_widget(root)
    if queued != count or rows != count:
        raise RuntimeError(f"the queue holds {queued} cases and shows {rows} rows, not {count}")
    frames = sorted(total for _cpu, total in drag)
    cpu = sorted(cpu for cpu, _total in drag)
    floor = sorted(total for _cpu, total in resting)
    floor_cpu = sorted(cpu for cpu, _total in resting)
    return {
        "queue_start_ms": start_ms,
        "queue_open_ms": open_ms,
        "queue_frame_median_ms": statistics.median(frames),
        "queue_frame_p95_ms": _p95(frames),
        "queue_frame_max_ms": frames[-1],
        "queue_frame_cpu_median_ms": statistics.median(cpu),
        "queue_frame_cpu_p95_ms": _p95(cpu),
        "queue_still_median_ms": statistics.median(floor),
        "queue_still_p95_ms": _p95(floor),
        "queue_still_cpu_median_ms": statistics.median(floor_cpu),
    }


def _street_with_events(workdir: Path, events: int) -> tuple[Any, Any]:
    """A real server process (SQLite) whose street holds ``events`` events; (server, street)."""
    import random

    import httpx

    from shared import PROTOCOL_VERSION, PUSH_PATH, PushRequest, dumps
    from tests.server.proofs import ServerProcess, SimPhone, fill_outbox, setup_street

    server = ServerProcess(f"sqlite:///{workdir / 'server.db'}", workdir)
    server.start()
    handle, street = setup_street(server)
    handle.close()
    rng = random.Random(7)
    with httpx.Client(timeout=60) as http:
        for who, patrols in (("chief", True), ("station", False)):
            phone = SimPhone(token=street.apis[who].token or "", name=who)
            fill_outbox(phone, street, events // 2, rng, patrols=patrols)
            for start in range(0, len(phone.outbox), 200):
                chunk = tuple(phone.outbox[start : start + 200])
                body = dumps(PushRequest(PROTOCOL_VERSION, phone.device_id, chunk))
                answer = http.post(server.base_url + PUSH_PATH, content=body, headers=phone.headers)
                assert answer.status_code == 200, answer.text
    return server, street


def _first_sync_seconds(directory: Path, base_url: str, username: str, prefetch: bool) -> tuple[float, int]:
    """A fresh phone signs in as ``username`` and pulls its street: (seconds of the pull, events)."""
    from mobile import SyncClient, SyncReport, login
    from mobile.session import complete_sign_in, open_app
    from tests.server.world import PASSWORD

    ctx = open_app(directory, lambda _callback: None, start_sync=False)
    try:
        complete_sign_in(ctx, base_url, login(base_url, username, PASSWORD))
        ctx.stop_sync()
        client = SyncClient(base_url, ctx.credentials.token, prefetch=prefetch)
        try:
            client.refresh_reference(ctx.store)
            sync_report = SyncReport()
            started = time.perf_counter()
            client.pull(ctx.store, sync_report)
            return time.perf_counter() - started, sync_report.pulled
        finally:
            client.session.close()  # its connections end before the proxy does
    finally:
        ctx.close()


def measure_first_sync(events: int = FIRST_SYNC_EVENTS) -> dict[str, float]:
    """A phone's first pull of a street, asking for each page after storing the last (the
    baseline) and asking for the next while storing this one; on loopback and behind a proxy that
    delays each request 0–80 ms, as a phone's network does."""
    from tests.server.proofs import FlakyProxy

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="roadchief-first-sync-") as tmp:
        workdir = Path(tmp)
        server, street = _street_with_events(workdir, events)
        username = street.users["centre"]["username"]
        try:
            port = int(server.base_url.rsplit(":", 1)[1])
            proxy = FlakyProxy(
                port, p_refuse=0, p_drop_request=0, p_cut_response=0, max_delay=0.08, p_hang_up=0, seed=3
            )
            with proxy:
                for network, base_url in (("loopback", server.base_url), ("delayed", proxy.base_url)):
                    for prefetch in (False, True):
                        name = f"{network}_{'ahead' if prefetch else 'serial'}"
                        seconds, pulled = _first_sync_seconds(workdir / name, base_url, username, prefetch)
                        figures[name] = seconds
                        figures["events"] = pulled
        finally:
            server.kill()
    return figures


def main() -> None:
    wanted = set(sys.argv[1:]) or {"save_report", "cold_start", "case_list", "queue", "first_sync"}
    if "save_report" in wanted:
        figures = measure_save_report()
        verdict = "ok" if figures["save_report_ms"] <= GOAL_MS else "OVER GOAL"
        print(
            f"save a report with one photo ({CASES:,} cases in the store, median of {SAVES}): "
            f"{figures['save_report_ms']:.2f} ms (p95 {figures['save_report_p95_ms']:.2f} ms; "
            f"goal ≤ {GOAL_MS:.0f} ms: {verdict})"
        )
        baseline = figures["raw_insert_commit_ms"]
        print(f"baseline: raw sqlite3 INSERT + COMMIT, same file and pragmas: {baseline:.2f} ms")
    if "cold_start" in wanted:
        start = measure_cold_start()
        print(
            "cold start to the first frame (new process, offscreen window, median of 5): "
            f"sign-in screen {start['cold_start_signin_ms']:.0f} ms; "
            f"home with {CASES:,} cached cases, offline {start['cold_start_home_ms']:.0f} ms"
        )
    if "case_list" in wanted:
        listing = measure_case_list()
        verdict = "ok" if listing["case_list_frame_median_ms"] <= FRAME_GOAL_MS else "OVER GOAL"
        print(
            f"my cases, {CASES:,} rows (RecycleView): open {listing['case_list_open_ms']:.0f} ms; "
            f"dragging, frame on screen median {listing['case_list_frame_median_ms']:.1f} ms, "
            f"p95 {listing['case_list_frame_p95_ms']:.1f} ms, "
            f"worst {listing['case_list_frame_max_ms']:.1f} ms (goal ≤ {FRAME_GOAL_MS:.1f} ms: {verdict}), "
            f"of which Kivy's own work median {listing['case_list_frame_cpu_median_ms']:.1f} ms, "
            f"p95 {listing['case_list_frame_cpu_p95_ms']:.1f} ms; "
            f"a jump to unseen rows {listing['case_list_jump_median_ms']:.0f} ms a frame"
        )
    if "queue" in wanted:
        queue = measure_queue()
        verdict = "ok" if queue["queue_frame_median_ms"] <= FRAME_GOAL_MS else "OVER GOAL"
        ratio = queue["queue_frame_median_ms"] / queue["queue_still_median_ms"]
        print(
            f"coordinator's queue, {QUEUE:,} cases (RecycleView): app start on it (home tab) "
            f"{queue['queue_start_ms']:.0f} ms, open from its tab {queue['queue_open_ms']:.0f} ms; "
            f"dragging, frame on screen median {queue['queue_frame_median_ms']:.1f} ms, "
            f"p95 {queue['queue_frame_p95_ms']:.1f} ms, "
            f"worst {queue['queue_frame_max_ms']:.1f} ms (goal ≤ {FRAME_GOAL_MS:.1f} ms: {verdict}), "
            f"of which Kivy's own work median {queue['queue_frame_cpu_median_ms']:.1f} ms, "
            f"p95 {queue['queue_frame_cpu_p95_ms']:.1f} ms"
        )
        print(
            f"baseline: the same frames with nothing moving (this GL's floor): median "
            f"{queue['queue_still_median_ms']:.1f} ms, p95 {queue['queue_still_p95_ms']:.1f} ms, "
            f"Kivy's own {queue['queue_still_cpu_median_ms']:.1f} ms; "
            f"dragging is {ratio:.2f}× that"
        )
    if "first_sync" in wanted:
        sync = measure_first_sync()
        for network, label in (("loopback", "loopback"), ("delayed", "each request delayed 0–80 ms")):
            serial, ahead = sync[f"{network}_serial"], sync[f"{network}_ahead"]
            print(
                f"a phone's first sync of {sync['events']:,.0f} events ({label}): next page asked for "
                f"while storing this one {ahead:.2f} s; baseline, each page after the last is stored "
                f"{serial:.2f} s ({serial / ahead:.2f}× as long)"
            )


if __name__ == "__main__":
    main()
