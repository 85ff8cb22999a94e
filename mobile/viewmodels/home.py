"""Home: my roads, my open cases by step, the overdue ones (shown in red), and the sync state.

Exposes ``user`` (the profile), ``my_roads`` (list of ``Road``), ``counts_by_step`` (``Step ->
int`` over the five open steps, with ``step_labels`` beside it), ``open_total``, ``overdue`` (list
of ``CaseRow``, most overdue first), ``patrols_today``, and the sync state: ``online`` (``True``,
``False``, or ``None`` before the first round), ``syncing``, ``last_sync`` (datetime or ``None``),
``pending`` and ``refused`` counts, ``sync_error`` and ``sync_text`` (translated, one line).
``on_sync(outcome)`` is subscribed to the worker so the card follows every round.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from engine import CHINA_TZ, Patrol, Step, label

from ..i18n import tr
from ..profile import Road, UserProfile
from ..session import AppContext
from ..store import OutboxStatus
from ..worker import SyncOutcome
from .base import ViewModel
from .common import CaseRow, case_row, case_sync_states, my_cases

__all__ = ["OPEN_STEPS", "HomeViewModel"]

OPEN_STEPS: tuple[Step, ...] = (
    Step.PATROL,
    Step.FEEDBACK,
    Step.COORDINATION,
    Step.DISPOSAL,
    Step.SUPERVISION,
)


class HomeViewModel(ViewModel):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.my_roads: list[Road] = []
        self.counts_by_step: dict[Step, int] = dict.fromkeys(OPEN_STEPS, 0)
        self.open_total = 0
        self.overdue: list[CaseRow] = []
        self.patrols_today = 0
        self.online: bool | None = None
        self.syncing = False
        self.last_sync: datetime | None = None
        self.pending = 0
        self.refused = 0
        self.sync_error = ""
        if ctx.worker is not None:
            ctx.worker.subscribe(self.on_sync)
        self.refresh()

    @property
    def user(self) -> UserProfile | None:
        return self.ctx.profile

    @property
    def step_labels(self) -> dict[Step, str]:
        return {step: label(step, self.lang) for step in OPEN_STEPS}

    def refresh(self) -> None:
        ctx, store = self.ctx, self.ctx.store
        profile, reference, now = ctx.profile, ctx.reference, ctx.now()
        self.pending = store.unacknowledged()
        self.refused = store.count_outbox([OutboxStatus.REFUSED], undismissed=True)
        last = store.get_meta("last_sync")
        self.last_sync = datetime.fromisoformat(last) if last else None
        if profile is None:
            self.changed()
            return
        self.my_roads = [road for road in reference.roads if road.chief_id == profile.id]
        cases = my_cases(store, profile, reference, open_only=True)
        counts = dict.fromkeys(OPEN_STEPS, 0)
        for case in cases:
            if case.step in counts:
                counts[case.step] += 1
        self.counts_by_step, self.open_total = counts, len(cases)
        sync = case_sync_states(store)
        late = [case_row(c, now, reference, self.lang, sync.get(c.id)) for c in cases if c.is_overdue(now)]
        self.overdue = sorted(late, key=lambda row: row.overdue_by, reverse=True)
        start_of_day = now.astimezone(CHINA_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        patrols = store.view_records("patrol", where="owner_id = ?", params=[profile.id])
        self.patrols_today = sum(
            1 for p in patrols if isinstance(p, Patrol) and p.started_at and p.started_at >= start_of_day
        )
        self.changed()

    def on_sync(self, outcome: SyncOutcome) -> None:
        self.syncing = False
        self.online = outcome.state == "ok"
        self.sync_error = "" if outcome.state in ("ok", "offline") else outcome.message
        self.refresh()

    def sync_now(self) -> None:
        self.syncing = True
        self.ctx.sync_now()
        self.changed()

    @property
    def sync_text(self) -> str:
        lang = self.lang
        parts = []
        if self.syncing:
            parts.append(tr("sync.syncing", lang))
        elif self.online is False:
            parts.append(tr("sync.offline", lang))
        elif self.online and not self.pending:
            parts.append(tr("sync.online", lang))
        if self.last_sync is None:
            parts.append(tr("sync.never", lang))
        else:
            parts.append(tr("sync.last", lang, time=_clock(self.last_sync, self.ctx.now())))
        if self.pending:
            parts.append(tr("sync.pending", lang, n=self.pending))
        if self.refused:
            parts.append(tr("sync.refused", lang, n=self.refused))
        return " · ".join(parts)


def _clock(moment: datetime, now: datetime) -> str:
    local = moment.astimezone(CHINA_TZ)
    if now - moment < timedelta(hours=20):
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")
