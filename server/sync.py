"""Push and pull: the only module that knows the sync protocol's semantics.

**Push** replays one device's batch through the engine inside the caller's transaction, which the
edge commits before answering. The street's counter row is locked first: on PostgreSQL that
serializes every push of a street, so ``street_seq`` order is commit order and a pull cursor can
never skip a late commit (design.md, option 2); on SQLite one writer does the same. Each
mutation is answered ``applied``, ``duplicate`` (its id, or its seq, was processed before: the
stored answer is given again), ``rejected`` (processed, refused for good, with a stable code) or
``retry`` (a photo is missing: processing stops there and the phone resends later).

**Pull** returns a page of the street's events after an opaque cursor, with the device's last
processed seq.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine import (
    PATROL_TRIGGERS,
    Actor,
    Case,
    Event,
    Patrol,
    Rejection,
    RejectionCode,
    Role,
    Rules,
    Trigger,
    apply,
)
from engine.rejection import refuse
from shared import (
    MAX_SEQ,
    PROTOCOL_VERSION,
    EventRecord,
    Mutation,
    MutationResult,
    MutationStatus,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
)

from .auth import CurrentUser
from .errors import ApiError
from .facts import epoch, facts
from .models import (
    CaseRow,
    Community,
    Department,
    Device,
    EventRow,
    MutationRow,
    PatrolRow,
    Road,
    StreetCounter,
)

__all__ = [
    "ID_REUSED",
    "PHOTO_MISSING",
    "SEQ_OUT_OF_ORDER",
    "SEQ_REUSED",
    "PhotoLookup",
    "apply_push",
    "decode_cursor",
    "encode_cursor",
    "read_pull",
    "record_events",
    "row_to_event",
]

PHOTO_MISSING = "photo_missing"
SEQ_REUSED = "seq_reused"
SEQ_OUT_OF_ORDER = "seq_out_of_order"
ID_REUSED = "id_reused"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PhotoLookup(Protocol):
    """Whether the server holds a photo; ``server.photos.PhotoStore`` is one."""

    def has(self, sha256: str) -> bool: ...


# --- cursors ---------------------------------------------------------------------------------------

_CURSOR_PREFIX = "c1"


def encode_cursor(street_id: str, street_seq: int) -> str:
    raw = f"{_CURSOR_PREFIX}:{street_id}:{street_seq}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None, street_id: str) -> int:
    """The street_seq a cursor stands for; a garbled or another street's cursor is a 400."""
    if cursor is None:
        return 0
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, street, seq_text = base64.urlsafe_b64decode(padded.encode("ascii")).decode().split(":")
        if prefix != _CURSOR_PREFIX or not seq_text.isdigit() or len(seq_text) > 16:
            raise ValueError("not a cursor")
        seq = int(seq_text)
    except (ValueError, UnicodeError, binascii.Error):
        raise ApiError(400, "bad_cursor", "the cursor is not one this server gave out") from None
    if street != street_id:
        raise ApiError(400, "bad_cursor", "the cursor belongs to another street")
    if seq > MAX_SEQ:
        raise ApiError(400, "bad_cursor", "the cursor is out of range")
    return seq


# --- events as rows --------------------------------------------------------------------------------


def row_to_event(row: EventRow) -> Event:
    return Event(
        id=row.id,
        case_id=row.case_id,
        name=row.name,
        actor=Actor(row.actor_id, row.street_id, row.community_id, row.department_id),
        role=Role(row.role),
        occurred_at=datetime.fromisoformat(row.occurred_at),
        args=row.args,
        received_at=row.received_at,
    )


def _event_values(event: Event, street_seq: int) -> dict[str, Any]:
    assert event.received_at is not None
    return {
        "street_id": event.actor.street_id,
        "street_seq": street_seq,
        "id": event.id,
        "case_id": event.case_id,
        "name": str(event.name),
        "actor_id": event.actor.user_id,
        "role": event.role.value,
        "community_id": event.actor.community_id,
        "department_id": event.actor.department_id,
        "occurred_at": event.occurred_at.isoformat(),
        "occurred_epoch": epoch(event.occurred_at),
        "received_at": event.received_at,
        "args": dict(event.args),
    }


# --- push ------------------------------------------------------------------------------------------

