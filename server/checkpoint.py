"""SQLite's WAL checkpoints, moved off the writer onto a thread of their own.

In WAL mode every commit appends pages to the ``-wal`` file, and by default the commit that takes
it past 1,000 pages also copies them back into the database file and syncs it: a checkpoint. That
commit took 16-24 ms where the others took ~2 ms (pushes of 100 events, one in eight of them), and
every push queued behind it waited too. Here the server's writer connections checkpoint only as a
last resort (``FALLBACK_PAGES``), and this thread runs a PASSIVE checkpoint, on a connection of its
own, after a commit, at most every ``interval`` seconds. PASSIVE never waits for the writer or a
reader, and ``sqlite3`` lets go of the GIL while it copies and syncs, so the copying runs beside
the pushes, on the other core. When a checkpoint has copied the whole log, the next commit starts
the log over from its beginning, so the log holds about ``interval`` seconds of commits.

(The log's length in pages cannot be asked for without checkpointing, and its file is reused, not
shortened, so time is the measure.)
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

__all__ = ["FALLBACK_PAGES", "WalCheckpointer"]

log = logging.getLogger("server")

# the writer's own checkpoint, kept only for a checkpointer that stopped or cannot keep up
FALLBACK_PAGES = 20_000


class WalCheckpointer:
    """A thread that checkpoints ``path``'s write-ahead log after commits, at most every ``interval`` s.

    ``nudge()`` after each commit; ``stop()`` at shutdown. Nothing it does is needed for
    correctness: a checkpoint that fails is logged and tried again after the next commit.
    """

    def __init__(self, path: str | Path, interval: float = 0.25) -> None:
        self.path = Path(path)
        self.interval = interval
        self.checkpoints = 0  # how many ran, for tests and curiosity
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._serve, name="roadchief-checkpointer", daemon=True)
            self._thread.start()

    def nudge(self) -> None:
        """A commit happened: checkpoint it once ``interval`` has passed since the last checkpoint."""
        self._wake.set()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout=30)

    def _serve(self) -> None:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA synchronous=NORMAL")
            while True:
                self._wake.wait()
                if self._stop.is_set():
                    return
                self._wake.clear()
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                except sqlite3.OperationalError as exc:  # a full disk, I/O, a lock: no bug to trace
                    log.warning("a WAL checkpoint failed (%s); a later commit tries again", exc)
                except sqlite3.Error:
                    log.warning("a WAL checkpoint failed; a later commit tries again", exc_info=True)
                # commits meanwhile set the wake event again: the next checkpoint takes them all
                if self._stop.wait(self.interval):
                    return
        finally:
            connection.close()
