"""Pull: a page of the street's events after an opaque cursor, with the device's last processed seq.

The cursor is the street's commit-order position (``street_seq``); push (``server.sync``) locks the
street's counter row, so a pull can never skip a late commit (design.md, option 2). It also names the
event at that position: a server that went back in time (restored from a backup) answers such a
cursor ``bad_cursor``, and the phone starts over (``mobile.sync``) instead of skipping the events
numbered again after the restore.
"""

from __future__ import annotations

import base64
import binascii
import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, String, Text, cast, select, type_coerce
from sqlalchemy.orm import Session

from engine import Actor, Event, Role
from shared import MAX_SEQ, PROTOCOL_VERSION, EventRecord, PullRequest, PullResponse

from .auth import CurrentUser
from .driver import Driver
from .errors import ApiError
from .event_text import entry, iso_utc
from .models import Device, EventRow

__all__ = [
    "Cursor",
    "PullPage",
    "check_cursor",
    "decode_cursor",
    "encode_cursor",
    "read_pull",
    "read_pull_json",
    "record_events",
    "row_to_event",
]

_events = EventRow.__table__

# --- cursors ---------------------------------------------------------------------------------------

_CURSOR_PREFIX = "c2"  # street, position and the id of the event at that position
_PLAIN_PREFIX = "c1"  # street and position only: given out before c2, still taken
_ROLLED_BACK = (
    "this server no longer holds the events the cursor was read from (it was restored from a backup "
    "or rebuilt); pull from the start"
)


class Cursor(NamedTuple):
    """Where a phone's pull stands: after ``seq``, which was the event ``event_id`` when read."""

    seq: int
    event_id: str | None = None


def encode_cursor(street_id: str, street_seq: int, event_id: str | None = None) -> str:
    """The cursor after ``street_seq``. With the id of the event at that position, a later pull can
    tell whether this server still holds the same events there (``check_cursor``)."""
    if event_id is None:
        raw = f"{_PLAIN_PREFIX}:{street_id}:{street_seq}"
    else:
        raw = f"{_CURSOR_PREFIX}:{street_id}:{street_seq}:{event_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None, street_id: str) -> Cursor:
    """Where a cursor stands; a garbled or another street's cursor is a 400."""
    if cursor is None:
        return Cursor(0)
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, street, seq_text, *rest = base64.urlsafe_b64decode(padded.encode("ascii")).decode().split(":")
        if prefix == _CURSOR_PREFIX and len(rest) == 1 and 0 < len(rest[0]) <= 64:
            event_id: str | None = rest[0]
        elif prefix == _PLAIN_PREFIX and not rest:
            event_id = None
        else:
            raise ValueError("not a cursor")
        if not seq_text.isdigit() or len(seq_text) > 16:
            raise ValueError("not a cursor")
        seq = int(seq_text)
    except (ValueError, UnicodeError, binascii.Error):
        raise ApiError(400, "bad_cursor", "the cursor is not one this server gave out") from None
    if street != street_id:
        raise ApiError(400, "bad_cursor", "the cursor belongs to another street")
    if seq > MAX_SEQ:
        raise ApiError(400, "bad_cursor", "the cursor is out of range")
    return Cursor(seq, event_id)


_EVENT_AT = "SELECT id FROM events WHERE street_id = ? AND street_seq = ?"


def check_cursor(driver: Driver, street_id: str, cursor: Cursor) -> None:
    """A 400 ``bad_cursor`` if the street's events do not reach the cursor, or hold another event
    where it stood: the server went back in time (a backup restored, a replica that was behind
    promoted), and events numbered again from there would be skipped by a phone that went on."""
    (head,) = driver.first(_HEAD, (street_id,)) or (0,)
    if cursor.seq > head:
        raise ApiError(400, "bad_cursor", _ROLLED_BACK)
    if cursor.event_id is not None and cursor.seq > 0:
        found = driver.first(_EVENT_AT, (street_id, cursor.seq))
        if found is None or found[0] != cursor.event_id:
            raise ApiError(400, "bad_cursor", _ROLLED_BACK)


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


# --- pull ------------------------------------------------------------------------------------------


def read_pull(session: Session, user: CurrentUser, request: PullRequest) -> PullResponse:
    """A page of the street's events after the request's cursor, and the device's last processed seq."""
    position = decode_cursor(request.cursor, user.street_id)
    check_cursor(Driver(session), user.street_id, position)
    after = position.seq
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
    cursor = encode_cursor(user.street_id, rows[-1].street_seq, rows[-1].id) if rows else _same(request, user)
    return PullResponse(
        protocol_version=PROTOCOL_VERSION,
        events=records,
        cursor=cursor,
        has_more=has_more,
        last_seq=device.last_seq if device is not None else 0,
    )


