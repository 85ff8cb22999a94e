"""One case: its fields, its timeline, the refusals next to it, and the actions this user may take.

Exposes ``case`` (the engine ``Case`` as the view shows it, or ``None``), ``row`` (its
``CaseRow``), ``timeline`` (``TimelineEntry`` list, oldest first: who, role label, what (trigger
label), when, where, photos, note/reason, ``sync_state`` — ``"synced"`` for server events, else
the outbox state — and the refusal reason for refused items), ``times`` (``StepTime`` list: time
spent per step, the current one still counting), ``refusals`` (undismissed refused
actions of this case: ``TimelineEntry``), ``department_name``, ``error`` (translated text of the
last local refusal). ``actions()`` lists what ``engine.allowed_triggers`` offers this user on this
case (``[(Trigger, label)]``); ``act(trigger, args)`` checks and saves one; ``dismiss(id)`` hides a
refusal the user has read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine import Case, Event, Rejection, Role, Trigger, allowed_triggers, label

from ..i18n import tr
from ..outbox import record_action
from ..session import AppContext
from ..store import OutboxItem
from ..view import event_of
from .base import ViewModel
from .common import CaseRow, case_row, case_sync_states, item_state
from .overview import StepTime, step_times

__all__ = ["CaseDetailViewModel", "TimelineEntry"]

_NOTE_KEYS = ("note", "reason", "text", "description")


@dataclass(frozen=True)
class TimelineEntry:
    id: str
    who: str
    role_label: str
    what: str
    trigger: str
    when: datetime
    where: tuple[float, float] | None
    photos: tuple[str, ...]
    note: str
    sync_state: str
    reason: str


class CaseDetailViewModel(ViewModel):
    def __init__(self, ctx: AppContext, case_id: str) -> None:
        super().__init__(ctx)
        self.case_id = case_id
        self.case: Case | None = None
        self.row: CaseRow | None = None
        self.timeline: list[TimelineEntry] = []
        self.refusals: list[TimelineEntry] = []
        self.times: list[StepTime] = []
        self.error = ""
        self.refresh()

    @property
    def department_name(self) -> str:
        return self.ctx.reference.department_name(self.case.department_id if self.case else None)

    def refresh(self) -> None:
        store = self.ctx.store
        record = store.view_record(self.case_id)
        self.case = record if isinstance(record, Case) else None
        sync = case_sync_states(store)
        if self.case is not None:
            self.row = case_row(
                self.case, self.ctx.now(), self.ctx.reference, self.lang, sync.get(self.case_id)
            )
        entries = [self._entry(event, "synced", "") for event in store.events_of(self.case_id)]
        profile = self.ctx.profile
        refusals = []
        for item in store.outbox(case_id=self.case_id):
            if profile is None or (item.seen and item.status != "refused"):
                continue  # already in the timeline as the server's event
            entry = self._entry(event_of(item, profile), item_state(item), self._reason(item))
            if item.status == "refused":
                if not item.dismissed:
                    refusals.append(entry)
                    entries.append(entry)
            else:
                entries.append(entry)
        self.timeline = sorted(entries, key=lambda e: e.when)
        self.refusals = refusals
        events = store.events_of(self.case_id)
        if profile is not None:
            events += [event_of(item, profile) for item in store.replayable(self.case_id)]
        self.times = step_times(events, self.ctx.reference.rules, self.ctx.now(), self.lang)
        self.changed()

    def _reason(self, item: OutboxItem) -> str:
        text = item.message_en if self.lang == "en" else item.message_zh
        return text or item.code or ""

    def _entry(self, event: Event, state: str, reason: str) -> TimelineEntry:
        profile = self.ctx.profile
        args: dict[str, Any] = dict(event.args)
        where = None
        loc = args.get("location")
        if isinstance(loc, dict) and "lat" in loc and "lon" in loc:
            where = (float(loc["lat"]), float(loc["lon"]))
        try:
            what = label(Trigger(event.name), self.lang)
        except ValueError:
            what = event.name
        me = profile is not None and event.actor.user_id == profile.id
        note = next((str(args[k]) for k in _NOTE_KEYS if args.get(k)), "")
        return TimelineEntry(
            id=event.id,
            who=tr("word.me", self.lang) if me else self.ctx.reference.person_name(event.actor.user_id),
            role_label=label(Role(event.role), self.lang),
            what=what,
            trigger=event.name,
            when=event.occurred_at,
            where=where,
            photos=tuple(args.get("photos") or ()),
            note=note,
            sync_state=state,
            reason=reason,
        )

    def actions(self) -> list[tuple[Trigger, str]]:
        """What this user may do to this case now; the screen shows only these buttons."""
        profile = self.ctx.profile
        if self.case is None or profile is None:
            return []
        return [(t, label(t, self.lang)) for t in allowed_triggers(self.case, profile.actor, profile.role)]

    def act(self, trigger: Trigger | str, args: dict[str, Any] | None = None) -> Case | Rejection | None:
        """Check with the engine, save locally (view + outbox at once), and let sync take it."""
        profile = self.ctx.profile
        if profile is None:
            return None
        result = record_action(
            self.ctx.store, profile, str(trigger), self.case_id, args or {}, self.ctx.now()
        )
        if isinstance(result, Rejection):
            self.error = result.message_en if self.lang == "en" else result.message_zh
            self.changed()
            return result
        self.error = ""
        self.ctx.sync_now()
        self.refresh()
        return result if isinstance(result, Case) else None

    def dismiss(self, mutation_id: str) -> None:
        self.ctx.store.dismiss(mutation_id)
        self.refresh()
