"""Every (state, trigger, role): allowed, or refused with the right code, and a refusal changes nothing."""

from __future__ import annotations

import pytest

from engine import FINAL_STATES, Case, Rejection, RejectionCode, Role, State, Trigger

from .story import IN_SCOPE, VALID_ARGS, walk_to

C, R, H, S, A = Role.COORDINATOR, Role.ROAD_CHIEF, Role.HANDLER, Role.SUPERVISOR, Role.ADMIN
T = Trigger

# The specification, written out by hand: which role may do what in which state.
ALLOWED: dict[State, set[tuple[Trigger, Role]]] = {
    State.PATROL: {(T.REPORT, R), (T.REPORT, C)},
    State.FEEDBACK: {
        (T.FIX_ON_SPOT, R),
        (T.DISPATCH, C),
        (T.ESCALATE, C),
        (T.MERGE, C),
        (T.CANCEL, C),
        (T.CANCEL, A),
        (T.COMMENT, R),
        (T.COMMENT, C),
        (T.COMMENT, S),
        (T.COMMENT, A),
        (T.ATTACH_PHOTOS, R),
        (T.ATTACH_PHOTOS, C),
        (T.ATTACH_PHOTOS, S),
        (T.ATTACH_PHOTOS, A),
    },
    State.COORDINATION: {
        (T.DISPATCH, C),
        (T.ESCALATE, C),
        (T.MERGE, C),
        (T.CANCEL, C),
        (T.CANCEL, A),
        (T.COMMENT, R),
        (T.COMMENT, C),
        (T.COMMENT, S),
        (T.COMMENT, A),
        (T.ATTACH_PHOTOS, R),
        (T.ATTACH_PHOTOS, C),
        (T.ATTACH_PHOTOS, S),
        (T.ATTACH_PHOTOS, A),
    },
    State.DISPATCHED: {
        (T.DISPATCH, C),
        (T.ACCEPT, H),
        (T.RETURN_CASE, H),
        *((t, role) for t in (T.COMMENT, T.ATTACH_PHOTOS) for role in Role),
    },
    State.DISPOSAL: {
        (T.RETURN_CASE, H),
        (T.COMPLETE, H),
        *((t, role) for t in (T.COMMENT, T.ATTACH_PHOTOS) for role in Role),
    },
    State.SUPERVISION: {
        (T.APPROVE, S),
        (T.REJECT, S),
        *((t, role) for t in (T.COMMENT, T.ATTACH_PHOTOS) for role in Role),
    },
    State.CLOSED: set(),
    State.CANCELLED: set(),
    State.MERGED: set(),
}
ROLES_OF: dict[Trigger, set[Role]] = {
    T.REPORT: {R, C},
    T.FIX_ON_SPOT: {R},
    T.DISPATCH: {C},
    T.ESCALATE: {C},
    T.MERGE: {C},
    T.CANCEL: {C, A},
    T.ACCEPT: {H},
    T.RETURN_CASE: {H},
    T.COMPLETE: {H},
    T.APPROVE: {S},
    T.REJECT: {S},
    T.COMMENT: set(Role),
    T.ATTACH_PHOTOS: set(Role),
}
CASE_TRIGGERS = list(ROLES_OF)


def expected_refusal(state: State, trigger: Trigger, role: Role) -> RejectionCode:
    if state is State.PATROL:
        return RejectionCode.ROLE_NOT_ALLOWED if trigger is T.REPORT else RejectionCode.CASE_NOT_FOUND
    if trigger is T.REPORT:
        return RejectionCode.CASE_EXISTS
    if state in FINAL_STATES:
        return RejectionCode.CASE_FINAL
    if role not in ROLES_OF[trigger]:
        return RejectionCode.ROLE_NOT_ALLOWED
    if role is H and state in (State.FEEDBACK, State.COORDINATION):
        return RejectionCode.NOT_ASSIGNED  # no department holds the case yet
    return RejectionCode.NOT_ALLOWED_IN_STATE


CELLS = [(state, trigger, role) for state in State for trigger in CASE_TRIGGERS for role in Role]


@pytest.mark.parametrize(("state", "trigger", "role"), CELLS, ids=lambda v: str(v))
def test_every_state_trigger_and_role(state: State, trigger: Trigger, role: Role) -> None:
    story = walk_to(state)
    before = story.case
    result = story.act(trigger, IN_SCOPE[role], role, **VALID_ARGS[trigger])
    if (trigger, role) in ALLOWED[state]:
        assert isinstance(result, Case), f"expected {trigger} by {role} in {state} to pass, got {result}"
        assert result.version == (before.version if before else 0) + 1
    else:
        assert isinstance(result, Rejection), f"{trigger} by {role} in {state} should be refused"
        assert result.code is expected_refusal(state, trigger, role)
        assert result.message_zh and result.message_en
        assert story.case is before  # the case is untouched


def test_the_table_covers_every_trigger_that_acts_on_cases() -> None:
    from engine.workflow import case_triggers

    assert set(case_triggers()) == set(CASE_TRIGGERS)
