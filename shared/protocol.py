"""The sync messages: a phone pushes its mutations and pulls the events it may see.

Every message is a frozen dataclass with ``to_dict()`` (JSON-ready; pass it, or the message itself,
to ``codec.dumps``) and a strict ``from_dict(obj)``. Construction validates too (all but the
inside of an engine ``Event``, which is checked when read), so a phone cannot even queue a
mutation the server would refuse as malformed: such a mutation would block its outbox for good.

Wire rules, the same for every message:

- every field is written by ``to_dict``; on reading, a field whose dataclass attribute has a
  default may be left out, every other must be present (``null`` where the type allows it), and
  an unknown field is refused;
- ``protocol_version`` is checked before anything else, so a message from a newer protocol is
  told "unsupported version" rather than "unknown field";
- integers are JSON integers (``true`` and ``1.0`` are not) within 0..``MAX_SEQ``; ids are
  canonical lowercase UUIDs; datetimes are ISO-8601 with a UTC offset in whole minutes (RFC 3339).

Failures raise ``MalformedPayload`` (or ``UnsupportedVersion``) whose reason starts with the path
of the field, e.g. ``mutations[3].seq: expected an integer ≥ 1, got 0``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import KW_ONLY, InitVar, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from engine.events import Event
from engine.frozen import builder
from engine.vocabulary import Trigger

from .codec import (
    _check_aware,
    _check_int,
    _check_keys,
    _check_plain_json,
    _check_text,
    _check_uuid,
    _fail,
    _parse_datetime,
    _show,
    event_from_wire,
    event_to_wire,
)
from .constants import (
    DEFAULT_PULL_LIMIT,
    MAX_ARGS_BYTES,
    MAX_BATCH,
    MAX_JSON_DEPTH,
    MAX_PULL_LIMIT,
    MAX_SEQ,
    PROTOCOL_VERSION,
)
from .errors import MalformedPayload, ProtocolError, UnsupportedVersion

__all__ = [
    "ErrorBody",
    "EventRecord",
    "Mutation",
    "MutationResult",
    "MutationStatus",
    "PullRequest",
    "PullResponse",
    "PushRequest",
    "PushResponse",
]

_TRIGGER_BY_VALUE: dict[str, Trigger] = {trigger.value: trigger for trigger in Trigger}
# The deepest envelope is a pull: response → events → record → event → args, so args sit at level 5.
# Capping args here keeps every message that carries them within what ``loads`` accepts.
_MAX_ARGS_DEPTH = MAX_JSON_DEPTH - 4
# Measured exactly as ``dumps`` writes it, so the limit means the bytes a phone sends.
_ARGS_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _check_version(value: Any) -> None:
    if type(value) is not int:
        _fail("protocol_version", f"expected an integer, got {_show(value)}")
    if value != PROTOCOL_VERSION:
        raise UnsupportedVersion(
            f"protocol_version: {value} is not supported; this side speaks {PROTOCOL_VERSION}"
        )


def _read_version(obj: Any) -> None:
    if not isinstance(obj, dict):
        _fail("", f"expected a JSON object, got {_show(obj)}")
    if "protocol_version" not in obj:
        _fail("protocol_version", "missing")
    _check_version(obj["protocol_version"])


def _check_tuple(value: Any, field: str, kind: type, low: int, high: int) -> None:
    if type(value) is not tuple:
        _fail(field, f"expected a tuple of {kind.__name__}, got a {type(value).__name__}")
    if not low <= len(value) <= high:
        _fail(field, f"expected {low} to {high} items, got {len(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, kind):
            _fail(f"{field}[{index}]", f"expected a {kind.__name__}, got {_show(item)}")


def _read_list(value: Any, field: str, high: int) -> list[Any]:
    # The count is checked before any item is parsed: an oversized batch costs nothing to refuse.
    if type(value) is not list:
        _fail(field, f"expected an array, got {_show(value)}")
    if len(value) > high:
        _fail(field, f"expected at most {high} items, got {len(value)}")
    return value


def _optional_text(value: Any, field: str) -> None:
    if value is not None:
        _check_text(value, field)


# --- push ------------------------------------------------------------------------------------------

# what a caller that already parsed the JSON gives back as an args object's compact text
ArgsEncoder = Callable[[dict[str, Any]], str]

_MUTATION_FIELDS = frozenset({"id", "seq", "name", "case_id", "args", "occurred_at"})


@dataclass(frozen=True, slots=True)
class Mutation:
    """One user action, as the phone recorded it: replayed by the server through the engine.

    ``id`` is minted on the phone (``new_id()``) and makes a resend harmless; ``seq`` is the
    device's own counter, from 1, strictly increasing; ``name`` is a ``Trigger`` value (kept as the
    ``Trigger`` member); ``case_id`` names the case or patrol, minted on the phone when the action
    creates it; ``occurred_at`` is the device clock, with its offset.

    ``args`` is checked when the mutation is built and not copied: build it, then leave it alone.
    ``args_json`` is ``args`` as compact JSON text, written once when its size is checked: the
    server stores that text rather than encoding the same object again. A caller may pass it in
    as ``args_text`` (keyword only) when it already holds that text: it then vouches that ``args``
    came from parsing JSON, no deeper than the protocol allows, and that the text is its compact JSON.
    Only its size is checked. The server does this for a body it proved canonical
    (``server.wire.read_push``), whose args text is the body's own.
    """

    id: str
    seq: int
    name: str
    case_id: str
    args: dict[str, Any]
    occurred_at: datetime
    args_json: str = field(init=False, repr=False, compare=False)
    _: KW_ONLY
    # InitVar, not a field: ``dataclasses.replace`` then writes args_json again from the new args
    args_text: InitVar[str] = ""

    def __post_init__(self, args_text: str) -> None:
        object.__setattr__(self, "name", _check_mutation_head(self.id, self.seq, self.name, self.case_id))
        if args_text and type(self.args) is dict:
            _check_args_size(args_text)
            object.__setattr__(self, "args_json", args_text)
        else:
            object.__setattr__(self, "args_json", _check_args(self.args))
        _check_aware(self.occurred_at, "occurred_at")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "name": str(self.name),
            "case_id": self.case_id,
            "args": self.args,
            "occurred_at": self.occurred_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, obj: Any, encode_args: ArgsEncoder | None = None) -> Mutation:
        """``encode_args``: see ``PushRequest.from_dict``."""
        _check_keys(obj, _MUTATION_FIELDS, _MUTATION_FIELDS)
        args = obj["args"]
        occurred_at = _parse_datetime(obj["occurred_at"], "occurred_at")
        if encode_args is None or type(args) is not dict:
            return cls(
                id=obj["id"],
                seq=obj["seq"],
                name=obj["name"],
                case_id=obj["case_id"],
                args=args,
                occurred_at=occurred_at,
            )
        # what the constructor does with args_text, the same checks in the same order, without the
        # frozen __init__'s call per field: the server reads every mutation of every push this way
        args_text = encode_args(args)
        trigger = _check_mutation_head(obj["id"], obj["seq"], obj["name"], obj["case_id"])
        _check_args_size(args_text)
        # no _check_aware: _parse_datetime has checked the offset (there, in whole minutes)
        return _build_mutation(obj["id"], obj["seq"], trigger, obj["case_id"], args, occurred_at, args_text)


def _check_mutation_head(id: Any, seq: Any, name: Any, case_id: Any) -> Trigger:
    """A mutation's id, seq, name and case_id checked, in that order; its name's ``Trigger``."""
    _check_uuid(id, "id")
    _check_int(seq, "seq", 1, MAX_SEQ)
    trigger = _TRIGGER_BY_VALUE.get(name) if isinstance(name, str) else None
    if trigger is None:
        _fail("name", f"expected a trigger ({', '.join(_TRIGGER_BY_VALUE)}), got {_show(name)}")
    _check_uuid(case_id, "case_id")
    return trigger


_build_mutation = builder(Mutation)


def _check_args(args: Any) -> str:
    """``args`` as compact JSON text, once it is known to be a small enough plain JSON object."""
    if not isinstance(args, dict):
        _fail("args", f"expected a JSON object, got {_show(args)}")
    _check_plain_json(args, "args", _MAX_ARGS_DEPTH)
    try:
        text = _ARGS_ENCODER.encode(args)
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        _fail("args", "contains an unpaired surrogate, which cannot be sent")
    except ValueError as exc:  # NaN or Infinity
        _fail("args", f"not JSON: {exc}")
    if size > MAX_ARGS_BYTES:
        _fail("args", f"{size} bytes as JSON, more than the {MAX_ARGS_BYTES} allowed")
    return text


def _check_args_size(text: str) -> None:
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    if size > MAX_ARGS_BYTES:
        _fail("args", f"{size} bytes as JSON, more than the {MAX_ARGS_BYTES} allowed")


_PUSH_REQUEST_FIELDS = frozenset({"protocol_version", "device_id", "mutations"})


@dataclass(frozen=True, slots=True)
class PushRequest:
    """A batch from one device's outbox, in order: 1..``MAX_BATCH`` mutations, seqs increasing."""

    protocol_version: int
    device_id: str
    mutations: tuple[Mutation, ...]

    def __post_init__(self) -> None:
        _check_version(self.protocol_version)
        _check_uuid(self.device_id, "device_id")
        _check_tuple(self.mutations, "mutations", Mutation, 1, MAX_BATCH)
        previous = 0
        for index, mutation in enumerate(self.mutations):
            if mutation.seq <= previous:
                _fail(
                    f"mutations[{index}].seq",
                    f"expected more than the seq before it ({previous}), got {mutation.seq}",
                )
            previous = mutation.seq

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol_version": self.protocol_version,
            "device_id": self.device_id,
            "mutations": [mutation.to_dict() for mutation in self.mutations],
        }

    @classmethod
    def from_dict(cls, obj: Any, encode_args: ArgsEncoder | None = None) -> PushRequest:
        """``encode_args``, when given, writes each mutation's args as its ``args_json``; only for
        ``obj`` parsed from JSON no deeper than ``MAX_JSON_DEPTH - 1`` (a push envelope holds args
        three levels down, so each is then within the args limit), where ``encode_args`` gives the
        compact text the phone sent (see ``Mutation``)."""
        _read_version(obj)
        _check_keys(obj, _PUSH_REQUEST_FIELDS, _PUSH_REQUEST_FIELDS)
        mutations = []
        for index, item in enumerate(_read_list(obj["mutations"], "mutations", MAX_BATCH)):
            try:
                mutations.append(Mutation.from_dict(item, encode_args))
            except MalformedPayload as exc:
                raise exc.within(f"mutations[{index}]") from None
        return cls(
            protocol_version=obj["protocol_version"], device_id=obj["device_id"], mutations=tuple(mutations)
        )


