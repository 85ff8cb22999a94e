"""The supervisor's screens: the queue (督察队列; overdue and reworked cases flagged, first) and one
case to verify, its "before" and "after" photos side by side with when and where each was taken.

``SuperviseScreen`` offers the two verdicts the engine allows: approve (核查通过) closes the loop;
reject (返工) sends it back to the department with a reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.properties import BooleanProperty

from engine import Trigger

from ..widgets import photo_compare  # noqa: F401  (registers PhotoCompare for the kv rule)
from ..widgets.rows import case_row_data, format_duration, format_time
from .overview import QueueScreen, WorkScreen, place_text

__all__ = ["SuperviseScreen", "SupervisorScreen"]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class SupervisorScreen(QueueScreen):
    """The queue; binds to ``SupervisorViewModel`` (shared with ``SuperviseScreen``)."""

    work_screen = "supervise"

    def row_data(self, row: Any, now: Any) -> dict[str, Any]:
        data = case_row_data(row.row, self.lang, now)
        flags = []
        if row.overdue:
            flags.append(self.tr("case.overdue_by", time=format_duration(row.row.overdue_by, self.lang)))
        elif row.completed_late:
            flags.append(self.tr("roles.completed_late"))
        if row.rework_count:
            flags.append(self.tr("case.rework", n=row.rework_count))
        waiting = self.tr("roles.waiting", time=format_duration(row.waiting, self.lang))
        data["due_text"] = "  ·  ".join([*flags, waiting])
        data["overdue"] = bool(row.overdue or row.completed_late or row.rework_count)
        data["meta"] = "  ·  ".join(p for p in (row.row.road_name, row.department_name) if p)
        return data


class SuperviseScreen(WorkScreen):
    """One case to verify; binds to the queue's ``SupervisorViewModel``."""

    may_approve = BooleanProperty(False)
    may_reject = BooleanProperty(False)

    def approve(self) -> None:
        if self.done(self.vm.approve(self.ids.verdict.text)):
            self.ids.verdict.text = ""

    def reject(self) -> None:
        if self.done(self.vm.reject(self.ids.verdict.text)):
            self.ids.verdict.text = ""

    def _render_before(self, vm: Any) -> None:
        self.before_count = 0  # the comparison below shows them, larger

    def render_actions(self) -> None:
        vm, lang = self.vm, self.lang
        self.may_approve = vm.may(Trigger.APPROVE)
        self.may_reject = vm.may(Trigger.REJECT)
        compare = self.ids.compare
        now = vm.ctx.now()
        for side, panel, heading in (
            (vm.before, compare.ids.before, "supervisor.before"),
            (vm.after, compare.ids.after, "supervisor.after"),
        ):
            panel.heading = self.tr(heading)
            if side is None:
                panel.source, panel.when, panel.where, panel.more = "", "", "", 0
                panel.placeholder = self.tr("supervisor.no_photo")
                continue
            first = side.photos[0] if side.photos else None
            path = vm.photo_path(first) if first else None
            panel.source = path or ""
            failed = first is not None and first in vm.fetcher.failed
            panel.placeholder = self.tr(
                "supervisor.no_photo"
                if first is None
                else "roles.photo_failed"
                if failed
                else "roles.photo_loading"
            )
            panel.more = max(0, len(side.photos) - 1)
            panel.when = (
                self.tr("supervisor.taken_at", time=format_time(side.when, lang, now)) if side.when else ""
            )
            panel.where = place_text(side.where, lang, self.tr)
        moved = vm.moved_m
        parts = []
        if vm.after_note:
            parts.append(self.tr("supervisor.result_note", note=vm.after_note))
        if moved is not None:
            parts.append(self.tr("supervisor.moved", n=round(moved)))
        compare.note = "\n".join(parts)
