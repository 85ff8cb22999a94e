"""The street's evaluation (综合评价): figures in SQL, written as tables, CSV, Excel and charts."""

from __future__ import annotations

from .definitions import FIGURES, STEPS, PatrolRule, Period, Report, Row, Scope, StepTime, TrendPoint
from .queries import evaluate, names_of, scope_exists

__all__ = [
    "FIGURES",
    "STEPS",
    "PatrolRule",
    "Period",
    "Report",
    "Row",
    "Scope",
    "StepTime",
    "TrendPoint",
    "evaluate",
    "names_of",
    "scope_exists",
]
