"""The supervisor's queue (督察): disposed cases, before and after side by side; approve or send back.

Exposes, beyond ``RoleQueueViewModel``: ``before`` and ``after`` (``PhotoSide``: the photos, when
and where they were taken — the report's and the latest completion's time and position — and
who took them), ``after_note`` (the handler's result note), ``moved_m`` (how far the "after"
position is from the "before" one, when both are known), and ``photo_path(sha)`` (a local file
to show, or ``None`` while it downloads). Rows are flagged ``overdue``, ``completed_late`` and
``rework_count``; flagged rows come first, then the longest waiting.

Actions: ``approve(note="")`` closes the loop; ``reject(reason)`` sends it back for rework (返工).

Photos: a phone keeps the photos it took; others' photos are fetched by ``PhotoFetcher`` from
``GET /api/v1/photos/{sha}`` on a worker thread (the core's sync worker uploads but does not
download), and stored under the hash the case names — the server serves a cleaned copy whose own
hash differs — on the UI thread, through ``post_to_ui``.
"""

from __future__ import annotations

from engine import Case, Rejection, Role, State, Trigger

from ..session import AppContext
from .common import distance_m
from .overview import PhotoFetcher, PhotoSide, QueueRow, RoleQueueViewModel, photo_sides

__all__ = ["PhotoFetcher", "PhotoSide", "SupervisorViewModel", "photo_sides"]


class SupervisorViewModel(RoleQueueViewModel):
    STATES = frozenset({State.SUPERVISION})
    ACTIONS = frozenset({Trigger.APPROVE, Trigger.REJECT})
    ROLE = Role.SUPERVISOR

    def __init__(self, ctx: AppContext) -> None:
        self.after: PhotoSide | None = None
        super().__init__(ctx)

    def _sort(self, rows: list[QueueRow]) -> list[QueueRow]:
        def flagged(r: QueueRow) -> bool:
            return r.overdue or r.completed_late or r.rework_count > 0

        return sorted(rows, key=lambda r: (not flagged(r), -r.waiting.total_seconds()))

    def _load_selected(self, sync: dict[str, tuple[str, str, str]] | None = None) -> None:
        super()._load_selected(sync)
        if self.case is None:
            self.after = None
            return
        self.after = photo_sides(self.case, self.case_events())[1]
        self.fetcher.ensure(self.after.photos)

    @property
    def after_note(self) -> str:
        return self.after.note if self.after else ""

    @property
    def moved_m(self) -> float | None:
        if self.before is None or self.after is None or not self.before.where or not self.after.where:
            return None
        return distance_m(self.before.where, self.after.where)

    def approve(self, note: str = "") -> Case | Rejection | None:
        """核查通过: the loop is closed."""
        return self.act(Trigger.APPROVE, {"note": note} if note.strip() else {})

    def reject(self, reason: str) -> Case | Rejection | None:
        """返工: back to the department that did it, with the reason."""
        return self.act(Trigger.REJECT, {"reason": reason})
