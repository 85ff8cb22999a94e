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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import orjson

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
    build_event,
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
from .db import Transaction, json_text, transaction_memo
from .driver import Driver, insert_rows, update_rows
from .errors import ApiError
from .event_text import entry, iso_text, iso_utc
from .facts import StepVisits, epoch, facts

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


_EVENT_COLUMNS = (
    "street_id",
    "street_seq",
    "id",
    "case_id",
    "name",
    "actor_id",
    "role",
    "community_id",
    "department_id",
    "occurred_at",
    "occurred_epoch",
    "received_at",
    "args",
    "wire",
)
_ANSWER_COLUMNS = ("id", "device_id", "seq", "status", "code", "message_zh", "message_en", "processed_at")


def _event_row(
    event: Event, args_json: str, occurred_epoch: float, street_seq: int, received_at: Any, received_iso: str
) -> tuple[Any, ...]:
    """The ``events`` row of an applied event, in ``_EVENT_COLUMNS`` order, with its pull entry."""
    actor = event.actor
    occurred_at = iso_text(event.occurred_at)
    role = event.role.value
    return (
        actor.street_id,
        street_seq,
        event.id,
        event.case_id,
        event.name,
        actor.user_id,
        role,
        actor.community_id,
        actor.department_id,
        occurred_at,
        occurred_epoch,
        received_at,
        args_json,
        orjson.dumps(
            entry(
                street_seq,
                event.id,
                event.case_id,
                event.name,
                actor.user_id,
                actor.street_id,
                actor.community_id,
                actor.department_id,
                role,
                occurred_at,
                orjson.Fragment(args_json),
                received_iso,
            )
        ).decode(),
    )


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


# a kind of record ("case" or "patrol"), the ids to read, and the statements that read them
_Load = tuple[str, list[str], list[tuple[str, list[str]]]]


