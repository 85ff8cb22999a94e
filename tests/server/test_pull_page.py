"""The pull page written straight from column tuples (``read_pull_json``) says what the protocol
messages say (``dumps(read_pull(...))``): the same fields and values, page by page, on SQLite and
PostgreSQL, for ordinary and awkward stored rows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from .world import Street, World

# stored values a hand-written JSON writer could get wrong: quotes, backslashes, control characters,
# non-ASCII, a big integer, floats as the phone wrote them, nulls, nesting, an empty object
_AWKWARD_ARGS: list[dict[str, Any]] = [
    {
        "description": '路面坑洼 "30 厘米" \\ C:\\路\n\t end',
        "big": 12345678901234567890123,
        "negative": -9007199254740993,
        "floats": [116.19069999999999, 1e-07, 0.5, -2.5],
        "nested": {"a": [None, True, False, {"b": []}], "emoji": "🚧", "sep": "\u2028\u2029"},
    },
    {},
    {"points": [{"lat": 39.93, "lon": 116.19}] * 3},
]


def _pages(street: Street, world: World, after_cursor: str | None, limit: int) -> list[tuple[bytes, bytes]]:
    """Every page from ``after_cursor``: (``read_pull_json``'s bytes, ``dumps(read_pull(...))``)."""
    from server.auth import CurrentUser
    from server.models import User
    from server.pull import read_pull, read_pull_json
    from shared import PROTOCOL_VERSION, PullRequest, dumps, loads

    reader = street.phone("supervisor")
    db = world.server.database()
    pages = []
    try:
        with db.read() as session:
            user = CurrentUser.of(session.get(User, street.users["supervisor"]["id"]))
        cursor = after_cursor
        while True:
            request = PullRequest(PROTOCOL_VERSION, reader.device_id, cursor, limit)
            with db.read() as session:
                fast = read_pull_json(session, user, request).body
            with db.read() as session:
                slow = dumps(read_pull(session, user, request))
            pages.append((fast, slow))
            page = loads(fast)
            cursor = page["cursor"]
            if not page["has_more"]:
                return pages
    finally:
        db.dispose()


def test_the_fast_pull_page_equals_the_protocol_messages(world: World) -> None:
    from shared import loads

    a = world.a
    case_id = a.report(description="路面坑洼，直径约 30 厘米")
    a.walk(case_id, "dispatch", "accept")
    a.report(extra_note=12345678901234567890123)  # refused or stored: either way the pages must agree
    for limit in (1, 2, 500):
        seen = 0
        for fast, slow in _pages(a, world, None, limit):
            page = loads(fast)
            assert page == json.loads(slow)
            assert "\\u" not in fast.decode()  # Chinese is written as is, as ``dumps`` writes it
            seen += len(page["events"])
        assert seen >= 4  # the report, its dispatch and accept, the second report


def _store_events(world: World, street: Street, rows: list[dict[str, Any]]) -> str | None:
    """Append events to ``street`` as stored rows (after its last one); the cursor before them."""
    from sqlalchemy import insert, select, update

    from server.models import EventRow, StreetCounter
    from server.pull import encode_cursor

    db = world.server.database()
    try:
        with db.write() as session:
            head = session.execute(
                select(StreetCounter.value).where(StreetCounter.street_id == street.id)
            ).scalar_one()
            for offset, row in enumerate(rows, start=1):
                session.execute(
                    insert(EventRow.__table__).values(
                        street_id=street.id,
                        street_seq=head + offset,
                        case_id="11111111-2222-4333-8444-555555555555",
                        actor_id=street.users["chief"]["id"],
                        role="road_chief",
                        occurred_at="2026-03-02T09:00:01.500000+08:00",  # as a phone writes it (isoformat)
                        occurred_epoch=0.0,
                        **row,
                    )
                )
            session.execute(
                update(StreetCounter)
                .where(StreetCounter.street_id == street.id)
                .values(value=head + len(rows))
            )
    finally:
        db.dispose()
    return encode_cursor(street.id, head) if head else None


def _event_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _event(n: int, args: dict[str, Any], received_at: datetime, **columns: Any) -> dict[str, Any]:
    return {
        "id": _event_id(n),
        "name": "comment",
        "community_id": None,
        "department_id": None,
        "args": args,
        "received_at": received_at,
        **columns,
    }


def test_awkward_stored_values_come_out_as_the_protocol_writes_them(world: World) -> None:
    """Stored rows with values a JSON writer can get wrong: every value as ``dumps`` writes it."""
    from shared import loads

    b = world.b
    cursor = _store_events(
        world,
        b,
        [
            _event(
                1, _AWKWARD_ARGS[0], datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), community_id='c"\\路\u0001'
            ),
            _event(2, _AWKWARD_ARGS[1], datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)),
            _event(
                3, _AWKWARD_ARGS[2], datetime(2026, 12, 31, 23, 59, 59, 10, tzinfo=UTC), department_id="d-1"
            ),
            _event(4, {"n": 1}, datetime.fromisoformat("2026-06-01T08:00:00.000001+08:00"), name="返工"),
        ],
    )

    for limit in (1, 3, 500):
        events = []
        for fast, slow in _pages(b, world, cursor, limit):
            page = loads(fast)
            assert page == json.loads(slow)
            events += page["events"]
        assert [e["event"]["args"] for e in events[:3]] == _AWKWARD_ARGS
        assert [e["event"]["received_at"] for e in events] == [
            "2026-01-02T03:04:05+00:00",
            "2026-01-02T03:04:05.678901+00:00",
            "2026-12-31T23:59:59.000010+00:00",
            "2026-06-01T00:00:00.000001+00:00",
        ]
        assert events[0]["event"]["actor"]["community_id"] == 'c"\\路\u0001'
        assert events[3]["event"]["name"] == "返工"
    first, _ = _pages(b, world, cursor, 1)[0]
    assert re.search(rb'"big": ?12345678901234567890123[,}]', first)  # written exactly, not as a float


