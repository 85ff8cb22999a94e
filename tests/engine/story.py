"""People, places and a clock for engine tests: a small street, and cases walked to any state."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from engine import Actor, Case, Event, Rejection, Role, State, Trigger, apply_to_case

STREET = "street-guangning"
COMMUNITY = "community-a"
OTHER_COMMUNITY = "community-b"
DEPARTMENT = "dept-chengguan"
OTHER_DEPARTMENT = "dept-police"
CATEGORY = "E0501"  # 占道经营 street vending
PHOTO_BEFORE = "a" * 64
PHOTO_AFTER = "b" * 64
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing

CHIEF = Actor("u-chief", STREET, community_id=COMMUNITY)
STATION = Actor("u-station", STREET, community_id=COMMUNITY)
COMMAND_CENTRE = Actor("u-centre", STREET)
HANDLER = Actor("u-handler", STREET, department_id=DEPARTMENT)
SUPERVISOR = Actor("u-supervisor", STREET)
ADMIN = Actor("u-admin", STREET)

IN_SCOPE: dict[Role, Actor] = {
    Role.ROAD_CHIEF: CHIEF,
    Role.COORDINATOR: STATION,
    Role.HANDLER: HANDLER,
    Role.SUPERVISOR: SUPERVISOR,
    Role.ADMIN: ADMIN,
}

VALID_ARGS: dict[Trigger, dict[str, Any]] = {
    Trigger.REPORT: {
        "category": CATEGORY,
        "road_id": "road-jinding",
        "description": "金顶街路口有人占道摆摊",
        "photos": [PHOTO_BEFORE],
        "location": {"lat": 39.93, "lon": 116.19},
    },
    Trigger.FIX_ON_SPOT: {"note": "已劝离", "photos": [PHOTO_AFTER]},
    Trigger.DISPATCH: {"department_id": DEPARTMENT},
    Trigger.ESCALATE: {"reason": "社区无法协调"},
    Trigger.MERGE: {"into": "case-older"},
    Trigger.CANCEL: {"reason": "重复上报"},
    Trigger.ACCEPT: {},
    Trigger.RETURN_CASE: {"reason": "不属于本部门"},
    Trigger.COMPLETE: {"note": "已清理", "photos": [PHOTO_AFTER]},
    Trigger.APPROVE: {"note": "现场核实"},
    Trigger.REJECT: {"reason": "仍有杂物"},
    Trigger.COMMENT: {"text": "已电话联系"},
    Trigger.ATTACH_PHOTOS: {"photos": [PHOTO_BEFORE], "kind": "before"},
}


@dataclass
class Story:
    """A case told event by event, with a clock that moves ten minutes per action."""

    case_id: str = "case-1"
    clock: datetime = START
    log: list[Event] = field(default_factory=list)
    case: Case | None = None
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def event(self, trigger: Trigger | str, actor: Actor, role: Role, **args: Any) -> Event:
        self.clock += timedelta(minutes=10)
        name = trigger.value if isinstance(trigger, Trigger) else trigger
        return Event(f"{self.case_id}-e{next(self._ids)}", self.case_id, name, actor, role, self.clock, args)

    def act(self, trigger: Trigger | str, actor: Actor, role: Role, **args: Any) -> Case | Rejection:
        """Fire an action; keep the new case and log the event if it was accepted."""
        event = self.event(trigger, actor, role, **args)
        result = apply_to_case(self.case, event)
        if isinstance(result, Case):
            self.case = result
            self.log.append(event)
        return result

    def must(self, trigger: Trigger, actor: Actor, role: Role, **args: Any) -> Case:
        result = self.act(trigger, actor, role, **(args or VALID_ARGS[trigger]))
        assert isinstance(result, Case), f"{trigger} refused: {result}"
        return result


def walk_to(state: State, case_id: str = "case-1") -> Story:
    """A story whose case has just reached ``state`` by the ordinary road."""
    story = Story(case_id=case_id)
    if state is State.PATROL:
        return story
    story.must(Trigger.REPORT, CHIEF, Role.ROAD_CHIEF)
    if state is State.FEEDBACK:
        return story
    if state is State.CANCELLED:
        story.must(Trigger.CANCEL, STATION, Role.COORDINATOR)
        return story
    if state is State.MERGED:
        story.must(Trigger.MERGE, STATION, Role.COORDINATOR)
        return story
    story.must(Trigger.DISPATCH, STATION, Role.COORDINATOR)
    if state is State.DISPATCHED:
        return story
    if state is State.COORDINATION:
        story.must(Trigger.RETURN_CASE, HANDLER, Role.HANDLER)
        return story
    story.must(Trigger.ACCEPT, HANDLER, Role.HANDLER)
    if state is State.DISPOSAL:
        return story
    story.must(Trigger.COMPLETE, HANDLER, Role.HANDLER)
    if state is State.SUPERVISION:
        return story
    story.must(Trigger.APPROVE, SUPERVISOR, Role.SUPERVISOR)
    assert state is State.CLOSED
    return story
