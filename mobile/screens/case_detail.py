"""One case: state on the step's colour, deadline (red when overdue), refusals in red boxes,
photos, the actions the engine allows this user now, and the timeline.

Only ``CaseDetailViewModel.actions()`` — ``engine.allowed_triggers`` for this user and case —
becomes buttons; the screen only gathers the arguments each trigger reads (a note or reason,
photos, a department).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.image import Image

from engine import STEP_OF_STATE, Trigger, Urgency, label

from ..i18n import capitalised
from ..photos import keep_photo
from ..widgets import theme
from ..widgets.common import PrimaryButton, RefusalBox, RoundButton, Tag
from ..widgets.rows import TimelineRow, format_duration, format_time
from ..widgets.screen import RCScreen

__all__ = ["CaseDetailScreen", "action_args"]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))

_REASON = {Trigger.ESCALATE, Trigger.CANCEL, Trigger.RETURN_CASE, Trigger.REJECT}
_RESULT = {Trigger.FIX_ON_SPOT, Trigger.COMPLETE}
# the step an event moves the case into, for the timeline's dot
_STEP_OF_TRIGGER = {
    Trigger.REPORT: "feedback",
    Trigger.FIX_ON_SPOT: "supervision",
    Trigger.DISPATCH: "disposal",
    Trigger.ESCALATE: "coordination",
    Trigger.MERGE: "done",
    Trigger.CANCEL: "done",
    Trigger.ACCEPT: "disposal",
    Trigger.RETURN_CASE: "coordination",
    Trigger.COMPLETE: "supervision",
    Trigger.APPROVE: "done",
    Trigger.REJECT: "disposal",
}


def action_args(trigger: Trigger, note: str, photos: list[str], department_id: str | None) -> dict[str, Any]:
    """The arguments the engine reads for ``trigger``, from what the form gathered."""
    args: dict[str, Any] = {}
    if trigger in _REASON:
        args["reason"] = note
    elif trigger in _RESULT:
        args["note"] = note
        args["photos"] = photos
    elif trigger is Trigger.APPROVE and note:
        args["note"] = note
    elif trigger is Trigger.COMMENT:
        args["text"] = note
    elif trigger is Trigger.ATTACH_PHOTOS:
        args["photos"] = photos
        args["kind"] = "before"
    elif trigger is Trigger.DISPATCH:
        args["department_id"] = department_id
    elif trigger is Trigger.MERGE:
        args["into"] = note
    return args


class CaseDetailScreen(RCScreen):
    """Binds to a ``CaseDetailViewModel`` (one per case; the app swaps it in)."""

    heading = StringProperty("")
    subtitle = StringProperty("")
    step = StringProperty("feedback")
    state_label = StringProperty("")
    overdue = BooleanProperty(False)
    road = StringProperty("")
    reported = StringProperty("")
    due = StringProperty("")
    department = StringProperty("")
    description = StringProperty("")
    step_times = StringProperty("")
    has_photos = BooleanProperty(False)
    has_actions = BooleanProperty(False)
    needs_department = BooleanProperty(False)
    department_names = ListProperty()
    department_choice = StringProperty("")
    photo_note = StringProperty("")
    error = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._photos: list[str] = []
        self._departments: dict[str, str] = {}

    def attach(self, vm: Any) -> None:
        self._photos = []
        self.photo_note = ""
        if "note" in self.ids:
            self.ids.note.text = ""
        super().attach(vm)

    # --- actions ------------------------------------------------------------------------------

    def act(self, trigger: Trigger) -> None:
        department = self._departments.get(self.department_choice)
        args = action_args(trigger, self.ids.note.text.strip(), list(self._photos), department)
        result = self.vm.act(trigger, args)
        if result is not None and not self.vm.error:
            self.ids.note.text = ""
            self._photos = []
            self.photo_note = ""

    def add_photo(self) -> None:
        ctx = self.vm.ctx

        def chosen(data: bytes) -> None:
            try:
                sha = keep_photo(ctx.store, data, ctx.now())
            except OSError as exc:
                self.error = str(exc)
                return
            if sha not in self._photos:
                self._photos.append(sha)
            self.photo_note = self.tr("case.photos_added", n=len(self._photos))

        ctx.services.pick_photo(chosen)

    def dismiss(self, mutation_id: str) -> None:
        self.vm.dismiss(mutation_id)

    # --- drawing ------------------------------------------------------------------------------

    def render(self) -> None:
        vm, lang = self.vm, self.lang
        case, row = vm.case, vm.row
        if case is None or row is None:
            self.heading = self.tr("case.not_found")
            self.has_actions = False
            return
        now = vm.ctx.now()
        self.heading = row.title
        self.step = STEP_OF_STATE[case.state].value
        self.state_label = capitalised(row.state_label, lang)
        self.overdue = row.overdue
        self.subtitle = f"{case.category_code}  ·  #{case.id[:8]}"
        self.road = row.road_name or self.tr("word.unknown_road")
        self.reported = format_time(case.reported_at, lang, now)
        deadline = format_time(case.due_at, lang, now)
        if row.overdue:
            left = self.tr("case.overdue_by", time=format_duration(row.overdue_by, lang))
            self.due = f"{deadline}  {left}"
        elif case.due_at is not None and case.is_final:
            self.due = deadline  # a closed case has no time left to count
        elif case.due_at is not None:
            left = self.tr("case.due_in", time=format_duration(case.due_at - now, lang))
            self.due = f"{deadline}  {left}"
        else:
            self.due = self.tr("case.no_due")
        self.department = vm.department_name or self.tr("word.none")
        self.description = case.description or self.tr("word.none")
        self.error = vm.error
        self._render_tags(case, row)
        self._render_refusals(vm)
        self._render_photos(vm, case)
        self._render_actions(vm)
        self.step_times = "   ".join(
            f"{t.label} {format_duration(t.spent, lang)}{'…' if t.current else ''}" for t in vm.times
        )
        self._render_timeline(vm)

    def _render_tags(self, case: Any, row: Any) -> None:
        tags = self.ids.tags
        for child in [c for c in tags.children if isinstance(c, Tag)]:  # the state chip stays
            tags.remove_widget(child)
        if case.urgency is Urgency.URGENT:
            tags.add_widget(
                Tag(text=label(Urgency.URGENT, self.lang), fill=theme.DANGER, fg=theme.ON_PRIMARY)
            )
        if row.overdue:
            tags.add_widget(
                Tag(
                    text=self.tr("case.overdue_by", time=format_duration(row.overdue_by, self.lang)),
                    fill=theme.DANGER_BG,
                    fg=theme.DANGER,
                )
            )
        if case.rework_count:
            tags.add_widget(Tag(text=self.tr("case.rework", n=case.rework_count)))
        if row.sync_state not in ("synced", "refused"):
            tags.add_widget(
                Tag(
                    text=self.tr(f"outbox.state.{row.sync_state}"),
                    fill=theme.hex_rgba("#fff4d6"),
                    fg=theme.hex_rgba("#7a5600"),
                )
            )

    def _render_refusals(self, vm: Any) -> None:
        box = self.ids.refusals
        box.clear_widgets()
        for entry in vm.refusals:
            box.add_widget(
                RefusalBox.with_dismiss(
                    self.tr("case.refused") + "  ·  " + self.tr("case.refused_action", what=entry.what),
                    entry.reason,
                    self.tr("case.dismiss"),
                    lambda mid=entry.id: self.dismiss(mid),
                )
            )

    def _render_photos(self, vm: Any, case: Any) -> None:
        box = self.ids.photos
        box.clear_widgets()
        shas = list(case.before_photos) + list(case.after_photos)
        self.has_photos = bool(shas)
        for sha in shas[:4]:
            row = vm.ctx.store.photo(sha)
            if row is not None:
                box.add_widget(
                    Image(source=row.path, size_hint=(None, None), size=(dp(84), dp(84)), fit_mode="cover")
                )

    def _render_actions(self, vm: Any) -> None:
        grid = self.ids.actions
        grid.clear_widgets()
        actions = vm.actions()
        self.has_actions = bool(actions)
        self.needs_department = any(t is Trigger.DISPATCH for t, _ in actions)
        departments = vm.ctx.reference.departments
        self._departments = {str(d.get("name", d.get("id"))): str(d.get("id")) for d in departments}
        self.department_names = list(self._departments)
        if self.needs_department and self.department_choice not in self._departments:
            self.department_choice = self.department_names[0] if self.department_names else ""
        for index, (trigger, text) in enumerate(actions):
            cls = PrimaryButton if index == 0 else RoundButton
            button = cls(text=capitalised(text, self.lang))
            button.bind(on_release=lambda _b, t=trigger: self.act(t))
            grid.add_widget(button)

    def _render_timeline(self, vm: Any) -> None:
        card = self.ids.timeline
        card.clear_widgets()
        now, entries = vm.ctx.now(), vm.timeline
        for index, entry in enumerate(entries):
            try:
                step = _STEP_OF_TRIGGER.get(Trigger(entry.trigger), self.step)
            except ValueError:
                step = self.step
            refused = entry.sync_state == "refused"
            card.add_widget(
                TimelineRow(
                    what=capitalised(entry.what, self.lang),
                    who=f"{entry.who}（{entry.role_label}）"
                    if self.lang == "zh"
                    else f"{entry.who} ({entry.role_label})",
                    when=format_time(entry.when, self.lang, now),
                    note=entry.note,
                    step=step,
                    sync_label=""
                    if entry.sync_state == "synced"
                    else self.tr(f"outbox.state.{entry.sync_state}"),
                    refused=refused,
                    reason=entry.reason if refused else "",
                    last=index == len(entries) - 1,
                )
            )
