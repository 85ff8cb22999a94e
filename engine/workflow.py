"""The five-step loop as a data table, and the one ``transitions`` machine that runs it for every case.

Each row of ``CASE_TRANSITIONS`` says: this trigger moves a case from these states to that one, when
these checks pass, with this effect. Who may fire a trigger is ``TRIGGER_ROLES``. The checks raise a
refusal with a stable code; the effect builds the next (immutable) case. The machine holds no models:
each action runs on a throwaway transit object, so nothing is registered and nothing leaks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from transitions import EventData

from .arguments import (
    Refused,
    read_choice,
    read_id,
    read_location,
    read_photos,
    read_text,
    read_time,
)
from .calendar import DEFAULT_CALENDAR, WorkCalendar
from .case import Case, evolve
from .categories import CATEGORIES, Category
from .events import Actor, Event
from .machine import LoopMachine
from .rejection import refuse
from .vocabulary import OPEN_STATES, Level, RejectionCode, Role, State, Trigger, Urgency

__all__ = [
    "CASE_MACHINE",
    "CASE_TRANSITIONS",
    "DEFAULT_RULES",
    "TRIGGER_ROLES",
    "Rules",
    "Transit",
    "case_triggers",
    "sources_of",
]


@dataclass(frozen=True)
class Rules:
    """What a street configures: its working calendar and its category table with deadlines."""

    calendar: WorkCalendar = DEFAULT_CALENDAR
    categories: Mapping[str, Category] = field(default_factory=lambda: CATEGORIES)


DEFAULT_RULES = Rules()


class Transit:
    """The model ``transitions`` moves for one action; it lives only as long as that action."""

    __slots__ = ("case", "event", "result", "rules", "state", "values")

    def __init__(self, case: Case, event: Event, rules: Rules) -> None:
        self.case = case
        self.event = event
        self.rules = rules
        self.state: str = _STATE_VALUE[case.state]
        self.values: dict[str, Any] = {}
        self.result: Case | None = None


# The machine's states are the enum's values; these two dicts convert without the enum machinery
# (``State(value)`` and ``.value`` each cost more than a dict lookup on the hot path).
_STATE_OF_VALUE: dict[str, State] = {state.value: state for state in State}
_STATE_VALUE: dict[State, str] = {state: state.value for state in State}

Check = Callable[[Transit], None]
Effect = Callable[[Transit], dict[str, Any]]

# --- who may fire what -------------------------------------------------------------------------

ANY_ROLE = frozenset(Role)
TRIGGER_ROLES: dict[Trigger, frozenset[Role]] = {
    Trigger.REPORT: frozenset({Role.ROAD_CHIEF, Role.COORDINATOR}),
    Trigger.FIX_ON_SPOT: frozenset({Role.ROAD_CHIEF}),
    Trigger.DISPATCH: frozenset({Role.COORDINATOR}),
    Trigger.ESCALATE: frozenset({Role.COORDINATOR}),
    Trigger.MERGE: frozenset({Role.COORDINATOR}),
    Trigger.CANCEL: frozenset({Role.COORDINATOR, Role.ADMIN}),
    Trigger.ACCEPT: frozenset({Role.HANDLER}),
    Trigger.RETURN_CASE: frozenset({Role.HANDLER}),
    Trigger.COMPLETE: frozenset({Role.HANDLER}),
    Trigger.APPROVE: frozenset({Role.SUPERVISOR}),
    Trigger.REJECT: frozenset({Role.SUPERVISOR}),
    Trigger.COMMENT: ANY_ROLE,
    Trigger.ATTACH_PHOTOS: ANY_ROLE,
}

COORDINATION_TRIGGERS = frozenset({Trigger.DISPATCH, Trigger.ESCALATE, Trigger.MERGE, Trigger.CANCEL})
DISPOSAL_TRIGGERS = frozenset({Trigger.ACCEPT, Trigger.RETURN_CASE, Trigger.COMPLETE})

# --- scope: who may touch which case ---------------------------------------------------------


def check_scope(case: Case, actor: Actor, role: Role, trigger: Trigger) -> None:
    """Street, community, department and person checks that hold whatever the arguments are."""
    if actor.street_id != case.street_id:
        raise Refused(refuse(RejectionCode.OUT_OF_SCOPE))
    if role is Role.HANDLER:
        if actor.department_id is None or actor.department_id != case.department_id:
            raise Refused(
                refuse(RejectionCode.NOT_ASSIGNED, detail="另一部门的案件 / another department's case")
            )
        return
    if actor.community_id is not None and case.community_id is not None:
        if actor.community_id != case.community_id:
            raise Refused(refuse(RejectionCode.OUT_OF_SCOPE))
    if trigger in COORDINATION_TRIGGERS and actor.community_id is not None and case.level is Level.STREET:
        # after 吹哨 the street's command centre holds the case; the station may only comment
        raise Refused(refuse(RejectionCode.OUT_OF_SCOPE))
    if trigger == Trigger.FIX_ON_SPOT and actor.user_id != case.reporter_id:
        raise Refused(
            refuse(RejectionCode.NOT_ASSIGNED, detail="只有上报的路长 / only the reporting road chief")
        )
    if trigger == Trigger.APPROVE and actor.user_id == case.disposer_id:
        raise Refused(refuse(RejectionCode.SELF_APPROVAL))


# --- argument checks, one per trigger --------------------------------------------------------


def _check_report(t: Transit) -> None:
    args, actor = t.event.args, t.event.actor
    code = read_id(args, "category", required=True)
    assert code is not None
    category = t.rules.categories.get(code)
    if category is None:
        raise Refused(refuse(RejectionCode.UNKNOWN_CATEGORY, field="category", detail=code))
    photos = read_photos(args, "photos")
    description = read_text(args, "description", required=not photos)
    community = read_id(args, "community_id", required=False)
    if actor.community_id is not None and community not in (None, actor.community_id):
        raise Refused(refuse(RejectionCode.OUT_OF_SCOPE, field="community_id"))
    t.values = {
        # the case is created by this event: until now it was the blank one
        "id": t.event.case_id,
        "street_id": actor.street_id,
        "category_code": code,
        "urgency": read_choice(args, "urgency", Urgency, Urgency.NORMAL),
        "description": description or "",
        "before_photos": photos,
        "road_id": read_id(args, "road_id", required=True),
        "community_id": community or actor.community_id,
        "patrol_id": read_id(args, "patrol_id", required=False),
        "location": read_location(args),
        "reporter_id": actor.user_id,
        "reported_at": t.event.occurred_at,
    }


def _check_fix_on_spot(t: Transit) -> None:
    args = t.event.args
    t.values = {
        "result_note": read_text(args, "note", required=True),
        "after_photos": t.case.after_photos + read_photos(args, "photos", min_count=1),
        "disposer_id": t.event.actor.user_id,
        "completed_at": t.event.occurred_at,
        "fixed_on_spot": True,
    }


def default_due(case: Case, at: datetime, rules: Rules) -> datetime:
    """The deadline a dispatch gets from the category's limit for the case's urgency."""
    category = rules.categories.get(case.category_code)
    if category is None:
        raise Refused(refuse(RejectionCode.UNKNOWN_CATEGORY, field="category", detail=case.category_code))
    return rules.calendar.due(at, category.limit(case.urgency))


def _check_dispatch(t: Transit) -> None:
    args, at = t.event.args, t.event.occurred_at
    department = read_id(args, "department_id", required=True)
    due = default_due(t.case, at, t.rules)
    asked = read_time(args, "due_at")
    if asked is not None:
        # a coordinator may tighten the category's deadline, never stretch it
        if asked <= at:
            raise Refused(
                refuse(
                    RejectionCode.INVALID_DEADLINE, field="due_at", detail="早于派遣时间 / before dispatch"
                )
            )
        if asked > due:
            raise Refused(
                refuse(
                    RejectionCode.INVALID_DEADLINE,
                    field="due_at",
                    detail="超过类别时限 / beyond the category limit",
                )
            )
        due = asked
    t.values = {
        "department_id": department,
        "handler_id": None,
        "due_at": due,
        "dispatched_at": at,
        "dispatch_count": t.case.dispatch_count + 1,
    }


def _check_escalate(t: Transit) -> None:
    if t.case.level is Level.STREET:
        raise Refused(
            refuse(RejectionCode.NOT_ALLOWED_IN_STATE, trigger=Trigger.ESCALATE, state=t.case.state)
        )
    t.values = {
        "reason": read_text(t.event.args, "reason", required=True),
        "level": Level.STREET,
        "escalated": True,
    }


def _check_merge(t: Transit) -> None:
    into = read_id(t.event.args, "into", required=True)
    if into == t.case.id:
        raise Refused(
            refuse(RejectionCode.INVALID_FIELD, field="into", detail="不能合并到自身 / not into itself")
        )
    t.values = {"merged_into": into, "ended_at": t.event.occurred_at}


def _check_cancel(t: Transit) -> None:
    t.values = {"reason": read_text(t.event.args, "reason", required=True), "ended_at": t.event.occurred_at}


def _check_accept(t: Transit) -> None:
    t.values = {"handler_id": t.event.actor.user_id, "accepted_at": t.event.occurred_at}


def _check_return(t: Transit) -> None:
    t.values = {
        "reason": read_text(t.event.args, "reason", required=True),
        "return_count": t.case.return_count + 1,
        "department_id": None,
        "handler_id": None,
        "due_at": None,
    }


def _check_complete(t: Transit) -> None:
    args = t.event.args
    t.values = {
        "result_note": read_text(args, "note", required=True),
        "after_photos": t.case.after_photos + read_photos(args, "photos", min_count=1),
        "disposer_id": t.event.actor.user_id,
        "completed_at": t.event.occurred_at,
    }


def _check_approve(t: Transit) -> None:
    read_text(t.event.args, "note", required=False)
    t.values = {"ended_at": t.event.occurred_at}


def _check_reject(t: Transit) -> None:
    t.values = {
        "reason": read_text(t.event.args, "reason", required=True),
        "rework_count": t.case.rework_count + 1,
    }


def _check_comment(t: Transit) -> None:
    read_text(t.event.args, "text", required=True)
    t.values = {"comment_count": t.case.comment_count + 1}


def _check_attach(t: Transit) -> None:
    args = t.event.args
    photos = read_photos(args, "photos", min_count=1)
    if read_choice(args, "kind", _PhotoKind, _PhotoKind.BEFORE) is _PhotoKind.AFTER:
        t.values = {"after_photos": t.case.after_photos + photos}
    else:
        t.values = {"before_photos": t.case.before_photos + photos}


class _PhotoKind(StrEnum):
    """Whether attached photos show the problem or the fix."""

    BEFORE = "before"
    AFTER = "after"


def _has_department(t: Transit) -> bool:
    return t.case.department_id is not None


# --- the table --------------------------------------------------------------------------------

_FILED = sorted(OPEN_STATES - {State.PATROL})
_TRIAGE = [State.FEEDBACK, State.COORDINATION]


@dataclass(frozen=True)
class Row:
    trigger: Trigger
    source: tuple[State, ...]
    dest: State | None  # None: the case stays where it is (a comment, a photo)
    check: Check
    branch: Callable[[Transit], bool] | None = None


CASE_TRANSITIONS: tuple[Row, ...] = (
    Row(Trigger.REPORT, (State.PATROL,), State.FEEDBACK, _check_report),
    Row(Trigger.FIX_ON_SPOT, (State.FEEDBACK,), State.SUPERVISION, _check_fix_on_spot),
    Row(Trigger.DISPATCH, (*_TRIAGE, State.DISPATCHED), State.DISPATCHED, _check_dispatch),
    Row(Trigger.ESCALATE, tuple(_TRIAGE), State.COORDINATION, _check_escalate),
    Row(Trigger.MERGE, tuple(_TRIAGE), State.MERGED, _check_merge),
    Row(Trigger.CANCEL, tuple(_TRIAGE), State.CANCELLED, _check_cancel),
    Row(Trigger.ACCEPT, (State.DISPATCHED,), State.DISPOSAL, _check_accept),
    Row(Trigger.RETURN_CASE, (State.DISPATCHED, State.DISPOSAL), State.COORDINATION, _check_return),
    Row(Trigger.COMPLETE, (State.DISPOSAL,), State.SUPERVISION, _check_complete),
    Row(Trigger.APPROVE, (State.SUPERVISION,), State.CLOSED, _check_approve),
    # 返工: back to the department that did it; a fix on the spot has none, so it goes to coordination
    Row(Trigger.REJECT, (State.SUPERVISION,), State.DISPOSAL, _check_reject, branch=_has_department),
    Row(Trigger.REJECT, (State.SUPERVISION,), State.COORDINATION, _check_reject),
    Row(Trigger.COMMENT, tuple(_FILED), None, _check_comment),
    Row(Trigger.ATTACH_PHOTOS, tuple(_FILED), None, _check_attach),
)


def sources_of(trigger: Trigger) -> frozenset[State]:
    """The states from which ``trigger`` can fire."""
    return _SOURCES.get(trigger, frozenset())


def case_triggers() -> tuple[Trigger, ...]:
    """The triggers that act on cases, in table order."""
    return tuple(dict.fromkeys(row.trigger for row in CASE_TRANSITIONS))


_SOURCES: dict[Trigger, frozenset[State]] = {}
for _row in CASE_TRANSITIONS:
    _SOURCES[_row.trigger] = _SOURCES.get(_row.trigger, frozenset()) | frozenset(_row.source)


# --- the machine ------------------------------------------------------------------------------


def _as_condition(check: Check) -> Callable[[EventData], bool]:
    def condition(event_data: EventData) -> bool:
        check(event_data.model)
        return True

    return condition


def _as_branch(branch: Callable[[Transit], bool]) -> Callable[[EventData], bool]:
    return lambda event_data: branch(event_data.model)


def _effect(event_data: EventData) -> None:
    t: Transit = event_data.model
    case, event = t.case, t.event
    values = t.values
    state = _STATE_OF_VALUE[t.state]
    if state is not case.state:
        values["state"] = state
        values["state_since"] = event.occurred_at
    values["version"] = case.version + 1
    if event.received_at is not None and event.received_at > event.occurred_at:
        values["offline_seconds"] = (
            case.offline_seconds + (event.received_at - event.occurred_at).total_seconds()
        )
    t.result = evolve(case, values)


def machine_transitions(rows: tuple[Row, ...] = CASE_TRANSITIONS) -> list[dict[str, Any]]:
    """The table in the form ``transitions`` takes."""
    out: list[dict[str, Any]] = []
    for row in rows:
        conditions: list[Callable[[EventData], bool]] = []
        if row.branch is not None:
            conditions.append(_as_branch(row.branch))
        conditions.append(_as_condition(row.check))
        out.append(
            {
                "trigger": row.trigger.value,
                "source": [s.value for s in row.source],
                "dest": row.dest.value if row.dest is not None else None,
                "conditions": conditions,
                "after": _effect,
            }
        )
    return out


CASE_MACHINE = LoopMachine(
    model=None,
    states=[s.value for s in State],
    initial=State.PATROL.value,
    transitions=machine_transitions(),
    auto_transitions=False,
    send_event=True,
    ignore_invalid_triggers=False,
)
