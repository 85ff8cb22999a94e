"""Patrol (路长上路): pick a road, start, GPS points on an interval, "report a problem", end.

The patrol keeps recording while other screens are shown (filing a report in the middle of it):
the screen's Clock ticks the view-model whether or not the screen is visible, and stops when the
patrol ends. A patrol that found nothing is saved too, and says so.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from kivy.clock import Clock, ClockEvent
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, StringProperty

from engine import PatrolState, label

from ..widgets.common import MutedLabel, TextLabel
from ..widgets.rows import format_duration, format_time
from ..widgets.screen import RCScreen

__all__ = ["GPS_INTERVAL", "PatrolScreen"]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))

GPS_INTERVAL = 5.0  # seconds between GPS reads while walking
_RECENT_SHOWN = 5


def _clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class PatrolScreen(RCScreen):
    """Binds to ``PatrolViewModel``."""

    walking = BooleanProperty(False)
    state_text = StringProperty("")
    road_name = StringProperty("")
    road_names = ListProperty()
    elapsed = StringProperty("0:00:00")
    points = StringProperty("0")
    distance = StringProperty("")
    found = StringProperty("0")
    position = StringProperty("")
    saved_text = StringProperty("")
    error = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._road_ids: dict[str, str] = {}
        self._gps_event: ClockEvent | None = None
        self._second_event: ClockEvent | None = None

    def on_kv_post(self, base_widget: Any) -> None:
        self.ids.start_button.bind(on_release=lambda *_: self.start())
        self.ids.report_button.bind(on_release=lambda *_: self.report_problem())
        self.ids.end_button.bind(on_release=lambda *_: self.end())

    # --- actions ------------------------------------------------------------------------------

    def pick_road(self, name: str) -> None:
        road_id = self._road_ids.get(name)
        if self.vm is not None and road_id is not None and self.vm.active is None:
            self.vm.road_id = road_id

    def start(self) -> None:
        if self.vm.start():
            self._start_clocks()

    def report_problem(self) -> None:
        patrol_id = self.vm.report_problem()
        if patrol_id is not None:
            self.app.show_report(patrol_id=patrol_id, road_id=self.vm.road_id)

    def end(self) -> None:
        self.vm.end()
        self._stop_clocks()

    # --- clocks -------------------------------------------------------------------------------

    def _start_clocks(self) -> None:
        if self._gps_event is None:
            self._gps_event = Clock.schedule_interval(self._gps_tick, GPS_INTERVAL)
            self._second_event = Clock.schedule_interval(self._second_tick, 1.0)

    def _stop_clocks(self) -> None:
        for event in (self._gps_event, self._second_event):
            if event is not None:
                event.cancel()
        self._gps_event = self._second_event = None

    def _gps_tick(self, _dt: float) -> None:
        if self.vm is None or self.vm.active is None:
            self._stop_clocks()
            return
        self.vm.tick(self.vm.ctx.now())

    def _second_tick(self, _dt: float) -> None:
        active = self.vm.active if self.vm is not None else None
        if active is not None and active.started_at is not None:
            self.elapsed = _clock_text((self.vm.ctx.now() - active.started_at).total_seconds())

    # --- drawing ------------------------------------------------------------------------------

    def render(self) -> None:
        vm, lang = self.vm, self.lang
        active = vm.active
        self.walking = active is not None
        self.state_text = label(PatrolState.WALKING if active else PatrolState.NEW, lang)
        roads = vm.roads
        self._road_ids = {road.name: road.id for road in roads}
        self.road_names = [road.name for road in roads]
        road_id = vm.road_id or (roads[0].id if roads else None)
        if vm.road_id is None and road_id is not None and active is None:
            vm.road_id = road_id
        self.road_name = next((r.name for r in roads if r.id == road_id), self.tr("patrol.pick_road"))
        if active is not None:
            self._start_clocks()
            self._second_tick(0)
        else:
            self._stop_clocks()
            self.elapsed = _clock_text(0)
        self.points = str(vm.points_recorded)
        self.distance = self._distance(vm.distance_m)
        self.found = str(len(vm.found))
        self.position = (
            f"{vm.position[0]:.5f}, {vm.position[1]:.5f}" if vm.position else self.tr("patrol.no_gps")
        )
        saved = vm.saved
        if saved is not None and active is None:
            result = (
                self.tr("patrol.found_n", n=len(saved.findings))
                if saved.findings
                else self.tr("patrol.nothing_found")
            )
            self.saved_text = self.tr("patrol.saved", result=result)
        else:
            self.saved_text = ""
        self.error = vm.error
        self._render_recent(vm)

    def _distance(self, metres: float) -> str:
        if metres >= 1000:
            return self.tr("unit.km", n=f"{metres / 1000:.2f}")
        return self.tr("unit.metres", n=int(metres))

    def _render_recent(self, vm: Any) -> None:
        card = self.ids.recent
        card.clear_widgets()
        if not vm.recent:
            card.add_widget(MutedLabel(text=self.tr("patrol.none_recent")))
            return
        now, reference = vm.ctx.now(), vm.ctx.reference
        for patrol in vm.recent[:_RECENT_SHOWN]:
            road = reference.road(patrol.road_id)
            result = (
                self.tr("patrol.found_n", n=len(patrol.findings))
                if patrol.findings
                else self.tr("patrol.nothing_found")
            )
            card.add_widget(TextLabel(text=f"{road.name if road else ''}  ·  {result}", font_size="16sp"))
            duration = (
                patrol.ended_at - patrol.started_at if patrol.ended_at and patrol.started_at else timedelta(0)
            )
            card.add_widget(
                MutedLabel(
                    text=self.tr(
                        "patrol.recent_row",
                        when=format_time(patrol.started_at, self.lang, now),
                        duration=format_duration(duration, self.lang),
                        points=patrol.point_count,
                    )
                )
            )
