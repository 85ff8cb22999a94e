"""Pruning photos no case needs: uploaded, then never named by an action the server accepted.

A phone uploads a report's photos just before it pushes the report. When the report is refused, or
the phone never gets to push it, the photo stays on the server, named by nothing. ``prune_photos``
deletes such photos once they are older than a grace period; evidence named by any stored event
(``args.photos``, whatever the action) is never touched.

The grace period covers a phone that uploaded, lost the network before its push, and comes back
later: its push then finds the photo still there. Should it come back after the photo was pruned,
the server answers ``retry`` (``photo_missing``), and the phone, which keeps its photos until they
are acknowledged, uploads it again.

The stored events are read twice: all of them to choose, then, just before deleting, those
committed since (each street's events above the counter it had at the first read), inside a write
transaction that holds every street's counter row (SQLite: the one writer). A push takes its
street's counter row first and checks its photos after, so no push can commit between that second
read and the deletion: a push that named a photo committed before, and is seen; a later one finds
the photo gone and answers ``retry``. Only that short second read and the deletion hold pushes
back, not a scan of the whole log.

The server runs this itself (``PhotoPruner``, every ``ROADCHIEF_PHOTO_PRUNE_EVERY_HOURS``, 24 by
default); ``roadchief prune-photos`` runs it once, by hand or from cron.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .db import Database
from .driver import Driver
from .photos import PhotoStore

__all__ = ["PhotoPruner", "PruneResult", "prune_photos", "referenced_photos"]

log = logging.getLogger("server")

# events whose args name photos (JSON text on SQLite, jsonb on PostgreSQL)
_NAMING_SQLITE = "SELECT args FROM events WHERE args LIKE '%\"photos\"%'"
_NAMING_POSTGRES = "SELECT args FROM events WHERE jsonb_exists(args, 'photos')"
_SINCE = "SELECT args FROM events WHERE street_id = ? AND street_seq > ? AND "
_SINCE_SQLITE = _SINCE + "args LIKE '%\"photos\"%'"
_SINCE_POSTGRES = _SINCE + "jsonb_exists(args, 'photos')"
_COUNTERS = "SELECT street_id, value FROM street_counters"
# the advisory lock one server process holds while it prunes (PostgreSQL; the migrations use 7270101)
_PRUNE_LOCK = 7270102
# every street's counter row, in one order (PostgreSQL: FOR UPDATE), as each push locks its own
_HOLD_PUSHES = "SELECT street_id FROM street_counters ORDER BY street_id{lock}"


@dataclass(frozen=True, slots=True)
class PruneResult:
    stored: int  # photos on disk
    named: int  # of those, named by a stored event: kept
    recent: int  # not named, but within the grace period: kept
    removed: int  # not named, older than the grace period: deleted (or, on a dry run, would be)
    freed_bytes: int


def _photos_in(args: Any) -> Iterable[str]:
    photos = args.get("photos") if isinstance(args, dict) else None
    if isinstance(photos, list):
        yield from (item for item in photos if isinstance(item, str))


def referenced_photos(db: Database) -> set[str]:
    """Every photo hash a stored event names in its ``photos`` argument."""
    with db.read() as session:
        return _named(Driver(session))


def _named(driver: Driver, street_id: str | None = None, after_seq: int = 0) -> set[str]:
    """The photos events name: all of them, or one street's after its ``street_seq`` ``after_seq``."""
    if street_id is None:
        rows = driver.rows(_NAMING_SQLITE if driver.sqlite else _NAMING_POSTGRES)
    else:
        since = _SINCE_SQLITE if driver.sqlite else _SINCE_POSTGRES
        rows = driver.rows(since, (street_id, after_seq))
    return {sha for (args,) in rows for sha in _photos_in(Driver.json(args))}


def prune_photos(
    db: Database, store: PhotoStore, *, older_than: timedelta, dry_run: bool = False, now: float | None = None
) -> PruneResult:
    """Delete stored photos no event names, last written more than ``older_than`` ago."""
    cutoff = (time.time() if now is None else now) - older_than.total_seconds()
    with db.read() as session:
        driver = Driver(session)
        # each street's counter before the names: an event committed after this read has a
        # street_seq above it, which is all the deletion below has to read again
        counters: dict[str, int] = {street: int(value) for street, value in driver.rows(_COUNTERS)}
        named = _named(driver)
    stored = named_count = recent = 0
    candidates: list[tuple[str, int]] = []
    for sha, image in store.stored():
        stored += 1
        if sha in named:
            named_count += 1
            continue
        info = image.stat()
        if info.st_mtime >= cutoff:
            recent += 1
            continue
        sidecar = image.with_suffix(".json")
        candidates.append((sha, info.st_size + (sidecar.stat().st_size if sidecar.exists() else 0)))
    if not dry_run and candidates:
        with db.write() as session:  # no push commits from here to the end of the deletion
            driver = Driver(session)
            streets = [street for (street,) in driver.rows(_HOLD_PUSHES)]
            for street in streets:  # what pushes named since the first read
                named |= _named(driver, street, counters.get(street, 0))
            kept = [item for item in candidates if item[0] in named]
            named_count += len(kept)
            candidates = [item for item in candidates if item[0] not in named]
            freed = sum(store.remove(sha) for sha, _ in candidates)
    else:
        freed = sum(size for _, size in candidates)
    return PruneResult(stored, named_count, recent, len(candidates), freed)


class PhotoPruner:
    """A thread that runs ``prune_photos`` every ``every`` seconds; ``stop()`` at shutdown.

    The first prune runs ``FIRST_AFTER`` seconds after ``start()`` (or ``every``, if sooner): a
    server restarted every night would otherwise never reach its first. A prune that fails is
    logged and tried again next time."""

    FIRST_AFTER = 600.0

    def __init__(self, db: Database, store: PhotoStore, *, older_than: timedelta, every: float) -> None:
        self.db = db
        self.store = store
        self.older_than = older_than
        self.every = every
        self.runs = 0  # prunes this process finished, for tests and curiosity
        self.last: PruneResult | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._serve, name="roadchief-photo-pruner", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=30)

    def run_once(self) -> PruneResult | None:
        """Prune now; ``None`` when another server process on the same PostgreSQL database is
        pruning (an advisory lock: with N worker processes, one prune at a time, not N)."""
        if self.db.sqlite:  # one server process per SQLite file
            return self._prune()
        with self.db.write_engine.connect() as connection:
            got = connection.exec_driver_sql(f"SELECT pg_try_advisory_lock({_PRUNE_LOCK})").scalar()
            connection.commit()  # a session lock: it outlives the transaction, which need not stay open
            if not got:
                return None
            try:
                return self._prune()
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({_PRUNE_LOCK})")
                connection.commit()

    def _prune(self) -> PruneResult:
        result = prune_photos(self.db, self.store, older_than=self.older_than)
        self.last = result
        self.runs += 1
        return result

    def _serve(self) -> None:
        wait = min(self.every, self.FIRST_AFTER)
        while not self._stop.wait(wait):
            wait = self.every
            try:
                result = self.run_once()
            except Exception:
                log.warning("pruning unnamed photos failed; it runs again later", exc_info=True)
                continue
            if result is not None and result.removed:
                log.info(
                    "pruned %d photos no accepted action names (%.1f MiB); %d named, %d recent kept",
                    result.removed,
                    result.freed_bytes / 1_048_576,
                    result.named,
                    result.recent,
                )
