"""The signed-in session and the wiring the app starts from: store, credentials, client, worker.

``open_app(data_dir, post_to_ui)`` builds an ``AppContext``: the UI thread's ``LocalStore``, the
``CredentialStore`` (token outside the database), the platform services and, when someone is
signed in, a ``SyncClient`` and a running ``SyncWorker`` with its own store on the same file.

Signing in is two halves, because the network call must not run on the UI thread and the store
must not leave it: ``login(server_url, username, password)`` is the HTTP call (any thread), then
``complete_sign_in(ctx, server_url, answer)`` runs on the UI thread. Signing out never discards
work: the outbox stays on the phone for the same user's next sign-in, and a *different* user can
sign in only once the outbox is empty or has been exported to a file first (``PendingWork``).
Signing out also asks the server to revoke the token, in the background and best-effort: the
phone is signed out at once whether or not the server can be reached.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from .credentials import Credentials, CredentialStore
from .outbox import export_unsent
from .profile import Reference, UserProfile
from .services import PlatformServices, make_services
from .store import LocalStore
from .sync import SyncClient, SyncError, SyncUnavailable
from .view import profile_of, reference_of, save_profile
from .worker import SyncWorker

__all__ = [
    "DB_NAME",
    "AppContext",
    "PendingWork",
    "complete_sign_in",
    "login",
    "open_app",
    "sign_out",
    "start_revoking",
]

DB_NAME = "roadchief.db"
PostToUi = Callable[[Callable[[], None]], None]
# short: the revocation is a courtesy to the server, and nobody waits for it
_LOGOUT_TIMEOUT: tuple[float, float] = (3.05, 5.0)

log = logging.getLogger(__name__)


class PendingWork(Exception):
    """Refused: actions the server has not acknowledged would be lost. Export them first."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} actions are not yet acknowledged by the server")
        self.count = count


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    """Everything a view-model needs; built once by the app, by tests with fakes."""

    store: LocalStore
    credentials: CredentialStore
    services: PlatformServices
    post_to_ui: PostToUi
    data_dir: Path
    clock: Callable[[], datetime] = _utc_now
    lang: str = "zh"
    http: requests.Session | None = None
    sync_interval: float = 30.0
    client: SyncClient | None = None
    worker: SyncWorker | None = None
    revoking: threading.Thread | None = None  # the last sign-out telling the server, if still going
    _profile: UserProfile | None = field(default=None, repr=False)

    def now(self) -> datetime:
        return self.clock()

    @property
    def profile(self) -> UserProfile | None:
        if self._profile is None:
            self._profile = profile_of(self.store)
        return self._profile

    @property
    def reference(self) -> Reference:
        return reference_of(self.store)

    @property
    def server_url(self) -> str:
        return str(self.store.get_meta("server_url") or "")

    def start_sync(self) -> None:
        """Start the background worker for the signed-in user (no-op when signed out)."""
        if self.profile is None or self.credentials.load() is None or not self.server_url:
            return
        if self.worker is not None and self.worker.running:
            self.worker.wake()
            return
        self.client = SyncClient(self.server_url, self.credentials.token, session=self.http, clock=self.clock)
        path, photos = self.store.path, self.store.photo_dir
        self.worker = SyncWorker(
            self.client,
            lambda: LocalStore(path, photo_dir=photos),
            self.post_to_ui,
            interval=self.sync_interval,
            clock=self.clock,
        )
        self.worker.start()

    def sync_now(self) -> None:
        """Ask the running worker for a round now (after an action; a tap on "sync now")."""
        if self.worker is not None:
            self.worker.wake()

    def stop_sync(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def close(self) -> None:
        self.stop_sync()
        self.store.close()


def open_app(
    data_dir: str | Path,
    post_to_ui: PostToUi,
    *,
    services: PlatformServices | None = None,
    clock: Callable[[], datetime] = _utc_now,
    http: requests.Session | None = None,
    start_sync: bool = True,
    sync_interval: float = 30.0,
) -> AppContext:
    """Open the phone's store under ``data_dir`` and, if someone is signed in, start syncing."""
    directory = Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ctx = AppContext(
        store=LocalStore(directory / DB_NAME, photo_dir=directory / "photos"),
        credentials=CredentialStore(directory),
        services=services or make_services(directory, post_to_ui=post_to_ui),
        post_to_ui=post_to_ui,
        data_dir=directory,
        clock=clock,
        http=http,
        sync_interval=sync_interval,
    )
    if start_sync:
        ctx.start_sync()
    start_revoking(ctx)  # sign-outs made offline last time
    return ctx


def login(
    server_url: str, username: str, password: str, http: requests.Session | None = None
) -> dict[str, Any]:
    """The login request alone (blocking; run it off the UI thread). Raises ``SyncError`` kinds."""
    client = SyncClient(server_url, lambda: None, session=http)
    return client.login(username, password)


def complete_sign_in(
    ctx: AppContext, server_url: str, answer: dict[str, Any], *, export_to: str | Path | None = None
) -> UserProfile:
    """Keep the token apart, the profile in the store, and start syncing (UI thread).

    A different user than the last one on this phone starts from an empty store with a new device
    id; if the last one left unacknowledged actions, they are exported to ``export_to`` first, or
    ``PendingWork`` is raised and nothing changes.
    """
    profile = UserProfile.from_dict(answer["user"])
    previous = ctx.profile
    store = ctx.store
    if previous is not None and (
        previous.id != profile.id or ctx.server_url.rstrip("/") != server_url.rstrip("/")
    ):
        pending = store.unacknowledged()
        if pending:
            if export_to is None:
                raise PendingWork(pending)
            export_unsent(store, export_to, ctx.now())
        ctx.stop_sync()
        store.reset_for_new_user()
    ctx.credentials.save(Credentials(str(answer["token"]), server_url, str(answer.get("expires_at") or "")))
    save_profile(store, profile)
    with store.transaction():
        store.set_meta("server_url", server_url.rstrip("/"))
    ctx._profile = profile
    ctx.start_sync()
    start_revoking(ctx)  # the network works: tell the server of sign-outs it missed
    return profile


def sign_out(ctx: AppContext) -> int:
    """Forget the token and stop syncing, at once; the server is asked to revoke the token in the
    background (``ctx.revoking``), now or, if it cannot be reached, the next time the app opens or
    someone signs in. Local work stays; returns how much is still unsent."""
    credentials = ctx.credentials.load()
    server_url = (credentials.server_url if credentials is not None else "") or ctx.server_url
    ctx.stop_sync()
    if credentials is not None and credentials.token and server_url:
        # kept until the server has revoked it: offline now, it is told once the network is back
        ctx.credentials.remember_revocation(
            Credentials(credentials.token, server_url, credentials.expires_at)
        )
    ctx.credentials.clear()
    start_revoking(ctx)
    return ctx.store.unacknowledged()


def start_revoking(ctx: AppContext) -> None:
    """Tell the server, in the background, of every sign-out it has not heard of yet (after a
    sign-out, when the app opens, after a sign-in: whenever the network may be back)."""
    if ctx.revoking is not None and ctx.revoking.is_alive():
        return  # it goes through the whole list, including what was added just now
    if not ctx.credentials.revocations():
        return
    ctx.revoking = threading.Thread(
        target=_revoke_pending,
        args=(ctx.credentials, ctx.http),
        name="roadchief-logout",
        daemon=True,  # never keeps a closing app alive: the list is tried again next time
    )
    ctx.revoking.start()


def _revoke_pending(credentials: CredentialStore, http: requests.Session | None) -> None:
    """Ask the server to revoke each token the phone has signed out of; the phone has already
    forgotten them. A token the server revoked, or refuses anyway, leaves the list; one it could
    not be told of (offline, a 5xx) stays for the next try."""
    session = http or requests.Session()
    try:
        for pending in credentials.revocations():
            token = pending.token
            client = SyncClient(
                pending.server_url, lambda token=token: token, session=session, timeout=_LOGOUT_TIMEOUT
            )
            try:
                client.logout()
            except SyncUnavailable as exc:
                log.info("the server was not told of a sign-out yet: %s", exc)
                continue
            except SyncError as exc:  # refused for good: retrying unchanged will not help
                log.warning("the server refused a sign-out: %s", exc)
            credentials.forget_revocation(token)
    except Exception:  # nothing on this thread may reach the user, who is already signed out
        log.exception("telling the server of a sign-out failed")
    finally:
        if http is None:
            session.close()