Record = Case | Patrol


@dataclass
class _Slot:
    """One case or patrol touched by the batch: loaded once, written once at the end."""

    record: Record | None
    in_db: bool
    foreign: bool = False
    dirty: bool = False
    # the case's last dispatch department (cases.dispatch_department_id): a return clears the
    # case's department_id, not this
    dispatch_department_id: str | None = None


class _Batch:
    """The state of one push while it runs: records touched, rows to write, answers given."""

    def __init__(self, session: Session, user: CurrentUser, rules: Rules) -> None:
        self.session = session
        self.user = user
        self.rules = rules
        self.slots: dict[tuple[str, str], _Slot] = {}
        self.events: list[Event] = []

    def slot(self, kind: str, record_id: str) -> _Slot:
        key = (kind, record_id)
        slot = self.slots.get(key)
        if slot is not None:
            return slot
        table = PatrolRow if kind == "patrol" else CaseRow
        columns: list[Any] = [table.street_id, table.data]
        if kind == "case":
            columns.append(CaseRow.dispatch_department_id)
        row = self.session.execute(select(*columns).where(table.id == record_id).with_for_update()).first()
        if row is None:
            slot = _Slot(None, in_db=False)
        elif row.street_id != self.user.street_id:
            slot = _Slot(None, in_db=True, foreign=True)
        else:
            record: Record = Patrol.from_dict(row.data) if kind == "patrol" else Case.from_dict(row.data)
            slot = _Slot(record, in_db=True, dispatch_department_id=row[2] if kind == "case" else None)
        self.slots[key] = slot
        return slot

    def exists(self, model: type[Road] | type[Department] | type[Community], item_id: str) -> Any:
        return self.session.execute(
            select(model).where(model.id == item_id, model.street_id == self.user.street_id)
        ).scalar_one_or_none()


def _invalid(field: str, zh: str, en: str) -> Rejection:
    return refuse(RejectionCode.INVALID_FIELD, field=field, detail=f"{zh} / {en}")


def _street_checks(batch: _Batch, event: Event, result: Record) -> Rejection | None:
    """What the engine cannot know: that the things an event names exist in the user's street."""
    trigger = Trigger(event.name)
    if trigger in (Trigger.REPORT, Trigger.START_PATROL):
        road_id = event.args.get("road_id")
        road = batch.exists(Road, road_id) if isinstance(road_id, str) else None
        if road is None:
            return _invalid("road_id", "本街道没有该路段", "no such road in this street")
        community_id = result.community_id
        if community_id is not None and batch.exists(Community, community_id) is None:
            return _invalid("community_id", "本街道没有该社区", "no such community in this street")
        if road.community_id is not None and community_id is not None and road.community_id != community_id:
            return _invalid("road_id", "该路段不属于该社区", "the road is in another community")
    elif trigger is Trigger.DISPATCH:
        department_id = event.args.get("department_id")
        if not isinstance(department_id, str) or batch.exists(Department, department_id) is None:
            return _invalid("department_id", "本街道没有该部门", "no such department in this street")
    elif trigger is Trigger.MERGE:
        into = event.args.get("into")
        target = batch.slot("case", into) if isinstance(into, str) else None
        record = target.record if target is not None else None
        if not isinstance(record, Case) or record.is_final:
            return _invalid("into", "目标案件不存在或已结束", "the target case is not an open case")
    return None


def _photos_of(args: Any) -> Iterable[str]:
    photos = args.get("photos") if isinstance(args, dict) else None
    if isinstance(photos, list):
        for item in photos:
            if isinstance(item, str) and _SHA256.fullmatch(item):
                yield item


def _answer(mutation: Mutation, status: MutationStatus, rejection: Rejection | None = None) -> MutationResult:
    if rejection is None:
        return MutationResult(mutation.id, mutation.seq, status)
    return MutationResult(
        mutation.id, mutation.seq, status, rejection.code.value, rejection.message_zh, rejection.message_en
    )


def _stored_answer(mutation: Mutation, row: MutationRow) -> MutationResult:
    if row.status == MutationStatus.APPLIED.value:
        return MutationResult(mutation.id, mutation.seq, MutationStatus.DUPLICATE)
    return MutationResult(
        mutation.id, mutation.seq, MutationStatus.REJECTED, row.code, row.message_zh, row.message_en
    )


