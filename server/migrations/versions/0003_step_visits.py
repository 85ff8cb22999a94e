"""step visits

The report's step times (average and 90th percentile per step) rebuilt every stay of every case
in a step from the event log with window functions (LAG / LEAD over ~465k events at 100,000
cases: ~8 s per scope on SQLite). This records the stays instead: ``step_visits`` holds one row
per stay, opened and closed by the push as the engine moves the case (``server.facts.StepVisits``),
so the step times are a plain GROUP BY.

The backfill reads the cases in keyset pages and their state-changing events in commit order with
SQLAlchemy Core, and builds the visits in Python with the rules the report's SQL used (written
against the stored event names, not the engine's classes, so it keeps meaning what it meant):
an event moves the case into a step, a visit starts where the step changes and ends where the
next one starts; 闭环 (approve, cancel, merge) ends a visit and starts none; the last visit of an
open case stays open (``left_epoch`` NULL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PAGE = 2000
_STATE_CHANGING = (
    "report",
    "fix_on_spot",
    "dispatch",
    "escalate",
    "merge",
    "cancel",
    "accept",
    "return_case",
    "complete",
    "approve",
    "reject",
)
_TIMED = frozenset({"feedback", "coordination", "disposal", "supervision"})


def _step_of(name: str, previous: str | None) -> str:
    """The step an event moves the case into (the report's SQL before 0003, word for word); a
    reject goes back to disposal, or to coordination when it rejects a fix made on the spot."""
    if name == "report":
        return "feedback"
    if name in ("escalate", "return_case") or (name == "reject" and previous == "fix_on_spot"):
        return "coordination"
    if name in ("dispatch", "accept", "reject"):
        return "disposal"
    if name in ("complete", "fix_on_spot"):
        return "supervision"
    return "done"


def visits_of(street_id: str, case_id: str, events: list[tuple[int, str, float]]) -> list[dict[str, Any]]:
    """The visits of one case from its state-changing ``(street_seq, name, occurred_epoch)``, in order."""
    out: list[dict[str, Any]] = []
    step = previous = None
    for seq, name, at in events:
        new = _step_of(name, previous)
        previous = name
        if new == step:
            continue
        step = new
        if out and out[-1]["left_epoch"] is None:
            out[-1]["left_epoch"] = at
        if new in _TIMED:
            out.append(
                {
                    "case_id": case_id,
                    "entered_seq": seq,
                    "street_id": street_id,
                    "step": new,
                    "entered_epoch": at,
                    "left_epoch": None,
                }
            )
    return out


def _backfill(connection: sa.Connection) -> None:
    cases = sa.table("cases", sa.column("id"), sa.column("street_id"))
    events = sa.table(
        "events",
        sa.column("case_id"),
        sa.column("street_seq"),
        sa.column("name"),
        sa.column("occurred_epoch"),
    )
    visits = sa.table(
        "step_visits",
        *(
            sa.column(name)
            for name in ("case_id", "entered_seq", "street_id", "step", "entered_epoch", "left_epoch")
        ),
    )
    last = None
    while True:
        # keyset pages of cases (no OFFSET rescans), then their events through ix_events_case_steps
        query = sa.select(cases.c.id, cases.c.street_id).order_by(cases.c.id).limit(_PAGE)
        if last is not None:
            query = query.where(cases.c.id > last)
        page = connection.execute(query).all()
        if not page:
            return
        last = page[-1].id
        streets = {row.id: row.street_id for row in page}
        logs: dict[str, list[tuple[int, str, float]]] = defaultdict(list)
        rows = connection.execute(
            sa.select(events.c.case_id, events.c.street_seq, events.c.name, events.c.occurred_epoch)
            .where(events.c.case_id.in_(list(streets)), events.c.name.in_(_STATE_CHANGING))
            .order_by(events.c.case_id, events.c.street_seq)
        )
        for case_id, seq, name, at in rows:
            logs[case_id].append((seq, name, at))
        values = [v for case_id, log in logs.items() for v in visits_of(streets[case_id], case_id, log)]
        if values:
            connection.execute(sa.insert(visits), values)


def upgrade() -> None:
    op.create_table(
        "step_visits",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("entered_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("street_id", sa.String(length=36), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("entered_epoch", sa.Double(), nullable=False),
        sa.Column("left_epoch", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], name=op.f("fk_step_visits_street_id_streets")),
        sa.PrimaryKeyConstraint("case_id", "entered_seq", name=op.f("pk_step_visits")),
    )
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("step_visits")
