"""Settings: language (中文 / English), the server, and signing out without losing work.

Exposes ``languages`` (``[(code, name)]``), ``lang``, ``server_url`` (what the next sign-in uses)
with ``server_error``, ``user`` (the profile), ``role_label``, ``street_name``, ``device_id``,
``pending`` (actions the server has not acknowledged), ``confirming`` (a sign-out is waiting for
the user's second tap because work is pending), ``message`` (translated: what just happened) and
``last_export``.

- ``set_language(code)`` switches at once; the app listens (``on_language``) to relabel itself.
- ``set_server(url)`` checks the address and keeps it for the next sign-in (``on_server``); the
  signed-in session keeps talking to the server it signed in to, so queued work never goes to a
  server that did not see the rest of it.
- ``sign_out()``: with nothing pending it signs out at once. With work pending the first call
  only warns (``confirming``; the work stays on the phone and uploads when the same user signs in
  again; ``export()`` writes it to a file first), the second signs out. Nothing is ever discarded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from engine import label

from ..i18n import LANGUAGES, tr
from ..outbox import export_unsent
from ..profile import UserProfile
from ..session import AppContext
from ..session import sign_out as end_session
from .base import ViewModel

__all__ = ["LANGUAGE_NAMES", "SettingsViewModel"]

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


class SettingsViewModel(ViewModel):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.server_url = ctx.server_url
        self.server_error = ""
        self.confirming = False
        self.message = ""
        self.pending = 0
        self.signed_out = False
        self.last_export: Path | None = None
        self._on_language: list[Callable[[str], None]] = []
        self._on_server: list[Callable[[str], None]] = []
        self._on_signed_out: list[Callable[[int], None]] = []
        self.refresh()

    # --- listeners (the app) ------------------------------------------------------------------

    def on_language(self, callback: Callable[[str], None]) -> None:
        self._on_language.append(callback)

    def on_server(self, callback: Callable[[str], None]) -> None:
        self._on_server.append(callback)

    def on_signed_out(self, callback: Callable[[int], None]) -> None:
        self._on_signed_out.append(callback)

    # --- what the screen shows ----------------------------------------------------------------

    @property
    def languages(self) -> list[tuple[str, str]]:
        return [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]

    @property
    def user(self) -> UserProfile | None:
        return self.ctx.profile

    @property
    def role_label(self) -> str:
        return label(self.user.role, self.lang) if self.user else ""

    @property
    def street_name(self) -> str:
        return str(self.ctx.reference.street.get("name") or "")

    @property
    def device_id(self) -> str:
        return self.ctx.store.device_id

    @property
    def signed_in_server(self) -> str:
        return self.ctx.server_url

    def refresh(self) -> None:
        self.pending = self.ctx.store.unacknowledged()
        if not self.pending:
            self.confirming = False
        self.changed()

    # --- actions ------------------------------------------------------------------------------

    def set_language(self, code: str) -> None:
        if code not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}")
        self.ctx.lang = code
        self.message = ""
        for callback in list(self._on_language):
            callback(code)
        self.changed()

    def set_server(self, url: str) -> bool:
        """Keep a server address for the next sign-in; returns whether it was accepted."""
        url = url.strip().rstrip("/")
        parts = urlparse(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.server_error = tr("settings.server_invalid", self.lang)
            self.changed()
            return False
        self.server_url, self.server_error = url, ""
        same = url == self.ctx.server_url.rstrip("/")
        self.message = tr("settings.server_saved" if same else "settings.server_next", self.lang)
        for callback in list(self._on_server):
            callback(url)
        self.changed()
        return True

    def export(self, path: str | Path | None = None) -> Path:
        """Write the unsent work to a file (a coordinator can import it); nothing leaves the outbox."""
        now = self.ctx.now()
        if path is None:
            path = self.ctx.data_dir / f"roadchief-unsent-{now.strftime('%Y%m%d-%H%M%S')}.json"
        count = export_unsent(self.ctx.store, path, now)
        self.last_export = Path(path)
        self.message = tr("settings.exported", self.lang, n=count, path=str(path))
        self.changed()
        return self.last_export

    def sign_out(self) -> bool:
        """Sign out; with pending work, the first call warns and the second signs out (keeping it)."""
        self.pending = self.ctx.store.unacknowledged()
        if self.pending and not self.confirming:
            self.confirming = True
            self.message = tr("settings.pending_warning", self.lang, n=self.pending)
            self.changed()
            return False
        kept = end_session(self.ctx)
        self.confirming, self.signed_out = False, True
        self.message = tr("settings.signed_out_kept", self.lang, n=kept) if kept else ""
        for callback in list(self._on_signed_out):
            callback(kept)
        self.changed()
        return True

    def keep_signed_in(self) -> None:
        """The user changed their mind at the warning."""
        self.confirming, self.message = False, ""
        self.changed()
