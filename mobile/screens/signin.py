"""Sign in: server, user name, password. The login call runs on a thread; the screen never waits.

If the last user still has a token on this phone, "continue offline" opens the cached data.
"""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty

from ..widgets.screen import RCScreen

__all__ = ["SignInScreen"]

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class SignInScreen(RCScreen):
    """Binds to ``SignInViewModel``: fields write into it, ``busy``/``error`` come back from it."""

    busy = BooleanProperty(False)
    error = StringProperty("")
    offline_user = StringProperty("")

    def attach(self, vm: object) -> None:
        super().attach(vm)
        self.ids.server.text = self.vm.server_url
        self.ids.user.text = self.vm.username

    def on_field(self, name: str, text: str) -> None:
        """Typing goes straight into the view-model (``server_url``, ``username``, ``password``)."""
        if self.vm is not None:
            setattr(self.vm, name, text)

    def submit(self) -> None:
        if self.vm is not None and not self.vm.busy:
            self.vm.sign_in()

    def render(self) -> None:
        vm = self.vm
        self.busy = vm.busy
        self.error = vm.error
        user = vm.offline_user
        self.offline_user = user.name if user is not None and not vm.busy else ""
        if not vm.password and self.ids.password.text:
            self.ids.password.text = ""  # the view-model forgets the password once signed in
