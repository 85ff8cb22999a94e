"""The base of every view-model: plain Python, observable, no Kivy.

A screen subscribes with ``subscribe(callback)`` and re-reads the view-model's attributes when
called; the UI helper binds Kivy properties that way. ``changed()`` calls every subscriber; it runs
on whatever thread changed the data, which is always the UI thread here (the sync worker posts its
results through ``post_to_ui`` first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..session import AppContext

__all__ = ["ViewModel"]


class ViewModel:
    """Holds the app context; subclasses load their data in ``refresh()`` and call ``changed()``."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._subscribers: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` whenever the data changes; returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def changed(self) -> None:
        for callback in list(self._subscribers):
            callback()

    def refresh(self) -> None:
        """Reload from the store (after a sync, on entering the screen) and notify."""
        self.changed()

    @property
    def lang(self) -> str:
        return self.ctx.lang
