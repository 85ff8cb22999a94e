"""The phone's local SQLite store: server events, confirmed records, the view, the outbox, photos, meta.

One file per signed-in phone. Tables (schema versioned by ``PRAGMA user_version``):

- ``events``: every server event of the street the phone has pulled, by server position;
- ``records``: case and patrol snapshots folded from those events only (the *confirmed* state),
  kept so that opening the app never refolds 100k events;
- ``view``: what the screens show: confirmed records with the pending outbox replayed on top, with
  a few columns copied out of the snapshot for filtering (state, reporter, road, category, place);
- ``outbox``: the user's actions, by device seq, until the server has answered them;
- ``photos``: shrunk JPEGs kept under the app's directory, by SHA-256, and whether uploaded;
- ``meta``: small JSON values (cursor, device id, next seq, profile, server URL, reference data).

The API token is never written here (see ``mobile.credentials``).

Every connection runs WAL with ``synchronous=FULL``: a commit is on disk before the call returns,
so an action the user saw saved survives the process being killed a moment later. A
``LocalStore`` belongs to the thread that made it (sqlite3 objects are per thread); the sync worker
opens its own on the same file. Writers take the lock up front (``BEGIN IMMEDIATE``), so a read
then write inside one transaction never races the other thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from engine import Case, Event, Patrol
from shared import Mutation, event_from_wire, event_to_wire, new_id

__all__ = [
    "SCHEMA_VERSION",
    "LocalStore",
    "OutboxItem",
    "OutboxStatus",
    "PhotoRow",
    "Record",
    "record_from_json",
    "record_kind",
]

SCHEMA_VERSION = 1
Record = Case | Patrol


class OutboxStatus:
    """Outbox states as stored. ``retry``: the server lacks a photo; upload, then send again."""

    QUEUED = "queued"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    REFUSED = "refused"
    RETRY = "retry"
    PENDING = ("queued", "sent", "retry")  # still to be answered by the server


_SCHEMA = [
    # v1
    """
    CREATE TABLE events (
        position INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        case_id TEXT NOT NULL,
        wire TEXT NOT NULL
    );
    CREATE INDEX events_case ON events(case_id, position);
    CREATE TABLE records (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE TABLE view (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        state TEXT NOT NULL,
        owner_id TEXT,
        road_id TEXT,
        category_code TEXT,
        lat REAL,
        lon REAL
    );
    CREATE INDEX view_kind_state ON view(kind, state);
    CREATE INDEX view_category ON view(category_code);
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        case_id TEXT NOT NULL,
        name TEXT NOT NULL,
        args TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued',
        code TEXT,
        message_zh TEXT,
        message_en TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        acked_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        seen INTEGER NOT NULL DEFAULT 0,
        dismissed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_case ON outbox(case_id, seq);
    CREATE INDEX outbox_status ON outbox(status, seq);
    CREATE TABLE photos (
        sha256 TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        uploaded INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
]


def record_kind(record: Record) -> str:
    return "patrol" if isinstance(record, Patrol) else "case"


def record_from_json(kind: str, data: str) -> Record:
    raw = json.loads(data)
    return Patrol.from_dict(raw) if kind == "patrol" else Case.from_dict(raw)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One row of the outbox: a mutation and what the server (or the phone) has said about it."""

    seq: int
    id: str
    case_id: str
    name: str
    args: dict[str, Any]
    occurred_at: datetime
    status: str
    code: str | None
    message_zh: str | None
    message_en: str | None
    created_at: str
    sent_at: str | None
    acked_at: str | None
    attempts: int
    seen: bool
    dismissed: bool

    @property
    def is_pending(self) -> bool:
        return self.status in OutboxStatus.PENDING

    def to_mutation(self) -> Mutation:
        return Mutation(
            id=self.id,
            seq=self.seq,
            name=self.name,
            case_id=self.case_id,
            args=self.args,
            occurred_at=self.occurred_at,
        )


@dataclass(frozen=True, slots=True)
class PhotoRow:
    sha256: str
    path: str
    size: int
    uploaded: bool


_OUTBOX_COLUMNS = (
    "seq, id, case_id, name, args, occurred_at, status, code, message_zh, message_en, "
    "created_at, sent_at, acked_at, attempts, seen, dismissed"
)


def _outbox_item(row: Sequence[Any]) -> OutboxItem:
    return OutboxItem(
        seq=row[0],
        id=row[1],
        case_id=row[2],
        name=row[3],
        args=json.loads(row[4]),
        occurred_at=datetime.fromisoformat(row[5]),
        status=row[6],
        code=row[7],
        message_zh=row[8],
        message_en=row[9],
        created_at=row[10],
        sent_at=row[11],
        acked_at=row[12],
        attempts=row[13],
        seen=bool(row[14]),
        dismissed=bool(row[15]),
    )


class LocalStore:
    """The phone's database. Open one per thread; close it when the thread is done."""

    def __init__(self, path: str | Path, *, photo_dir: str | Path | None = None) -> None:
        self.path = Path(path)
        self.photo_dir = Path(photo_dir) if photo_dir is not None else self.path.parent / "photos"
        # isolation_level=None: we issue BEGIN ourselves, so a transaction is exactly our block
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self._depth = 0
        self._migrate()

    # --- lifecycle and transactions -----------------------------------------------------------

    def _migrate(self) -> None:
        with self.transaction():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(_SCHEMA[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={number}")
            if self.get_meta("device_id") is None:
                self.set_meta("device_id", new_id())
                self.set_meta("next_seq", 1)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, lock taken at the start; nested blocks join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self._depth = 0
            self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")

    # --- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, ensure_ascii=False)),
        )

    def delete_meta(self, key: str) -> None:
        self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))

    @property
    def device_id(self) -> str:
        return str(self.get_meta("device_id"))

    @property
    def cursor(self) -> str | None:
        value = self.get_meta("cursor")
        return None if value is None else str(value)

    def take_seq(self) -> int:
        """The next device seq, never handed out twice (call inside the action's transaction)."""
        seq = int(self.get_meta("next_seq", 1))
        self.set_meta("next_seq", seq + 1)
        return seq

    # --- server events and confirmed records --------------------------------------------------

    def insert_events(self, records: Iterable[tuple[int, Event]]) -> list[Event]:
        """Store pulled events; returns those that were new (a page pulled twice adds nothing)."""
        added: list[Event] = []
        for position, event in records:
            cursor = self.conn.execute(
                "INSERT OR IGNORE INTO events(position, id, case_id, wire) VALUES(?, ?, ?, ?)",
                (position, event.id, event.case_id, json.dumps(event_to_wire(event), ensure_ascii=False)),
            )
            if cursor.rowcount:
                added.append(event)
        return added

    def events_of(self, case_id: str) -> list[Event]:
        rows = self.conn.execute(
            "SELECT wire FROM events WHERE case_id = ? ORDER BY position", (case_id,)
        ).fetchall()
        return [event_from_wire(json.loads(row[0])) for row in rows]

    def event_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM events").fetchone()[0])

    def confirmed(self, record_id: str) -> Record | None:
        row = self.conn.execute("SELECT kind, data FROM records WHERE id = ?", (record_id,)).fetchone()
        return None if row is None else record_from_json(row[0], row[1])

    def put_confirmed(self, record: Record) -> None:
        self.conn.execute(
            "INSERT INTO records(id, kind, data) VALUES(?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, data = excluded.data",
            (record.id, record_kind(record), json.dumps(record.to_dict(), ensure_ascii=False)),
        )

    # --- the view -----------------------------------------------------------------------------

    def view_record(self, record_id: str) -> Record | None:
        row = self.conn.execute("SELECT kind, data FROM view WHERE id = ?", (record_id,)).fetchone()
        return None if row is None else record_from_json(row[0], row[1])

    def put_view(self, record: Record) -> None:
        if isinstance(record, Patrol):
            owner, road, category = record.chief_id, record.road_id, None
            point = record.last_point
        else:
            owner, road, category = record.reporter_id, record.road_id, record.category_code
            point = record.location
        self.conn.execute(
            "INSERT INTO view(id, kind, data, state, owner_id, road_id, category_code, lat, lon) "
            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, "
            "data = excluded.data, state = excluded.state, owner_id = excluded.owner_id, "
            "road_id = excluded.road_id, category_code = excluded.category_code, "
            "lat = excluded.lat, lon = excluded.lon",
            (
                record.id,
                record_kind(record),
                json.dumps(record.to_dict(), ensure_ascii=False),
                record.state.value,
                owner,
                road,
                category,
                point.lat if point else None,
                point.lon if point else None,
            ),
        )

    def drop_view(self, record_id: str) -> None:
        self.conn.execute("DELETE FROM view WHERE id = ?", (record_id,))

    def view_records(
        self,
        kind: str = "case",
        *,
        states: Iterable[str] | None = None,
        category_code: str | None = None,
        where: str = "",
        params: Sequence[Any] = (),
    ) -> list[Record]:
        """Records of the view, filtered in SQL on the copied-out columns."""
        sql = "SELECT kind, data FROM view WHERE kind = ?"
        args: list[Any] = [kind]
        if states is not None:
            wanted = list(states)
            sql += f" AND state IN ({','.join('?' * len(wanted))})"
            args.extend(wanted)
        if category_code is not None:
            sql += " AND category_code = ?"
            args.append(category_code)
        if where:
            sql += f" AND ({where})"
            args.extend(params)
        return [record_from_json(k, d) for k, d in self.conn.execute(sql, args)]

    def count_view(self, kind: str = "case") -> int:
        return int(self.conn.execute("SELECT count(*) FROM view WHERE kind = ?", (kind,)).fetchone()[0])

    # --- outbox -------------------------------------------------------------------------------

    def add_outbox(self, mutation: Mutation, created_at: datetime) -> None:
        self.conn.execute(
            "INSERT INTO outbox(seq, id, case_id, name, args, occurred_at, status, created_at) "
            "VALUES(?, ?, ?, ?, ?, ?, 'queued', ?)",
            (
                mutation.seq,
                mutation.id,
                mutation.case_id,
                str(mutation.name),
                json.dumps(mutation.args, ensure_ascii=False),
                mutation.occurred_at.isoformat(),
                created_at.isoformat(),
            ),
        )

    def outbox(
        self,
        *,
        statuses: Iterable[str] | None = None,
        case_id: str | None = None,
        unseen_only: bool = False,
        limit: int | None = None,
    ) -> list[OutboxItem]:
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE 1 = 1"
        args: list[Any] = []
        if statuses is not None:
            wanted = list(statuses)
            sql += f" AND status IN ({','.join('?' * len(wanted))})"
            args.extend(wanted)
        if case_id is not None:
            sql += " AND case_id = ?"
            args.append(case_id)
        if unseen_only:
            sql += " AND seen = 0"
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_outbox_item(row) for row in self.conn.execute(sql, args)]

    def outbox_item(self, mutation_id: str) -> OutboxItem | None:
        row = self.conn.execute(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE id = ?", (mutation_id,)
        ).fetchone()
        return None if row is None else _outbox_item(row)

    def replayable(self, case_id: str) -> list[OutboxItem]:
        """The case's actions still to be shown on top of server state: not refused, not yet pulled."""
        rows = self.conn.execute(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE case_id = ? AND seen = 0 AND status != 'refused' "
            "ORDER BY seq",
            (case_id,),
        )
        return [_outbox_item(row) for row in rows]

    def set_status(
        self,
        mutation_ids: Iterable[str],
        status: str,
        *,
        at: str | None = None,
        code: str | None = None,
        message_zh: str | None = None,
        message_en: str | None = None,
        count_attempt: bool = False,
    ) -> None:
        column = {"sent": "sent_at", "acknowledged": "acked_at", "refused": "acked_at"}.get(status)
        sql = "UPDATE outbox SET status = ?, code = ?, message_zh = ?, message_en = ?"
        if column is not None:
            sql += f", {column} = COALESCE(?, {column})"
        if count_attempt:
            sql += ", attempts = attempts + 1"
        sql += " WHERE id = ?"
        for mutation_id in mutation_ids:
            values: list[Any] = [status, code, message_zh, message_en]
            if column is not None:
                values.append(at)
            self.conn.execute(sql, [*values, mutation_id])

    def mark_seen(self, mutation_ids: Iterable[str]) -> list[str]:
        """Outbox items whose event the server has now sent back; returns their case ids."""
        cases: list[str] = []
        for mutation_id in mutation_ids:
            row = self.conn.execute(
                "UPDATE outbox SET seen = 1 WHERE id = ? AND seen = 0 RETURNING case_id", (mutation_id,)
            ).fetchone()
            if row is not None:
                cases.append(row[0])
        return cases

    def dismiss(self, mutation_id: str) -> None:
        """The user has read a refusal; it stays in the outbox's history but leaves the case."""
        with self.transaction():
            self.conn.execute(
                "UPDATE outbox SET dismissed = 1 WHERE id = ? AND status = 'refused'", (mutation_id,)
            )

    def count_outbox(self, statuses: Iterable[str], *, undismissed: bool = False) -> int:
        wanted = list(statuses)
        sql = f"SELECT count(*) FROM outbox WHERE status IN ({','.join('?' * len(wanted))})"
        if undismissed:
            sql += " AND dismissed = 0"
        return int(self.conn.execute(sql, wanted).fetchone()[0])

    def unacknowledged(self) -> int:
        """Actions the server has not answered yet: what sign-out must not throw away."""
        return self.count_outbox(OutboxStatus.PENDING)

    # --- photos -------------------------------------------------------------------------------

    def add_photo(self, sha256: str, path: Path, size: int, created_at: datetime) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO photos(sha256, path, size, created_at) VALUES(?, ?, ?, ?)",
            (sha256, str(path), size, created_at.isoformat()),
        )

    def photo(self, sha256: str) -> PhotoRow | None:
        row = self.conn.execute(
            "SELECT sha256, path, size, uploaded FROM photos WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return None if row is None else PhotoRow(row[0], row[1], row[2], bool(row[3]))

    def mark_uploaded(self, sha256: str) -> None:
        with self.transaction():
            self.conn.execute("UPDATE photos SET uploaded = 1 WHERE sha256 = ?", (sha256,))

    # --- starting over ------------------------------------------------------------------------

    def forget_server_state(self) -> list[str]:
        """The server went back in time (restored from a backup): forget what was pulled from it and
        queue again every action it had acknowledged, since it may have lost them. It answers
        ``duplicate`` for those it still has. Refused actions stay refused. Returns the outbox's
        record ids, whose view the caller rebuilds."""
        with self.transaction():
            for table in ("events", "records", "view"):
                self.conn.execute(f"DELETE FROM {table}")
            for key in ("cursor", "last_seq"):
                self.delete_meta(key)
            self.conn.execute(
                "UPDATE outbox SET status = 'queued', seen = 0, code = NULL, message_zh = NULL, "
                "message_en = NULL WHERE status = 'acknowledged'"
            )
            self.conn.execute("UPDATE photos SET uploaded = 0")  # asked for again (HEAD) before a resend
            rows = self.conn.execute("SELECT DISTINCT case_id FROM outbox WHERE status != 'refused'")
            return [row[0] for row in rows]

    def reset_for_new_user(self) -> None:
        """Forget another user's street: new device id, seqs from 1, no events, records or outbox.

        The server binds a device id to the first user who pushes from it, so a new user needs a
        new one. Callers make sure nothing unacknowledged is left (``unacknowledged() == 0``).
        """
        with self.transaction():
            for table in ("events", "records", "view", "outbox"):
                self.conn.execute(f"DELETE FROM {table}")
            for key in ("cursor", "profile", "reference", "last_sync", "last_seq"):
                self.delete_meta(key)
            self.set_meta("device_id", new_id())
            self.set_meta("next_seq", 1)
