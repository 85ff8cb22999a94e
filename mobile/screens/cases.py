"""My cases: a RecycleView of the user's cases (overdue first, in red), filtered open / overdue / all.

RecycleView keeps only the visible rows as widgets, so 5,000 cases open and scroll smoothly
(``bench/mobile.py`` measures it). Tapping a row opens the case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.recycleview import RecycleView

from ..widgets.rows import case_row_data
from ..widgets.screen import RCScreen

__all__ = ["CaseList", "CasesScreen"]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class CaseList(RecycleView):
    """The case list; rows call ``open_case`` on it when tapped."""

    def open_case(self, case_id: str) -> None:
        screen: Any = self.parent
        while screen is not None and not hasattr(screen, "open_case_row"):
            screen = None if screen.parent is screen else screen.parent
        if screen is not None:
            screen.open_case_row(case_id)


class CasesScreen(RCScreen):
    """Binds to ``CasesViewModel``."""

    filter = StringProperty("open")
    count_text = StringProperty("")
    empty = BooleanProperty(False)

    def set_filter(self, name: str) -> None:
        self.vm.set_filter(name)
        self.refresh()  # the toggle snaps back to the view-model's filter even if unchanged

    def open_case_row(self, case_id: str) -> None:
        self.app.show_case(case_id)

    def render(self) -> None:
        vm = self.vm
        self.filter = vm.filter
        for name in ("open", "overdue", "all"):
            self.ids[f"filter_{name}"].state = "down" if vm.filter == name else "normal"
        now, lang = vm.ctx.now(), self.lang
        self.ids.list.data = [case_row_data(row, lang, now) for row in vm.rows]
        self.count_text = self.tr("cases.count", n=vm.count)
        self.empty = not vm.rows
