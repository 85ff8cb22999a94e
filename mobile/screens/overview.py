"""The overview screen, and what the three desk screens share: the queue list and the case panel.

``QueueScreen`` lists a ``RoleQueueViewModel``'s rows in a RecycleView (only the visible rows are
widgets, so a queue of thousands opens and scrolls smoothly); tapping a row selects the case and
shows the role's work screen, which binds to the same view-model. ``WorkScreen`` draws what every
desk needs about the selected case — heading, tags (urgent, overdue, rework, escalated, sync
state), where and when, the "before" photos, refusals from the server, the deadline and the time
spent per step — and subclasses add their action cards. After an action the engine accepted,
the work screen goes back to the queue, which shows what was done.

``OverviewScreen`` binds to ``OverviewViewModel``: counts by step on the step colours, overdue and
rework, and one line per department.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.recycleview import RecycleView
from kivy.uix.recycleview.views import RecycleDataViewBehavior

from engine import STEP_OF_STATE, label

from ..widgets import theme
from ..widgets.common import Card, RefusalBox, Tag
from ..widgets.rows import case_row_data, format_duration, format_time
from ..widgets.screen import RCScreen

__all__ = [
    "DepartmentRow",
    "OverviewScreen",
    "QueueHeader",
    "QueueList",
    "QueueScreen",
    "StepTimeRow",
    "WorkExtras",
    "WorkHeader",
    "WorkScreen",
    "place_text",
]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


def place_text(where: tuple[float, float] | None, lang: str, tr: Any) -> str:
    """A position as the captions show it: ``39.93012, 116.19034`` or "no position"."""
    if where is None:
        return tr("roles.no_position")
    return f"{where[0]:.5f}, {where[1]:.5f}"


class QueueHeader(RecycleDataViewBehavior, Label):
    """A community's heading inside a queue (the coordinator's is grouped)."""


class QueueList(RecycleView):
    """The rows of a queue; a tapped row calls ``open_case`` here, which asks the screen."""

    def open_case(self, case_id: str) -> None:
        node: Any = self.parent
        while node is not None and not hasattr(node, "open_case_row"):
            node = node.parent
        if node is not None:
            node.open_case_row(case_id)


class QueueScreen(RCScreen):
    """A desk's queue. Subclasses name their ``work_screen`` and may override ``row_data``."""

    work_screen = ""
    summary = StringProperty("")
    notice = StringProperty("")
    empty = BooleanProperty(False)

    def open_case_row(self, case_id: str) -> None:
        self.vm.select(case_id)
        work = self.manager.get_screen(self.work_screen)
        if work.vm is not self.vm:
            work.attach(self.vm)
        work.render_now()
        self.app.show(self.work_screen)

    def row_data(self, row: Any, now: Any) -> dict[str, Any]:
        """A ``QueueRow`` as the dict a ``CaseRowView`` is filled from."""
        return case_row_data(row.row, self.lang, now)

    def rows_data(self) -> list[dict[str, Any]]:
        now = self.vm.ctx.now()
        return [self.row_data(row, now) for row in self.vm.rows]

    def render(self) -> None:
        vm = self.vm
        self.ids.list.data = self.rows_data()
        overdue = sum(1 for r in vm.rows if r.overdue)
        parts = [self.tr("roles.queue_count", n=vm.count)]
        if overdue:
            parts.append(self.tr("roles.overdue_count", n=overdue))
        self.summary = "  ·  ".join(parts)
        self.notice = self.tr("roles.done", what=vm.notice) if vm.notice else ""
        self.empty = not vm.rows

    def on_pre_enter(self, *args: Any) -> None:
        if self.vm is not None and self.vm.selected is not None:
            self.vm.selected = None  # back in the list: no case is open
        super().on_pre_enter(*args)


class StepTimeRow(BoxLayout):
    """One step's time: name on the step colour, the time, "now" when it is the current step."""

    step = StringProperty("feedback")
    text = StringProperty("")
    spent = StringProperty("")
    current = BooleanProperty(False)


