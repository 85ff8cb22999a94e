"""The seven screens, one ``.py`` and one ``.kv`` each. Importing this loads their kv rules."""

from __future__ import annotations

from typing import Any

from .case_detail import CaseDetailScreen
from .cases import CasesScreen
from .home import HomeScreen
from .outbox import OutboxScreen
from .patrol import PatrolScreen
from .report import ReportScreen
from .signin import SignInScreen

__all__ = [
    "SCREEN_CLASSES",
    "CaseDetailScreen",
    "CasesScreen",
    "HomeScreen",
    "OutboxScreen",
    "PatrolScreen",
    "ReportScreen",
    "SignInScreen",
]

SCREEN_CLASSES: dict[str, Any] = {
    "signin": SignInScreen,
    "home": HomeScreen,
    "patrol": PatrolScreen,
    "report": ReportScreen,
    "cases": CasesScreen,
    "case_detail": CaseDetailScreen,
    "outbox": OutboxScreen,
}
