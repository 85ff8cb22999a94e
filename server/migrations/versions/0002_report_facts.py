"""report facts as columns

The evaluation (综合评价) grouped and filtered on fields of the JSON snapshots and on the phones'
ISO-8601 text, parsed row by row in every query (~30× a plain GROUP BY on SQLite). This adds
those facts as plain, indexed columns, written by the push with each snapshot and event
(``server.facts``), and fills them for the rows already stored.

* ``events.occurred_epoch``: ``occurred_at`` as epoch seconds (double, rounded to the ms);
* ``cases``: community, road, reporter, the department of the last dispatch, the report's four
  times as epoch seconds, the rework / return / dispatch counts, escalated, fixed on the spot;
* ``patrols``: community, road, chief, start and end as epoch seconds, nothing found.

The backfill reads rows in keyset pages with SQLAlchemy Core and computes the values in Python,
the same on SQLite and PostgreSQL. It is written against the stored JSON, not the engine's
classes, so it keeps meaning what it meant when the engine moves on.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PAGE = 2000
_JSON = sa.JSON()


def _epoch(text: Any) -> float | None:
    """The same value as ``server.facts.epoch`` for the ISO-8601 text a snapshot or event holds."""
    return round(datetime.fromisoformat(text).timestamp(), 3) if isinstance(text, str) and text else None


def _pages(
    connection: sa.Connection, table: sa.TableClause, key: sa.ColumnClause[Any]
) -> Iterator[list[Any]]:
    """Every row of ``table``, ``_PAGE`` at a time, by ``key`` (keyset paging: no OFFSET rescans)."""
    last = None
    while True:
        query = sa.select(table).order_by(key).limit(_PAGE)
        if last is not None:
            query = query.where(key > last)
        rows = connection.execute(query).all()
        if not rows:
            return
        yield rows
        last = getattr(rows[-1], key.name)


def _backfill_events(connection: sa.Connection) -> None:
    events = sa.table("events", sa.column("position"), sa.column("occurred_at"), sa.column("occurred_epoch"))
    update = (
        sa.update(events)
        .where(events.c.position == sa.bindparam("b_position"))
        .values(occurred_epoch=sa.bindparam("b_epoch"))
    )
    source = sa.table("events", sa.column("position"), sa.column("occurred_at"))
    for rows in _pages(connection, source, source.c.position):
        connection.execute(
            update, [{"b_position": r.position, "b_epoch": _epoch(r.occurred_at)} for r in rows]
        )


def _backfill_cases(connection: sa.Connection) -> None:
    source = sa.table("cases", sa.column("id"), sa.column("data", _JSON))
    events = sa.table(
        "events", sa.column("case_id"), sa.column("name"), sa.column("street_seq"), sa.column("args", _JSON)
    )
    cases = sa.table(
        "cases",
        sa.column("id"),
        *(sa.column(name) for name in _CASE_COLUMNS),
    )
    update = (
        sa.update(cases)
        .where(cases.c.id == sa.bindparam("b_id"))
        .values({name: sa.bindparam(f"b_{name}") for name in _CASE_COLUMNS})
    )
    for rows in _pages(connection, source, source.c.id):
        # the department of each case's last dispatch, from the log (the snapshot forgets it on return)
        last_dispatch: dict[str, Any] = {}
        dispatches = connection.execute(
            sa.select(events.c.case_id, events.c.args)
            .where(events.c.name == "dispatch", events.c.case_id.in_([r.id for r in rows]))
            .order_by(events.c.street_seq)
        )
        for case_id, args in dispatches:
            last_dispatch[case_id] = (args or {}).get("department_id")
        values = []
        for row in rows:
            data = row.data or {}
            facts = {
                "community_id": data.get("community_id"),
                "road_id": data.get("road_id"),
                "reporter_id": data.get("reporter_id"),
                "dispatch_department_id": last_dispatch.get(row.id),
                "reported_epoch": _epoch(data.get("reported_at")),
                "due_epoch": _epoch(data.get("due_at")),
                "completed_epoch": _epoch(data.get("completed_at")),
                "ended_epoch": _epoch(data.get("ended_at")),
                "rework_count": int(data.get("rework_count") or 0),
                "return_count": int(data.get("return_count") or 0),
                "dispatch_count": int(data.get("dispatch_count") or 0),
                "escalated": bool(data.get("escalated")),
                "fixed_on_spot": bool(data.get("fixed_on_spot")),
            }
            values.append({"b_id": row.id, **{f"b_{k}": v for k, v in facts.items()}})
        connection.execute(update, values)


def _backfill_patrols(connection: sa.Connection) -> None:
    source = sa.table("patrols", sa.column("id"), sa.column("data", _JSON))
    patrols = sa.table("patrols", sa.column("id"), *(sa.column(name) for name in _PATROL_COLUMNS))
    update = (
        sa.update(patrols)
        .where(patrols.c.id == sa.bindparam("b_id"))
        .values({name: sa.bindparam(f"b_{name}") for name in _PATROL_COLUMNS})
    )
    for rows in _pages(connection, source, source.c.id):
        values = []
        for row in rows:
            data = row.data or {}
            facts = {
                "community_id": data.get("community_id"),
                "road_id": data.get("road_id"),
                "chief_id": data.get("chief_id"),
                "started_epoch": _epoch(data.get("started_at")),
                "ended_epoch": _epoch(data.get("ended_at")),
                "nothing_found": bool(data.get("nothing_found")),
            }
            values.append({"b_id": row.id, **{f"b_{k}": v for k, v in facts.items()}})
        connection.execute(update, values)


_CASE_COLUMNS = (
    "community_id",
    "road_id",
    "reporter_id",
    "dispatch_department_id",
    "reported_epoch",
    "due_epoch",
    "completed_epoch",
    "ended_epoch",
    "rework_count",
    "return_count",
    "dispatch_count",
    "escalated",
    "fixed_on_spot",
)
_PATROL_COLUMNS = ("community_id", "road_id", "chief_id", "started_epoch", "ended_epoch", "nothing_found")


def upgrade() -> None:
    # nullable first, filled, then NOT NULL: existing rows have no value until the backfill
    op.add_column("events", sa.Column("occurred_epoch", sa.Double(), nullable=True))
    for name in ("community_id", "road_id", "reporter_id", "dispatch_department_id"):
        op.add_column("cases", sa.Column(name, sa.String(length=36), nullable=True))
    for name in ("reported_epoch", "due_epoch", "completed_epoch", "ended_epoch"):
        op.add_column("cases", sa.Column(name, sa.Double(), nullable=True))
    for name in ("rework_count", "return_count", "dispatch_count"):
        op.add_column("cases", sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False))
    for name in ("escalated", "fixed_on_spot"):
        op.add_column("cases", sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False))
    for name in ("community_id", "road_id", "chief_id"):
        op.add_column("patrols", sa.Column(name, sa.String(length=36), nullable=True))
    for name in ("started_epoch", "ended_epoch"):
        op.add_column("patrols", sa.Column(name, sa.Double(), nullable=True))
    op.add_column(
        "patrols", sa.Column("nothing_found", sa.Boolean(), server_default=sa.false(), nullable=False)
    )

    connection = op.get_bind()
    _backfill_events(connection)
    _backfill_cases(connection)
    _backfill_patrols(connection)

    # every event has an occurred_at, so every event has its epoch (a writer that forgets it fails)
    with op.batch_alter_table("events") as batch:
        batch.alter_column("occurred_epoch", existing_type=sa.Double(), nullable=False)
        # serves what (case_id) did, gives a case's events in commit order, and covers the report's
        # step times: SQLite reads the index, not the rows with their JSON
        batch.drop_index("ix_events_case_id")
        batch.create_index("ix_events_case_steps", ["case_id", "street_seq", "name", "occurred_epoch"])
    op.create_index("ix_cases_street_id_reported_epoch", "cases", ["street_id", "reported_epoch"])
    op.create_index("ix_patrols_street_id_started_epoch", "patrols", ["street_id", "started_epoch"])


def downgrade() -> None:
    op.drop_index("ix_patrols_street_id_started_epoch", table_name="patrols")
    op.drop_index("ix_cases_street_id_reported_epoch", table_name="cases")
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_case_steps")
        batch.create_index("ix_events_case_id", ["case_id"])
        batch.drop_column("occurred_epoch")
    with op.batch_alter_table("patrols") as batch:
        for name in reversed(_PATROL_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("cases") as batch:
        for name in reversed(_CASE_COLUMNS):
            batch.drop_column(name)
