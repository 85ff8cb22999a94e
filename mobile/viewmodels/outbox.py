"""The outbox: every action with its sync state, refusals with the server's reason, and export.

Exposes ``items`` (``OutboxRow`` list, newest first: what (trigger label), which case, when,
``state`` — ``saved``, ``queued``, ``sent``, ``acknowledged`` or ``refused``; the label key is
``outbox.state.<state>`` — and ``reason``), ``pending``, ``acknowledged`` and ``refused``
counts, ``last_export`` (path) and ``export_count``. ``export(path=None)`` writes unsent work
to a JSON file a coordinator can import; ``sync_now()`` asks the worker to try at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine import Trigger, label

from ..outbox import export_unsent
from ..session import AppContext
from .base import ViewModel
from .common import item_state

__all__ = ["OutboxRow", "OutboxViewModel"]


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    id: str
    case_id: str
    what: str
    occurred_at: datetime
    state: str
    reason: str


class OutboxViewModel(ViewModel):
    def __init__(self, ctx: AppContext, limit: int = 500) -> None:
        super().__init__(ctx)
        self.limit = limit
        self.items: list[OutboxRow] = []
        self.pending = self.acknowledged = self.refused = 0
        self.last_export: Path | None = None
        self.export_count = 0
        self.refresh()

    def refresh(self) -> None:
        store = self.ctx.store
        items = store.outbox()[-self.limit :]
        out = []
        for item in reversed(items):
            try:
                what = label(Trigger(item.name), self.lang)
            except ValueError:
                what = item.name
            reason = (item.message_en if self.lang == "en" else item.message_zh) or item.code or ""
            out.append(
                OutboxRow(item.seq, item.id, item.case_id, what, item.occurred_at, item_state(item), reason)
            )
        self.items = out
        self.pending = store.unacknowledged()
        self.acknowledged = store.count_outbox(["acknowledged"])
        self.refused = store.count_outbox(["refused"])
        self.changed()

    def export(self, path: str | Path | None = None) -> Path:
        """Write unsent work to ``path`` (default: the app's data directory, stamped with the time)."""
        now = self.ctx.now()
        if path is None:
            path = self.ctx.data_dir / f"roadchief-unsent-{now.strftime('%Y%m%d-%H%M%S')}.json"
        self.export_count = export_unsent(self.ctx.store, path, now)
        self.last_export = Path(path)
        self.changed()
        return self.last_export

    def sync_now(self) -> None:
        self.ctx.sync_now()
