"""The words of the road-chief loop: steps, case states, triggers, roles and the other small enums.

Standard library only, so that anything (the wire protocol, the phone, the server) can speak the
vocabulary without loading the state machine.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "FINAL_STATES",
    "OPEN_STATES",
    "PATROL_TRIGGERS",
    "STEP_OF_STATE",
    "Domain",
    "Level",
    "LimitUnit",
    "PatrolState",
    "RejectionCode",
    "Role",
    "State",
    "Step",
    "Trigger",
    "Urgency",
]


class Step(StrEnum):
    """The five steps (5步法) a problem goes round until a supervisor has seen it fixed."""

    PATROL = "patrol"  # 巡查
    FEEDBACK = "feedback"  # 反馈
    COORDINATION = "coordination"  # 协调
    DISPOSAL = "disposal"  # 处置
    SUPERVISION = "supervision"  # 督察
    DONE = "done"  # 闭环: closed, cancelled or merged


class State(StrEnum):
    """Where a case is. Each open state belongs to one of the five steps (see ``STEP_OF_STATE``)."""

    PATROL = "patrol"  # found on patrol, not yet filed (the state a new case starts in)
    FEEDBACK = "feedback"  # filed by the road chief, in the community station's queue
    COORDINATION = "coordination"  # escalated to the street, returned by a department, or rejected
    DISPATCHED = "dispatched"  # sent to a department with a deadline, waiting to be accepted
    DISPOSAL = "disposal"  # accepted by a handler, being fixed (rework comes back here)
    SUPERVISION = "supervision"  # fixed, waiting for the supervisor's verdict
    CLOSED = "closed"  # approved: the loop is closed
    CANCELLED = "cancelled"  # invalid report, cancelled with a reason
    MERGED = "merged"  # a duplicate, merged into another open case


STEP_OF_STATE: dict[State, Step] = {
    State.PATROL: Step.PATROL,
    State.FEEDBACK: Step.FEEDBACK,
    State.COORDINATION: Step.COORDINATION,
    State.DISPATCHED: Step.DISPOSAL,
    State.DISPOSAL: Step.DISPOSAL,
    State.SUPERVISION: Step.SUPERVISION,
    State.CLOSED: Step.DONE,
    State.CANCELLED: Step.DONE,
    State.MERGED: Step.DONE,
}

FINAL_STATES: frozenset[State] = frozenset({State.CLOSED, State.CANCELLED, State.MERGED})
OPEN_STATES: frozenset[State] = frozenset(s for s in State if s not in FINAL_STATES)


class PatrolState(StrEnum):
    """A patrol (路长上路) is a record of its own: started, then ended."""

    NEW = "new"
    WALKING = "walking"
    ENDED = "ended"


class Trigger(StrEnum):
    """Commands, as verbs. The wire mutation's ``name`` is exactly one of these."""

    # patrols
    START_PATROL = "start_patrol"
    RECORD_POINTS = "record_points"
    END_PATROL = "end_patrol"
    # feedback
    REPORT = "report"
    FIX_ON_SPOT = "fix_on_spot"
    # coordination
    DISPATCH = "dispatch"
    ESCALATE = "escalate"
    MERGE = "merge"
    CANCEL = "cancel"
    # disposal
    ACCEPT = "accept"
    RETURN_CASE = "return_case"
    COMPLETE = "complete"
    # supervision
    APPROVE = "approve"
    REJECT = "reject"
    # any open step
    COMMENT = "comment"
    ATTACH_PHOTOS = "attach_photos"


PATROL_TRIGGERS: frozenset[Trigger] = frozenset(
    {Trigger.START_PATROL, Trigger.RECORD_POINTS, Trigger.END_PATROL}
)


class Role(StrEnum):
    """Who a user is in the loop. Scope (street, community, department) travels with the actor."""

    ROAD_CHIEF = "road_chief"  # 路长
    COORDINATOR = "coordinator"  # 站长 / 街道指挥中心
    HANDLER = "handler"  # 部门处置人员
    SUPERVISOR = "supervisor"  # 督察
    ADMIN = "admin"  # 管理员


class Level(StrEnum):
    """Which coordinator holds a case: the community station, or the street after 吹哨."""

    COMMUNITY = "community"
    STREET = "street"


class Urgency(StrEnum):
    NORMAL = "normal"  # 一般
    URGENT = "urgent"  # 紧急


class Domain(StrEnum):
    """The four domains the Guangning report names."""

    SAFETY = "safety"  # 安全
    ENVIRONMENT = "environment"  # 环境
    SANITATION = "sanitation"  # 卫生
    ORDER = "order"  # 秩序


class LimitUnit(StrEnum):
    """How a deadline is counted: on the street's working calendar, or on the clock."""

    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"
    CLOCK_HOURS = "clock_hours"


class RejectionCode(StrEnum):
    """Stable codes for refused actions; phones and integrators key on these."""

    UNKNOWN_ACTION = "unknown_action"
    CASE_NOT_FOUND = "case_not_found"
    CASE_EXISTS = "case_exists"
    CASE_FINAL = "case_final"
    NOT_ALLOWED_IN_STATE = "not_allowed_in_state"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    OUT_OF_SCOPE = "out_of_scope"
    NOT_ASSIGNED = "not_assigned"
    SELF_APPROVAL = "self_approval"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    UNKNOWN_CATEGORY = "unknown_category"
    INVALID_DEADLINE = "invalid_deadline"
    PATROL_ENDED = "patrol_ended"
