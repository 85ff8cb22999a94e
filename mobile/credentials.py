"""The API token, kept out of the outbox database.

The local database may be exported, backed up or copied off a phone for support; a bearer token in
it would sign whoever has the copy in. So the token lives apart: in the platform keyring when one
is importable on Android, otherwise in a small file readable by the app's user only (``0600``) in
the app's private data directory.

A token the phone signed out of but could not tell the server about (offline) is kept beside it,
the same way, until the server has revoked it or it has expired: ``remember_revocation``,
``revocations``, ``forget_revocation`` (``mobile.session`` retries them when the network is back).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from datetime import UTC, datetime
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
        self.revoke_path = Path(directory) / "revoke.json"
        self._revoke_lock = threading.Lock()  # the UI and a revoking thread both edit the list
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
        self._write("session", self.path, json.dumps(credentials.to_dict()))

    def _write(self, key: str, path: Path, text: str) -> None:
        if self._keyring is not None:
            self._keyring.set_password(_SERVICE, key, text)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".part")
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        # created 0600 from the start: there is no moment when another user could read it
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)

    def _read(self, key: str, path: Path) -> str | None:
        if self._keyring is not None:
            return self._keyring.get_password(_SERVICE, key)  # type: ignore[no-any-return]
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def load(self) -> Credentials | None:
        text = self._read("session", self.path)
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

    # --- tokens signed out of, the server not yet told ------------------------------------------

    def remember_revocation(self, credentials: Credentials) -> None:
        """Keep ``credentials`` until the server has revoked its token (written before the phone
        forgets the session, so a kill in between loses neither)."""
        with self._revoke_lock:
            pending = [c for c in self._revocations() if c.token != credentials.token]
            self._write_revocations([*pending, credentials])

    def revocations(self, now: datetime | None = None) -> list[Credentials]:
        """The tokens still to revoke; expired ones are dropped (the server refuses them anyway)."""
        now = now or datetime.now(UTC)
        with self._revoke_lock:
            pending = self._revocations()
            live = [c for c in pending if not _expired(c, now)]
            if len(live) != len(pending):
                self._write_revocations(live)
            return live

    def forget_revocation(self, token: str) -> None:
        with self._revoke_lock:
            pending = self._revocations()
            left = [c for c in pending if c.token != token]
            if len(left) != len(pending):
                self._write_revocations(left)

    def _revocations(self) -> list[Credentials]:
        text = self._read("revoke", self.revoke_path)
        try:
            raw = json.loads(text) if text else []
            return [
                Credentials(str(item["token"]), str(item.get("server_url") or ""), item.get("expires_at"))
                for item in raw
            ]
        except (ValueError, KeyError, TypeError):
            return []

    def _write_revocations(self, pending: list[Credentials]) -> None:
        if pending:
            self._write("revoke", self.revoke_path, json.dumps([c.to_dict() for c in pending]))
        elif self._keyring is not None:
            with contextlib.suppress(Exception):
                self._keyring.delete_password(_SERVICE, "revoke")
        else:
            with contextlib.suppress(FileNotFoundError):
                self.revoke_path.unlink()


def _expired(credentials: Credentials, now: datetime) -> bool:
    try:
        expires = datetime.fromisoformat(credentials.expires_at or "")
    except ValueError:
        return False  # unknown: keep trying until the server says
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return expires <= now
