"""Every action is data: an event names a trigger, who fired it in which role, when, and its arguments.

The log of applied events is the audit trail; folding it always yields the same case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .frozen import builder
from .vocabulary import Role

__all__ = ["Actor", "Event", "build_event"]


@dataclass(frozen=True, slots=True)
class Actor:
    """A user with the scope they held when they acted.

    ``community_id`` is set for community-level users (a station coordinator, a road chief of one
    community); ``department_id`` for handlers. A coordinator without a community is the street's
    command centre (街道指挥中心).
    """

    user_id: str
    street_id: str
    community_id: str | None = None
    department_id: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One action on one case (or patrol): ``{id, case_id, name, actor, role, occurred_at, args}``.

    ``occurred_at`` is the device's clock, timezone-aware. ``received_at`` is set by the server when
    the event reaches it; the difference is the time the event spent on a phone, reported apart.
    """

    id: str
    case_id: str
    name: str
    actor: Actor
    role: Role
    occurred_at: datetime
    args: Mapping[str, Any] = field(default_factory=dict)
    received_at: datetime | None = None


# ``Event(...)`` without the frozen ``__init__``'s call per field (``engine.frozen``), for a caller
# that gives every field by name: the server builds one for each mutation it replays
build_event = builder(Event)
