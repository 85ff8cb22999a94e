"""Bytes on the wire: JSON in and out, datetimes, ids, and the engine's ``Event`` as a JSON object.

``loads`` is the only door untrusted bytes come through, so it refuses what Python's ``json`` would
let by: NaN and Infinity (not JSON, and poison for PostgreSQL ``jsonb``), numbers too large for a
float, duplicate keys (two parsers could read different values), unpaired surrogates (cannot be
encoded again) and nesting deeper than ``MAX_JSON_DEPTH``. ``dumps`` writes compact UTF-8 that
``loads`` accepts.

The ``_check_*`` helpers at the bottom are shared with ``shared.protocol``: they raise
``MalformedPayload`` whose reason starts with the field's name, and build no strings unless
something is wrong, because they run for every field of every mutation.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, NoReturn

from engine.events import Actor, Event
from engine.vocabulary import Role

from .constants import MAX_JSON_DEPTH
from .errors import MalformedPayload

__all__ = [
    "check_depth",
    "dumps",
    "event_from_wire",
    "event_to_wire",
    "loads",
    "new_id",
    "parse_datetime",
    "within_depth",
]


def new_id() -> str:
    """Mint a new id (a random UUID, canonical lowercase). Every case, patrol and mutation id
    comes from here, on the phone that creates it."""
    return str(uuid.uuid4())


# --- datetimes -------------------------------------------------------------------------------------


def parse_datetime(s: str) -> datetime:
    """An ISO-8601 datetime that carries its UTC offset (``Z`` or ``±HH:MM``); naive ones are refused.

    A naive time from a phone is ambiguous (device zone? UTC?), and deadlines are computed from it.
    """
    return _parse_datetime(s, "")


def _parse_datetime(value: Any, field: str) -> datetime:
    if type(value) is not str:
        _fail(field, f"expected an ISO-8601 datetime string, got {_show(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(field, f"expected an ISO-8601 datetime with a timezone, got {_show(value)}")
    if parsed.tzinfo is None:
        _fail(field, f"expected a datetime with a timezone offset, got {_show(value)}")
    _check_offset(parsed, field)
    return parsed


def _check_offset(value: datetime, field: str) -> None:
    # RFC 3339 offsets are whole minutes. Python reads and writes "+05:30:15" too, but JSON writers
    # (orjson among them, which writes the server's snapshots) drop the seconds: the same instant
    # would read back 15 s apart in the log and in the case.
    offset = value.utcoffset()
    if offset is not None and (offset.seconds % 60 or offset.microseconds):
        _fail(field, f"expected a UTC offset in whole minutes (RFC 3339), got {value.isoformat()}")


def _format_datetime(value: Any, field: str) -> str:
    _check_aware(value, field)
    return value.isoformat()


# --- events ----------------------------------------------------------------------------------------

_ROLE_BY_VALUE: dict[str, Role] = {role.value: role for role in Role}
_EVENT_REQUIRED = frozenset({"id", "case_id", "name", "actor", "role", "occurred_at"})
_EVENT_FIELDS = _EVENT_REQUIRED | {"args", "received_at"}
_ACTOR_REQUIRED = frozenset({"user_id", "street_id"})
_ACTOR_FIELDS = _ACTOR_REQUIRED | {"community_id", "department_id"}


def event_to_wire(event: Event) -> dict[str, Any]:
    """``event`` as a JSON-ready object; every field is written, absent ones as ``null``."""
    actor = event.actor
    args = event.args
    return {
        "id": event.id,
        "case_id": event.case_id,
        "name": str(event.name),
        "actor": {
            "user_id": actor.user_id,
            "street_id": actor.street_id,
            "community_id": actor.community_id,
            "department_id": actor.department_id,
        },
        "role": str(event.role),
        "occurred_at": _format_datetime(event.occurred_at, "occurred_at"),
        # json cannot write a read-only mapping (the engine may hand one out); a plain dict is as-is.
        "args": args if type(args) is dict else dict(args),
        "received_at": (
            None if event.received_at is None else _format_datetime(event.received_at, "received_at")
        ),
    }


def event_from_wire(obj: Any) -> Event:
    """Read an event strictly: ``args`` and ``received_at`` may be left out, nothing may be added.

    ``name`` is any non-empty string, not only a ``Trigger``: the engine owns which events exist,
    and a phone must never refuse a whole pull page over a name it only has to replay.
    """
    _check_keys(obj, _EVENT_REQUIRED, _EVENT_FIELDS)
    raw_actor = obj["actor"]
    _check_keys(raw_actor, _ACTOR_REQUIRED, _ACTOR_FIELDS, "actor")
    community_id = raw_actor.get("community_id")
    department_id = raw_actor.get("department_id")
    role = obj["role"]
    args = obj.get("args", {})
    received_at = obj.get("received_at")
    _check_uuid(obj["id"], "id")
    _check_uuid(obj["case_id"], "case_id")
    _check_text(obj["name"], "name")
    _check_text(raw_actor["user_id"], "actor.user_id")
    _check_text(raw_actor["street_id"], "actor.street_id")
    if community_id is not None:
        _check_text(community_id, "actor.community_id")
    if department_id is not None:
        _check_text(department_id, "actor.department_id")
    if type(role) is not str or role not in _ROLE_BY_VALUE:
        _fail("role", f"expected one of {', '.join(_ROLE_BY_VALUE)}, got {_show(role)}")
    if type(args) is not dict:
        _fail("args", f"expected a JSON object, got {_show(args)}")
    return Event(
        id=obj["id"],
        case_id=obj["case_id"],
        name=obj["name"],
        actor=Actor(
            user_id=raw_actor["user_id"],
            street_id=raw_actor["street_id"],
            community_id=community_id,
            department_id=department_id,
        ),
        role=_ROLE_BY_VALUE[role],
        occurred_at=_parse_datetime(obj["occurred_at"], "occurred_at"),
        args=args,
        received_at=None if received_at is None else _parse_datetime(received_at, "received_at"),
    )


# --- JSON ------------------------------------------------------------------------------------------


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON, Chinese left unescaped (half the bytes of ``\\uXXXX`` on a phone link).

    Besides JSON's own types it writes aware datetimes (ISO-8601 with offset), enums (their value),
    engine ``Event``s and anything with a ``to_dict()`` (the protocol messages). Raises
    ``MalformedPayload`` for what the other side's ``loads`` would refuse, and ``TypeError`` for
    objects it does not know.
    """
    try:
        return _ENCODER.encode(obj).encode("utf-8")
    except ValueError as exc:  # NaN/Infinity, a naive datetime, an unpaired surrogate, a cycle
        raise MalformedPayload(f"cannot be sent as JSON: {exc}") from None


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        if obj.utcoffset() is None:
            raise ValueError(f"naive datetime {obj.isoformat()} (a timezone is required)")
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Event):
        return event_to_wire(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"{type(obj).__name__} cannot be written as JSON")


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default)


