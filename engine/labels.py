"""Chinese and English names of the loop's words: the one table of domain labels.

The app's own translation table extends this one; the diagram and the refusal messages use it.
"""

from __future__ import annotations

from enum import StrEnum

from .vocabulary import Domain, Level, LimitUnit, PatrolState, Role, State, Step, Trigger, Urgency

__all__ = ["LABELS", "label"]

_PAIRS: list[tuple[StrEnum, tuple[str, str]]] = [
    (Step.PATROL, ("巡查", "patrol")),
    (Step.FEEDBACK, ("反馈", "feedback")),
    (Step.COORDINATION, ("协调", "coordination")),
    (Step.DISPOSAL, ("处置", "disposal")),
    (Step.SUPERVISION, ("督察", "supervision")),
    (Step.DONE, ("闭环", "done")),
    (State.PATROL, ("巡查发现", "found on patrol")),
    (State.FEEDBACK, ("已反馈待协调", "reported, awaiting coordination")),
    (State.COORDINATION, ("协调中", "in coordination")),
    (State.DISPATCHED, ("已派遣待接收", "dispatched, awaiting acceptance")),
    (State.DISPOSAL, ("处置中", "in disposal")),
    (State.SUPERVISION, ("待督察", "awaiting supervision")),
    (State.CLOSED, ("已结案", "closed")),
    (State.CANCELLED, ("已作废", "cancelled")),
    (State.MERGED, ("已合并", "merged")),
    (PatrolState.NEW, ("未开始", "not started")),
    (PatrolState.WALKING, ("巡查中", "on patrol")),
    (PatrolState.ENDED, ("已结束", "ended")),
    (Trigger.START_PATROL, ("开始巡查", "start patrol")),
    (Trigger.RECORD_POINTS, ("记录轨迹", "record track")),
    (Trigger.END_PATROL, ("结束巡查", "end patrol")),
    (Trigger.REPORT, ("上报问题", "report")),
    (Trigger.FIX_ON_SPOT, ("现场处置", "fix on the spot")),
    (Trigger.DISPATCH, ("派遣", "dispatch")),
    (Trigger.ESCALATE, ("街道吹哨", "escalate to the street")),
    (Trigger.MERGE, ("合并", "merge")),
    (Trigger.CANCEL, ("作废", "cancel")),
    (Trigger.ACCEPT, ("接收", "accept")),
    (Trigger.RETURN_CASE, ("退回", "return")),
    (Trigger.COMPLETE, ("处置完成", "complete disposal")),
    (Trigger.APPROVE, ("核查通过", "approve")),
    (Trigger.REJECT, ("返工", "reject for rework")),
    (Trigger.COMMENT, ("备注", "comment")),
    (Trigger.ATTACH_PHOTOS, ("添加照片", "attach photos")),
    (Role.ROAD_CHIEF, ("路长", "road chief")),
    (Role.COORDINATOR, ("协调员", "coordinator")),
    (Role.HANDLER, ("处置人员", "handler")),
    (Role.SUPERVISOR, ("督察员", "supervisor")),
    (Role.ADMIN, ("管理员", "admin")),
    (Level.COMMUNITY, ("社区", "community")),
    (Level.STREET, ("街道", "street")),
    (Urgency.NORMAL, ("一般", "normal")),
    (Urgency.URGENT, ("紧急", "urgent")),
    (Domain.SAFETY, ("安全", "safety")),
    (Domain.ENVIRONMENT, ("环境", "environment")),
    (Domain.SANITATION, ("卫生", "sanitation")),
    (Domain.ORDER, ("秩序", "order")),
    (LimitUnit.WORKING_HOURS, ("工作时", "working hours")),
    (LimitUnit.WORKING_DAYS, ("工作日", "working days")),
    (LimitUnit.CLOCK_HOURS, ("小时", "clock hours")),
]

# Keyed by (enum type, value): Step.DISPOSAL and State.DISPOSAL share a value but not a label.
LABELS: dict[tuple[type[StrEnum], str], tuple[str, str]] = {
    (type(word), word.value): pair for word, pair in _PAIRS
}


def label(word: StrEnum, language: str = "zh") -> str:
    """The label of a vocabulary word in ``"zh"`` or ``"en"``; the raw value if it has none."""
    pair = LABELS.get((type(word), word.value))
    if pair is None:
        return word.value
    return pair[1] if language == "en" else pair[0]
