"""Sign in: server, user name, password; the network call runs on a thread, never on the UI's.

Exposes ``server_url``, ``username``, ``password`` (the screen writes them), ``busy``, ``error``
(already translated text, empty when none), ``pending_work`` (how many unacknowledged actions a
previous user left, when that blocks a different user's sign-in: the screen then offers export),
``signed_in`` (the profile once done), ``offline_user`` (the last user, who may keep working
offline). ``sign_in()`` starts the call; ``on_signed_in`` callbacks run on the UI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ..i18n import tr
from ..profile import UserProfile
from ..session import AppContext, PendingWork, complete_sign_in, login
from ..sync import SignedOut, SyncError, SyncRefused, SyncUnavailable
from .base import ViewModel

__all__ = ["SignInViewModel"]


class SignInViewModel(ViewModel):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.server_url = ctx.server_url
        self.username = ctx.profile.username if ctx.profile else ""
        self.password = ""
        self.busy = False
        self.error = ""
        self.pending_work = 0
        self.signed_in: UserProfile | None = None
        self._on_signed_in: list[Callable[[UserProfile], None]] = []
        self._thread: threading.Thread | None = None

    @property
    def offline_user(self) -> UserProfile | None:
        """Who may continue offline: the last signed-in user still has a token on this phone."""
        return self.ctx.profile if self.ctx.credentials.load() is not None else None

    @property
    def can_submit(self) -> bool:
        return bool(self.server_url.strip() and self.username.strip() and self.password) and not self.busy

    def on_signed_in(self, callback: Callable[[UserProfile], None]) -> None:
        self._on_signed_in.append(callback)

    def sign_in(self, export_to: str | Path | None = None) -> None:
        """Start signing in; returns at once. ``export_to``: where to export a previous user's work."""
        if not self.can_submit:
            self.error = tr("signin.missing", self.lang)
            self.changed()
            return
        self.busy, self.error = True, ""
        self.changed()
        url, user, password = self.server_url.strip().rstrip("/"), self.username.strip(), self.password
        http = self.ctx.http

        def work() -> None:
            try:
                answer = login(url, user, password, http)
            except (SyncError, ValueError, KeyError) as exc:
                failure = exc
                self.ctx.post_to_ui(lambda: self._failed(failure))
                return
            self.ctx.post_to_ui(lambda: self._complete(url, answer, export_to))

        self._thread = threading.Thread(target=work, name="roadchief-signin", daemon=True)
        self._thread.start()

    def wait(self, timeout: float = 30.0) -> None:
        """Tests: wait for the network half to finish (the UI half still needs ``post_to_ui``)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _complete(self, url: str, answer: dict, export_to: str | Path | None) -> None:
        try:
            profile = complete_sign_in(self.ctx, url, answer, export_to=export_to)
        except PendingWork as exc:
            self.busy, self.pending_work = False, exc.count
            self.error = tr("signin.pending_work", self.lang, n=exc.count)
            self.changed()
            return
        self.busy, self.password, self.error, self.pending_work = False, "", "", 0
        self.signed_in = profile
        self.changed()
        for callback in list(self._on_signed_in):
            callback(profile)

    def _failed(self, exc: Exception) -> None:
        self.busy = False
        if isinstance(exc, SyncRefused):
            reason = exc.reason or exc.code
        elif isinstance(exc, SyncUnavailable):
            reason = tr("sync.offline", self.lang)
        elif isinstance(exc, SignedOut):
            reason = "401"
        else:
            reason = str(exc)
        self.error = tr("signin.failed", self.lang, reason=reason)
        self.changed()
