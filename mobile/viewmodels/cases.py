"""My cases: the user's cases (reported by me / on my roads, or by role), overdue first.

Exposes ``filter`` (``"open"``, ``"all"`` or ``"overdue"``; ``set_filter()``), ``rows`` (list of
``CaseRow``: title, step and state labels, overdue flag and by how much, sync state and refusal
text), ``count``. Sorted: overdue first (most overdue on top), then by deadline, then newest.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..session import AppContext
from .base import ViewModel
from .common import CaseRow, case_row, case_sync_states, my_cases

__all__ = ["FILTERS", "CasesViewModel"]

FILTERS = ("open", "all", "overdue")
_FAR = datetime(9999, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CasesViewModel(ViewModel):
    def __init__(self, ctx: AppContext, filter: str = "open") -> None:
        super().__init__(ctx)
        self.filter = filter
        self.rows: list[CaseRow] = []
        self.refresh()

    @property
    def count(self) -> int:
        return len(self.rows)

    def set_filter(self, name: str) -> None:
        if name not in FILTERS:
            raise ValueError(f"filter must be one of {FILTERS}")
        self.filter = name
        self.refresh()

    def refresh(self) -> None:
        profile = self.ctx.profile
        if profile is None:
            self.rows = []
            self.changed()
            return
        store, reference, now = self.ctx.store, self.ctx.reference, self.ctx.now()
        cases = my_cases(store, profile, reference, open_only=self.filter != "all")
        sync = case_sync_states(store)
        rows = [case_row(c, now, reference, self.lang, sync.get(c.id)) for c in cases]
        if self.filter == "overdue":
            rows = [r for r in rows if r.overdue]
        rows.sort(
            key=lambda r: (
                not r.overdue,
                -r.overdue_by.total_seconds(),
                r.due_at or _FAR,
                -(r.reported_at or _EPOCH).timestamp(),
            )
        )
        self.rows = rows
        self.changed()