def test_older_stored_forms_come_out_as_the_protocol_writes_them(world: World) -> None:
    """``args`` stored with ``\\u`` escapes by an older writer (and, on SQLite, a ``received_at``
    stored without microseconds) are written unescaped and ISO, as ``dumps`` writes them."""
    from sqlalchemy import text

    from shared import loads

    b = world.b
    cursor = _store_events(
        world,
        b,
        [
            _event(11, {"x": 1}, datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)),
            _event(12, {"x": 2}, datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)),
            _event(13, {"x": 3}, datetime(2026, 2, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ],
    )
    db = world.server.database()
    try:
        with db.write() as session:
            escaped = '{"d":"\\u4e2d\\u6587","c":"\\u0001"}'
            if db.sqlite:
                session.execute(
                    text("UPDATE events SET args = :a WHERE id = :id"),
                    {"a": escaped, "id": _event_id(11)},
                )
                session.execute(
                    text("UPDATE events SET received_at = '2026-02-03 04:05:06' WHERE id = :id"),
                    {"id": _event_id(12)},
                )
            else:
                session.execute(
                    text("UPDATE events SET args = CAST(:a AS jsonb) WHERE id = :id"),
                    {"a": escaped, "id": _event_id(11)},
                )
    finally:
        db.dispose()
    for limit in (1, 2, 500):
        events = []
        for fast, slow in _pages(b, world, cursor, limit):
            page = loads(fast)
            assert page == json.loads(slow)
            events += page["events"]
            assert "\\u4e2d" not in fast.decode()
        assert events[0]["event"]["args"] == {"d": "中文", "c": "\u0001"}
        assert [e["event"]["received_at"] for e in events] == [
            "2026-02-03T04:05:06+00:00",
            "2026-02-03T04:05:06+00:00",
            "2026-02-03T04:05:06.000007+00:00",
        ]