def apply_push(
    session: Session,
    user: CurrentUser,
    request: PushRequest,
    rules: Rules,
    photos: PhotoLookup | None = None,
    now: datetime | None = None,
) -> PushResponse:
    """Replay ``request``'s mutations inside ``session``'s transaction; the caller commits, then answers."""
    now = now or datetime.now(UTC)
    # 1. the street's counter row, locked until commit: pushes of one street commit one at a time
    counter = session.execute(
        select(StreetCounter.value).where(StreetCounter.street_id == user.street_id).with_for_update()
    ).scalar_one()
    # 2. the device, bound to the first user who pushes from it
    device = session.execute(
        select(Device).where(Device.device_id == request.device_id).with_for_update()
    ).scalar_one_or_none()
    if device is None:
        device = Device(device_id=request.device_id, user_id=user.id, street_id=user.street_id, last_seq=0)
        session.add(device)
        session.flush()
    elif device.user_id != user.id:
        raise ApiError(403, "device_taken", "this device id belongs to another user; sign in again")
    last_seq = device.last_seq

    # 3. what was processed before, by id and by seq
    ids = [m.id for m in request.mutations]
    known = {row.id: row for row in session.scalars(select(MutationRow).where(MutationRow.id.in_(ids)))}
    old_seqs = [m.seq for m in request.mutations if m.seq <= last_seq]
    by_seq: dict[int, MutationRow] = {}
    if old_seqs:
        by_seq = {
            row.seq: row
            for row in session.scalars(
                select(MutationRow).where(
                    MutationRow.device_id == device.device_id, MutationRow.seq.in_(old_seqs)
                )
            )
        }

    batch = _Batch(session, user, rules)
    results: list[MutationResult] = []
    answers: list[dict[str, Any]] = []
    for mutation in request.mutations:
        row = known.get(mutation.id)
        if row is not None:
            if row.device_id == device.device_id:
                results.append(_stored_answer(mutation, row))
            else:  # a uuid collision, or a phone replaying another device's outbox
                results.append(
                    MutationResult(
                        mutation.id,
                        mutation.seq,
                        MutationStatus.REJECTED,
                        ID_REUSED,
                        "该操作编号已被另一设备使用",
                        "This mutation id was already used by another device",
                    )
                )
            last_seq = max(last_seq, mutation.seq)
            continue
        if mutation.seq <= last_seq:
            results.append(_out_of_order(mutation, mutation.seq in by_seq))
            continue

        event = Event(
            id=mutation.id,
            case_id=mutation.case_id,
            name=str(mutation.name),
            actor=user.actor,
            role=user.role,
            occurred_at=mutation.occurred_at,
            args=mutation.args,
            received_at=now,
        )
        kind = "patrol" if mutation.name in PATROL_TRIGGERS else "case"
        slot = batch.slot(kind, mutation.case_id)
        if slot.foreign:
            outcome: Record | Rejection = refuse(RejectionCode.CASE_NOT_FOUND)
        else:
            outcome = apply(slot.record, event, rules)
            if not isinstance(outcome, Rejection):
                outcome = _street_checks(batch, event, outcome) or outcome
        if isinstance(outcome, Rejection):
            result = _answer(mutation, MutationStatus.REJECTED, outcome)
        else:
            missing = next((sha for sha in _photos_of(mutation.args) if photos and not photos.has(sha)), None)
            if missing is not None:
                results.append(
                    MutationResult(
                        mutation.id,
                        mutation.seq,
                        MutationStatus.RETRY,
                        PHOTO_MISSING,
                        f"照片 {missing[:12]}… 尚未上传，稍后将自动重试",
                        f"Photo {missing[:12]}… has not been uploaded yet; it will be retried",
                    )
                )
                break  # nothing after a retry is processed: the phone resends from here
            slot.record = outcome
            slot.dirty = True
            if event.name == "dispatch":
                slot.dispatch_department_id = event.args.get("department_id")
            batch.events.append(event)
            result = _answer(mutation, MutationStatus.APPLIED)
        results.append(result)
        answers.append(
            {
                "id": mutation.id,
                "device_id": device.device_id,
                "seq": mutation.seq,
                "status": result.status.value,
                "code": result.code,
                "message_zh": result.message_zh,
                "message_en": result.message_en,
                "processed_at": now,
            }
        )
        last_seq = mutation.seq

    # 4. write everything with a few executemany statements; the edge commits
    if batch.events:
        session.execute(
            update(StreetCounter)
            .where(StreetCounter.street_id == user.street_id)
            .values(value=counter + len(batch.events))
        )
        session.execute(
            insert(EventRow),
            [_event_values(event, counter + i) for i, event in enumerate(batch.events, start=1)],
        )
        _write_snapshots(session, batch)
    if answers:
        session.execute(insert(MutationRow), answers)
    if last_seq != device.last_seq:
        session.execute(update(Device).where(Device.device_id == device.device_id).values(last_seq=last_seq))
    return PushResponse(protocol_version=PROTOCOL_VERSION, results=tuple(results), last_seq=last_seq)


