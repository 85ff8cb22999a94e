"""A terminal walk of one case round the whole loop, with one rework: the engine on its own, no server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from engine import CHINA_TZ, Actor, Case, Event, Rejection, Role, Trigger, apply, label

__all__ = ["run_walkthrough"]

_STREET = "广宁街道"
_CAST: dict[str, tuple[Actor, Role]] = {
    "张路长": (Actor("张路长", _STREET, community_id="高井路社区"), Role.ROAD_CHIEF),
    "李站长": (Actor("李站长", _STREET, community_id="高井路社区"), Role.COORDINATOR),
    "王队员": (Actor("王队员", _STREET, department_id="城管"), Role.HANDLER),
    "赵督察": (Actor("赵督察", _STREET), Role.SUPERVISOR),
}
_PHOTO = "0" * 63


def _script() -> list[tuple[str, Trigger, dict[str, Any]]]:
    return [
        (
            "张路长",
            Trigger.REPORT,
            {
                "category": "E0501",
                "road_id": "金顶街",
                "description": "金顶街东口有商贩占道经营",
                "photos": [_PHOTO + "1"],
            },
        ),
        ("李站长", Trigger.DISPATCH, {"department_id": "城管"}),
        ("王队员", Trigger.ACCEPT, {}),
        ("王队员", Trigger.COMPLETE, {"note": "已劝离商贩", "photos": [_PHOTO + "2"]}),
        ("赵督察", Trigger.REJECT, {"reason": "现场仍有遗留杂物"}),
        ("王队员", Trigger.COMPLETE, {"note": "杂物已清运", "photos": [_PHOTO + "3"]}),
        ("赵督察", Trigger.APPROVE, {"note": "现场核实，已恢复"}),
    ]


def run_walkthrough(echo: Callable[[str], Any] = print, start: datetime | None = None) -> Case:
    """Fire the script through the engine and print each step; returns the closed case."""
    clock = start or datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    case: Case | None = None
    echo("路长制 5步法 · one case round the loop\n")
    for number, (who, trigger, args) in enumerate(_script(), start=1):
        clock += timedelta(hours=2)
        actor, role = _CAST[who]
        event = Event(f"event-{number}", "case-1", trigger.value, actor, role, clock, args)
        result = apply(case, event)
        if isinstance(result, Rejection):
            raise RuntimeError(f"the engine refused {trigger}: {result.message_en}")
        assert isinstance(result, Case)
        case = result
        local = clock.astimezone(CHINA_TZ).strftime("%m-%d %H:%M")
        echo(
            f"{local}  {who}({label(role)})  {label(trigger)}  →  "
            f"{label(case.step)} · {label(case.state)}   [{trigger.value} → {case.state.value}]"
        )
        if trigger is Trigger.DISPATCH and case.due_at is not None:
            echo(f"             处置时限 deadline: {case.due_at.astimezone(CHINA_TZ):%m-%d %H:%M}")
    assert case is not None
    echo(f"\n结案 closed: {case.is_final}, 返工 rework: {case.rework_count}, version {case.version}")
    return case