class MutationStatus(StrEnum):
    """What the server did with one mutation."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"  # the server already had this id: acknowledged, no second effect
    REJECTED = "rejected"  # processed and refused for good (code + reason): drop it from the outbox
    # Not processed yet, e.g. it names a photo the server lacks: keep it and push it again later.
    # The server stops that device's batch here, so nothing after it is answered.
    RETRY = "retry"


_STATUS_BY_VALUE: dict[str, MutationStatus] = {status.value: status for status in MutationStatus}
_NEEDS_REASON = frozenset({MutationStatus.REJECTED, MutationStatus.RETRY})
_ACKNOWLEDGED = frozenset({MutationStatus.APPLIED, MutationStatus.DUPLICATE})
_RESULT_REQUIRED = frozenset({"id", "seq", "status"})
_RESULT_FIELDS = _RESULT_REQUIRED | {"code", "message_zh", "message_en"}


@dataclass(frozen=True, slots=True)
class MutationResult:
    """The answer for one mutation.

    ``rejected`` and ``retry`` carry a stable ``code`` and a message in Chinese and English, which
    the phone shows next to the case; ``applied`` and ``duplicate`` carry none of the three.
    """

    id: str
    seq: int
    status: MutationStatus
    code: str | None = None
    message_zh: str | None = None
    message_en: str | None = None

    def __post_init__(self) -> None:
        _check_uuid(self.id, "id")
        _check_int(self.seq, "seq", 1, MAX_SEQ)
        status = self.status
        known = _STATUS_BY_VALUE.get(status) if isinstance(status, str) else None
        if known is None:
            _fail("status", f"expected one of {', '.join(_STATUS_BY_VALUE)}, got {_show(status)}")
        object.__setattr__(self, "status", known)
        if known in _NEEDS_REASON:
            _check_text(self.code, "code")
            _check_text(self.message_zh, "message_zh")
            _check_text(self.message_en, "message_en")
        else:
            for field in ("code", "message_zh", "message_en"):
                value = getattr(self, field)
                if value is not None:
                    _fail(field, f"expected null for a {known.value} mutation, got {_show(value)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "status": self.status.value,
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }

    @classmethod
    def acknowledging(cls, mutation: Mutation, status: MutationStatus) -> MutationResult:
        """The ``applied`` or ``duplicate`` answer to ``mutation``, built without checking its id
        and seq again: ``Mutation`` checked them when it was read. The server answers every
        mutation of every push, and the checks were a twentieth of a push's time."""
        if status not in _ACKNOWLEDGED:
            raise ValueError(f"{status} needs a code and a reason")
        return _build_result(mutation.id, mutation.seq, status, None, None, None)

    @classmethod
    def from_dict(cls, obj: Any) -> MutationResult:
        _check_keys(obj, _RESULT_REQUIRED, _RESULT_FIELDS)
        return cls(
            id=obj["id"],
            seq=obj["seq"],
            status=obj["status"],  # __post_init__ turns the string into the member
            code=obj.get("code"),
            message_zh=obj.get("message_zh"),
            message_en=obj.get("message_en"),
        )


