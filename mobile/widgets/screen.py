"""``RCScreen``: the base of every screen — its view-model, its title, and coalesced redraws.

A screen subscribes to its view-model once (``attach``). The view-model's callback may come from
any code path, so it only fires a ``Clock.create_trigger``: many changes in one frame become one
``render()`` on the main thread, the Electrum way. ``render()`` reads the view-model and sets widget
properties; it never touches the network or the database.
"""

from __future__ import annotations

import time
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from .. import i18n

__all__ = ["RCScreen"]


class RCScreen(Screen):
    """A screen with a view-model (``vm``), a title key and a highlighted bottom tab."""

    title_key = StringProperty("")
    nav_tab = StringProperty("")  # the bottom tab lit while this screen shows ("" hides the bar)
    can_go_back = BooleanProperty(False)
    vm: Any = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._render_trigger = Clock.create_trigger(self._render, 0)
        self._unsubscribe: Any = None
        self._fresh_until = 0.0

    # --- the view-model -------------------------------------------------------------------------

    def attach(self, vm: Any) -> None:
        """Bind this screen to its view-model: every change it announces schedules one redraw."""
        if self._unsubscribe is not None:
            self._unsubscribe()  # a screen follows one view-model at a time
            self._unsubscribe = None
        self.vm = vm
        self._fresh_until = time.monotonic() + 1.0  # just loaded: showing it now need not reload
        subscribe = getattr(vm, "subscribe", None)
        if subscribe is not None:
            self._unsubscribe = subscribe(self._changed)
        self.refresh()

    def detach(self) -> None:
        """Stop following the view-model and drop any redraw still scheduled (app shutting down)."""
        self._render_trigger.cancel()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.vm = None

    def _changed(self, *_args: Any) -> None:
        self._render_trigger()

    def refresh(self) -> None:
        """Schedule a redraw (language changed, screen shown, data changed)."""
        self._render_trigger()

    def _render(self, _dt: float) -> None:
        if self.vm is not None:
            self.render()

    def render(self) -> None:
        """Copy the view-model's state onto the widgets. Subclasses override it."""

    # --- helpers for subclasses ---------------------------------------------------------------

    @property
    def app(self) -> Any:
        """The running ``RoadChiefApp`` (navigation: ``show``, ``show_case``, ``back``)."""
        return App.get_running_app()

    @property
    def lang(self) -> str:
        app = App.get_running_app()
        return getattr(app, "lang", i18n.DEFAULT_LANGUAGE)

    def tr(self, key: str, **values: object) -> str:
        """A UI string in the app's current language."""
        return i18n.tr(key, self.lang, **values)

    def render_now(self) -> None:
        """Redraw at once instead of next frame (tests, and the first frame of a screen)."""
        self._render_trigger.cancel()
        self._render(0)

    def on_pre_enter(self, *_args: Any) -> None:
        """Reload the view-model from the store each time the screen is shown."""
        if self.vm is not None and time.monotonic() > self._fresh_until:
            self.vm.refresh()
        self._fresh_until = 0.0
        self.refresh()
