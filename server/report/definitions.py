"""What the street measures (综合评价): the figures, their names, and the period, scope and rule.

One table (``FIGURES``) names every figure in Chinese and English and states its formula; the
terminal table, the CSV header, the Excel definitions sheet and docs/evaluation.md all read it, so a
figure cannot mean one thing on screen and another in the workbook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from engine import CHINA_TZ

__all__ = [
    "FIGURES",
    "FIGURE_BY_KEY",
    "SCOPE_LABELS",
    "STEPS",
    "Figure",
    "PatrolRule",
    "Period",
    "Report",
    "Row",
    "Scope",
    "StepTime",
    "TrendPoint",
]


class Scope(StrEnum):
    """What the figures are grouped by."""

    STREET = "street"  # 街道: one row
    COMMUNITY = "community"  # 社区: the case's community
    DEPARTMENT = "department"  # 部门: the department of the case's last dispatch
    ROAD = "road"  # 路段: the road the case was reported on
    CHIEF = "chief"  # 路长: the road chief who reported the case / walked the patrol


SCOPE_LABELS: dict[Scope, tuple[str, str]] = {
    Scope.STREET: ("街道", "street"),
    Scope.COMMUNITY: ("社区", "community"),
    Scope.DEPARTMENT: ("部门", "department"),
    Scope.ROAD: ("路段", "road"),
    Scope.CHIEF: ("路长", "road chief"),
}


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days in China time, both ends included: [first 00:00 CST, last + 1 day 00:00 CST)."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"the period ends ({self.last}) before it starts ({self.first})")
        if (self.last - self.first).days > 3660:
            raise ValueError("the period is longer than ten years")

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), CHINA_TZ).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), CHINA_TZ).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True, slots=True)
class PatrolRule:
    """ "Each road patrolled at least ``times`` times every ``per_days`` days" (e.g. twice a month).

    Scaled to the period: required = max(1, round-half-up(times × period days / per_days)), so a
    30- or 31-day month needs 2 and a week needs 1 under the default rule.
    """

    times: int = 2
    per_days: int = 30

    def __post_init__(self) -> None:
        if self.times < 1 or self.per_days < 1:
            raise ValueError("the patrol rule needs at least one patrol per at least one day")

    def required(self, period: Period) -> int:
        return max(1, math.floor(self.times * period.days / self.per_days + 0.5))

    def describe(self) -> str:
        zh = f"每{self.per_days}天至少巡查{self.times}次"
        return f"{zh} / at least {self.times} patrols every {self.per_days} days"


@dataclass(frozen=True, slots=True)
class StepTime:
    """Completed visits to one step, in clock hours."""

    step: str
    visits: int
    avg_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    zh: str
    en: str
    formula: str
    kind: str = "count"  # count | rate | hours
    cases: bool = True  # False: a patrol figure (no value for the department scope)


# The step durations, in the order of the loop, plus the whole cycle.
STEPS: tuple[tuple[str, str, str, str], ...] = (
    ("feedback", "反馈", "feedback", "report → first dispatch, escalate, merge, cancel or fix on the spot"),
    (
        "coordination",
        "协调",
        "coordination",
        "escalate / return / reject of a spot fix → next dispatch, merge, cancel",
    ),
    ("disposal", "处置", "disposal", "dispatch or reject (rework) → complete or return"),
    ("supervision", "督察", "supervision", "complete or fix on the spot → approve or reject"),
    ("cycle", "闭环", "whole loop", "report → approve, closed cases only"),
)

FIGURES: tuple[Figure, ...] = (
    Figure("reported", "上报数", "reported", "cases whose report falls in the period (the cohort)"),
    Figure("cancelled", "作废数", "cancelled", "cohort cases now cancelled (invalid reports)"),
    Figure("merged", "合并数", "merged", "cohort cases now merged into another case (duplicates)"),
    Figure("filed", "立案数", "filed", "reported − cancelled − merged: cases that need a fix"),
    Figure("closed", "结案数", "closed", "cohort cases now closed (a supervisor approved the fix)"),
    Figure("closure_rate", "结案率", "closure rate", "closed ÷ filed", "rate"),
    Figure(
        "closed_on_time",
        "按期结案数",
        "closed on time",
        "closed cases whose final completion (complete or fix on the spot) is at or before due_at; "
        "a case never dispatched has no deadline and counts as on time",
    ),
    Figure("on_time_rate", "按期结案率", "on-time closure rate", "closed on time ÷ filed", "rate"),
    Figure("open", "未结数", "open", "filed − closed: cohort cases still in the loop"),
    Figure("overdue_open", "超期未结", "overdue open", "open cohort cases past due_at at the report's now"),
    Figure(
        "supervised",
        "已处置数",
        "reached supervision",
        "cohort cases completed or fixed on the spot at least once",
    ),
    Figure(
        "reworked_cases", "返工案件", "reworked cases", "cohort cases a supervisor rejected at least once"
    ),
    Figure("rework_count", "返工次数", "reworks", "reject events of cohort cases (a case may count twice)"),
    Figure("rework_rate", "返工率", "rework rate", "reworked cases ÷ reached supervision", "rate"),
    Figure("returns", "退回次数", "returns", "return events (a department sent it back) of cohort cases"),
    Figure("returned_cases", "退回案件", "returned cases", "cohort cases returned at least once"),
    Figure("redispatches", "重新派遣", "re-dispatches", "Σ max(0, dispatches − 1) over cohort cases"),
    Figure("escalated", "吹哨数", "escalated", "cohort cases escalated to the street (街道吹哨)"),
    Figure("escalation_rate", "吹哨率", "escalation rate", "escalated ÷ reported", "rate"),
    Figure("fixed_on_spot", "现场处置", "fixed on the spot", "cohort cases the road chief fixed on the spot"),
    Figure("patrols", "巡查次数", "patrols", "ended patrols started in the period", cases=False),
    Figure(
        "patrols_with_findings", "有发现巡查", "with findings", "ended patrols that filed a case", cases=False
    ),
    Figure("roads", "路段数", "roads", "roads in the scope (from the road register)", cases=False),
    Figure(
        "roads_covered",
        "达标路段",
        "roads covered",
        "roads with at least the rule's required number of ended patrols in the period",
        cases=False,
    ),
    Figure("coverage_rate", "巡查覆盖率", "patrol coverage", "roads covered ÷ roads", "rate", cases=False),
)

FIGURE_BY_KEY: dict[str, Figure] = {f.key: f for f in FIGURES}


@dataclass(frozen=True, slots=True)
class Row:
    """The figures of one group (a community, a department, ...)."""

    key: str | None
    name: str
    figures: dict[str, int | float | None]
    steps: dict[str, StepTime] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int | float | None:
        return self.figures[name]


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One week (Monday, China time) of the period: cases reported and cases closed in it."""

    week_start: date
    reported: int
    closed: int


@dataclass(frozen=True, slots=True)
class Report:
    street_id: str
    street_name: str
    scope: Scope
    scope_id: str | None
    period: Period
    now: datetime
    rule: PatrolRule
    required_patrols: int
    rows: tuple[Row, ...]
    trend: tuple[TrendPoint, ...]
