"""What the three desk roles share, and the overview a supervisor or coordinator glances at.

The shared part is the *queue*: the cases waiting for this user's step, as ``QueueRow`` (a
``CaseRow`` plus what a queue needs: community, department, age, time left, flags), one selected
case with its step times and refusals, and ``act()`` — every action goes through
``mobile.outbox.record_action``, so the engine checks it offline and view and outbox are written
in one transaction. ``RoleQueueViewModel`` is the base of the coordinator's, the handler's and the
supervisor's view-models; they differ in which states they queue, how they sort, and which
arguments their actions carry.

``OverviewViewModel`` exposes ``counts_by_step`` (``Step -> int``, the five open steps),
``closed``, ``overdue``, ``reworked`` (open cases sent back at least once), ``total_open`` and
``departments`` (``DepartmentLine``: name, open, overdue, reworked; the busiest first), over the
cases this user may see: a community's for a station coordinator, the street's otherwise.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from engine import (
    OPEN_STATES,
    STEP_OF_STATE,
    Case,
    Event,
    Rejection,
    Role,
    Rules,
    State,
    Step,
    Trigger,
    Urgency,
    allowed_triggers,
    apply,
    label,
)

from ..outbox import record_action
from ..profile import Reference
from ..session import AppContext
from ..store import LocalStore
from ..sync import SyncClient, SyncError
from ..view import event_of
from .base import ViewModel
from .common import CaseRow, case_row, case_sync_states, my_cases

__all__ = [
    "OPEN_STEPS",
    "DepartmentLine",
    "OverviewViewModel",
    "PhotoFetcher",
    "PhotoSide",
    "QueueRow",
    "Refusal",
    "RoleQueueViewModel",
    "StepTime",
    "community_name",
    "photo_sides",
    "queue_row",
    "step_times",
]

OPEN_STEPS: tuple[Step, ...] = (Step.FEEDBACK, Step.COORDINATION, Step.DISPOSAL, Step.SUPERVISION)
_PHOTO_PATH = "/api/v1/photos/{sha256}"


def community_name(reference: Reference, community_id: str | None) -> str:
    found = next((c for c in reference.communities if c.get("id") == community_id), None)
    return str(found.get("name") or community_id) if found else (community_id or "")


@dataclass(frozen=True)
class QueueRow:
    """One case in a role's queue: the shared ``CaseRow`` and what a desk needs to triage it."""

    row: CaseRow
    case: Case
    community_name: str
    department_name: str
    age: timedelta  # since it was reported
    waiting: timedelta  # since it entered its current state
    remaining: timedelta | None  # until the deadline; negative when overdue
    urgent: bool
    rework_count: int
    escalated: bool
    completed_late: bool  # the fix was reported after the deadline

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def overdue(self) -> bool:
        return self.row.overdue


def queue_row(
    case: Case, now: datetime, reference: Reference, lang: str, sync: tuple[str, str, str] | None = None
) -> QueueRow:
    return QueueRow(
        row=case_row(case, now, reference, lang, sync),
        case=case,
        community_name=community_name(reference, case.community_id),
        department_name=reference.department_name(case.department_id) if case.department_id else "",
        age=now - case.reported_at if case.reported_at else timedelta(0),
        waiting=now - case.state_since if case.state_since else timedelta(0),
        remaining=case.due_at - now if case.due_at is not None else None,
        urgent=case.urgency is Urgency.URGENT,
        rework_count=case.rework_count,
        escalated=case.escalated,
        completed_late=bool(case.due_at and case.completed_at and case.completed_at > case.due_at),
    )


@dataclass(frozen=True)
class StepTime:
    """How long a case spent in one step; ``current`` for the step it is in now (still counting)."""

    step: Step
    label: str
    spent: timedelta
    current: bool


def step_times(events: Iterable[Event], rules: Rules, now: datetime, lang: str = "zh") -> list[StepTime]:
    """Time spent per step, by replaying the case's events (server ones, then pending ones).

    A step visited twice (rework sends a case back to disposal) adds up. Events the engine refuses
    on replay (a pending action overtaken by another phone) are skipped: they never happened.
    """
    record: Case | None = None
    spent: dict[Step, timedelta] = {}
    step: Step | None = None
    since: datetime | None = None
    for event in sorted(events, key=lambda e: e.occurred_at):
        result = apply(record, event, rules)
        if not isinstance(result, Case):
            continue
        record = result
        new_step = STEP_OF_STATE[record.state]
        if new_step is not step:
            if step is not None and since is not None:
                spent[step] = spent.get(step, timedelta(0)) + max(timedelta(0), event.occurred_at - since)
            step, since = new_step, event.occurred_at
    if step is not None and since is not None and step is not Step.DONE:
        spent[step] = spent.get(step, timedelta(0)) + max(timedelta(0), now - since)
    return [
        StepTime(s, label(s, lang), spent[s], s is step)
        for s in (Step.FEEDBACK, Step.COORDINATION, Step.DISPOSAL, Step.SUPERVISION)
        if s in spent
    ]


