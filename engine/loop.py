"""Applying events: the one place that decides whether an action is allowed, on phone and server alike.

``apply`` takes a record (or ``None`` for a new one) and an event, and returns the next record or a
``Rejection``. It never mutates anything, reads no clock and does no I/O: time and identity come in
the event. ``fold`` replays a log; the same log always yields the same record.
"""

from __future__ import annotations

from collections.abc import Iterable

from transitions import MachineError

from .arguments import Refused
from .case import Case
from .events import Actor, Event
from .patrol import PATROL_MACHINE, Patrol, PatrolTransit, evolve_patrol
from .rejection import Rejection, refuse
from .vocabulary import PATROL_TRIGGERS, Level, PatrolState, RejectionCode, Role, State, Trigger
from .workflow import (
    CASE_MACHINE,
    DEFAULT_RULES,
    TRIGGER_ROLES,
    Rules,
    Transit,
    check_scope,
    sources_of,
)

__all__ = [
    "CorruptLog",
    "allowed_triggers",
    "apply",
    "apply_to_case",
    "apply_to_patrol",
    "fold",
    "is_allowed",
]

_CASE_EVENTS = {name: CASE_MACHINE.events[name.value] for name in TRIGGER_ROLES}
_PATROL_EVENTS = {name: PATROL_MACHINE.events[name.value] for name in PATROL_TRIGGERS}
# ``Trigger(name)`` goes through the enum machinery on every event; a dict answers the same
_TRIGGER_BY_NAME: dict[str, Trigger] = {trigger.value: trigger for trigger in Trigger}
# a new record is a copy of a blank one: a frozen dataclass's __init__ sets its fields one by one
# through object.__setattr__, which costs more than the rest of a report (``engine.frozen``)
_BLANK_CASE = Case(id="", street_id="")
_BLANK_PATROL = Patrol(id="", street_id="")


class CorruptLog(ValueError):
    """A stored log holds an event the engine refuses: the log was not written by the engine."""

    def __init__(self, event: Event, rejection: Rejection) -> None:
        super().__init__(f"event {event.id} ({event.name}) is refused on replay: {rejection.code}")
        self.event = event
        self.rejection = rejection


def _trigger_of(event: Event) -> Trigger | None:
    try:
        return _TRIGGER_BY_NAME.get(event.name)
    except TypeError:  # an unhashable name: no trigger, as Trigger(name) would say
        return None


def apply_to_case(case: Case | None, event: Event, rules: Rules = DEFAULT_RULES) -> Case | Rejection:
    """Apply one event to a case; ``None`` stands for a case not yet reported."""
    trigger = _trigger_of(event)
    if trigger is None or trigger in PATROL_TRIGGERS:
        return refuse(RejectionCode.UNKNOWN_ACTION, trigger=event.name)
    if case is None:
        if trigger is not Trigger.REPORT:
            return refuse(RejectionCode.CASE_NOT_FOUND)
        case = _BLANK_CASE  # the report's effect gives the new case its id and street
    elif trigger is Trigger.REPORT:
        return refuse(RejectionCode.CASE_EXISTS)
    elif case.id != event.case_id:
        return refuse(RejectionCode.CASE_NOT_FOUND)
    if case.is_final:
        return refuse(RejectionCode.CASE_FINAL, state=case.state)
    if event.role not in TRIGGER_ROLES[trigger]:
        return refuse(RejectionCode.ROLE_NOT_ALLOWED, trigger=trigger)
    transit = Transit(case, event, rules)
    try:
        if case.state is not State.PATROL:
            check_scope(case, event.actor, event.role, trigger)
        _CASE_EVENTS[trigger].trigger(transit)
    except MachineError:
        return refuse(RejectionCode.NOT_ALLOWED_IN_STATE, trigger=trigger, state=case.state)
    except Refused as refused:
        return refused.rejection
    assert transit.result is not None, "every row of the table either refuses or has an effect"
    return transit.result


def apply_to_patrol(patrol: Patrol | None, event: Event) -> Patrol | Rejection:
    """Apply one event to a patrol; ``None`` stands for a patrol not yet started."""
    trigger = _trigger_of(event)
    if trigger is None or trigger not in PATROL_TRIGGERS:
        return refuse(RejectionCode.UNKNOWN_ACTION, trigger=event.name)
    if patrol is None:
        if trigger is not Trigger.START_PATROL:
            return refuse(RejectionCode.CASE_NOT_FOUND)
        patrol = evolve_patrol(_BLANK_PATROL, {"id": event.case_id, "street_id": event.actor.street_id})
    elif trigger is Trigger.START_PATROL:
        return refuse(RejectionCode.CASE_EXISTS)
    elif patrol.id != event.case_id:
        return refuse(RejectionCode.CASE_NOT_FOUND)
    if patrol.state is PatrolState.ENDED:
        return refuse(RejectionCode.PATROL_ENDED)
    transit = PatrolTransit(patrol, event)
    try:
        _PATROL_EVENTS[trigger].trigger(transit)
    except MachineError:
        return refuse(RejectionCode.NOT_ALLOWED_IN_STATE, trigger=trigger, state=patrol.state)
    except Refused as refused:
        return refused.rejection
    assert transit.result is not None
    return transit.result


def apply(
    record: Case | Patrol | None, event: Event, rules: Rules = DEFAULT_RULES
) -> Case | Patrol | Rejection:
    """Apply an event to whichever record it names: patrol triggers to patrols, the rest to cases."""
    if event.name in PATROL_TRIGGERS:
        if isinstance(record, Case):
            return refuse(RejectionCode.UNKNOWN_ACTION, trigger=event.name)
        return apply_to_patrol(record, event)
    if isinstance(record, Patrol):
        return refuse(RejectionCode.UNKNOWN_ACTION, trigger=event.name)
    return apply_to_case(record, event, rules)


def fold(events: Iterable[Event], rules: Rules = DEFAULT_RULES) -> Case | Patrol | None:
    """Replay a stored log. Every event in it was accepted once, so a refusal means a corrupt log."""
    record: Case | Patrol | None = None
    for event in events:
        result = apply(record, event, rules)
        if isinstance(result, Rejection):
            raise CorruptLog(event, result)
        record = result
    return record


def is_allowed(case: Case, trigger: Trigger, actor: Actor, role: Role) -> bool:
    """Whether ``trigger`` is open to this actor on this case, before any argument is looked at."""
    if case.is_final or role not in TRIGGER_ROLES.get(trigger, frozenset()):
        return False
    if case.state not in sources_of(trigger):
        return False
    if trigger is Trigger.ESCALATE and case.level is Level.STREET:
        return False
    try:
        check_scope(case, actor, role, trigger)
    except Refused:
        return False
    return True


def allowed_triggers(case: Case, actor: Actor, role: Role) -> list[Trigger]:
    """The actions to offer this actor on this case: the app enables only these buttons."""
    return [trigger for trigger in TRIGGER_ROLES if is_allowed(case, trigger, actor, role)]
