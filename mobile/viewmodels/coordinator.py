"""The coordinator's queue (协调): new reports by community and age; dispatch, escalate, merge, cancel.

Exposes, beyond ``RoleQueueViewModel``: ``groups`` (``[(community name, [QueueRow])]``, each
group oldest first), ``departments`` (``[(id, name)]``), ``department_id`` (picked),
``suggested_due`` (the deadline the category and urgency give, from ``engine.default_due``),
``due_at`` (the one that will be sent; ``None`` means the suggestion) with ``due_error`` (the
engine's refusal when the picked time is not allowed: later than the suggestion or before now),
``nearby`` (``NearbyCase``: open cases on the same road or within ``NEARBY_M`` metres, numbered,
nearest first: the merge targets) and ``sketch`` (``Sketch``: the roads' lines and the cases as
dots, for the road sketch; no map tiles).

Actions: ``dispatch()``, ``escalate(reason)`` (街道吹哨), ``merge(into)``, ``cancel(reason)``;
each returns the engine's answer (the new ``Case`` or a ``Rejection``, whose message is ``error``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine import (
    OPEN_STATES,
    Case,
    Event,
    Rejection,
    Role,
    State,
    Trigger,
    apply,
    default_due,
)
from engine.arguments import Refused

from ..profile import Reference
from ..session import AppContext
from .common import distance_m
from .overview import QueueRow, RoleQueueViewModel, queue_row

__all__ = ["NEARBY_M", "CoordinatorViewModel", "NearbyCase", "Sketch", "SketchDot"]

NEARBY_M = 200.0
_QUEUED = frozenset({State.FEEDBACK, State.COORDINATION})
_MERGEABLE = OPEN_STATES - {State.PATROL}


@dataclass(frozen=True)
class NearbyCase:
    """An open case that may be the same problem: same road, or within ``NEARBY_M`` metres."""

    number: int
    row: QueueRow
    metres: float | None  # None: same road, but one of the two has no position
    same_road: bool


@dataclass(frozen=True)
class SketchDot:
    lat: float
    lon: float
    label: str  # "" for the case itself, "1", "2"… for nearby ones
    highlight: bool


@dataclass(frozen=True)
class Sketch:
    """What the road sketch draws: road lines (lat, lon) and dots, all in one small box."""

    lines: list[list[tuple[float, float]]] = field(default_factory=list)
    dots: list[SketchDot] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


class CoordinatorViewModel(RoleQueueViewModel):
    STATES = _QUEUED
    ACTIONS = frozenset({Trigger.DISPATCH, Trigger.ESCALATE, Trigger.MERGE, Trigger.CANCEL})
    ROLE = Role.COORDINATOR

    def __init__(self, ctx: AppContext) -> None:
        self.department_id: str | None = None
        self.due_at: datetime | None = None
        self.due_error = ""
        self.nearby: list[NearbyCase] = []
        self.sketch = Sketch()
        super().__init__(ctx)

    # --- the queue ----------------------------------------------------------------------------

    def _sort(self, rows: list[QueueRow]) -> list[QueueRow]:
        # by community, then oldest first: the one waiting longest is the one to do next
        return sorted(rows, key=lambda r: (r.community_name, -r.age.total_seconds()))

    @property
    def groups(self) -> list[tuple[str, list[QueueRow]]]:
        out: dict[str, list[QueueRow]] = {}
        for row in self.rows:
            out.setdefault(row.community_name, []).append(row)
        return list(out.items())

    @property
    def departments(self) -> list[tuple[str, str]]:
        return [(str(d["id"]), str(d.get("name") or d["id"])) for d in self.ctx.reference.departments]

    # --- the selected case --------------------------------------------------------------------

    def _on_select(self) -> None:
        self.due_at, self.due_error = None, ""
        if self.department_id is None and self.departments:
            self.department_id = self.departments[0][0]

    def _load_selected(self, sync: dict[str, tuple[str, str, str]] | None = None) -> None:
        super()._load_selected(sync)
        self.nearby = self._nearby() if self.case is not None else []
        self.sketch = self._sketch()

    @property
    def suggested_due(self) -> datetime | None:
        if self.case is None or not self.case.category_code:
            return None
        try:
            return default_due(self.case, self.ctx.now(), self.ctx.reference.rules)
        except Refused:
            return None

    @property
    def effective_due(self) -> datetime | None:
        return self.due_at or self.suggested_due

    def pick_department(self, department_id: str) -> None:
        self.department_id = department_id
        self.changed()

    def set_due(self, due_at: datetime | None) -> None:
        """Pick a deadline (``None``: the suggestion). The engine checks it at once, offline."""
        self.due_at = due_at
        self.due_error = ""
        if due_at is not None:
            refusal = self._dry_dispatch()
            if refusal is not None and refusal.code.value == "invalid_deadline":
                self.due_error = refusal.message_en if self.lang == "en" else refusal.message_zh
        self.changed()

    def shift_due(self, delta: timedelta) -> None:
        """Move the deadline by ``delta`` from what is shown (the − / + buttons)."""
        base = self.effective_due
        if base is not None:
            self.set_due(base + delta)

    def _dispatch_args(self) -> dict[str, object]:
        args: dict[str, object] = {"department_id": self.department_id}
        if self.due_at is not None:
            args["due_at"] = self.due_at.isoformat()
        return args

    def _dry_dispatch(self) -> Rejection | None:
        """Ask the engine about the dispatch as it stands, without saving anything."""
        profile = self.ctx.profile
        if profile is None or self.case is None:
            return None
        event = Event(
            "dry-run",
            self.case.id,
            Trigger.DISPATCH.value,
            profile.actor,
            profile.role,
            self.ctx.now(),
            self._dispatch_args(),
        )
        result = apply(self.case, event, self.ctx.reference.rules)
        return result if isinstance(result, Rejection) else None

    # --- merging: nearby open cases and the sketch --------------------------------------------

    def _nearby(self) -> list[NearbyCase]:
        case = self.case
        assert case is not None
        store, reference, now, lang = self.ctx.store, self.ctx.reference, self.ctx.now(), self.lang
        here = (case.location.lat, case.location.lon) if case.location else None
        box = NEARBY_M / 111_000 * 2  # a generous SQL prefilter in degrees; haversine decides
        where, params = "road_id = ?", [case.road_id or ""]
        if here is not None:
            where += " OR (lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?)"
            params += [here[0] - box, here[0] + box, here[1] - box * 2, here[1] + box * 2]
        states = [s.value for s in _MERGEABLE]
        candidates = store.view_records("case", states=states, where=where, params=params)
        found: list[tuple[float, QueueRow, float | None, bool]] = []
        for other in candidates:
            if not isinstance(other, Case) or other.id == case.id:
                continue
            metres = None
            if here is not None and other.location is not None:
                metres = distance_m(here, (other.location.lat, other.location.lon))
            same_road = bool(case.road_id) and other.road_id == case.road_id
            if same_road or (metres is not None and metres <= NEARBY_M):
                row = queue_row(other, now, reference, lang)
                found.append((metres if metres is not None else NEARBY_M, row, metres, same_road))
        found.sort(key=lambda item: item[0])
        return [NearbyCase(n, row, metres, same) for n, (_, row, metres, same) in enumerate(found[:9], 1)]

    def _sketch(self) -> Sketch:
        case = self.case
        if case is None:
            return Sketch()
        reference = self.ctx.reference
        road_ids = dict.fromkeys([case.road_id, *(n.row.case.road_id for n in self.nearby)])
        roads = [r for r in (reference.road(rid) for rid in road_ids if rid) if r is not None and r.points]
        dots = []
        for near in self.nearby:
            point = _where(near.row.case, reference)
            if point is not None:
                dots.append(SketchDot(point[0], point[1], str(near.number), False))
        point = _where(case, reference)
        if point is not None:
            dots.append(SketchDot(point[0], point[1], "", True))  # last: drawn on top
        return Sketch([list(r.points) for r in roads], dots, [r.name for r in roads])

    # --- actions ------------------------------------------------------------------------------

    def dispatch(self) -> Case | Rejection | None:
        """Send the case to the picked department with the picked (or suggested) deadline."""
        result = self.act(Trigger.DISPATCH, self._dispatch_args())
        if isinstance(result, Case):
            self.due_at = None
        return result

    def escalate(self, reason: str) -> Case | Rejection | None:
        """街道吹哨: hand the case to the street's command centre, saying why."""
        return self.act(Trigger.ESCALATE, {"reason": reason})

    def merge(self, into: str) -> Case | Rejection | None:
        """A duplicate: close it into another open case."""
        return self.act(Trigger.MERGE, {"into": into})

    def cancel(self, reason: str) -> Case | Rejection | None:
        """An invalid report: cancel it, saying why."""
        return self.act(Trigger.CANCEL, {"reason": reason})


def _where(case: Case, reference: Reference) -> tuple[float, float] | None:
    """Where a case is drawn: its own position, or the middle of its road when it has none."""
    if case.location is not None:
        return (case.location.lat, case.location.lon)
    road = reference.road(case.road_id)
    return road.middle if road is not None else None