@dataclass(frozen=True)
class PhotoSide:
    """One side of the comparison: "before" (the report) or "after" (the latest fix)."""

    kind: str
    photos: tuple[str, ...]
    when: datetime | None
    where: tuple[float, float] | None
    who: str
    note: str = ""


def photo_sides(case: Case, events: Iterable[Event]) -> tuple[PhotoSide, PhotoSide]:
    """The report's photos and the latest completion's, with when and where each was taken."""
    report: Event | None = None
    fix: Event | None = None
    for event in sorted(events, key=lambda e: e.occurred_at):
        if event.name == Trigger.REPORT.value:
            report = event
        elif event.name in (Trigger.COMPLETE.value, Trigger.FIX_ON_SPOT.value):
            fix = event
    before = PhotoSide(
        "before",
        case.before_photos,
        report.occurred_at if report else case.reported_at,
        _location(report) or ((case.location.lat, case.location.lon) if case.location else None),
        report.actor.user_id if report else case.reporter_id,
    )
    after_photos = tuple(fix.args.get("photos") or ()) if fix else case.after_photos
    after = PhotoSide(
        "after",
        after_photos,
        fix.occurred_at if fix else case.completed_at,
        _location(fix),
        fix.actor.user_id if fix else (case.disposer_id or ""),
        str(fix.args.get("note") or "") if fix else (case.result_note or ""),
    )
    return before, after


def _location(event: Event | None) -> tuple[float, float] | None:
    loc = event.args.get("location") if event is not None else None
    if isinstance(loc, dict) and "lat" in loc and "lon" in loc:
        return (float(loc["lat"]), float(loc["lon"]))
    return None


