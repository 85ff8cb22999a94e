"""The coordinator's screens: the queue (协调队列, by community, oldest first) and one case to decide.

``CoordinatorScreen`` lists ``CoordinatorViewModel.rows`` with a heading per community.
``CoordinateScreen`` shows the selected case and the four decisions the engine allows: dispatch
(department picker, the suggested deadline, − / + to tighten it; a later time shows the engine's
refusal at once), merge into a nearby open case (numbered on the road sketch), escalate to the
street (街道吹哨) or cancel, both with a reason. Buttons the engine does not offer are disabled.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from engine import Trigger

from ..widgets import road_sketch  # noqa: F401  (registers RoadSketch for the kv rule)
from ..widgets.rows import case_row_data, format_duration, format_time
from .overview import QueueScreen, WorkScreen

__all__ = ["CoordinateScreen", "CoordinatorScreen", "NearbyRow"]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class CoordinatorScreen(QueueScreen):
    """The queue; binds to ``CoordinatorViewModel`` (shared with ``CoordinateScreen``)."""

    work_screen = "coordinate"

    def row_data(self, row: Any, now: Any) -> dict[str, Any]:
        data = case_row_data(row.row, self.lang, now)
        age = self.tr("roles.waiting", time=format_duration(row.age, self.lang))
        data["meta"] = "  ·  ".join(
            p for p in (row.row.road_name, format_time(row.row.reported_at, self.lang, now)) if p
        )
        data["due_text"] = age + ("  ·  " + self.tr("roles.escalated") if row.escalated else "")
        data["overdue"] = False
        return data

    def rows_data(self) -> list[dict[str, Any]]:
        now, out = self.vm.ctx.now(), []
        for community, rows in self.vm.groups:
            title = f"{community or self.tr('word.none')}  ·  {self.tr('roles.queue_count', n=len(rows))}"
            out.append({"viewclass": "QueueHeader", "text": title, "height": dp(34)})
            out.extend({"viewclass": "CaseRowView", **self.row_data(row, now)} for row in rows)
        return out


class NearbyRow(BoxLayout):
    """A merge target: its number on the sketch, what and where it is, and the merge button."""

    number = StringProperty("")
    title = StringProperty("")
    detail = StringProperty("")
    case_id = StringProperty("")
    enabled = BooleanProperty(True)

    def merge(self) -> None:
        node: Any = self.parent
        while node is not None and not isinstance(node, CoordinateScreen):
            node = node.parent
        if node is not None:
            node.merge(self.case_id)


class CoordinateScreen(WorkScreen):
    """One case to coordinate; binds to the queue's ``CoordinatorViewModel``."""

    department_names = ListProperty()
    department_choice = StringProperty("")
    due_text = StringProperty("")
    due_note = StringProperty("")
    due_error = StringProperty("")
    nearby_count = StringProperty("")
    may_dispatch = BooleanProperty(False)
    may_escalate = BooleanProperty(False)
    may_merge = BooleanProperty(False)
    may_cancel = BooleanProperty(False)

    # --- the user's moves ---------------------------------------------------------------------

    def pick_department(self, name: str) -> None:
        for dep_id, dep_name in self.vm.departments:
            if dep_name == name and dep_id != self.vm.department_id:
                self.vm.pick_department(dep_id)

    def shift_due(self, hours: float) -> None:
        self.vm.shift_due(timedelta(hours=hours))

    def suggested_due(self) -> None:
        self.vm.set_due(None)

    def dispatch_case(self) -> None:
        self.done(self.vm.dispatch())

    def merge(self, case_id: str) -> None:
        self.done(self.vm.merge(case_id))

    def escalate(self) -> None:
        if self.done(self.vm.escalate(self.ids.reason.text)):
            self.ids.reason.text = ""

    def cancel(self) -> None:
        if self.done(self.vm.cancel(self.ids.reason.text)):
            self.ids.reason.text = ""

    # --- drawing ------------------------------------------------------------------------------

    def render_actions(self) -> None:
        vm, lang = self.vm, self.lang
        now = vm.ctx.now()
        self.may_dispatch = vm.may(Trigger.DISPATCH)
        self.may_escalate = vm.may(Trigger.ESCALATE)
        self.may_merge = vm.may(Trigger.MERGE)
        self.may_cancel = vm.may(Trigger.CANCEL)
        names = dict(vm.departments)
        self.department_names = list(names.values())
        self.department_choice = names.get(vm.department_id or "", "")
        due, suggested = vm.effective_due, vm.suggested_due
        self.due_text = format_time(due, lang, now) if due else self.tr("word.none")
        if due is not None:
            self.due_text += "  " + self.tr("case.due_in", time=format_duration(due - now, lang))
        if vm.due_at is None or suggested is None:
            self.due_note = self.tr("coordinator.due_suggested")
        else:
            self.due_note = self.tr("coordinator.due_changed", time=format_time(suggested, lang, now))
        self.due_error = vm.due_error
        self._render_nearby(vm)

    def _render_nearby(self, vm: Any) -> None:
        sketch = self.ids.sketch
        sketch.lines = [list(line) for line in vm.sketch.lines]
        sketch.names = list(vm.sketch.names)
        sketch.dots = [
            {"lat": d.lat, "lon": d.lon, "label": d.label, "highlight": d.highlight} for d in vm.sketch.dots
        ]
        box = self.ids.nearby
        box.clear_widgets()
        self.nearby_count = self.tr("coordinator.nearby_count", n=len(vm.nearby))
        for near in vm.nearby:
            row = near.row
            where = (
                self.tr("unit.metres", n=round(near.metres))
                if near.metres is not None
                else self.tr("coordinator.same_road")
            )
            box.add_widget(
                NearbyRow(
                    number=str(near.number),
                    title=row.row.title,
                    case_id=row.id,
                    enabled=self.may_merge,
                    detail="  ·  ".join(p for p in (where, row.row.state_label, row.row.road_name) if p),
                )
            )
