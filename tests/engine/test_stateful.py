"""Random people firing random actions at a few cases: the loop's invariants hold whatever they do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine import (
    FINAL_STATES,
    Actor,
    Case,
    Event,
    Rejection,
    Role,
    State,
    Trigger,
    allowed_triggers,
    apply,
    fold,
)

from .story import (
    ADMIN,
    CHIEF,
    COMMAND_CENTRE,
    COMMUNITY,
    DEPARTMENT,
    HANDLER,
    OTHER_COMMUNITY,
    OTHER_DEPARTMENT,
    START,
    STATION,
    STREET,
    SUPERVISOR,
    VALID_ARGS,
)

PEOPLE: list[tuple[Actor, Role]] = [
    (CHIEF, Role.ROAD_CHIEF),
    (Actor("u-chief-2", STREET, community_id=COMMUNITY), Role.ROAD_CHIEF),
    (Actor("u-chief-b", STREET, community_id=OTHER_COMMUNITY), Role.ROAD_CHIEF),
    (STATION, Role.COORDINATOR),
    (Actor("u-station-b", STREET, community_id=OTHER_COMMUNITY), Role.COORDINATOR),
    (COMMAND_CENTRE, Role.COORDINATOR),
    (HANDLER, Role.HANDLER),
    (Actor("u-police", STREET, department_id=OTHER_DEPARTMENT), Role.HANDLER),
    (SUPERVISOR, Role.SUPERVISOR),
    (Actor(CHIEF.user_id, STREET), Role.SUPERVISOR),  # a chief who also supervises: self-approval
    (ADMIN, Role.ADMIN),
    (Actor("u-stranger", "street-bajiao"), Role.SUPERVISOR),
]
CASE_IDS = ["case-a", "case-b", "case-c"]
BAD_ARGS: list[dict[str, Any]] = [
    {},
    {"reason": ""},
    {"photos": ["not-a-hash"]},
    {"category": "E0000", "road_id": "r", "description": "x"},
    {"department_id": 12},
    {"note": "x" * 5000, "photos": ["e" * 64]},
]


def args_for(trigger: Trigger, variant: int, department: str) -> dict[str, Any]:
    if variant >= len(BAD_ARGS):
        args = dict(VALID_ARGS[trigger])
        if trigger is Trigger.DISPATCH:
            args["department_id"] = department
        if trigger is Trigger.MERGE:
            args["into"] = CASE_IDS[variant % len(CASE_IDS)]
        return args
    return BAD_ARGS[variant]


class LoopUnderRandomActions(RuleBasedStateMachine):
    @initialize()
    def open_the_street(self) -> None:
        self.clock = START
        self.cases: dict[str, Case | None] = dict.fromkeys(CASE_IDS)
        self.logs: dict[str, list[Event]] = {case_id: [] for case_id in CASE_IDS}
        self.finished: dict[str, Case] = {}
        self.count = 0

    @rule(
        case_id=st.sampled_from(CASE_IDS),
        trigger=st.sampled_from(
            [t for t in Trigger if t.value not in ("start_patrol", "record_points", "end_patrol")]
        ),
        person=st.sampled_from(PEOPLE),
        variant=st.integers(0, len(BAD_ARGS) + 3),
        department=st.sampled_from([DEPARTMENT, OTHER_DEPARTMENT]),
        minutes=st.integers(0, 60 * 24 * 5),
    )
    def someone_acts(
        self,
        case_id: str,
        trigger: Trigger,
        person: tuple[Actor, Role],
        variant: int,
        department: str,
        minutes: int,
    ) -> None:
        actor, role = person
        self.clock += timedelta(minutes=minutes)
        self.count += 1
        event = Event(
            f"e{self.count}",
            case_id,
            trigger.value,
            actor,
            role,
            self.clock,
            args_for(trigger, variant, department),
        )
        before = self.cases[case_id]
        result = apply(before, event)
        if isinstance(result, Rejection):
            assert self.cases[case_id] is before  # a refusal changes nothing
            assert result.message_zh and result.message_en
            return
        assert isinstance(result, Case)
        assert before is None or not before.is_final, "a closed case changed"
        self.cases[case_id] = result
        self.logs[case_id].append(event)

    @rule(
        case_id=st.sampled_from(CASE_IDS),
        person=st.sampled_from(PEOPLE),
        pick=st.integers(0, 20),
        department=st.sampled_from([DEPARTMENT, OTHER_DEPARTMENT]),
        minutes=st.integers(0, 60 * 24 * 5),
    )
    def someone_does_what_the_app_offers(
        self, case_id: str, person: tuple[Actor, Role], pick: int, department: str, minutes: int
    ) -> None:
        """Moves the loop along: the action is one the app would offer this person."""
        actor, role = person
        case = self.cases[case_id]
        if case is None:
            offered = [Trigger.REPORT] if role in (Role.ROAD_CHIEF, Role.COORDINATOR) else []
        else:
            offered = allowed_triggers(case, actor, role)
        if not offered:
            return
        # mostly move forward; now and then comment, cancel or merge
        forward = [
            t
            for t in offered
            if t not in (Trigger.COMMENT, Trigger.ATTACH_PHOTOS, Trigger.CANCEL, Trigger.MERGE)
        ]
        choices = forward if forward and pick < 16 else offered
        trigger = choices[pick % len(choices)]
        self.clock += timedelta(minutes=minutes)
        self.count += 1
        args = args_for(trigger, len(BAD_ARGS) + pick % 3, department)
        event = Event(f"e{self.count}", case_id, trigger.value, actor, role, self.clock, args)
        result = apply(case, event)
        if isinstance(result, Rejection):
            # what the app offers with well-formed arguments passes, bar a merge into itself
            assert trigger is Trigger.MERGE and args["into"] == case_id, result
            return
        assert isinstance(result, Case)
        self.cases[case_id] = result
        self.logs[case_id].append(event)

    @invariant()
    def states_are_ones_the_spec_allows(self) -> None:
        for case in self.cases.values():
            if case is not None:
                assert case.state in State and case.state is not State.PATROL
                assert case.version >= 1
                if case.state in (State.DISPATCHED, State.DISPOSAL):
                    assert case.department_id is not None and case.due_at is not None
                if case.state is State.DISPOSAL:
                    assert case.handler_id is not None

    @invariant()
    def replaying_the_log_gives_the_same_case(self) -> None:
        for case_id, case in self.cases.items():
            assert fold(self.logs[case_id]) == case
            if case is not None:
                assert case.version == len(self.logs[case_id])

    @invariant()
    def rework_counts_every_rejection(self) -> None:
        for case_id, case in self.cases.items():
            if case is not None:
                rejections = sum(e.name == Trigger.REJECT for e in self.logs[case_id])
                assert case.rework_count == rejections
                returns = sum(e.name == Trigger.RETURN_CASE for e in self.logs[case_id])
                assert case.return_count == returns

    @invariant()
    def closed_cases_never_change(self) -> None:
        for case_id, case in self.cases.items():
            if case is not None and case.state in FINAL_STATES:
                self.finished.setdefault(case_id, case)
                assert self.finished[case_id] is case


LoopUnderRandomActions.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
test_the_loop_under_random_actions = LoopUnderRandomActions.TestCase