class _Batch:
    """The state of one push while it runs: records touched, rows to write, answers given."""

    def __init__(self, driver: Driver, user: CurrentUser, rules: Rules, memo: dict[Any, Any]) -> None:
        self.driver = driver
        self.user = user
        self.rules = rules
        self.slots: dict[tuple[str, str], _Slot] = {}
        self.events: list[Event] = []
        self.args_json: list[str] = []  # each event's args as the JSON text its mutation was checked as
        self.epochs: list[float] = []  # each event's occurred_at as ``epoch`` gives it
        self.visits = StepVisits()  # step_visits rows, from the engine's step before and after each event
        # roads, communities and departments found in this transaction: ("exists", table, id,
        # street) → row (server.db.transaction_memo: a group of pushes shares them)
        self._known = memo

    @staticmethod
    def _load_statements(kind: str, record_ids: list[str]) -> list[tuple[str, list[str]]]:
        """The statements that lock and read every listed record of ``kind``."""
        query = _LOAD_PATROLS if kind == "patrol" else _LOAD_CASES
        return [
            (query.format(ids=Driver.marks(len(chunk)), lock="{lock}"), chunk)
            for chunk in (record_ids[start : start + 500] for start in range(0, len(record_ids), 500))
        ]

    def _load(self, kind: str, record_ids: list[str]) -> None:
        """Lock and read every listed record of ``kind``; each becomes a slot."""
        statements = self._load_statements(kind, record_ids)
        rows = self.driver.read_all(statements, prepare=False)  # planned for these ids (Driver.read_all)
        self._take(kind, record_ids, [row for found in rows for row in found])

    def _take(self, kind: str, record_ids: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
        """Slots for ``record_ids`` from the rows their statements read."""
        found = {row[0]: row for row in rows}
        street_id = self.user.street_id
        for record_id in record_ids:
            row = found.get(record_id)
            if row is None:
                slot = _Slot(None, in_db=False)
            elif row[1] != street_id:
                slot = _Slot(None, in_db=True, foreign=True)
            else:
                data = Driver.json(row[2])
                record: Record = Patrol.from_dict(data) if kind == "patrol" else Case.from_dict(data)
                slot = _Slot(record, in_db=True, dispatch_department_id=row[3] if kind == "case" else None)
            self.slots[(kind, record_id)] = slot

    def preload_plan(self, mutations: Iterable[Mutation]) -> list[_Load]:
        """Every case and patrol the batch may touch (merge targets too), to read before it is
        replayed: per kind, the ids and the statements that read them (``take_preloaded`` keeps
        what they read)."""
        wanted: dict[str, dict[str, None]] = {"case": {}, "patrol": {}}
        for mutation in mutations:
            wanted["patrol" if mutation.name in PATROL_TRIGGERS else "case"][mutation.case_id] = None
            if mutation.name == Trigger.MERGE:
                into = mutation.args.get("into")
                if isinstance(into, str):
                    wanted["case"][into] = None
        plan: list[_Load] = []
        for kind, found in wanted.items():
            if found:
                ids = list(found)
                plan.append((kind, ids, self._load_statements(kind, ids)))
        return plan

    def take_preloaded(self, plan: list[_Load], results: list[list[tuple[Any, ...]]]) -> None:
        """Slots from the rows the plan's statements read, in the plan's order."""
        at = 0
        for kind, ids, statements in plan:
            self._take(kind, ids, [row for rows in results[at : at + len(statements)] for row in rows])
            at += len(statements)

    def slot(self, kind: str, record_id: str) -> _Slot:
        slot = self.slots.get((kind, record_id))
        if slot is None:  # not preloaded: read it now
            self._load(kind, [record_id])
            slot = self.slots[(kind, record_id)]
        return slot

    def exists(self, table: str, item_id: str) -> tuple[Any, ...] | None:
        """The street's road (its id and community_id), community or department ``item_id``, or None."""
        key = ("exists", table, item_id, self.user.street_id)
        row = self._known.get(key)
        if row is None:
            row = self.driver.first(_EXISTS[table], (item_id, self.user.street_id))
            if row is not None:  # only what exists is remembered: a later import may add the rest
                self._known[key] = row
        return row  # type: ignore[no-any-return]


def _invalid(field: str, zh: str, en: str) -> Rejection:
    return refuse(RejectionCode.INVALID_FIELD, field=field, detail=f"{zh} / {en}")


def _street_checks(batch: _Batch, trigger: Trigger, event: Event, result: Record) -> Rejection | None:
    """What the engine cannot know: that the things an event (of ``trigger``) names exist in the
    user's street."""
    if trigger in (Trigger.REPORT, Trigger.START_PATROL):
        road_id = event.args.get("road_id")
        road = batch.exists("roads", road_id) if isinstance(road_id, str) else None
        if road is None:
            return _invalid("road_id", "本街道没有该路段", "no such road in this street")
        community_id = result.community_id
        if community_id is not None and batch.exists("communities", community_id) is None:
            return _invalid("community_id", "本街道没有该社区", "no such community in this street")
        if road[1] is not None and community_id is not None and road[1] != community_id:
            return _invalid("road_id", "该路段不属于该社区", "the road is in another community")
    elif trigger is Trigger.DISPATCH:
        department_id = event.args.get("department_id")
        if not isinstance(department_id, str) or batch.exists("departments", department_id) is None:
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
        return MutationResult.acknowledging(mutation, status)
    return MutationResult(
        mutation.id, mutation.seq, status, rejection.code.value, rejection.message_zh, rejection.message_en
    )


# the push's statements (server.driver: ``?`` placeholders, ``{lock}`` is FOR UPDATE on PostgreSQL)
_COUNTER_FOR_UPDATE = "SELECT value FROM street_counters WHERE street_id = ?{lock}"
_DEVICE_FOR_UPDATE = "SELECT device_id, user_id, last_seq FROM devices WHERE device_id = ?{lock}"
_INSERT_DEVICE = "INSERT INTO devices (device_id, user_id, street_id, last_seq) VALUES (?, ?, ?, 0)"
_ANSWER = "SELECT id, device_id, seq, status, code, message_zh, message_en FROM mutations"
_KNOWN_IDS = _ANSWER + " WHERE id IN ({ids})"
_KNOWN_SEQS = _ANSWER + " WHERE device_id = ? AND seq IN ({seqs})"
_LOAD_CASES = "SELECT id, street_id, data, dispatch_department_id FROM cases WHERE id IN ({ids}){lock}"
_LOAD_PATROLS = "SELECT id, street_id, data FROM patrols WHERE id IN ({ids}){lock}"
_EXISTS = {
    "roads": "SELECT id, community_id FROM roads WHERE id = ? AND street_id = ?",
    "communities": "SELECT id FROM communities WHERE id = ? AND street_id = ?",
    "departments": "SELECT id FROM departments WHERE id = ? AND street_id = ?",
}
_SET_COUNTER = "UPDATE street_counters SET value = ? WHERE street_id = ?"
_SET_LAST_SEQ = "UPDATE devices SET last_seq = ? WHERE device_id = ?"
# (id, device_id, seq, status, code, message_zh, message_en) as _ANSWER reads them
_STATUS, _CODE, _ZH, _EN = 3, 4, 5, 6


def _stored_answer(mutation: Mutation, row: tuple[Any, ...]) -> MutationResult:
    if row[_STATUS] == MutationStatus.APPLIED.value:
        return MutationResult.acknowledging(mutation, MutationStatus.DUPLICATE)
    return MutationResult(mutation.id, mutation.seq, MutationStatus.REJECTED, row[_CODE], row[_ZH], row[_EN])


def apply_push(
    session: Transaction,
    user: CurrentUser,
    request: PushRequest,
    rules: Rules,
    photos: PhotoLookup | None = None,
    now: datetime | None = None,
) -> PushResponse:
    """Replay ``request``'s mutations inside ``session``'s transaction; the caller commits, then answers."""
    now = now or datetime.now(UTC)
    driver = Driver(session)
    memo = transaction_memo(session)
    device_id = request.device_id
    ids = [m.id for m in request.mutations]
    batch = _Batch(driver, user, rules, memo)
    actor, role = user.actor, user.role  # one Actor for the whole batch: every event shares it
    plan = batch.preload_plan(request.mutations)
    # Steps 1-3 are read together, in this order: on PostgreSQL in one round trip (read_all).
    # 1. the street's counter row, locked until commit: pushes of one street commit one at a time.
    # The transaction's first push of the street reads it; the next ones know it (the lock holds).
    counter_key = ("counter", user.street_id)
    known_counter: int | None = memo.get(counter_key)
    statements: list[tuple[str, Sequence[Any]]] = []
    if known_counter is None:
        statements.append((_COUNTER_FOR_UPDATE, (user.street_id,)))
    # 2. the device, bound to the first user who pushes from it; 3. what was processed before (by
    # id), and every case and patrol the batch names, locked
    statements.append((_DEVICE_FOR_UPDATE, (device_id,)))
    statements.append((_KNOWN_IDS.format(ids=Driver.marks(len(ids))), ids))
    statements.extend(statement for _, _, load in plan for statement in load)
    read = driver.read_all(statements, prepare=False)  # planned for these ids (Driver.read_all)
    if known_counter is None:
        counter_rows = read.pop(0)
        if not counter_rows:
            raise LookupError(f"street {user.street_id} has no counter row")
        known_counter = int(counter_rows[0][0])
    counter: int = known_counter
    device = read[0][0] if read[0] else None
    if device is None:
        driver.run(_INSERT_DEVICE, (device_id, user.id, user.street_id))
        stored_last_seq = 0
    elif device[1] != user.id:
        raise ApiError(403, "device_taken", "this device id belongs to another user; sign in again")
    else:
        stored_last_seq = device[2]
    last_seq = stored_last_seq

    known = {row[0]: row for row in read[1]}
    batch.take_preloaded(plan, read[2:])
    # and by seq: a resend below the device's last seq (rare: a round trip of its own)
    old_seqs = [m.seq for m in request.mutations if m.seq <= last_seq]
    by_seq: dict[int, Any] = {}
    if old_seqs:
        query = _KNOWN_SEQS.format(seqs=Driver.marks(len(old_seqs)))
        by_seq = {row[2]: row for row in driver.rows(query, [device_id, *old_seqs], prepare=False)}
    results: list[MutationResult] = []
    answers: list[MutationResult] = []  # every processed mutation's answer, kept for a resend
    for mutation in request.mutations:
        row = known.get(mutation.id)
        if row is not None:
            if row[1] == device_id:
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

        trigger = cast(Trigger, mutation.name)  # a Mutation holds its name as the Trigger member
        occurred_at = mutation.occurred_at
        if occurred_at > now:
            # a phone whose clock runs ahead: nothing happens after the server heard of it, so the
            # action is dated when it arrived (in the phone's offset), and a case's steps keep
            # their order and the reports' step times stay true
            occurred_at = now.astimezone(occurred_at.tzinfo)
        event = build_event(
            id=mutation.id,
            case_id=mutation.case_id,
            name=trigger.value,
            actor=actor,
            role=role,
            occurred_at=occurred_at,
            args=mutation.args,
            received_at=now,
        )
        kind = "patrol" if trigger in PATROL_TRIGGERS else "case"
        slot = batch.slot(kind, mutation.case_id)
        if slot.foreign:
            outcome: Record | Rejection = refuse(RejectionCode.CASE_NOT_FOUND)
        else:
            outcome = apply(slot.record, event, rules)
            if not isinstance(outcome, Rejection):
                outcome = _street_checks(batch, trigger, event, outcome) or outcome
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
            at = epoch(event.occurred_at)
            if isinstance(outcome, Case):
                # the step before comes from the loaded snapshot: no extra read of the log
                before = slot.record.step if isinstance(slot.record, Case) else None
                street_seq = counter + len(batch.events) + 1  # the seq step 4 gives this event
                batch.visits.record(user.street_id, event.case_id, before, outcome.step, street_seq, at)
            slot.record = outcome
            slot.dirty = True
            if trigger is Trigger.DISPATCH:
                slot.dispatch_department_id = event.args.get("department_id")
            batch.events.append(event)
            batch.args_json.append(mutation.args_json)
            batch.epochs.append(at)
            result = _answer(mutation, MutationStatus.APPLIED)
        results.append(result)
        answers.append(result)
        last_seq = mutation.seq

    # 4. write everything with a few executemany calls; the edge commits
    received_at = driver.moment(now)
    received_iso = iso_utc(now)
    if batch.events:
        driver.run(_SET_COUNTER, (counter + len(batch.events), user.street_id))
        insert_rows(
            driver,
            "events",
            _EVENT_COLUMNS,
            [
                _event_row(event, text, at, counter + i, received_at, received_iso)
                for i, (event, text, at) in enumerate(
                    zip(batch.events, batch.args_json, batch.epochs, strict=True), start=1
                )
            ],
        )
        _write_snapshots(driver, batch)
        batch.visits.write(driver)
    insert_rows(
        driver,
        "mutations",
        _ANSWER_COLUMNS,
        [
            (r.id, device_id, r.seq, r.status.value, r.code, r.message_zh, r.message_en, received_at)
            for r in answers
        ],
    )
    if last_seq != stored_last_seq:
        driver.run(_SET_LAST_SEQ, (last_seq, device_id))
    memo[counter_key] = counter + len(batch.events)
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


def _snapshot_json(record: Record) -> str:
    """A snapshot's JSON text, ``record.to_dict()`` as compact JSON.

    orjson writes the frozen dataclass itself, field by field in the order ``to_dict`` lists them
    (enums as values, datetimes as ISO-8601, tuples as arrays), without building the dictionary
    first; tests/server/test_snapshots.py holds the two texts equal.
    """
    try:
        return orjson.dumps(record).decode()
    except TypeError:  # pragma: no cover - an integer orjson cannot write
        return json_text(record.to_dict())


def _write_snapshots(driver: Driver, batch: _Batch) -> None:
    """Insert the batch's new cases and patrols, update the changed ones: one executemany each."""
    street_id = batch.user.street_id
    for kind in ("case", "patrol"):
        new: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        columns: tuple[str, ...] = ()
        for (slot_kind, record_id), slot in batch.slots.items():
            record = slot.record
            if slot_kind != kind or not slot.dirty or record is None:
                continue
            # the report's facts, in the same row and transaction as the snapshot they come from
            record_facts = facts(record, slot.dispatch_department_id)
            columns = ("state", "version", "data", *record_facts)
            values = (
                record.state.value,
                record.version,
                _snapshot_json(record),
                *record_facts.values(),
            )
            if slot.in_db:
                changed.append((*values, record_id))
            else:
                new.append((record_id, street_id, *values))
        table = "cases" if kind == "case" else "patrols"
        insert_rows(driver, table, ("id", "street_id", *columns), new)
        update_rows(driver, table, columns, ("id",), changed)
