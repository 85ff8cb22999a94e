"""The department handler's queue (处置): dispatched cases with countdowns, overdue first.

Exposes, beyond ``RoleQueueViewModel`` (whose ``before`` shows what to fix, where and when):
``photos`` (the "after" photos taken for the completion, kept on the phone),
``location`` (where the fix is reported from: the GPS fix, if any), ``photo_path(sha)``, and
``can_complete``. Rows: overdue first (most overdue on top), then the nearest deadline.

Actions: ``accept()`` (接收), ``return_case(reason)`` (退回: not ours), ``complete(note)`` (处置完成,
with the after photos and where they were taken); ``add_photo(bytes)`` / ``pick_photo()`` /
``remove_photo(sha)`` gather the photos first.
"""

from __future__ import annotations

from datetime import timedelta

from engine import Case, Rejection, Role, State, Trigger

from ..i18n import tr
from ..photos import keep_photo
from ..session import AppContext
from .overview import QueueRow, RoleQueueViewModel

__all__ = ["HandlerViewModel"]

_FAR = timedelta(days=36500)


class HandlerViewModel(RoleQueueViewModel):
    STATES = frozenset({State.DISPATCHED, State.DISPOSAL})
    ACTIONS = frozenset({Trigger.ACCEPT, Trigger.RETURN_CASE, Trigger.COMPLETE})
    ROLE = Role.HANDLER

    def __init__(self, ctx: AppContext) -> None:
        self.photos: list[str] = []
        self.location: tuple[float, float] | None = None
        super().__init__(ctx)

    def _sort(self, rows: list[QueueRow]) -> list[QueueRow]:
        # overdue first, most overdue on top; then whatever is due soonest
        return sorted(rows, key=lambda r: (not r.overdue, r.remaining if r.remaining is not None else _FAR))

    def _on_select(self) -> None:
        self.photos = []
        self.location = None

    # --- the after photos ---------------------------------------------------------------------

    def add_photo(self, data: bytes) -> str | None:
        """Shrink and keep an "after" photo on the phone; it uploads with the completion."""
        try:
            sha = keep_photo(self.ctx.store, data, self.ctx.now())
        except OSError as exc:  # not an image, or the disk is full
            self.error = str(exc)
            self.changed()
            return None
        if sha not in self.photos:
            self.photos.append(sha)
        self.location = self.ctx.services.location() or self.location
        self.changed()
        return sha

    def pick_photo(self) -> None:
        """Ask the camera (or the desktop chooser); the photo arrives later through ``add_photo``."""
        self.ctx.services.pick_photo(self.add_photo)

    def remove_photo(self, sha: str) -> None:
        if sha in self.photos:
            self.photos.remove(sha)
            self.changed()

    @property
    def can_complete(self) -> bool:
        return self.may(Trigger.COMPLETE) and bool(self.photos)

    # --- actions ------------------------------------------------------------------------------

    def accept(self) -> Case | Rejection | None:
        """接收: the department takes the case; its deadline keeps running."""
        return self.act(Trigger.ACCEPT, {})

    def return_case(self, reason: str) -> Case | Rejection | None:
        """退回: not this department's; back to the coordinator with the reason."""
        return self.act(Trigger.RETURN_CASE, {"reason": reason})

    def complete(self, note: str) -> Case | Rejection | None:
        """处置完成: the result note and the after photos, with where they were taken."""
        if not self.photos and self.may(Trigger.COMPLETE):
            self.error = tr("handler.need_photo", self.lang)
            self.changed()
            return None
        args: dict[str, object] = {"note": note, "photos": list(self.photos)}
        fix = self.location or self.ctx.services.location()
        if fix is not None:
            args["location"] = {"lat": fix[0], "lon": fix[1]}
        result = self.act(Trigger.COMPLETE, args)
        if isinstance(result, Case):
            self.photos, self.location = [], None
        return result