def loads(data: bytes | str) -> Any:
    """Parse one JSON document strictly; anything wrong with it raises ``MalformedPayload``."""
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedPayload(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    elif isinstance(data, str):
        text = data
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedPayload("not valid JSON: contains an unpaired surrogate") from None
    else:
        raise TypeError(f"loads() takes bytes or str, not {type(data).__name__}")
    try:
        obj = _DECODER.decode(text)
    except RecursionError:
        raise MalformedPayload(f"not valid JSON: nested deeper than {MAX_JSON_DEPTH}") from None
    except ValueError as exc:  # JSONDecodeError, or an integer with too many digits
        raise MalformedPayload(f"not valid JSON: {exc}") from None
    check_depth(obj)
    # An escaped lone surrogate ("\ud800") parses, but could never be encoded again: a row nobody can
    # store or send on. Only the rare text with such an escape pays for the full check.
    if _SURROGATE_ESCAPE.search(text) is not None:
        try:
            _ENCODER.encode(obj).encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedPayload("not valid JSON: contains an unpaired surrogate") from None
    return obj


def _reject_constant(name: str) -> NoReturn:
    raise MalformedPayload(f"not valid JSON: {name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses to inf without ever reaching parse_constant
        raise MalformedPayload(f"not valid JSON: the number {text[:40]} is too large")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedPayload(f"not valid JSON: the key {_show(key)} appears twice in one object")
            seen.add(key)
    return obj


_DECODER = json.JSONDecoder(
    parse_float=_finite_float, parse_constant=_reject_constant, object_pairs_hook=_unique_keys
)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def check_depth(obj: Any) -> None:
    """Refuse a parsed document nested deeper than ``MAX_JSON_DEPTH`` (``loads`` checks it too)."""
    if not within_depth(obj, MAX_JSON_DEPTH):
        raise MalformedPayload(f"not valid JSON: nested deeper than {MAX_JSON_DEPTH}")


def within_depth(obj: Any, limit: int) -> bool:
    """Whether a parsed document's objects and arrays nest no deeper than ``limit``."""
    # Iterative, so that checking a deep document cannot itself overflow the stack.
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        kind = type(value)
        if kind is dict:
            children = value.values()
        elif kind is list:
            children = value
        else:
            continue
        if depth > limit:
            return False
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))
    return True


