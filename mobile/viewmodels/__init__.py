"""One plain-Python view-model per screen: no Kivy, observable, driven by tests without a window."""

from __future__ import annotations

from .base import ViewModel
from .case_detail import CaseDetailViewModel, TimelineEntry
from .cases import CasesViewModel
from .common import CaseRow
from .coordinator import CoordinatorViewModel
from .handler import HandlerViewModel
from .home import HomeViewModel
from .outbox import OutboxRow, OutboxViewModel
from .overview import OverviewViewModel, QueueRow, RoleQueueViewModel
from .patrol import PatrolViewModel
from .report import CategoryChoice, ReportViewModel
from .settings import SettingsViewModel
from .signin import SignInViewModel
from .supervisor import SupervisorViewModel

__all__ = [
    "CaseDetailViewModel",
    "CaseRow",
    "CasesViewModel",
    "CategoryChoice",
    "CoordinatorViewModel",
    "HandlerViewModel",
    "HomeViewModel",
    "OutboxRow",
    "OutboxViewModel",
    "OverviewViewModel",
    "PatrolViewModel",
    "QueueRow",
    "ReportViewModel",
    "RoleQueueViewModel",
    "SettingsViewModel",
    "SignInViewModel",
    "SupervisorViewModel",
    "TimelineEntry",
    "ViewModel",
]
