"""The report's facts as plain column values, computed where a snapshot or an event is written.

The evaluation (``server/report/queries.py``) groups and filters on these columns instead of
parsing the JSON snapshot and the phone's ISO-8601 text in every query: on SQLite that parsing
costs ~30× a plain ``GROUP BY``. The push (``server.sync``) and the bench (``bench/report.py``)
both call these functions, so the columns always say what the snapshot says.

Times are **epoch seconds as a double, rounded to the millisecond** (``epoch``): the instant,
whatever offset the phone wrote, at the precision the report has always compared at.

``StepVisits`` turns applied case events into ``step_visits`` rows (migration 0003): one row per
stay of a case in a step, opened and closed as the engine moves the case, so the step times are a
plain ``GROUP BY`` rather than window functions over the whole log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, overload

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from engine import Case, Event, Patrol, Step

from .driver import Driver, insert_rows, update_rows

__all__ = ["StepVisits", "case_facts", "epoch", "event_facts", "facts", "patrol_facts"]

# the steps whose stays are timed; patrol (before the report) and done (闭环) are not stays
TIMED_STEPS = frozenset({Step.FEEDBACK, Step.COORDINATION, Step.DISPOSAL, Step.SUPERVISION})


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


class StepVisits:
    """The ``step_visits`` rows one batch of applied case events opens and closes.

    ``record`` is called for every applied case event, in commit order, with the case's step
    before and after it. A visit starts whenever the step changes and ends at the next change, at
    the event's ``occurred_at`` (the same instants the log's ``occurred_epoch`` holds). The engine's
    steps say the same as the event names the report used to read (``report`` → feedback,
    ``escalate`` / ``return_case`` → coordination, ``dispatch`` / ``accept`` / a reject of a
    department's fix → disposal, a reject of a fix on the spot → coordination, ``complete`` /
    ``fix_on_spot`` → supervision, ``approve`` / ``cancel`` / ``merge`` → done), and a comment or a
    photo changes nothing. ``write`` then costs two ``executemany`` statements and no SELECT: a
    visit opened by an earlier push is closed by ``UPDATE … WHERE left_epoch IS NULL`` (a case has
    at most one open visit), one opened in this batch is closed in memory before it is inserted.
    """

    def __init__(self) -> None:
        self.new: list[list[Any]] = []  # rows in _VISIT_COLUMNS order
        self._open: dict[str, list[Any]] = {}  # case id → its visit opened in this batch, still open
        self._close: dict[str, float] = {}  # case id → when its visit opened by an earlier batch ended

    def record(
        self, street_id: str, case_id: str, before: Step | None, after: Step, street_seq: int, at: float
    ) -> None:
        """The event at ``street_seq`` (``occurred_at`` = ``at``) moved the case ``before`` → ``after``."""
        if before is after:
            return
        opened = self._open.pop(case_id, None)
        if opened is not None:
            opened[_LEFT] = at
        elif before in TIMED_STEPS:
            self._close[case_id] = at
        if after in TIMED_STEPS:
            visit = [case_id, street_seq, street_id, after.value, at, None]
            self.new.append(visit)
            self._open[case_id] = visit

    def write(self, where: Session | Connection | Driver) -> None:
        """Close the earlier visits, insert the new ones (closes first: they match open rows only)."""
        driver = where if isinstance(where, Driver) else Driver(where)
        update_rows(
            driver,
            "step_visits",
            ("left_epoch",),
            ("case_id",),
            [(at, case_id) for case_id, at in self._close.items()],
            extra=" AND left_epoch IS NULL",
        )
        insert_rows(driver, "step_visits", _VISIT_COLUMNS, [tuple(visit) for visit in self.new])
        self.new, self._open, self._close = [], {}, {}


_VISIT_COLUMNS = ("case_id", "entered_seq", "street_id", "step", "entered_epoch", "left_epoch")
_LEFT = _VISIT_COLUMNS.index("left_epoch")