_HEADER_FIELDS = (
    "heading",
    "step",
    "state_label",
    "overdue",
    "place",
    "reported",
    "deadline",
    "description",
    "before_count",
)


class WorkHeader(Card):
    """The selected case at the top of a work screen, on its step's colour (red edge when late)."""

    heading = StringProperty("")
    step = StringProperty("feedback")
    state_label = StringProperty("")
    overdue = BooleanProperty(False)
    place = StringProperty("")
    reported = StringProperty("")
    deadline = StringProperty("")
    description = StringProperty("")
    before_count = NumericProperty(0)


class WorkExtras(BoxLayout):
    """Below the actions: time per step, and the way to the full timeline."""

    def open_full_record(self) -> None:
        node: Any = self.parent
        while node is not None and not isinstance(node, WorkScreen):
            node = node.parent
        if node is not None:
            node.open_full_record()


class WorkScreen(RCScreen):
    """The selected case of a queue, with this desk's actions (subclasses add the action cards)."""

    heading = StringProperty("")
    step = StringProperty("feedback")
    state_label = StringProperty("")
    overdue = BooleanProperty(False)
    place = StringProperty("")
    reported = StringProperty("")
    description = StringProperty("")
    deadline = StringProperty("")
    error = StringProperty("")
    has_case = BooleanProperty(False)
    before_count = NumericProperty(0)
    refusal_count = NumericProperty(0)
    thumbnails = ListProperty()

    def go_back_to_queue(self) -> None:
        self.app.back()

    def done(self, result: Any) -> bool:
        """After an action: back to the queue when the engine accepted it; stay and show why not."""
        if result is not None and not hasattr(result, "code"):
            self.go_back_to_queue()
            return True
        return False

    def open_full_record(self) -> None:
        """The shared case screen: the full timeline with every photo and sync state."""
        if self.vm.selected:
            self.app.show_case(self.vm.selected)

    def dismiss(self, mutation_id: str) -> None:
        self.vm.dismiss(mutation_id)

    def render(self) -> None:
        vm, lang = self.vm, self.lang
        case, row = vm.case, vm.current
        self.has_case = case is not None and row is not None
        self.error = vm.error
        if case is None or row is None:
            self.heading = self.ids.header.heading = self.tr("case.not_found")
            return
        now = vm.ctx.now()
        self.heading = row.row.title
        self.step = STEP_OF_STATE[case.state].value
        self.state_label = row.row.state_label
        self.overdue = row.overdue
        road = row.row.road_name or self.tr("word.unknown_road")
        self.place = (
            self.tr("roles.place", road=road, community=row.community_name) if row.community_name else road
        )
        self.reported = self.tr(
            "roles.reported_ago",
            time=format_time(case.reported_at, lang, now),
            age=format_duration(row.age, lang),
        )
        self.description = case.description or self.tr("word.none")
        if case.due_at is None:
            self.deadline = self.tr("case.no_due")
        elif row.overdue:
            self.deadline = self.tr(
                "roles.due_overdue",
                time=format_time(case.due_at, lang, now),
                late=format_duration(row.row.overdue_by, lang),
            )
        else:
            self.deadline = self.tr(
                "roles.due_left",
                time=format_time(case.due_at, lang, now),
                left=format_duration(case.due_at - now, lang),
            )
        self._render_tags(row)
        self._render_refusals(vm)
        self._render_times(vm)
        self._render_before(vm)
        header = self.ids.header
        for name in _HEADER_FIELDS:
            setattr(header, name, getattr(self, name))
        self.render_actions()

    def render_actions(self) -> None:
        """Subclasses: copy the view-model's drafts and permissions onto their action cards."""

    def _render_tags(self, row: Any) -> None:
        tags = self.ids.header.ids.tags
        tags.clear_widgets()
        lang = self.lang
        if row.urgent:
            tags.add_widget(Tag(text=self.tr("roles.urgent"), fill=theme.DANGER, fg=theme.ON_PRIMARY))
        if row.overdue:
            tags.add_widget(
                Tag(
                    text=self.tr("case.overdue_by", time=format_duration(row.row.overdue_by, lang)),
                    fill=theme.DANGER_BG,
                    fg=theme.DANGER,
                )
            )
        elif row.completed_late:
            tags.add_widget(Tag(text=self.tr("roles.completed_late"), fill=theme.DANGER_BG, fg=theme.DANGER))
        if row.rework_count:
            tags.add_widget(
                Tag(
                    text=self.tr("case.rework", n=row.rework_count),
                    fill=theme.hex_rgba("#efe7fb"),
                    fg=theme.STEP_FG["supervision"],
                )
            )
        if row.escalated:
            tags.add_widget(Tag(text=self.tr("roles.escalated")))
        if row.department_name:
            tags.add_widget(
                Tag(text=row.department_name, fill=theme.hex_rgba("#e2f5e1"), fg=theme.STEP_FG["disposal"])
            )
        if row.row.sync_state not in ("synced", "refused"):
            tags.add_widget(
                Tag(
                    text=self.tr(f"outbox.state.{row.row.sync_state}"),
                    fill=theme.hex_rgba("#fff4d6"),
                    fg=theme.hex_rgba("#7a5600"),
                )
            )

    def _render_refusals(self, vm: Any) -> None:
        box = self.ids.refusals
        box.clear_widgets()
        self.refusal_count = len(vm.refusals)
        for refusal in vm.refusals:
            box.add_widget(
                RefusalBox.with_dismiss(
                    self.tr("case.refused") + "  ·  " + self.tr("case.refused_action", what=refusal.what),
                    refusal.reason + "\n" + self.tr("roles.now_state", state=self.state_label),
                    self.tr("case.dismiss"),
                    lambda mid=refusal.mutation_id: self.dismiss(mid),
                )
            )

    def _render_times(self, vm: Any) -> None:
        box = self.ids.extras.ids.times
        box.clear_widgets()
        for item in vm.times:
            box.add_widget(
                StepTimeRow(
                    step=item.step.value,
                    text=item.label,
                    spent=format_duration(item.spent, self.lang),
                    current=item.current,
                )
            )

    def _render_before(self, vm: Any) -> None:
        box = self.ids.header.ids.before_photos
        box.clear_widgets()
        shas = list(vm.before.photos) if vm.before else []
        self.before_count = len(shas)
        for sha in shas[:4]:
            path = vm.photo_path(sha)
            if path:
                box.add_widget(
                    Image(source=path, size_hint=(None, None), size=(dp(84), dp(84)), fit_mode="cover")
                )
            else:
                box.add_widget(
                    Label(
                        text=self.tr("roles.photo_loading"),
                        size_hint=(None, None),
                        size=(dp(84), dp(84)),
                        font_size="12sp",
                        color=theme.MUTED,
                    )
                )