_build_result = builder(MutationResult)
_PUSH_RESPONSE_FIELDS = frozenset({"protocol_version", "results", "last_seq"})


@dataclass(frozen=True, slots=True)
class PushResponse:
    """The server's answers, in the order of the batch, sent only after the batch committed.

    ``last_seq`` is the device's last processed seq on the server (0: none yet). Every answered
    mutation except a final ``retry`` has been processed, so its seq is at most ``last_seq``.
    """

    protocol_version: int
    results: tuple[MutationResult, ...]
    last_seq: int

    def __post_init__(self) -> None:
        _check_version(self.protocol_version)
        _check_tuple(self.results, "results", MutationResult, 0, MAX_BATCH)
        _check_int(self.last_seq, "last_seq", 0, MAX_SEQ)
        previous = 0
        last = len(self.results) - 1
        for index, result in enumerate(self.results):
            if result.seq <= previous:
                _fail(
                    f"results[{index}].seq",
                    f"expected more than the seq before it ({previous}), got {result.seq}",
                )
            previous = result.seq
            if result.status is MutationStatus.RETRY:
                if index != last:
                    _fail(f"results[{index}].status", "retry must be the last result: processing stops there")
            elif result.seq > self.last_seq:
                _fail(
                    f"results[{index}].seq",
                    f"a processed mutation's seq ({result.seq}) cannot exceed last_seq ({self.last_seq})",
                )

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol_version": self.protocol_version,
            "results": [result.to_dict() for result in self.results],
            "last_seq": self.last_seq,
        }

    @classmethod
    def from_dict(cls, obj: Any) -> PushResponse:
        _read_version(obj)
        _check_keys(obj, _PUSH_RESPONSE_FIELDS, _PUSH_RESPONSE_FIELDS)
        results = []
        for index, item in enumerate(_read_list(obj["results"], "results", MAX_BATCH)):
            try:
                results.append(MutationResult.from_dict(item))
            except MalformedPayload as exc:
                raise exc.within(f"results[{index}]") from None
        return cls(protocol_version=obj["protocol_version"], results=tuple(results), last_seq=obj["last_seq"])