def test_stored_args_pass_through_unchanged() -> None:
    import orjson

    from server.pull import _raw_json

    for text in ('{"a":1,"b":[1.5,"x"]}', '{"d": "\\u4e2d", "n": 100000000000000000000000000000}', "{}"):
        written = orjson.dumps({"args": _raw_json(text)})
        assert json.loads(written) == {"args": json.loads(text)}


def test_a_pushed_event_is_stored_with_its_page_entry(world: World) -> None:
    """The push writes each event's pull entry once (``events.wire``); it says what ``dumps``
    writes for that event, Chinese, quotes and floats included."""
    from sqlalchemy import select

    from server.models import EventRow
    from server.pull import row_to_event
    from shared import EventRecord, dumps, loads

    a = world.a
    case_id = a.report(
        description='路面 "坑洼" \\ 30 厘米\n', location={"lat": 39.9307, "lon": 116.19069999999999}
    )
    a.walk(case_id, "dispatch", "accept")
    db = world.server.database()
    try:
        with db.read() as session:
            rows = list(session.scalars(select(EventRow).where(EventRow.case_id == case_id)))
    finally:
        db.dispose()
    assert [row.name for row in rows] == ["report", "dispatch", "accept"]
    for row in rows:
        assert row.wire is not None
        record = EventRecord(event=row_to_event(row), position=row.street_seq)
        assert loads(row.wire.encode()) == loads(dumps(record))
        if db.sqlite:  # PostgreSQL gives jsonb args back re-spaced; the texts differ only there
            assert row.wire.encode() == dumps(record)


def test_the_migration_writes_the_entries_the_push_writes(world: World) -> None:
    """Events stored before ``events.wire`` get their entry from the 0004 backfill: the same text."""
    import importlib

    from sqlalchemy import select, update

    from server.models import EventRow
    from shared import loads

    a = world.a
    case_id = a.report(description="井盖缺失 🚧", location={"lat": 1e-07, "lon": -2.5})
    a.walk(case_id, "dispatch", "accept")
    migration = importlib.import_module("server.migrations.versions.0004_event_wire")
    db = world.server.database()
    try:
        with db.read() as session:
            pushed = {p: w for p, w in session.execute(select(EventRow.position, EventRow.wire))}
        with db.write() as session:
            session.execute(update(EventRow).values(wire=None))
            migration._backfill(session.connection())
        with db.read() as session:
            backfilled = {p: w for p, w in session.execute(select(EventRow.position, EventRow.wire))}
    finally:
        db.dispose()
    pushed = {p: w for p, w in pushed.items() if w is not None}  # rows stored by hand have none
    assert len(pushed) >= 3 and None not in backfilled.values()
    assert {p: loads(backfilled[p].encode()) for p in pushed} == {
        p: loads(w.encode()) for p, w in pushed.items()
    }
    if db.sqlite:
        assert {p: backfilled[p] for p in pushed} == pushed


def test_the_next_cursor_is_also_in_the_headers(world: World) -> None:
    """A phone can ask for the next page before it parses this one: cursor and has_more are
    repeated as response headers, the same as in the body."""
    from shared import PROTOCOL_VERSION, PULL_CURSOR_HEADER, PULL_HAS_MORE_HEADER, PULL_PATH

    a = world.a
    for _ in range(3):
        a.report()
    reader = a.phone("supervisor")
    cursor, pages = None, 0
    while True:
        body = {
            "protocol_version": PROTOCOL_VERSION,
            "device_id": reader.device_id,
            "cursor": cursor,
            "limit": 2,
        }
        response = reader.api.post(PULL_PATH, body)
        page = reader.api.ok(response)
        assert response.headers[PULL_CURSOR_HEADER] == page["cursor"]
        assert response.headers[PULL_HAS_MORE_HEADER] == ("true" if page["has_more"] else "false")
        cursor, pages = page["cursor"], pages + 1
        if not page["has_more"]:
            break
    assert pages >= 2
