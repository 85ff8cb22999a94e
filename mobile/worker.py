"""The sync worker: a daemon thread that syncs on an interval and on demand, and never blocks the UI.

It owns its own ``LocalStore`` (sqlite3 objects belong to the thread that made them), made by
``store_factory`` inside the thread. After each round it hands a ``SyncOutcome`` to the UI through
``post_to_ui`` — the app passes a wrapper around Kivy's ``Clock.schedule_once``, tests pass a
queue — so listeners always run on the main thread.

On failure it backs off exponentially with full jitter (1 s, 2 s, 4 s … capped at 60 s), so it
resumes on its own when the network returns; ``wake()`` (a tap on "sync now", a connectivity
change) cuts any wait short. A 401 pauses it until ``wake()``: signing in again is the user's move.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .store import LocalStore
from .sync import SignedOut, SyncClient, SyncError, SyncReport, SyncUnavailable

__all__ = ["BACKOFF_CAP", "BACKOFF_START", "SyncOutcome", "SyncWorker", "backoff_delay"]

log = logging.getLogger(__name__)

BACKOFF_START = 1.0
BACKOFF_CAP = 60.0


@dataclass(frozen=True)
class SyncOutcome:
    """One round's result as the UI sees it.

    ``state`` is ``"ok"`` (``report`` set), ``"offline"`` (network or server down; ``retry_in``
    seconds until the next try), ``"signed_out"`` (401) or ``"error"`` (a refusal of the whole
    request; ``message`` says which).
    """

    state: str
    at: datetime
    report: SyncReport | None = None
    retry_in: float | None = None
    message: str = ""


def backoff_delay(failures: int, rng: Callable[[], float] = random.random) -> float:
    """Full jitter: a random wait up to ``min(cap, start · 2^(failures-1))``, never below 0.5 s."""
    ceiling = min(BACKOFF_CAP, BACKOFF_START * 2 ** max(0, failures - 1))
    return max(0.5, ceiling * rng())


class SyncWorker:
    """Background sync for one store file: ``start()``, ``wake()``, ``stop()``, ``subscribe()``."""

    def __init__(
        self,
        client: SyncClient,
        store_factory: Callable[[], LocalStore],
        post_to_ui: Callable[[Callable[[], None]], None],
        *,
        interval: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.store_factory = store_factory
        self.post_to_ui = post_to_ui
        self.interval = interval
        self.clock = clock
        self._listeners: list[Callable[[SyncOutcome], None]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self.last: SyncOutcome | None = None

    def subscribe(self, listener: Callable[[SyncOutcome], None]) -> None:
        """``listener(outcome)`` is called on the UI thread after every round."""
        self._listeners.append(listener)

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="roadchief-sync", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Sync now (or as soon as the current round ends), whatever the back-off says."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        store = self.store_factory()
        try:
            while not self._stop.is_set():
                self._wake.clear()
                outcome = self._round(store)
                self._publish(outcome)
                if outcome.state == "signed_out":
                    wait: float | None = None  # until wake(): the user must sign in again
                elif outcome.retry_in is not None:
                    wait = outcome.retry_in
                else:
                    wait = self.interval
                self._wake.wait(wait)
        finally:
            store.close()

    def _round(self, store: LocalStore) -> SyncOutcome:
        try:
            report = self.client.sync_once(store)
        except SyncUnavailable as exc:
            self.failures += 1
            delay = backoff_delay(self.failures)
            return SyncOutcome("offline", self.clock(), retry_in=delay, message=str(exc))
        except SignedOut as exc:
            return SyncOutcome("signed_out", self.clock(), message=str(exc))
        except SyncError as exc:
            self.failures += 1
            return SyncOutcome("error", self.clock(), retry_in=backoff_delay(self.failures), message=str(exc))
        except Exception as exc:  # a bug must not kill the thread that carries the user's work
            log.exception("sync round failed")
            self.failures += 1
            return SyncOutcome(
                "error", self.clock(), retry_in=backoff_delay(self.failures), message=repr(exc)
            )
        self.failures = 0
        return SyncOutcome("ok", self.clock(), report=report)

    def _publish(self, outcome: SyncOutcome) -> None:
        def deliver() -> None:
            self.last = outcome
            for listener in list(self._listeners):
                listener(outcome)

        self.post_to_ui(deliver)
