"""Push: the only module that decides what a phone's batch of mutations does to the street's ledger.

**Push** replays one device's batch through the engine inside the caller's transaction, which the
edge commits before answering. The street's counter row is locked first: on PostgreSQL that
serializes every push of a street, so ``street_seq`` order is commit order and a pull cursor can
never skip a late commit (design.md, option 2); on SQLite one writer does the same. Each
mutation is answered ``applied``, ``duplicate`` (its id, or its seq, was processed before: the
stored answer is given again), ``rejected`` (processed, refused for good, with a stable code) or
``retry`` (a photo is missing: processing stops there and the phone resends later).

Pull (reading the ledger back) lives in ``server.pull``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Protocol

try:  # the server's fast JSON writer; the phone never needs it
    import orjson
except ImportError:  # pragma: no cover - the server extra installs it
    orjson = None  # type: ignore[assignment]

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine import (
    PATROL_TRIGGERS,
    Case,
    Event,
    Patrol,
    Rejection,
    RejectionCode,
    Rules,
    Trigger,
    apply,
)
from engine.rejection import refuse
from shared import (
    PROTOCOL_VERSION,
    Mutation,
    MutationResult,
    MutationStatus,
    PushRequest,
    PushResponse,
)

from .auth import CurrentUser
from .errors import ApiError
from .facts import StepVisits, epoch, facts
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
]

PHOTO_MISSING = "photo_missing"
SEQ_REUSED = "seq_reused"
SEQ_OUT_OF_ORDER = "seq_out_of_order"
ID_REUSED = "id_reused"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PhotoLookup(Protocol):
    """Whether the server holds a photo; ``server.photos.PhotoStore`` is one."""

    def has(self, sha256: str) -> bool: ...


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
        self.visits = StepVisits()  # step_visits rows, from the engine's step before and after each event
        # roads, communities and departments looked up in this batch: (model, id) → row or None
        self._known: dict[tuple[Any, str], Any] = {}

    def _load(self, kind: str, record_ids: list[str]) -> None:
        """Lock and read every listed record of ``kind`` in one statement; each becomes a slot."""
        query = _LOAD_PATROLS if kind == "patrol" else _LOAD_CASES
        connection = self.session.connection()
        found = {}
        for start in range(0, len(record_ids), 500):
            for row in connection.execute(query, {"ids": record_ids[start : start + 500]}):
                found[row.id] = row
        street_id = self.user.street_id
        for record_id in record_ids:
            row = found.get(record_id)
            if row is None:
                slot = _Slot(None, in_db=False)
            elif row.street_id != street_id:
                slot = _Slot(None, in_db=True, foreign=True)
            else:
                record: Record = Patrol.from_dict(row.data) if kind == "patrol" else Case.from_dict(row.data)
                slot = _Slot(record, in_db=True, dispatch_department_id=row[3] if kind == "case" else None)
            self.slots[(kind, record_id)] = slot

    def preload(self, mutations: Iterable[Mutation]) -> None:
        """Load every case and patrol the batch may touch (merge targets too) before it is replayed."""
        wanted: dict[str, dict[str, None]] = {"case": {}, "patrol": {}}
        for mutation in mutations:
            wanted["patrol" if mutation.name in PATROL_TRIGGERS else "case"][mutation.case_id] = None
            if mutation.name == Trigger.MERGE:
                into = mutation.args.get("into")
                if isinstance(into, str):
                    wanted["case"][into] = None
        for kind, ids in wanted.items():
            missing = [record_id for record_id in ids if (kind, record_id) not in self.slots]
            if missing:
                self._load(kind, missing)

    def slot(self, kind: str, record_id: str) -> _Slot:
        slot = self.slots.get((kind, record_id))
        if slot is None:  # not preloaded: read it now
            self._load(kind, [record_id])
            slot = self.slots[(kind, record_id)]
        return slot

    def exists(self, model: type[Road] | type[Department] | type[Community], item_id: str) -> Any:
        """The street's road (its id and community_id), community or department ``item_id``, or None."""
        key = (model, item_id)
        if key in self._known:
            return self._known[key]
        query = _EXISTS[model.__tablename__]
        params = {"item_id": item_id, "street_id": self.user.street_id}
        row = self._known[key] = self.session.connection().execute(query, params).first()
        return row


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


