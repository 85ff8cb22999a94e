"""Home: who I am, my open cases by step (overdue ones in red), my roads, and the sync state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from engine import label

from ..i18n import capitalised
from ..widgets.common import MutedLabel, TextLabel
from ..widgets.rows import CaseRowView, case_row_data
from ..widgets.screen import RCScreen

__all__ = ["HomeScreen", "StepTile"]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))

_OVERDUE_SHOWN = 5


class StepTile(BoxLayout):
    """A step's count on the step's colour."""

    step = StringProperty("patrol")
    text = StringProperty("")
    count = NumericProperty(0)


class HomeScreen(RCScreen):
    """Binds to ``HomeViewModel``."""

    greeting = StringProperty("")
    who = StringProperty("")
    open_total = StringProperty("")
    overdue_text = StringProperty("")
    overdue_count = NumericProperty(0)
    sync_text = StringProperty("")

    def open_case(self, case_id: str) -> None:
        """An overdue row was tapped."""
        self.app.show_case(case_id)

    def sync_now(self) -> None:
        self.vm.sync_now()

    def render(self) -> None:
        vm, lang = self.vm, self.lang
        user = vm.user
        name = user.name if user is not None else ""
        self.greeting = self.tr("home.greeting", name=name)
        street = str(vm.ctx.reference.street.get("name") or "")
        today = self.tr("home.patrols_today", n=vm.patrols_today)
        self.who = "  ·  ".join(p for p in (label(user.role, lang) if user else "", street, today) if p)
        self.open_total = self.tr("home.open_total", n=vm.open_total)
        self.overdue_count = len(vm.overdue)
        self.overdue_text = (
            self.tr("home.overdue", n=len(vm.overdue)) if vm.overdue else self.tr("home.none_overdue")
        )
        self.sync_text = vm.sync_text
        self._render_steps(vm)
        self._render_overdue(vm)
        self._render_roads(vm)

    def _render_steps(self, vm: Any) -> None:
        grid = self.ids.steps
        labels = vm.step_labels
        if len(grid.children) != len(vm.counts_by_step):
            grid.clear_widgets()
            for step in vm.counts_by_step:
                grid.add_widget(StepTile(step=step.value))
        for tile, (step, count) in zip(grid.children[::-1], vm.counts_by_step.items(), strict=True):
            tile.step, tile.count, tile.text = step.value, count, capitalised(labels[step], self.lang)

    def _render_overdue(self, vm: Any) -> None:
        box = self.ids.overdue
        box.clear_widgets()
        now = vm.ctx.now()
        for row in vm.overdue[:_OVERDUE_SHOWN]:
            data = case_row_data(row, self.lang, now)
            view = CaseRowView(size_hint_y=None)
            for key, value in data.items():
                setattr(view, key, value)
            box.add_widget(view)

    def _render_roads(self, vm: Any) -> None:
        card = self.ids.roads
        card.clear_widgets()
        if not vm.my_roads:
            card.add_widget(MutedLabel(text=self.tr("home.no_roads")))
            return
        for road in vm.my_roads:
            card.add_widget(TextLabel(text=road.name, font_size="16sp"))