class DepartmentRow(BoxLayout):
    """One department in the overview: open, overdue, reworked."""

    name = StringProperty("")
    open = NumericProperty(0)
    overdue = NumericProperty(0)
    reworked = NumericProperty(0)


class OverviewScreen(RCScreen):
    """Binds to ``OverviewViewModel``."""

    total = StringProperty("")
    overdue = NumericProperty(0)
    reworked = NumericProperty(0)
    closed = NumericProperty(0)

    def render(self) -> None:
        vm, lang = self.vm, self.lang
        self.total = self.tr("home.open_total", n=vm.total_open)
        self.overdue, self.reworked, self.closed = vm.overdue, vm.reworked, vm.closed
        grid = self.ids.steps
        grid.clear_widgets()
        from .home import StepTile  # the home screen's tile: the same look for the same numbers

        for step, count in vm.counts_by_step.items():
            grid.add_widget(StepTile(step=step.value, count=count, text=label(step, lang)))
        box = self.ids.departments
        box.clear_widgets()
        if not vm.departments:
            box.add_widget(
                Label(
                    text=self.tr("overview.no_departments"),
                    size_hint_y=None,
                    height=dp(36),
                    color=theme.MUTED,
                    font_size="14sp",
                )
            )
        for line in vm.departments:
            box.add_widget(
                DepartmentRow(name=line.name, open=line.open, overdue=line.overdue, reworked=line.reworked)
            )
