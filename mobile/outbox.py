"""Recording a user's action: checked by the engine offline, then view and outbox in one transaction.

``record_action`` is the only way anything enters the outbox. It builds the engine ``Event`` with
the signed-in user's actor and role, applies it to the current view of the record, and:

- refused → nothing is stored; the ``Rejection`` is returned for the screen to show;
- accepted → ONE sqlite transaction takes the next device seq, inserts the outbox row (a new
  mutation id, which is also the event's id on the server) and writes the new view of the record.

The helpers (``report``, ``start_patrol``, ``record_points``, ``end_patrol``) only name the
arguments the engine reads. ``export_unsent`` writes what the server has not acknowledged to a
self-contained JSON file (mutations plus their photos) that a coordinator can import.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from engine import Case, Event, Patrol, Rejection, RejectionCode, Trigger, Urgency, apply
from engine.rejection import refuse
from shared import PROTOCOL_VERSION, MalformedPayload, Mutation, new_id

from .profile import UserProfile
from .store import LocalStore, OutboxStatus
from .view import reference_of

__all__ = [
    "EXPORT_FORMAT",
    "end_patrol",
    "export_unsent",
    "new_case_id",
    "record_action",
    "record_points",
    "report",
    "start_patrol",
]

EXPORT_FORMAT = "roadchief-outbox"


def new_case_id() -> str:
    """A case (or patrol) id minted on the phone: the report that creates it names it."""
    return new_id()


def record_action(
    store: LocalStore,
    user: UserProfile,
    name: Trigger | str,
    case_id: str,
    args: Mapping[str, Any],
    now: datetime,
) -> Case | Patrol | Rejection:
    """Check an action against the current view and, if the engine allows it, save it for sync."""
    rules = reference_of(store).rules
    mutation_id = new_id()
    plain_args = json.loads(json.dumps(dict(args)))  # what the server will read: plain JSON
    event = Event(
        id=mutation_id,
        case_id=case_id,
        name=str(name),
        actor=user.actor,
        role=user.role,
        occurred_at=now,
        args=plain_args,
    )
    try:
        with store.transaction():
            result = apply(store.view_record(case_id), event, rules)
            if isinstance(result, Rejection):
                return result  # the block ends without writes; the commit is empty
            try:
                # Anything the server would refuse as malformed would block the outbox for good:
                # the same shape checks run here, before the row exists.
                mutation = Mutation(
                    id=mutation_id,
                    seq=store.take_seq(),
                    name=str(name),
                    case_id=case_id,
                    args=plain_args,
                    occurred_at=now,
                )
            except MalformedPayload as exc:
                # raised, not returned, so the transaction rolls back the seq it took
                raise _Refused(
                    refuse(RejectionCode.INVALID_FIELD, field=exc.field, detail=exc.reason)
                ) from None
            store.add_outbox(mutation, now)
            store.put_view(result)
    except _Refused as refused:
        return refused.rejection
    return result


class _Refused(Exception):
    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.code.value)
        self.rejection = rejection


def report(
    store: LocalStore,
    user: UserProfile,
    *,
    category: str,
    road_id: str,
    now: datetime,
    description: str = "",
    urgency: Urgency = Urgency.NORMAL,
    photos: Sequence[str] = (),
    location: tuple[float, float] | None = None,
    patrol_id: str | None = None,
    case_id: str | None = None,
) -> Case | Rejection:
    """File a new case (反馈); returns the case as the view now shows it, or the refusal."""
    args: dict[str, Any] = {
        "category": category,
        "road_id": road_id,
        "urgency": urgency.value,
        "description": description,
        "photos": list(photos),
    }
    if location is not None:
        args["location"] = {"lat": location[0], "lon": location[1]}
    if patrol_id is not None:
        args["patrol_id"] = patrol_id
    result = record_action(store, user, Trigger.REPORT, case_id or new_case_id(), args, now)
    assert not isinstance(result, Patrol)
    return result


def start_patrol(
    store: LocalStore, user: UserProfile, road_id: str, now: datetime, patrol_id: str | None = None
) -> Patrol | Rejection:
    result = record_action(
        store, user, Trigger.START_PATROL, patrol_id or new_case_id(), {"road_id": road_id}, now
    )
    assert not isinstance(result, Case)
    return result


def record_points(
    store: LocalStore, user: UserProfile, patrol_id: str, points: Sequence[tuple[float, float]], now: datetime
) -> Patrol | Rejection:
    args = {"points": [[lat, lon] for lat, lon in points]}
    result = record_action(store, user, Trigger.RECORD_POINTS, patrol_id, args, now)
    assert not isinstance(result, Case)
    return result


def end_patrol(
    store: LocalStore, user: UserProfile, patrol_id: str, findings: Sequence[str], now: datetime
) -> Patrol | Rejection:
    """End a patrol; with no findings it is saved as "nothing found", which is a record too."""
    result = record_action(store, user, Trigger.END_PATROL, patrol_id, {"findings": list(findings)}, now)
    assert not isinstance(result, Case)
    return result


def export_unsent(store: LocalStore, path: str | Path, now: datetime) -> int:
    """Write every action the server has not acknowledged, with its photos, to a JSON file.

    Returns how many actions were written. The file is written aside and renamed, so a crash
    leaves the previous export (or none), never half of one.
    """
    items = store.outbox(statuses=OutboxStatus.PENDING)
    photos: dict[str, str] = {}
    for item in items:
        for sha in item.args.get("photos") or ():
            row = store.photo(sha)
            if row is not None and sha not in photos and Path(row.path).exists():
                photos[sha] = base64.b64encode(Path(row.path).read_bytes()).decode("ascii")
    document = {
        "format": EXPORT_FORMAT,
        "protocol_version": PROTOCOL_VERSION,
        "exported_at": now.isoformat(),
        "device_id": store.device_id,
        "server_url": store.get_meta("server_url"),
        "user": store.get_meta("profile"),
        "mutations": [item.to_mutation().to_dict() for item in items],
        "photos": photos,
    }
    target = Path(path)
    temp = target.with_name(target.name + ".part")
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    return len(items)
