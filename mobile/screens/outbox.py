"""The outbox: every action on its way — saved → queued → sent → acknowledged, or refused with the
server's reason in red — plus "sync now" and "export unsent work to a file"."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.recycleview import RecycleView

from ..widgets.rows import outbox_row_data
from ..widgets.screen import RCScreen

__all__ = ["OutboxList", "OutboxScreen"]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class OutboxList(RecycleView):
    """The outbox items, newest first."""


class OutboxScreen(RCScreen):
    """Binds to ``OutboxViewModel``."""

    summary = StringProperty("")
    export_text = StringProperty("")
    empty = BooleanProperty(False)

    def sync_now(self) -> None:
        self.vm.sync_now()
        self.app.sync_started()

    def export(self) -> None:
        if self.vm.pending == 0:
            self.export_text = self.tr("outbox.export_none")
            return
        path = self.vm.export()
        self.export_text = self.tr("outbox.exported", path=str(path))

    def render(self) -> None:
        vm, lang = self.vm, self.lang
        self.summary = self.tr("outbox.summary", pending=vm.pending, done=vm.acknowledged, refused=vm.refused)
        now = vm.ctx.now()
        titles = self.app.case_titles([row.case_id for row in vm.items]) if vm.items else {}
        # refusals first: what the server turned down is what the user must see and act on
        rows = sorted(vm.items, key=lambda row: row.state != "refused")
        self.ids.list.data = [outbox_row_data(row, lang, now, titles) for row in rows]
        self.empty = not vm.items