# --- field checks shared with shared.protocol ------------------------------------------------------


def _fail(field: str, message: str) -> NoReturn:
    raise MalformedPayload(message, field or None)


def _show(value: Any) -> str:
    """A value the way its JSON would read, short enough for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _check_keys(obj: Any, required: frozenset[str], allowed: frozenset[str], where: str = "") -> None:
    """``obj`` is a dict with every required key and no other than the allowed ones."""
    if not isinstance(obj, dict):
        _fail(where, f"expected a JSON object, got {_show(obj)}")
    keys = obj.keys()
    if keys == allowed or (keys >= required and keys <= allowed):
        return
    prefix = f"{where}." if where else ""
    unknown = sorted(str(key) for key in keys - allowed)
    if unknown:
        _fail(prefix + unknown[0], f"unknown field (expected only {', '.join(sorted(allowed))})")
    _fail(prefix + sorted(required - keys)[0], "missing")


def _check_uuid(value: Any, field: str) -> None:
    # Canonical form only: two spellings of one id would be two ids to a database unique key.
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return  # what str(uuid.UUID(value)) would give back unchanged, checked without building one
    if type(value) is not str:
        _fail(field, f"expected a UUID string, got {_show(value)}")
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        _fail(field, f"expected a UUID, got {_show(value)}")
    _fail(field, f"expected a canonical lowercase UUID ({canonical}), got {_show(value)}")


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _check_int(value: Any, field: str, low: int, high: int) -> None:
    # type() rather than isinstance(): True is an int to Python but a boolean in JSON.
    if type(value) is not int or value < low:
        _fail(field, f"expected an integer ≥ {low}, got {_show(value)}")
    if value > high:
        _fail(field, f"expected an integer ≤ {high}, got {_show(value)}")


def _check_text(value: Any, field: str) -> None:
    if not isinstance(value, str) or not value:
        _fail(field, f"expected a non-empty string, got {_show(value)}")


def _check_aware(value: Any, field: str) -> None:
    if not isinstance(value, datetime):
        _fail(field, f"expected a datetime, got {_show(value)}")
    if value.utcoffset() is None:
        _fail(field, f"expected a datetime with a timezone, got the naive {value.isoformat()}")
    _check_offset(value, field)


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _check_plain_json(value: dict[str, Any], field: str, max_depth: int) -> None:
    """``value`` holds only what JSON gives back unchanged: objects with string keys, arrays as
    lists (a tuple would come back as a list), strings, numbers, booleans and null, no deeper than
    ``max_depth``. NaN and foreign types are left to the encoder that measures the size."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            _fail(field, f"nested deeper than {max_depth}")
        if isinstance(node, dict):
            try:
                "".join(node)  # the keys, checked in C: any non-string key raises TypeError
            except TypeError:
                bad = next(key for key in node if not isinstance(key, str))
                _fail(field, f"object keys must be strings, got {_show(bad)}")
            children = node.values()
        else:
            children = node
        for child in children:
            if type(child) in _JSON_SCALARS:
                continue
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif not isinstance(child, str | int | float):  # subclasses, e.g. a StrEnum, are fine
                _fail(field, f"{_show(child)} is not a JSON value")
