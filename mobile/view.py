"""The local view: server-confirmed records with the still pending outbox replayed on top.

The PowerSync rule holds here: events from the server are never skipped because local actions are
pending. A pulled page is folded into the confirmed records, then every touched case's view is
rebuilt as ``confirmed + pending``. An action the server acknowledged as applied comes back in a
pull as an event with the mutation's id; from then on it is part of the confirmed record and is no
longer replayed (its outbox row is marked ``seen``), so nothing is shown twice. A refused action is
never replayed; it stays in the outbox, shown next to its case with the server's reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from engine import Event, Rejection, Rules, apply
from shared import PullResponse

from .profile import Reference, UserProfile
from .store import LocalStore, OutboxItem, Record

__all__ = [
    "apply_pull",
    "event_of",
    "profile_of",
    "rebuild_view",
    "reference_of",
    "save_profile",
    "save_reference",
]

log = logging.getLogger(__name__)


def profile_of(store: LocalStore) -> UserProfile | None:
    raw = store.get_meta("profile")
    return None if raw is None else UserProfile.from_dict(raw)


def save_profile(store: LocalStore, profile: UserProfile) -> None:
    with store.transaction():
        store.set_meta("profile", profile.to_dict())


def reference_of(store: LocalStore) -> Reference:
    """The street's reference data, parsed once per store and reparsed only when it changed."""
    row = store.conn.execute("SELECT value FROM meta WHERE key = 'reference'").fetchone()
    raw = None if row is None else row[0]
    cached: tuple[str | None, Reference] | None = getattr(store, "_reference_cache", None)
    if cached is None or cached[0] != raw:
        cached = (raw, Reference.from_dict(None if raw is None else json.loads(raw)))
        store._reference_cache = cached  # type: ignore[attr-defined]
    return cached[1]


def save_reference(store: LocalStore, data: dict[str, Any]) -> None:
    with store.transaction():
        store.set_meta("reference", data)


def event_of(item: OutboxItem, profile: UserProfile) -> Event:
    """The engine event an outbox item stands for: the phone's user is the only one who acts here."""
    return Event(
        id=item.id,
        case_id=item.case_id,
        name=item.name,
        actor=profile.actor,
        role=profile.role,
        occurred_at=item.occurred_at,
        args=item.args,
    )


def rebuild_view(
    store: LocalStore, case_ids: Iterable[str], profile: UserProfile | None, rules: Rules
) -> None:
    """Recompute the view of these records from confirmed state and the pending outbox."""
    with store.transaction():
        for case_id in dict.fromkeys(case_ids):
            record: Record | None = store.confirmed(case_id)
            if profile is not None:
                for item in store.replayable(case_id):
                    result = apply(record, event_of(item, profile), rules)
                    # Refused on top of newer server state: another phone got there first. It stays
                    # pending (the server gives the reason on push) but it cannot be shown as done.
                    if not isinstance(result, Rejection):
                        record = result
            if record is None:
                store.drop_view(case_id)
            else:
                store.put_view(record)


def apply_pull(store: LocalStore, page: PullResponse, profile: UserProfile | None, rules: Rules) -> int:
    """Fold one pulled page into confirmed state and the view, and move the cursor, atomically.

    Returns how many events were new to this phone.
    """
    with store.transaction():
        added = store.insert_events((record.position, record.event) for record in page.events)
        by_case: dict[str, list[Event]] = {}
        for event in added:
            by_case.setdefault(event.case_id, []).append(event)
        for case_id, events in by_case.items():
            record = store.confirmed(case_id)
            for event in events:
                result = apply(record, event, rules)
                if isinstance(result, Rejection):
                    # The server accepted it, so it happened; the phone's rules differ (an older
                    # category table, a calendar override). Keep folding the rest; log for support.
                    log.warning("server event %s (%s) refused locally: %s", event.id, event.name, result.code)
                    continue
                record = result
            if record is not None:
                store.put_confirmed(record)
        touched = set(by_case) | set(store.mark_seen(event.id for event in added))
        rebuild_view(store, sorted(touched), profile, rules)
        store.set_meta("cursor", page.cursor)
        store.set_meta("last_seq", page.last_seq)
    return len(added)