# the wire event's fields, as stored; ``args`` as the JSON text the database holds, never parsed
_PULL_COLUMNS = (
    _events.c.street_seq,
    _events.c.id,
    _events.c.case_id,
    _events.c.name,
    _events.c.actor_id,
    _events.c.street_id,
    _events.c.community_id,
    _events.c.department_id,
    _events.c.role,
    _events.c.occurred_at,
    cast(_events.c.args, Text),
    _events.c.received_at,
)
# SQLite keeps a datetime as text in UTC: read it as stored and write its ISO form without parsing it
_SQLITE_PULL_COLUMNS = (*_PULL_COLUMNS[:11], type_coerce(_events.c.received_at, String))
# the page's statements (server.driver); the stored page entries come as bytes, to be joined without
# decoding them (SQLite: read as a blob; PostgreSQL: converted to UTF-8 bytes)
_HEAD = "SELECT value FROM street_counters WHERE street_id = ?"
_DEVICE = "SELECT user_id, last_seq FROM devices WHERE device_id = ?"
_ENTRIES = (
    "SELECT street_seq, id, {wire} FROM events WHERE street_id = ? AND street_seq > ? "
    "ORDER BY street_seq LIMIT ?"
)
_SQLITE_ENTRIES = _ENTRIES.format(wire="CAST(wire AS BLOB)")
_PG_ENTRIES = _ENTRIES.format(wire="convert_to(wire, 'UTF8')")


def _same(request: PullRequest, user: CurrentUser) -> str:
    """An empty page's cursor: where the phone stood (the start, for a phone with no cursor yet)."""
    return request.cursor if request.cursor is not None else encode_cursor(user.street_id, 0)


def _sqlite_moment(text: str | None) -> str | None:
    """``Moment``'s stored SQLite text (``2026-01-02 03:04:05.678901``, UTC) as ``isoformat()`` writes it."""
    if text is None:
        return None
    if len(text) == 26 and text[10] == " " and text[19] == ".":
        micro = text[19:]
        return f"{text[:10]}T{text[11:19]}{'' if micro == '.000000' else micro}+00:00"
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat()


def _moment(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


class PullPage(NamedTuple):
    """A pull answer's JSON bytes (what ``dumps(read_pull(...))`` says) and, for the response
    headers, its cursor and whether more follows."""

    body: bytes
    cursor: str
    has_more: bool


def read_pull_json(session: Session, user: CurrentUser, request: PullRequest) -> PullPage:
    """``read_pull``'s answer as JSON bytes with the same fields and values, built without protocol
    objects: each event's stored page entry (``events.wire``) joined as it is, or, for a page with
    a row stored without one, the entries built from plain column tuples and serialized once.
    """
    position = decode_cursor(request.cursor, user.street_id)
    driver = Driver(session)
    check_cursor(driver, user.street_id, position)
    after = position.seq
    device = driver.first(_DEVICE, (request.device_id,))
    if device is not None and device[0] != user.id:
        raise ApiError(403, "device_taken", "this device id belongs to another user; sign in again")
    # plain driver tuples: a page is a few thousand rows, and result objects would cost more than SQLite
    rows = driver.rows(
        _SQLITE_ENTRIES if driver.sqlite else _PG_ENTRIES, (user.street_id, after, request.limit + 1)
    )
    has_more = len(rows) > request.limit
    if has_more:
        del rows[request.limit :]
    if all(wire is not None for _, _, wire in rows):
        events = orjson.Fragment(b"[" + b",".join([wire for _, _, wire in rows]) + b"]")
    else:  # rows stored before events.wire, or by hand
        in_street = (_events.c.street_id == user.street_id, _events.c.street_seq > after)
        events = _entries_from_columns(session.connection(), in_street, request.limit, driver.sqlite)
    cursor = encode_cursor(user.street_id, rows[-1][0], rows[-1][1]) if rows else _same(request, user)
    body = {
        "protocol_version": PROTOCOL_VERSION,
        "events": events,
        "cursor": cursor,
        "has_more": has_more,
        "last_seq": device[1] if device is not None else 0,
    }
    return PullPage(orjson.dumps(body), cursor, has_more)


def _entries_from_columns(
    connection: Connection, in_street: tuple[Any, ...], limit: int, sqlite: bool
) -> list[dict[str, Any]]:
    """The page's entries built from the events' columns, ``args`` passed through as stored."""
    # a page makes a few objects per event and keeps them all: the cyclic collector would walk the
    # whole heap again and again while it is built (half the pull's time); it runs after instead
    with _collector_paused():
        rows = connection.execute(
            select(*(_SQLITE_PULL_COLUMNS if sqlite else _PULL_COLUMNS))
            .where(*in_street)
            .order_by(_events.c.street_seq)
            .limit(limit)
        ).all()
        moment = _sqlite_moment if sqlite else _moment
        return [entry(*row[:10], _raw_json(row[10]), moment(row[11])) for row in rows]


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector for a short block that only allocates.

    Process-wide: another thread may switch it back on early, which costs only speed; it is on
    again when the block that switched it off ends.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _raw_json(text: str) -> Any:
    """Stored ``args`` JSON text, written into the page as it is (it is JSON this server wrote).

    Text with ``\\u`` escapes (non-ASCII stored by an older, escaping writer) is rewritten compact
    and unescaped, as ``dumps`` writes it; the stdlib parser keeps big integers exact.
    """
    if "\\u" in text:
        text = _COMPACT.encode(json.loads(text))
    return orjson.Fragment(text)


def record_events(session: Session, street_id: str, record_id: str) -> list[Event]:
    """Every event of one case or patrol of ``street_id``, in order."""
    rows = session.scalars(
        select(EventRow)
        .where(EventRow.street_id == street_id, EventRow.case_id == record_id)
        .order_by(EventRow.street_seq)
    )
    return [row_to_event(row) for row in rows]
