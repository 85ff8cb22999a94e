"""The road-chief loop: 巡查 patrol → 反馈 feedback → 协调 coordination → 处置 disposal → 督察 supervision.

Pure: no I/O, no clock, no database. Time and identity come in with each event.
"""

from .calendar import CHINA_TZ, DEFAULT_CALENDAR, TimeLimit, WorkCalendar
from .case import Case, Location
from .categories import CATEGORIES, Category, CategoryKind, categories_in, find_category
from .events import Actor, Event, build_event
from .labels import LABELS, label
from .loop import CorruptLog, allowed_triggers, apply, apply_to_case, apply_to_patrol, fold, is_allowed
from .patrol import Patrol
from .rejection import Rejection
from .vocabulary import (
    FINAL_STATES,
    OPEN_STATES,
    PATROL_TRIGGERS,
    STEP_OF_STATE,
    Domain,
    Level,
    LimitUnit,
    PatrolState,
    RejectionCode,
    Role,
    State,
    Step,
    Trigger,
    Urgency,
)
from .workflow import CASE_TRANSITIONS, DEFAULT_RULES, TRIGGER_ROLES, Rules, default_due, sources_of

__all__ = [
    "CASE_TRANSITIONS",
    "CATEGORIES",
    "CHINA_TZ",
    "DEFAULT_CALENDAR",
    "DEFAULT_RULES",
    "FINAL_STATES",
    "LABELS",
    "OPEN_STATES",
    "PATROL_TRIGGERS",
    "STEP_OF_STATE",
    "TRIGGER_ROLES",
    "Actor",
    "Case",
    "Category",
    "CategoryKind",
    "CorruptLog",
    "Domain",
    "Event",
    "Level",
    "LimitUnit",
    "Location",
    "Patrol",
    "PatrolState",
    "Rejection",
    "RejectionCode",
    "Role",
    "Rules",
    "State",
    "Step",
    "TimeLimit",
    "Trigger",
    "Urgency",
    "WorkCalendar",
    "allowed_triggers",
    "apply",
    "apply_to_case",
    "apply_to_patrol",
    "build_event",
    "categories_in",
    "default_due",
    "find_category",
    "fold",
    "is_allowed",
    "label",
    "sources_of",
]
