"""Pruning photos no case needs: uploaded, then never named by an action the server accepted.

A phone uploads a report's photos just before it pushes the report. When the report is refused, or
the phone never gets to push it, the photo stays on the server, named by nothing. ``prune_photos``
deletes such photos once they are older than a grace period; evidence named by any stored event
(``args.photos``, whatever the action) is never touched.

The grace period covers a phone that uploaded, lost the network before its push, and comes back
later: its push then finds the photo still there. Should it come back after the photo was pruned,
the server answers ``retry`` (``photo_missing``), and the phone, which keeps its photos until they
are acknowledged, uploads it again. The stored events are read twice, before choosing and again
just before deleting, so a push that names a photo meanwhile keeps it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .db import Database
from .driver import Driver
from .photos import PhotoStore

__all__ = ["PruneResult", "prune_photos", "referenced_photos"]

# events whose args name photos (JSON text on SQLite, jsonb on PostgreSQL)
_NAMING_SQLITE = "SELECT args FROM events WHERE args LIKE '%\"photos\"%'"
_NAMING_POSTGRES = "SELECT args FROM events WHERE jsonb_exists(args, 'photos')"


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
        driver = Driver(session)
        rows = driver.rows(_NAMING_SQLITE if driver.sqlite else _NAMING_POSTGRES)
    return {sha for (args,) in rows for sha in _photos_in(Driver.json(args))}


def prune_photos(
    db: Database, store: PhotoStore, *, older_than: timedelta, dry_run: bool = False, now: float | None = None
) -> PruneResult:
    """Delete stored photos no event names, last written more than ``older_than`` ago."""
    cutoff = (time.time() if now is None else now) - older_than.total_seconds()
    named = referenced_photos(db)
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
        named = referenced_photos(db)  # again: a push may have named one since
        kept = [item for item in candidates if item[0] in named]
        named_count += len(kept)
        candidates = [item for item in candidates if item[0] not in named]
        freed = sum(store.remove(sha) for sha, _ in candidates)
    else:
        freed = sum(size for _, size in candidates)
    return PruneResult(stored, named_count, recent, len(candidates), freed)
