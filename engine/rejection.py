"""Refusals: what the engine answers when an action is not allowed, in Chinese and English.

A refusal is a value, not an exception: the server stores it as the answer to a mutation and the
phone shows it next to the case. The code is stable; the messages are for people.
"""

from __future__ import annotations

from dataclasses import dataclass

from .labels import label
from .vocabulary import PatrolState, RejectionCode, State, Trigger

__all__ = ["MESSAGES", "Rejection", "refuse"]

# Templates take {trigger}, {state}, {field} and {detail}; unused ones are simply ignored.
MESSAGES: dict[RejectionCode, tuple[str, str]] = {
    RejectionCode.UNKNOWN_ACTION: ("未知操作：{trigger}", "Unknown action: {trigger}"),
    RejectionCode.CASE_NOT_FOUND: ("案件不存在", "The case does not exist"),
    RejectionCode.CASE_EXISTS: (
        "案件已存在，不能重复上报",
        "The case already exists; it cannot be reported twice",
    ),
    RejectionCode.CASE_FINAL: (
        "案件{state}，不能再修改",
        "The case is already {state}; it can no longer change",
    ),
    RejectionCode.NOT_ALLOWED_IN_STATE: (
        "案件当前处于「{state}」，不能执行「{trigger}」",
        "The case is at '{state}'; '{trigger}' is not possible now",
    ),
    RejectionCode.ROLE_NOT_ALLOWED: (
        "您的角色不能执行「{trigger}」",
        "Your role may not '{trigger}'",
    ),
    RejectionCode.OUT_OF_SCOPE: ("该案件不在您的管辖范围内", "This case is outside your area"),
    RejectionCode.NOT_ASSIGNED: ("该案件未分派给您：{detail}", "This case is not assigned to you: {detail}"),
    RejectionCode.SELF_APPROVAL: (
        "不能核查通过自己处置的案件",
        "You may not approve a disposal you made yourself",
    ),
    RejectionCode.MISSING_FIELD: ("缺少必填项：{field}", "A required field is missing: {field}"),
    RejectionCode.INVALID_FIELD: ("字段无效：{field}（{detail}）", "Invalid field {field}: {detail}"),
    RejectionCode.UNKNOWN_CATEGORY: ("未知的问题类别：{detail}", "Unknown category: {detail}"),
    RejectionCode.INVALID_DEADLINE: ("处置时限无效：{detail}", "Invalid deadline: {detail}"),
    RejectionCode.PATROL_ENDED: ("本次巡查已结束", "This patrol has already ended"),
}


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused action. The record it was refused on is left exactly as it was."""

    code: RejectionCode
    message_zh: str
    message_en: str
    field: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code.value,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "field": self.field,
        }


def refuse(
    code: RejectionCode,
    *,
    trigger: Trigger | str = "",
    state: State | PatrolState | None = None,
    field: str | None = None,
    detail: str = "",
) -> Rejection:
    """Build a refusal with both messages filled in, naming the trigger and state in each language."""
    zh, en = MESSAGES[code]
    messages = []
    for template, language in ((zh, "zh"), (en, "en")):
        messages.append(
            template.format(
                trigger=label(trigger, language) if isinstance(trigger, Trigger) else trigger,
                state=label(state, language) if state is not None else "",
                field=field or "",
                detail=detail,
            )
        )
    return Rejection(code, messages[0], messages[1], field)