class PhotoFetcher:
    """Downloads the photos this phone lacks, off the UI thread; ``on_fetched()`` runs on the UI thread."""

    def __init__(self, ctx: AppContext, on_fetched: Callable[[], None]) -> None:
        self.ctx = ctx
        self.on_fetched = on_fetched
        self.failed: set[str] = set()
        self._inflight: set[str] = set()
        self._threads: list[threading.Thread] = []

    def path(self, sha: str) -> str | None:
        row = self.ctx.store.photo(sha)
        if row is not None and Path(row.path).exists():
            return row.path
        return None

    def ensure(self, shas: Iterable[str]) -> list[str]:
        """Start fetching the ones missing here; returns those still missing."""
        missing = [s for s in dict.fromkeys(shas) if self.path(s) is None]
        wanted = [s for s in missing if s not in self._inflight and s not in self.failed]
        if wanted and self.ctx.server_url and self.ctx.credentials.load() is not None:
            self._inflight.update(wanted)
            # read on this thread: the store belongs to it; the fetch thread only talks HTTP
            client = SyncClient(self.ctx.server_url, self.ctx.credentials.token, session=self.ctx.http)
            thread = threading.Thread(
                target=self._fetch, args=(client, wanted), name="roadchief-photos", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        return missing

    def wait(self, timeout: float = 30.0) -> None:
        """Tests: wait for the downloads (their results still arrive through ``post_to_ui``)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def _fetch(self, client: SyncClient, shas: list[str]) -> None:
        for sha in shas:
            data: bytes | None = None
            try:
                response = client.request("GET", _PHOTO_PATH.format(sha256=sha))
                if response.status_code == 200:
                    data = response.content
            except SyncError:
                data = None
            self.ctx.post_to_ui(lambda sha=sha, data=data: self._keep(sha, data))

    def _keep(self, sha: str, data: bytes | None) -> None:
        """UI thread: file the bytes under the name the case uses, then redraw."""
        self._inflight.discard(sha)
        if data is None:
            self.failed.add(sha)
        else:
            store = self.ctx.store
            store.photo_dir.mkdir(parents=True, exist_ok=True)
            target = store.photo_dir / f"{sha}.jpg"
            temp = target.with_name(target.name + ".part")
            temp.write_bytes(data)
            os.replace(temp, target)
            with store.transaction():
                store.add_photo(sha, target, len(data), self.ctx.now())
                # it came from the server, so it never needs uploading from here
                store.conn.execute("UPDATE photos SET uploaded = 1 WHERE sha256 = ?", (sha,))
        self.on_fetched()


@dataclass(frozen=True)
class Refusal:
    """An action of this user the server (or the phone) refused, shown next to the case."""

    mutation_id: str
    what: str
    reason: str


class RoleQueueViewModel(ViewModel):
    """A desk's queue and the one case selected from it.

    Exposes ``rows`` (``QueueRow``), ``count``, ``selected`` (case id or ``None``), ``case`` (the
    selected ``Case`` as the view shows it), ``current`` (its ``QueueRow``), ``allowed``
    (``engine.allowed_triggers`` for this user on it), ``times`` (``StepTime`` list),
    ``refusals`` (``Refusal`` list), ``before`` (``PhotoSide``: the report's photos, when, where;
    ``photo_path(sha)`` finds them, fetching others' photos from the server), ``error`` (the
    engine's refusal, translated) and ``notice`` (what the last action did). Subclasses set
    ``STATES`` and ``ACTIONS`` and may override ``_sort``.
    """

    STATES: frozenset[State] = frozenset()
    ACTIONS: frozenset[Trigger] = frozenset()
    ROLE: Role = Role.COORDINATOR

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.rows: list[QueueRow] = []
        self.selected: str | None = None
        self.case: Case | None = None
        self.current: QueueRow | None = None
        self.allowed: list[Trigger] = []
        self.times: list[StepTime] = []
        self.refusals: list[Refusal] = []
        self.error = ""
        self.notice = ""
        self.before: PhotoSide | None = None
        self.fetcher = PhotoFetcher(ctx, self.changed)
        self.refresh()

    @property
    def count(self) -> int:
        return len(self.rows)

    # --- loading ------------------------------------------------------------------------------

    def _queued(self, case: Case) -> bool:
        """Whether a case belongs in this queue: the right step and something this user may do."""
        profile = self.ctx.profile
        if profile is None or case.state not in self.STATES:
            return False
        # a comment or a photo is open to anyone; the queue is for this desk's own decisions
        return any(t in self.ACTIONS for t in allowed_triggers(case, profile.actor, profile.role))

    def _sort(self, rows: list[QueueRow]) -> list[QueueRow]:
        return sorted(rows, key=lambda r: -r.age.total_seconds())

    def refresh(self) -> None:
        profile = self.ctx.profile
        if profile is None:
            self.rows, self.case, self.current = [], None, None
            self.changed()
            return
        store, reference, now, lang = self.ctx.store, self.ctx.reference, self.ctx.now(), self.lang
        sync = case_sync_states(store)
        refused = {case_id for case_id, (state, _, _) in sync.items() if state == "refused"}
        cases = {c.id: c for c in my_cases(store, profile, reference, open_only=True) if self._queued(c)}
        for case_id in refused - set(cases):
            # a case this user's action was refused on stays in view until the refusal is read,
            # even when another phone's action moved it out of this queue (or closed it)
            record = store.view_record(case_id)
            if isinstance(record, Case):
                cases[case_id] = record
        rows = [queue_row(case, now, reference, lang, sync.get(case.id)) for case in cases.values()]
        ordered = self._sort(rows)
        self.rows = [r for r in ordered if r.id in refused] + [r for r in ordered if r.id not in refused]
        self._load_selected(sync)
        self.changed()

    def _load_selected(self, sync: dict[str, tuple[str, str, str]] | None = None) -> None:
        store, profile = self.ctx.store, self.ctx.profile
        record = store.view_record(self.selected) if self.selected else None
        self.case = record if isinstance(record, Case) else None
        if self.case is None or profile is None:
            self.current, self.allowed, self.times, self.refusals = None, [], [], []
            self.before = None
            return
        now, lang = self.ctx.now(), self.lang
        sync = case_sync_states(store) if sync is None else sync
        self.current = queue_row(self.case, now, self.ctx.reference, lang, sync.get(self.case.id))
        self.allowed = allowed_triggers(self.case, profile.actor, profile.role)
        self.times = step_times(self.case_events(), self.ctx.reference.rules, now, lang)
        self.refusals = [
            Refusal(
                item.id,
                _trigger_label(item.name, lang),
                (item.message_en if lang == "en" else item.message_zh) or item.code or "",
            )
            for item in store.outbox(statuses=["refused"], case_id=self.case.id)
            if not item.dismissed
        ]
        self.before = photo_sides(self.case, self.case_events())[0]
        self.fetcher.ensure(self.before.photos)

    def photo_path(self, sha: str) -> str | None:
        """A local file for a photo, or ``None`` while it is being fetched (or when it failed)."""
        return self.fetcher.path(sha)

    def case_events(self) -> list[Event]:
        """The selected case's events: the server's, then this phone's still pending ones."""
        if self.selected is None:
            return []
        store, profile = self.ctx.store, self.ctx.profile
        events = store.events_of(self.selected)
        if profile is not None:
            events += [event_of(item, profile) for item in store.replayable(self.selected)]
        return events

    # --- selecting and acting -----------------------------------------------------------------

    def select(self, case_id: str | None) -> None:
        """Open one case of the queue (``None`` closes it); clears the last message."""
        self.selected, self.error, self.notice = case_id, "", ""
        self._on_select()
        self._load_selected()
        self.changed()

    def _on_select(self) -> None:
        """Subclasses reset their per-case drafts here."""

    def may(self, trigger: Trigger) -> bool:
        return trigger in self.allowed

    def act(self, trigger: Trigger, args: dict[str, object]) -> Case | Rejection | None:
        """Check with the engine and save (view and outbox at once); sync takes it from there."""
        profile = self.ctx.profile
        if profile is None or self.selected is None:
            return None
        result = record_action(self.ctx.store, profile, trigger, self.selected, args, self.ctx.now())
        if isinstance(result, Rejection):
            self.error = result.message_en if self.lang == "en" else result.message_zh
            self.notice = ""
            self.changed()
            return result
        if not isinstance(result, Case):
            return None
        self.error = ""
        self.notice = label(trigger, self.lang)
        self.ctx.sync_now()
        self.refresh()
        return result

    def dismiss(self, mutation_id: str) -> None:
        """The user has read a refusal: it leaves the case (the outbox keeps its history)."""
        self.ctx.store.dismiss(mutation_id)
        self.refresh()


def _trigger_label(name: str, lang: str) -> str:
    try:
        return label(Trigger(name), lang)
    except ValueError:
        return name


# --- the overview -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentLine:
    """One department's share of the open work."""

    id: str
    name: str
    open: int
    overdue: int
    reworked: int


class OverviewViewModel(ViewModel):
    """Counts by step, overdue, rework and by department for this user's cases (see module doc)."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.counts_by_step: dict[Step, int] = dict.fromkeys(OPEN_STEPS, 0)
        self.total_open = 0
        self.closed = 0
        self.overdue = 0
        self.reworked = 0
        self.departments: list[DepartmentLine] = []
        self.refresh()

    @property
    def step_labels(self) -> dict[Step, str]:
        return {step: label(step, self.lang) for step in OPEN_STEPS}

    def _cases(self, store: LocalStore) -> list[Case]:
        profile = self.ctx.profile
        if profile is None:
            return []
        if profile.role is Role.COORDINATOR and profile.community_id is not None:
            return my_cases(store, profile, self.ctx.reference, open_only=False)
        return [c for c in store.view_records("case") if isinstance(c, Case)]

    def refresh(self) -> None:
        now, reference = self.ctx.now(), self.ctx.reference
        counts = dict.fromkeys(OPEN_STEPS, 0)
        by_department: dict[str, list[int]] = {}
        total = closed = overdue = reworked = 0
        for case in self._cases(self.ctx.store):
            if case.state is State.CLOSED:
                closed += 1
            if case.state not in OPEN_STATES or case.state is State.PATROL:
                continue
            total += 1
            counts[case.step] = counts.get(case.step, 0) + 1
            late = case.is_overdue(now)
            overdue += late
            reworked += case.rework_count > 0
            if case.department_id is not None:
                line = by_department.setdefault(case.department_id, [0, 0, 0])
                line[0] += 1
                line[1] += late
                line[2] += case.rework_count > 0
        self.counts_by_step, self.total_open, self.closed = counts, total, closed
        self.overdue, self.reworked = overdue, reworked
        lines = [
            DepartmentLine(dep_id, reference.department_name(dep_id), *numbers)
            for dep_id, numbers in by_department.items()
        ]
        self.departments = sorted(lines, key=lambda d: (-d.overdue, -d.open, d.name))
        self.changed()