def _out_of_order(mutation: Mutation, seq_taken: bool) -> MutationResult:
    if seq_taken:
        code, zh, en = (
            SEQ_REUSED,
            "该序号已被另一操作使用",
            "This seq was already used by another mutation from this device",
        )
    else:
        code, zh, en = (
            SEQ_OUT_OF_ORDER,
            "操作顺序错误：该序号早于已处理的操作",
            "Out of order: this seq is below one the server already processed",
        )
    return MutationResult(mutation.id, mutation.seq, MutationStatus.REJECTED, code, zh, en)


def _write_snapshots(session: Session, batch: _Batch) -> None:
    for kind, table in (("case", CaseRow), ("patrol", PatrolRow)):
        new, changed = [], []
        for (slot_kind, record_id), slot in batch.slots.items():
            if slot_kind != kind or not slot.dirty or slot.record is None:
                continue
            values = {
                "id": record_id,
                "street_id": batch.user.street_id,
                "state": slot.record.state.value,
                "version": slot.record.version,
                "data": slot.record.to_dict(),
                # the report's facts, in the same row and transaction as the snapshot they come from
                **facts(slot.record, slot.dispatch_department_id),
            }
            (changed if slot.in_db else new).append(values)
        if new:
            session.execute(insert(table), new)
        if changed:
            t = table.__table__
            columns = [name for name in changed[0] if name not in ("id", "street_id")]
            session.execute(
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values({name: bindparam(name) for name in columns}),
                [{"b_id": v["id"], **{name: v[name] for name in columns}} for v in changed],
            )


# --- pull ------------------------------------------------------------------------------------------


def read_pull(session: Session, user: CurrentUser, request: PullRequest) -> PullResponse:
    """A page of the street's events after the request's cursor, and the device's last processed seq."""
    after = decode_cursor(request.cursor, user.street_id)
    head = session.execute(
        select(StreetCounter.value).where(StreetCounter.street_id == user.street_id)
    ).scalar_one()
    if after > head:
        raise ApiError(400, "bad_cursor", "the cursor is ahead of this server; pull from the start")
    device = session.get(Device, request.device_id)
    if device is not None and device.user_id != user.id:
        raise ApiError(403, "device_taken", "this device id belongs to another user; sign in again")
    rows = list(
        session.scalars(
            select(EventRow)
            .where(EventRow.street_id == user.street_id, EventRow.street_seq > after)
            .order_by(EventRow.street_seq)
            .limit(request.limit + 1)
        )
    )
    has_more = len(rows) > request.limit
    rows = rows[: request.limit]
    records = tuple(EventRecord(event=row_to_event(row), position=row.street_seq) for row in rows)
    cursor = encode_cursor(user.street_id, rows[-1].street_seq if rows else after)
    return PullResponse(
        protocol_version=PROTOCOL_VERSION,
        events=records,
        cursor=cursor,
        has_more=has_more,
        last_seq=device.last_seq if device is not None else 0,
    )


def record_events(session: Session, street_id: str, record_id: str) -> list[Event]:
    """Every event of one case or patrol of ``street_id``, in order."""
    rows = session.scalars(
        select(EventRow)
        .where(EventRow.street_id == street_id, EventRow.case_id == record_id)
        .order_by(EventRow.street_seq)
    )
    return [row_to_event(row) for row in rows]
