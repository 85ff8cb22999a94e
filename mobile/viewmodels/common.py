"""What several screens share: "my cases", each case's sync state, and rows ready for a list.

Sync states, per outbox item and per case (keys for ``mobile.i18n.tr("outbox.state.<state>")``):

- ``saved``: on the phone, not yet picked up by the sync worker;
- ``queued``: waiting for its turn or for the network (it was tried, or a photo is uploading);
- ``sent``: on its way, no answer yet;
- ``acknowledged``: the server has it; it shows as done once the next pull brings it back;
- ``refused``: the server (or the phone, for a lost photo) refused it; the reason is shown;
- ``synced``: a case with nothing left in the outbox.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine import OPEN_STATES, Case, Role, State, find_category, label

from ..profile import Reference, UserProfile
from ..store import LocalStore, OutboxItem

__all__ = [
    "CaseRow",
    "case_row",
    "case_sync_states",
    "category_title",
    "distance_m",
    "item_state",
    "my_cases",
]

_EARTH_RADIUS_M = 6_371_000.0
_PENDING_ORDER = ("saved", "queued", "sent", "acknowledged")


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two ``(lat, lon)`` points (haversine)."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _state(status: str, attempts: int) -> str:
    if status in ("refused", "acknowledged", "sent"):
        return status
    return "queued" if attempts or status == "retry" else "saved"


def item_state(item: OutboxItem) -> str:
    """The state an outbox item is shown in (see the module docstring)."""
    return _state(item.status, item.attempts)


def case_sync_states(store: LocalStore) -> dict[str, tuple[str, str, str]]:
    """``case_id -> (state, reason_zh, reason_en)`` for every case with something in the outbox.

    A refusal the user has not dismissed wins; otherwise the least advanced pending item.
    """
    rows = store.conn.execute(
        "SELECT case_id, status, attempts, message_zh, message_en FROM outbox "
        "WHERE (status = 'refused' AND dismissed = 0) OR (status != 'refused' AND seen = 0) ORDER BY seq"
    ).fetchall()
    out: dict[str, tuple[str, str, str]] = {}
    for case_id, status, attempts, zh, en in rows:
        state = _state(status, attempts)
        current = out.get(case_id)
        if (
            current is None
            or (current[0] != "refused"
            and (state == "refused" or _PENDING_ORDER.index(state) < _PENDING_ORDER.index(current[0])))
        ):
            out[case_id] = (state, zh or "", en or "")
    return out


def category_title(code: str, reference: Reference, lang: str) -> str:
    category = find_category(code, reference.categories) if code else None
    if category is None:
        return code
    return category.name_en if lang == "en" else category.name_zh


@dataclass(frozen=True)
class CaseRow:
    """One case in a list: what it is, where it is in the loop, whether late, whether synced."""

    id: str
    title: str
    category_code: str
    state: State
    state_label: str
    step_label: str
    road_name: str
    description: str
    reported_at: datetime | None
    due_at: datetime | None
    overdue: bool
    overdue_by: timedelta
    sync_state: str
    refusal: str


def case_row(
    case: Case,
    now: datetime,
    reference: Reference,
    lang: str,
    sync: tuple[str, str, str] | None = None,
) -> CaseRow:
    road = reference.road(case.road_id)
    state, zh, en = sync or ("synced", "", "")
    return CaseRow(
        id=case.id,
        title=category_title(case.category_code, reference, lang),
        category_code=case.category_code,
        state=case.state,
        state_label=label(case.state, lang),
        step_label=label(case.step, lang),
        road_name=road.name if road else "",
        description=case.description,
        reported_at=case.reported_at,
        due_at=case.due_at,
        overdue=case.is_overdue(now),
        overdue_by=case.overdue_by(now),
        sync_state=state,
        refusal=(en if lang == "en" else zh) if state == "refused" else "",
    )


def my_cases(store: LocalStore, profile: UserProfile, reference: Reference, *, open_only: bool) -> list[Case]:
    """The cases that are this user's business, by role.

    Road chief: reported by them or on their roads. Coordinator: their community's (all of the
    street for the command centre). Handler: their department's. Supervisor: awaiting supervision,
    and the ones they have decided. Admin: the whole street.
    """
    states = [s.value for s in OPEN_STATES] if open_only else None
    role = profile.role
    if role is Role.ROAD_CHIEF:
        roads = [road.id for road in reference.roads if road.chief_id == profile.id]
        marks = ",".join("?" * len(roads))
        where = "owner_id = ?" + (f" OR road_id IN ({marks})" if roads else "")
        records = store.view_records("case", states=states, where=where, params=[profile.id, *roads])
    elif role is Role.HANDLER:
        records = store.view_records("case", states=states)
        records = [c for c in records if isinstance(c, Case) and c.department_id == profile.department_id]
    elif role is Role.COORDINATOR and profile.community_id is not None:
        records = store.view_records("case", states=states)
        records = [
            c for c in records if isinstance(c, Case) and c.community_id in (None, profile.community_id)
        ]
    elif role is Role.SUPERVISOR and open_only:
        records = store.view_records("case", states=[State.SUPERVISION.value])
    else:
        records = store.view_records("case", states=states)
    return [c for c in records if isinstance(c, Case)]
