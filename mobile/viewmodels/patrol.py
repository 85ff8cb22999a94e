"""Patrol (路长上路): start on a road, GPS points on an interval, "report a problem", end.

Exposes ``roads`` (the user's roads, else the street's), ``road_id`` (picked), ``active`` (the
walking ``Patrol`` or ``None``), ``elapsed`` (seconds), ``points_recorded`` (saved plus buffered),
``distance_m``, ``position`` (last fix or ``None``), ``found`` (case ids reported on this patrol),
``recent`` (ended patrols, newest first), ``error`` (translated refusal text), ``saved`` (the last
ended patrol, for the "saved" notice; a patrol that found nothing is saved too).

The screen's Clock calls ``tick(now)`` every few seconds: it reads a fix from the platform
services and buffers it. Points go to the outbox in batches (every ``flush_every`` points or
``flush_seconds``), so a two-hour walk is a few dozen mutations rather than thousands.
"""

from __future__ import annotations

from datetime import UTC, datetime

from engine import Case, Patrol, PatrolState, Rejection

from ..outbox import end_patrol, record_points, start_patrol
from ..profile import Road
from ..session import AppContext
from .base import ViewModel

__all__ = ["PatrolViewModel"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PatrolViewModel(ViewModel):
    def __init__(self, ctx: AppContext, *, flush_every: int = 12, flush_seconds: float = 60.0) -> None:
        super().__init__(ctx)
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self.road_id: str | None = None
        self.active: Patrol | None = None
        self.position: tuple[float, float] | None = None
        self.buffer: list[tuple[float, float]] = []
        self.elapsed = 0.0
        self.found: list[str] = []
        self.recent: list[Patrol] = []
        self.error = ""
        self.saved: Patrol | None = None
        self._last_flush: datetime | None = None
        self.refresh()

    @property
    def roads(self) -> list[Road]:
        profile, reference = self.ctx.profile, self.ctx.reference
        mine = [r for r in reference.roads if profile is not None and r.chief_id == profile.id]
        return mine or list(reference.roads)

    @property
    def points_recorded(self) -> int:
        return (self.active.point_count if self.active else 0) + len(self.buffer)

    @property
    def distance_m(self) -> float:
        return self.active.distance_m if self.active else 0.0

    def refresh(self) -> None:
        profile = self.ctx.profile
        if profile is None:
            self.changed()
            return
        patrols = [
            p
            for p in self.ctx.store.view_records("patrol", where="owner_id = ?", params=[profile.id])
            if isinstance(p, Patrol)
        ]
        walking = [p for p in patrols if p.state is PatrolState.WALKING]
        walking.sort(key=lambda p: p.started_at or _EPOCH, reverse=True)
        self.active = walking[0] if walking else None
        ended = [p for p in patrols if p.state is PatrolState.ENDED]
        self.recent = sorted(ended, key=lambda p: p.ended_at or _EPOCH, reverse=True)[:20]
        if self.active is not None:
            self.road_id = self.active.road_id
            self.found = [
                c.id
                for c in self.ctx.store.view_records("case", where="owner_id = ?", params=[profile.id])
                if isinstance(c, Case) and c.patrol_id == self.active.id
            ]
        self.changed()

    def start(self, road_id: str | None = None) -> bool:
        profile = self.ctx.profile
        road = road_id or self.road_id or (self.roads[0].id if self.roads else None)
        if profile is None or road is None:
            self.error = "no road"
            self.changed()
            return False
        now = self.ctx.now()
        result = start_patrol(self.ctx.store, profile, road, now)
        if isinstance(result, Rejection):
            return self._refused(result)
        self.active, self.road_id, self.found, self.buffer, self.error = result, road, [], [], ""
        self.elapsed, self._last_flush, self.saved = 0.0, now, None
        self.add_point()
        self.ctx.sync_now()
        self.changed()
        return True

    def add_point(self) -> None:
        """Read a fix from the services and buffer it (a fix equal to the last one adds nothing)."""
        fix = self.ctx.services.location()
        if fix is None:
            return
        self.position = fix
        if not self.buffer or self.buffer[-1] != fix:
            self.buffer.append(fix)

    def tick(self, now: datetime) -> None:
        """Called by the screen's Clock: elapsed time, a GPS point, and a flush when one is due."""
        if self.active is None:
            return
        if self.active.started_at is not None:
            self.elapsed = (now - self.active.started_at).total_seconds()
        self.add_point()
        due = self._last_flush is None or (now - self._last_flush).total_seconds() >= self.flush_seconds
        if len(self.buffer) >= self.flush_every or (self.buffer and due):
            self.flush(now)
        self.changed()

    def flush(self, now: datetime | None = None) -> None:
        """Save buffered points as one action (at most what one mutation may carry)."""
        profile = self.ctx.profile
        if self.active is None or profile is None or not self.buffer:
            return
        now = now or self.ctx.now()
        points, self.buffer = self.buffer[:500], self.buffer[500:]
        result = record_points(self.ctx.store, profile, self.active.id, points, now)
        if isinstance(result, Rejection):
            self._refused(result)
            return
        self.active, self._last_flush = result, now

    def report_problem(self) -> str | None:
        """The patrol id a report filed now belongs to (the report screen takes it); flushes first."""
        if self.active is None:
            return None
        self.flush()
        return self.active.id

    def note_found(self, case_id: str) -> None:
        if case_id not in self.found:
            self.found.append(case_id)
            self.changed()

    def end(self, findings: list[str] | None = None) -> Patrol | Rejection | None:
        """End the walk. Nothing found is a result too: the patrol is saved as "nothing found"."""
        profile = self.ctx.profile
        if self.active is None or profile is None:
            return None
        now = self.ctx.now()
        self.add_point()
        self.flush(now)
        result = end_patrol(
            self.ctx.store, profile, self.active.id, findings if findings is not None else self.found, now
        )
        if isinstance(result, Rejection):
            self._refused(result)
            return result
        self.saved, self.active, self.buffer, self.error = result, None, [], ""
        self.ctx.sync_now()
        self.refresh()
        return result

    def _refused(self, rejection: Rejection) -> bool:
        self.error = rejection.message_en if self.lang == "en" else rejection.message_zh
        self.changed()
        return False