_counters = StreetCounter.__table__
_events = EventRow.__table__
_devices = Device.__table__
_mutations = MutationRow.__table__
_answer_columns = (
    _mutations.c.id,
    _mutations.c.device_id,
    _mutations.c.seq,
    _mutations.c.status,
    _mutations.c.code,
    _mutations.c.message_zh,
    _mutations.c.message_en,
)
# the push's statements, built once (building a statement costs more than running it on SQLite)
_COUNTER_FOR_UPDATE = (
    select(_counters.c.value).where(_counters.c.street_id == bindparam("street_id")).with_for_update()
)
_DEVICE_FOR_UPDATE = (
    select(_devices.c.device_id, _devices.c.user_id, _devices.c.last_seq)
    .where(_devices.c.device_id == bindparam("device_id"))
    .with_for_update()
)
_KNOWN_IDS = select(*_answer_columns).where(_mutations.c.id.in_(bindparam("ids", expanding=True)))
_KNOWN_SEQS = select(*_answer_columns).where(
    _mutations.c.device_id == bindparam("device_id"), _mutations.c.seq.in_(bindparam("seqs", expanding=True))
)


def _load_statement(table: Any, *extra: Any) -> Any:
    columns = (table.c.id, table.c.street_id, table.c.data, *extra)
    return select(*columns).where(table.c.id.in_(bindparam("ids", expanding=True))).with_for_update()


_LOAD_CASES = _load_statement(CaseRow.__table__, CaseRow.__table__.c.dispatch_department_id)
_LOAD_PATROLS = _load_statement(PatrolRow.__table__)


def _exists_statement(table: Any, *extra: Any) -> Any:
    return select(table.c.id, *extra).where(
        table.c.id == bindparam("item_id"), table.c.street_id == bindparam("street_id")
    )


_EXISTS = {
    "roads": _exists_statement(Road.__table__, Road.__table__.c.community_id),
    "communities": _exists_statement(Community.__table__),
    "departments": _exists_statement(Department.__table__),
}
_SET_COUNTER = (
    update(_counters)
    .where(_counters.c.street_id == bindparam("b_street_id"))
    .values(value=bindparam("b_value"))
)
_SET_LAST_SEQ = (
    update(_devices)
    .where(_devices.c.device_id == bindparam("b_device_id"))
    .values(last_seq=bindparam("b_seq"))
)
_INSERT_DEVICE = insert(_devices)
_INSERT_EVENTS = insert(_events)
_INSERT_ANSWERS = insert(_mutations)


def _stored_answer(mutation: Mutation, row: Any) -> MutationResult:
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
    connection = session.connection()
    counter = connection.execute(_COUNTER_FOR_UPDATE, {"street_id": user.street_id}).scalar_one()
    # 2. the device, bound to the first user who pushes from it
    device: Any = connection.execute(_DEVICE_FOR_UPDATE, {"device_id": request.device_id}).first()
    if device is None:
        connection.execute(
            _INSERT_DEVICE,
            {"device_id": request.device_id, "user_id": user.id, "street_id": user.street_id, "last_seq": 0},
        )
        device = SimpleNamespace(device_id=request.device_id, user_id=user.id, last_seq=0)
    elif device.user_id != user.id:
        raise ApiError(403, "device_taken", "this device id belongs to another user; sign in again")
    last_seq = device.last_seq

    # 3. what was processed before, by id and by seq
    ids = [m.id for m in request.mutations]
    known = {row.id: row for row in connection.execute(_KNOWN_IDS, {"ids": ids})}
    old_seqs = [m.seq for m in request.mutations if m.seq <= last_seq]
    by_seq: dict[int, Any] = {}
    if old_seqs:
        by_seq = {
            row.seq: row
            for row in connection.execute(_KNOWN_SEQS, {"device_id": device.device_id, "seqs": old_seqs})
        }

    batch = _Batch(session, user, rules)
    batch.preload(m for m in request.mutations if m.id not in known and m.seq > last_seq)
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
            if isinstance(outcome, Case):
                # the step before comes from the loaded snapshot: no extra read of the log
                before = slot.record.step if isinstance(slot.record, Case) else None
                street_seq = counter + len(batch.events) + 1  # the seq step 4 gives this event
                at = epoch(event.occurred_at)
                batch.visits.record(user.street_id, event.case_id, before, outcome.step, street_seq, at)
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
    # (Core statements on the session's connection: the ORM's bulk machinery costs more than the rows)
    if batch.events:
        connection.execute(
            _SET_COUNTER, {"b_street_id": user.street_id, "b_value": counter + len(batch.events)}
        )
        connection.execute(
            _INSERT_EVENTS,
            [_event_values(event, counter + i) for i, event in enumerate(batch.events, start=1)],
        )
        _write_snapshots(session, batch)
        batch.visits.write(session)
    if answers:
        connection.execute(_INSERT_ANSWERS, answers)
    if last_seq != device.last_seq:
        connection.execute(_SET_LAST_SEQ, {"b_device_id": device.device_id, "b_seq": last_seq})
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
