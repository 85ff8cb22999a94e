"""The API token, kept out of the outbox database.

The local database may be exported, backed up or copied off a phone for support; a bearer token in
it would sign whoever has the copy in. So the token lives apart: in the platform keyring when one
is importable on Android, otherwise in a small file readable by the app's user only (``0600``) in
the app's private data directory.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["CredentialStore", "Credentials"]

_SERVICE = "roadchief"


class Credentials:
    """A token, when it expires, and the server it is for."""

    __slots__ = ("expires_at", "server_url", "token")

    def __init__(self, token: str, server_url: str, expires_at: str | None = None) -> None:
        self.token = token
        self.server_url = server_url
        self.expires_at = expires_at

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "server_url": self.server_url, "expires_at": self.expires_at}


class CredentialStore:
    """Save, load and forget the token. ``use_keyring=None`` picks the keyring on Android only."""

    def __init__(self, directory: str | Path, *, use_keyring: bool | None = None) -> None:
        self.path = Path(directory) / "credentials.json"
        if use_keyring is None:
            use_keyring = "ANDROID_ARGUMENT" in os.environ
        self._keyring: Any = None
        if use_keyring:
            try:
                import keyring  # optional: not every build has it

                self._keyring = keyring
            except ImportError:
                self._keyring = None

    def save(self, credentials: Credentials) -> None:
        text = json.dumps(credentials.to_dict())
        if self._keyring is not None:
            self._keyring.set_password(_SERVICE, "session", text)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".part")
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        # created 0600 from the start: there is no moment when another user could read it
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)

    def load(self) -> Credentials | None:
        if self._keyring is not None:
            text = self._keyring.get_password(_SERVICE, "session")
        else:
            try:
                text = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
        if not text:
            return None
        try:
            raw = json.loads(text)
            return Credentials(str(raw["token"]), str(raw.get("server_url") or ""), raw.get("expires_at"))
        except (ValueError, KeyError, TypeError):
            return None

    def token(self) -> str | None:
        """The token provider the sync client calls before each request."""
        found = self.load()
        return None if found is None else found.token

    def clear(self) -> None:
        if self._keyring is not None:
            with contextlib.suppress(Exception):
                self._keyring.delete_password(_SERVICE, "session")
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
