"""The handler's screens: the queue (处置队列, deadline countdowns, overdue first) and one case to fix.

``HandlerScreen`` lists ``HandlerViewModel.rows``: each shows the time left, or how long overdue
in red. ``HandleScreen`` shows what to fix (the report's photos, where, when) and the actions the
engine allows: accept (接收); complete (处置完成) with a result note and "after" photos; return
(退回) with a reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.image import Image

from engine import Trigger

from ..widgets.rows import case_row_data
from .overview import QueueScreen, WorkScreen

__all__ = ["HandleScreen", "HandlerScreen"]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class HandlerScreen(QueueScreen):
    """The queue; binds to ``HandlerViewModel`` (shared with ``HandleScreen``)."""

    work_screen = "handle"

    def row_data(self, row: Any, now: Any) -> dict[str, Any]:
        data = case_row_data(row.row, self.lang, now)
        if row.rework_count:
            data["due_text"] += "  ·  " + self.tr("case.rework", n=row.rework_count)
        return data


class HandleScreen(WorkScreen):
    """One case to fix; binds to the queue's ``HandlerViewModel``."""

    may_accept = BooleanProperty(False)
    may_complete = BooleanProperty(False)
    may_return = BooleanProperty(False)
    photo_note = StringProperty("")
    has_after = BooleanProperty(False)

    def accept(self) -> None:
        self.vm.accept()  # stays here: the next step is fixing it

    def add_photo(self) -> None:
        self.vm.pick_photo()

    def complete(self) -> None:
        if self.done(self.vm.complete(self.ids.note.text)):
            self.ids.note.text = ""

    def return_case(self) -> None:
        if self.done(self.vm.return_case(self.ids.return_reason.text)):
            self.ids.return_reason.text = ""

    def render_actions(self) -> None:
        vm = self.vm
        self.may_accept = vm.may(Trigger.ACCEPT)
        self.may_complete = vm.may(Trigger.COMPLETE)
        self.may_return = vm.may(Trigger.RETURN_CASE)
        self.photo_note = (
            self.tr("case.photos_added", n=len(vm.photos)) if vm.photos else self.tr("handler.photo_needed")
        )
        box = self.ids.after_photos
        box.clear_widgets()
        self.has_after = bool(vm.photos)
        for sha in vm.photos[-4:]:
            path = vm.photo_path(sha)
            if path:
                box.add_widget(
                    Image(source=path, size_hint=(None, None), size=(dp(72), dp(72)), fit_mode="cover")
                )
