"""List rows: a case (home's overdue list, my cases), an outbox item, a timeline entry.

``CaseRowView`` and ``OutboxRowView`` are RecycleView view classes: RecycleView sets their
properties from plain dicts, so the screens turn view-model rows into dicts once per render
(``case_row_data``, ``outbox_row_data``) and thousands of rows cost only the visible widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.recycleview.views import RecycleDataViewBehavior

from engine import CHINA_TZ, FINAL_STATES, STEP_OF_STATE, State

from .. import i18n

__all__ = [
    "OUTBOX_STEPS",
    "CaseRowView",
    "OutboxRowView",
    "TimelineRow",
    "case_row_data",
    "format_duration",
    "format_time",
    "outbox_row_data",
]

OUTBOX_STEPS = ("saved", "queued", "sent", "acknowledged")


def format_time(moment: datetime | None, lang: str, now: datetime | None = None) -> str:
    """A moment in Beijing time: ``HH:MM`` today, ``MM-DD HH:MM`` otherwise."""
    if moment is None:
        return ""
    local = moment.astimezone(CHINA_TZ)
    if now is not None and local.date() == now.astimezone(CHINA_TZ).date():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")


def format_duration(span: timedelta, lang: str) -> str:
    """A span in the largest sensible unit: 45 分钟, 3 小时, 2 天."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 3600:
        return i18n.tr("unit.minutes", lang, n=max(1, seconds // 60))
    if seconds < 2 * 86400:
        return i18n.tr("unit.hours", lang, n=seconds // 3600)
    return i18n.tr("unit.days", lang, n=seconds // 86400)


def case_row_data(row: Any, lang: str, now: datetime) -> dict[str, Any]:
    """A view-model ``CaseRow`` as the dict a ``CaseRowView`` is filled from."""
    step = STEP_OF_STATE.get(State(row.state), None) if row.state else None
    if row.overdue:
        due = i18n.tr("case.overdue_by", lang, time=format_duration(row.overdue_by, lang))
    elif row.due_at is not None and State(row.state) not in FINAL_STATES:
        due = i18n.tr("case.due_in", lang, time=format_duration(row.due_at - now, lang))
    else:
        due = ""
    meta = [row.road_name or i18n.tr("word.unknown_road", lang), format_time(row.reported_at, lang, now)]
    refusal = row.refusal or ""
    return {
        "case_id": row.id,
        "title": row.title or row.category_code,
        "step": step.value if step is not None else "done",
        "state_label": i18n.capitalised(row.state_label, lang),
        "meta": "  ·  ".join(part for part in meta if part),
        "due_text": due,
        "overdue": bool(row.overdue),
        "sync_state": row.sync_state,
        "sync_label": "" if row.sync_state == "synced" else i18n.tr(f"outbox.state.{row.sync_state}", lang),
        "refusal": refusal,
        "height": dp(96) + (dp(34) if refusal else 0),
    }


def outbox_row_data(row: Any, lang: str, now: datetime, titles: Mapping[str, str]) -> dict[str, Any]:
    """A view-model ``OutboxRow`` as the dict an ``OutboxRowView`` is filled from."""
    reached = OUTBOX_STEPS.index(row.state) if row.state in OUTBOX_STEPS else -1
    steps = [i18n.tr(f"outbox.state.{name}", lang) for name in OUTBOX_STEPS]
    reason = i18n.tr("outbox.reason", lang, reason=row.reason) if row.state == "refused" else ""
    title = titles.get(row.case_id) or f"#{row.case_id[:8]}"
    return {
        "mutation_id": row.id,
        "case_id": row.case_id,
        "what": i18n.capitalised(row.what, lang),
        "subject": title,
        "when": format_time(row.occurred_at, lang, now),
        "state": row.state,
        "steps": steps,
        "reached": reached,
        "reason": reason,
        "refused_label": i18n.tr("outbox.state.refused", lang),
        "height": dp(96) + (dp(48) if reason else 0),
    }


def _owner_callback(widget: Any, name: str) -> Callable[[str], None] | None:
    """The nearest ancestor's ``name`` callback (a list or screen that opens cases)."""
    node = widget.parent
    while node is not None:
        callback = getattr(node, name, None)
        if callable(callback):
            return callback  # type: ignore[no-any-return]
        node = None if node.parent is node else node.parent  # the Window is its own parent
    return None


class CaseRowView(RecycleDataViewBehavior, ButtonBehavior, BoxLayout):
    """One case in a list: step colour bar, title, state chip, road and time, deadline, sync."""

    case_id = StringProperty("")
    title = StringProperty("")
    step = StringProperty("patrol")
    state_label = StringProperty("")
    meta = StringProperty("")
    due_text = StringProperty("")
    overdue = BooleanProperty(False)
    sync_state = StringProperty("synced")
    sync_label = StringProperty("")
    refusal = StringProperty("")

    def on_release(self) -> None:
        opener = _owner_callback(self, "open_case")
        if opener is not None and self.case_id:
            opener(self.case_id)


class OutboxRowView(RecycleDataViewBehavior, BoxLayout):
    """One outbox item: what, on which case, when, and saved → queued → sent → acknowledged."""

    mutation_id = StringProperty("")
    case_id = StringProperty("")
    what = StringProperty("")
    subject = StringProperty("")
    when = StringProperty("")
    state = StringProperty("saved")
    steps = ListProperty(["", "", "", ""])
    reached = NumericProperty(0)
    reason = StringProperty("")
    refused_label = StringProperty("")


class TimelineRow(BoxLayout):
    """One event of a case's history: a dot on a line, what, who, when, note, sync state."""

    what = StringProperty("")
    who = StringProperty("")
    when = StringProperty("")
    note = StringProperty("")
    step = StringProperty("patrol")
    sync_label = StringProperty("")
    refused = BooleanProperty(False)
    reason = StringProperty("")
    last = BooleanProperty(False)
