"""An event as the pull sends it, written once: ``{"position": …, "event": {…}}`` in wire JSON.

An event never changes after the push stored it, so the push writes its page entry beside its
columns (``events.wire``) and a pull joins stored texts instead of building every event again
from a dozen columns (server.pull). The entry is what ``shared.dumps`` writes for an
``EventRecord``: the same keys in the same order, compact, non-ASCII as is, ``args`` as the JSON
text the phone's mutation was checked as.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["entry", "iso_text", "iso_utc"]


def iso_text(value: datetime) -> str:
    """``value.isoformat()``, written by orjson in a third of the time (the push writes one for every
    event). The same text for every time the protocol accepts, whose offsets are whole minutes
    (``shared.codec``): orjson drops an offset's seconds (tests/server/test_wire.py)."""
    return orjson.dumps(value)[1:-1].decode()


def iso_utc(value: datetime) -> str:
    """``received_at`` as the wire writes it: ISO-8601 in UTC (``+00:00``), microseconds if any."""
    return value.astimezone(UTC).isoformat()


def entry(
    position: int,
    event_id: str,
    case_id: str,
    name: str,
    actor_id: str,
    street_id: str,
    community_id: str | None,
    department_id: str | None,
    role: str,
    occurred_at: str,
    args: Any,
    received_at: str | None,
) -> dict[str, Any]:
    """One page entry as a dict in wire order, for orjson; ``args`` may be an ``orjson.Fragment``
    of stored JSON text, put in as it is."""
    return {
        "position": position,
        "event": {
            "id": event_id,
            "case_id": case_id,
            "name": name,
            "actor": {
                "user_id": actor_id,
                "street_id": street_id,
                "community_id": community_id,
                "department_id": department_id,
            },
            "role": role,
            "occurred_at": occurred_at,
            "args": args,
            "received_at": received_at,
        },
    }
