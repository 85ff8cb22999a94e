"""The report's columns (``server.facts``, migration 0002) say what the snapshots and the log say.

The evaluation reads plain columns the push writes beside each snapshot and event; if they drifted
from the JSON snapshot the figures would be wrong while every snapshot looked right. Built with
the hand-made street of ``test_report`` (every case pushed through ``apply_push``), including a
case returned by one department and dispatched to another.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from engine import Case, Patrol
from server import Database
from server.facts import case_facts, epoch, patrol_facts
from server.models import CaseRow, EventRow, PatrolRow

from .test_report import build


def test_columns_match_the_snapshots_and_the_log(tmp_path: Path) -> None:
    world = build(f"sqlite:///{tmp_path / 'facts.db'}")
    db = Database(world.url)
    try:
        with db.read() as s:
            last_dispatch: dict[str, str] = {}
            for event in s.scalars(select(EventRow).order_by(EventRow.street_seq)):
                assert event.occurred_epoch == epoch(datetime.fromisoformat(event.occurred_at))
                if event.name == "dispatch":
                    last_dispatch[event.case_id] = event.args["department_id"]
            cases = list(s.scalars(select(CaseRow)))
            assert len(cases) == 10
            for row in cases:
                expected = case_facts(Case.from_dict(row.data), last_dispatch.get(row.id))
                assert {name: getattr(row, name) for name in expected} == expected
            # D: dispatched to D2, returned, then D1; its department is the last dispatch's
            d = s.get(CaseRow, world.ids["D"])
            assert d is not None and d.dispatch_department_id == world.ids["D1"]
            patrols = list(s.scalars(select(PatrolRow)))
            assert len(patrols) == 6
            for row in patrols:
                expected = patrol_facts(Patrol.from_dict(row.data))
                assert {name: getattr(row, name) for name in expected} == expected
    finally:
        db.dispose()
