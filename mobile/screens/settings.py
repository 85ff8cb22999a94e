"""Settings: who is signed in, language (中文 / English), the server, and signing out.

Binds to ``SettingsViewModel``. Signing out with unsent work takes two taps: the first shows how
many actions are waiting and that they stay on the phone (with an export button beside it), the
second signs out. The work is never discarded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from ..widgets.screen import RCScreen

__all__ = ["SettingsScreen"]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class SettingsScreen(RCScreen):
    """Binds to ``SettingsViewModel``."""

    user_name = StringProperty("")
    user_line = StringProperty("")
    server_line = StringProperty("")
    device_line = StringProperty("")
    current_lang = StringProperty("zh")
    server_error = StringProperty("")
    message = StringProperty("")
    pending = NumericProperty(0)
    confirming = BooleanProperty(False)

    def set_language(self, code: str) -> None:
        self.vm.set_language(code)
        self.refresh()

    def save_server(self) -> None:
        self.vm.set_server(self.ids.server.text)

    def export(self) -> None:
        self.vm.export()

    def sign_out(self) -> None:
        self.vm.sign_out()

    def keep_signed_in(self) -> None:
        self.vm.keep_signed_in()

    def on_pre_enter(self, *args: Any) -> None:
        if self.vm is not None:
            self.ids.server.text = self.vm.server_url
        super().on_pre_enter(*args)

    def render(self) -> None:
        vm = self.vm
        user = vm.user
        self.user_name = user.name if user else ""
        self.user_line = "  ·  ".join(p for p in (vm.role_label, vm.street_name) if p)
        self.server_line = self.tr(
            "settings.signed_in_server", url=vm.signed_in_server or self.tr("word.none")
        )
        self.device_line = self.tr("settings.device", id=vm.device_id[:8])
        self.current_lang = vm.lang
        for code in ("zh", "en"):
            self.ids[f"lang_{code}"].state = "down" if vm.lang == code else "normal"
        if not self.ids.server.text:
            self.ids.server.text = vm.server_url
        self.server_error = vm.server_error
        self.message = vm.message
        self.pending = vm.pending
        self.confirming = vm.confirming