# --- pull ------------------------------------------------------------------------------------------

_PULL_REQUEST_REQUIRED = frozenset({"protocol_version", "device_id", "cursor"})
_PULL_REQUEST_FIELDS = _PULL_REQUEST_REQUIRED | {"limit"}


@dataclass(frozen=True, slots=True)
class PullRequest:
    """Ask for the events after ``cursor`` (``None``: from the beginning), at most ``limit`` of them.

    The cursor is opaque: the phone stores what the last ``PullResponse`` gave it and sends it back.
    """

    protocol_version: int
    device_id: str
    cursor: str | None
    limit: int = DEFAULT_PULL_LIMIT

    def __post_init__(self) -> None:
        _check_version(self.protocol_version)
        _check_uuid(self.device_id, "device_id")
        _optional_text(self.cursor, "cursor")
        _check_int(self.limit, "limit", 1, MAX_PULL_LIMIT)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol_version": self.protocol_version,
            "device_id": self.device_id,
            "cursor": self.cursor,
            "limit": self.limit,
        }

    @classmethod
    def from_dict(cls, obj: Any) -> PullRequest:
        _read_version(obj)
        _check_keys(obj, _PULL_REQUEST_REQUIRED, _PULL_REQUEST_FIELDS)
        return cls(
            protocol_version=obj["protocol_version"],
            device_id=obj["device_id"],
            cursor=obj["cursor"],
            limit=obj.get("limit", DEFAULT_PULL_LIMIT),
        )


