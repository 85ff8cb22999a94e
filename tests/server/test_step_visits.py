"""The step visits the push records (``step_visits``, migration 0003) say what the event log says.

The report's step times aggregate ``step_visits`` instead of rebuilding the visits from the log
with window functions; if the rows drifted from the log the averages would be wrong while every
event looked right. The expected visits are rebuilt here from the log with the rules the report's
SQL used before 0003 (LAG / LEAD over each case's state-changing events), independently of both
the push (engine steps) and the migration's backfill (which is checked against the push too).
Built with the hand-made street of ``test_report`` (a double rework, an escalation and a return),
then a few pushes that move a case through several steps in one batch and reject a fix made on
the spot (back to coordination, not disposal).
"""

from __future__ import annotations

import importlib
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from server import Database
from server.auth import CurrentUser
from server.models import EventRow, StepVisitRow, User
from server.rules import load_rules
from server.seed import Phones, new_uuid

from .test_report import SHA, World, build

_CHANGING = {
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
}
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
Visit = tuple[str, float, float | None]  # step, entered, left


def _step(name: str, previous: str | None) -> str:
    if name == "report":
        return "feedback"
    if name in ("escalate", "return_case") or (name == "reject" and previous == "fix_on_spot"):
        return "coordination"
    if name in ("dispatch", "accept", "reject"):
        return "disposal"
    if name in ("complete", "fix_on_spot"):
        return "supervision"
    return "done"


def _expected(events: list[EventRow]) -> dict[str, list[Visit]]:
    """Per case: a visit starts at an event whose step differs from the previous event's, ends
    where the next visit starts (open if none does); visits to done are not stays."""
    starts: dict[str, list[tuple[str, float]]] = {}
    previous: dict[str, tuple[str, str]] = {}  # case → (last event's name, its step)
    for e in events:
        if e.name not in _CHANGING:
            continue
        name_before, step_before = previous.get(e.case_id, (None, None))
        step = _step(e.name, name_before)
        if step != step_before:
            starts.setdefault(e.case_id, []).append((step, e.occurred_epoch))
        previous[e.case_id] = (e.name, step)
    out: dict[str, list[Visit]] = {}
    for case_id, visits in starts.items():
        ends = [t for _, t in visits[1:]] + [None]
        out[case_id] = [(step, t, end) for (step, t), end in zip(visits, ends, strict=True) if step != "done"]
    return out


def _stored(session: Any) -> dict[str, list[Visit]]:
    out: dict[str, list[Visit]] = {}
    rows = session.scalars(select(StepVisitRow).order_by(StepVisitRow.case_id, StepVisitRow.entered_seq))
    for v in rows:
        out.setdefault(v.case_id, []).append((v.step, v.entered_epoch, v.left_epoch))
    return out


def _more_pushes(world: World) -> str:
    """Several step changes of one case in one batch, and a rejected fix on the spot; returns its id."""
    db = Database(world.url)
    try:
        with db.write() as s:
            people = {
                key: CurrentUser.of(s.scalars(select(User).where(User.id == world.ids[key])).one())
                for key in ("K1", "S1", "V", "Z", "H1")
            }
            rng = random.Random(11)
            phones = Phones(s, load_rules(s, world.street_id), rng)
            x, y = new_uuid(rng), new_uuid(rng)

            def at(hours: float) -> datetime:
                return T0 + timedelta(hours=hours)

            report = {"category": "E0601", "road_id": world.ids["R1"], "description": "more"}
            done = {"note": "done", "photos": [SHA]}
            # X: reported and dispatched in one batch, accepted in another (same step: one visit)
            phones.push(
                people["S1"],
                [
                    ("report", x, report, at(0)),
                    ("dispatch", x, {"department_id": world.ids["D1"]}, at(1)),
                ],
            )
            phones.act(people["H1"], "accept", x, at(2))
            # Y: reported and fixed on the spot in one batch, commented, the fix rejected (to
            # coordination), dispatched: the rejection closes a visit opened by an earlier push
            phones.push(
                people["K1"],
                [
                    ("report", y, report, at(3)),
                    ("fix_on_spot", y, done, at(4)),
                    ("comment", y, {"text": "photo later"}, at(4.5)),
                ],
            )
            phones.act(people["V"], "reject", y, at(5), reason="not fixed")
            phones.act(people["Z"], "dispatch", y, at(7), department_id=world.ids["D1"])
            return y
    finally:
        db.dispose()


def test_visits_match_the_log(tmp_path: Path) -> None:
    world = build(f"sqlite:///{tmp_path / 'visits.db'}")
    y = _more_pushes(world)
    db = Database(world.url)
    try:
        with db.read() as s:
            events = list(s.scalars(select(EventRow).order_by(EventRow.street_seq)))
            stored = _stored(s)
        assert stored == _expected(events)
        hours = {
            k: [(step, (b - a) / 3600 if b is not None else None) for step, a, b in v]
            for k, v in stored.items()
        }
        ids = world.ids
        # B: two reworks, supervision → disposal → supervision twice, closed by the approval
        assert hours[ids["B"]] == [
            ("feedback", 1.0),
            ("disposal", 17.0),
            ("supervision", 2.0),
            ("disposal", 8.0),
            ("supervision", 1.0),
            ("disposal", 2.0),
            ("supervision", 2.0),
        ]
        # D: escalated, dispatched, returned, dispatched again, closed
        assert hours[ids["D"]] == [
            ("feedback", 2.0),
            ("coordination", 2.0),
            ("disposal", 2.0),
            ("coordination", 2.0),
            ("disposal", 26.0),
            ("supervision", 1.0),
        ]
        assert hours[ids["C"]] == [("feedback", 0.5), ("supervision", 1.5)]  # fixed on the spot
        assert hours[ids["E"]] == [("feedback", 1.0)]  # cancelled: done is not a stay
        assert hours[ids["G"]] == [("feedback", 1.0), ("disposal", None)]  # still being fixed
        assert hours[y] == [
            ("feedback", 1.0),
            ("supervision", 1.0),
            ("coordination", 2.0),
            ("disposal", None),
        ]
        assert len(hours) == 12  # every case, none of the patrols

        # the migration's backfill, from the log alone, writes the same rows as the push
        migration = importlib.import_module("server.migrations.versions.0003_step_visits")
        with db.write() as s:
            s.execute(delete(StepVisitRow))
            migration._backfill(s.connection())
        with db.read() as s:
            assert _stored(s) == stored
    finally:
        db.dispose()
