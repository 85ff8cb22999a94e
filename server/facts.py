"""The report's facts as plain column values, computed where a snapshot or an event is written.

The evaluation (``server/report/queries.py``) groups and filters on these columns instead of
parsing the JSON snapshot and the phone's ISO-8601 text in every query: on SQLite that parsing
costs ~30× a plain ``GROUP BY``. The push (``server.sync``) and the bench (``bench/report.py``)
both call these functions, so the columns always say what the snapshot says.

Times are **epoch seconds as a double, rounded to the millisecond** (``epoch``): the instant,
whatever offset the phone wrote, at the precision the report has always compared at.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, overload

from engine import Case, Event, Patrol

__all__ = ["case_facts", "epoch", "event_facts", "facts", "patrol_facts"]


@overload
def epoch(moment: datetime) -> float: ...
@overload
def epoch(moment: None) -> None: ...
@overload
def epoch(moment: datetime | None) -> float | None: ...
def epoch(moment: datetime | None) -> float | None:
    """Epoch seconds, to the millisecond; ``None`` stays ``None`` (a time not reached yet)."""
    return None if moment is None else round(moment.timestamp(), 3)


def case_facts(case: Case, dispatch_department_id: str | None) -> dict[str, Any]:
    """The ``cases`` columns the evaluation reads.

    ``dispatch_department_id`` is the department of the case's *last dispatch*, which the case
    itself forgets when a department returns it (``department_id`` goes back to ``None``); the
    caller carries it (see ``server.sync``).
    """
    return {
        "community_id": case.community_id,
        "road_id": case.road_id,
        "reporter_id": case.reporter_id,
        "dispatch_department_id": dispatch_department_id,
        "reported_epoch": epoch(case.reported_at),
        "due_epoch": epoch(case.due_at),
        "completed_epoch": epoch(case.completed_at),
        "ended_epoch": epoch(case.ended_at),
        "rework_count": case.rework_count,
        "return_count": case.return_count,
        "dispatch_count": case.dispatch_count,
        "escalated": case.escalated,
        "fixed_on_spot": case.fixed_on_spot,
    }


def patrol_facts(patrol: Patrol) -> dict[str, Any]:
    """The ``patrols`` columns the evaluation reads."""
    return {
        "community_id": patrol.community_id,
        "road_id": patrol.road_id,
        "chief_id": patrol.chief_id,
        "started_epoch": epoch(patrol.started_at),
        "ended_epoch": epoch(patrol.ended_at),
        "nothing_found": patrol.nothing_found,
    }


def event_facts(event: Event) -> dict[str, Any]:
    """The ``events`` columns the evaluation reads (the step times)."""
    return {"occurred_epoch": epoch(event.occurred_at)}


def facts(record: Case | Patrol, dispatch_department_id: str | None = None) -> dict[str, Any]:
    """``case_facts`` or ``patrol_facts``, whichever ``record`` is."""
    if isinstance(record, Case):
        return case_facts(record, dispatch_department_id)
    return patrol_facts(record)