_RECORD_FIELDS = frozenset({"position", "event"})


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An engine ``Event`` and its ``position`` in the server's order.

    On the wire: ``{"position": 7, "event": {...}}``, the event exactly as ``event_to_wire`` writes it.
    """

    event: Event
    position: int

    def __post_init__(self) -> None:
        if not isinstance(self.event, Event):
            _fail("event", f"expected an Event, got {_show(self.event)}")
        _check_int(self.position, "position", 0, MAX_SEQ)

    def to_dict(self) -> dict[str, Any]:
        return {"position": self.position, "event": event_to_wire(self.event)}

    @classmethod
    def from_dict(cls, obj: Any) -> EventRecord:
        _check_keys(obj, _RECORD_FIELDS, _RECORD_FIELDS)
        try:
            event = event_from_wire(obj["event"])
        except MalformedPayload as exc:
            raise exc.within("event") from None
        return cls(event=event, position=obj["position"])


_PULL_RESPONSE_FIELDS = frozenset({"protocol_version", "events", "cursor", "has_more", "last_seq"})


@dataclass(frozen=True, slots=True)
class PullResponse:
    """One page of events in server order, the cursor to ask from next, and whether more are waiting.

    ``last_seq`` is the device's last processed seq: the phone drops outbox entries up to it, and
    shows server state with the rest of its outbox replayed on top.
    """

    protocol_version: int
    events: tuple[EventRecord, ...]
    cursor: str
    has_more: bool
    last_seq: int

    def __post_init__(self) -> None:
        _check_version(self.protocol_version)
        _check_tuple(self.events, "events", EventRecord, 0, MAX_PULL_LIMIT)
        _check_text(self.cursor, "cursor")
        if type(self.has_more) is not bool:
            _fail("has_more", f"expected a boolean, got {_show(self.has_more)}")
        _check_int(self.last_seq, "last_seq", 0, MAX_SEQ)
        previous = -1
        for index, record in enumerate(self.events):
            if record.position <= previous:
                _fail(
                    f"events[{index}].position",
                    f"expected more than the position before it ({previous}), got {record.position}",
                )
            previous = record.position

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol_version": self.protocol_version,
            "events": [record.to_dict() for record in self.events],
            "cursor": self.cursor,
            "has_more": self.has_more,
            "last_seq": self.last_seq,
        }

    @classmethod
    def from_dict(cls, obj: Any) -> PullResponse:
        _read_version(obj)
        _check_keys(obj, _PULL_RESPONSE_FIELDS, _PULL_RESPONSE_FIELDS)
        events = []
        for index, item in enumerate(_read_list(obj["events"], "events", MAX_PULL_LIMIT)):
            try:
                events.append(EventRecord.from_dict(item))
            except MalformedPayload as exc:
                raise exc.within(f"events[{index}]") from None
        return cls(
            protocol_version=obj["protocol_version"],
            events=tuple(events),
            cursor=obj["cursor"],
            has_more=obj["has_more"],
            last_seq=obj["last_seq"],
        )


# --- errors ----------------------------------------------------------------------------------------

_ENVELOPE_FIELDS = frozenset({"error"})
_ERROR_FIELDS = frozenset({"code", "reason"})


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """The body of every 4xx the server sends: ``{"error": {"code": ..., "reason": ...}}``.

    ``code`` is stable (``malformed_payload``, ``unsupported_version``, or one the server adds);
    ``reason`` is English for whoever reads the log.
    """

    code: str
    reason: str

    def __post_init__(self) -> None:
        _check_text(self.code, "error.code")
        _check_text(self.reason, "error.reason")

    @classmethod
    def from_error(cls, error: ProtocolError) -> ErrorBody:
        return cls(code=error.code, reason=error.reason)

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "reason": self.reason}}

    @classmethod
    def from_dict(cls, obj: Any) -> ErrorBody:
        _check_keys(obj, _ENVELOPE_FIELDS, _ENVELOPE_FIELDS)
        _check_keys(obj["error"], _ERROR_FIELDS, _ERROR_FIELDS, "error")
        return cls(code=obj["error"]["code"], reason=obj["error"]["reason"])
