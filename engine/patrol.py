"""Patrols (路长上路): start, GPS points, end, findings. A patrol that found nothing is a record too.

A patrol has its own tiny machine, built from a data table like the case's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from transitions import EventData

from .arguments import Refused, read_id, read_ids
from .case import Location
from .events import Event
from .frozen import evolver
from .machine import LoopMachine
from .rejection import refuse
from .vocabulary import PatrolState, RejectionCode, Role, Trigger

__all__ = [
    "MAX_POINTS_PER_EVENT",
    "PATROL_MACHINE",
    "PATROL_TRANSITIONS",
    "Patrol",
    "PatrolTransit",
    "evolve_patrol",
]

MAX_POINTS_PER_EVENT = 500
_EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True, slots=True)
class Patrol:
    id: str
    street_id: str
    chief_id: str = ""
    community_id: str | None = None
    road_id: str | None = None
    state: PatrolState = PatrolState.NEW
    started_at: datetime | None = None
    ended_at: datetime | None = None
    point_count: int = 0
    distance_m: float = 0.0
    last_point: Location | None = None
    findings: tuple[str, ...] = ()
    nothing_found: bool = False
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "street_id": self.street_id,
            "chief_id": self.chief_id,
            "community_id": self.community_id,
            "road_id": self.road_id,
            "state": self.state.value,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "point_count": self.point_count,
            "distance_m": self.distance_m,
            "last_point": {"lat": self.last_point.lat, "lon": self.last_point.lon}
            if self.last_point
            else None,
            "findings": list(self.findings),
            "nothing_found": self.nothing_found,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Patrol:
        """Rebuild a patrol from ``to_dict`` output (a stored snapshot)."""
        point = data.get("last_point")
        started, ended = data.get("started_at"), data.get("ended_at")
        return cls(
            id=data["id"],
            street_id=data["street_id"],
            chief_id=data.get("chief_id", ""),
            community_id=data.get("community_id"),
            road_id=data.get("road_id"),
            state=PatrolState(data.get("state", PatrolState.NEW.value)),
            started_at=datetime.fromisoformat(started) if started else None,
            ended_at=datetime.fromisoformat(ended) if ended else None,
            point_count=int(data.get("point_count", 0)),
            distance_m=float(data.get("distance_m", 0.0)),
            last_point=Location(float(point["lat"]), float(point["lon"])) if point else None,
            findings=tuple(data.get("findings", ())),
            nothing_found=bool(data.get("nothing_found", False)),
            version=int(data.get("version", 0)),
        )


def _is_coordinate(value: Any) -> bool:
    return isinstance(value, _NUMBER) and not isinstance(value, bool) and math.isfinite(value)


_NUMBER = (int, float)
_BAD_POINTS = "expected [lat, lon] pairs"


def _read_points(args: Mapping[str, Any]) -> list[tuple[float, float]]:
    """The event's points as (lat, lon) floats, each a {lat, lon[, at]} object or a [lat, lon] list.

    Up to 500 points an event, so this is a patrol's hot loop: points stay float pairs (only the
    last becomes a ``Location``), and a plain dict is recognised before the slower ``Mapping`` check.
    """
    raw = args.get("points")
    if not isinstance(raw, list) or not raw:
        raise Refused(refuse(RejectionCode.MISSING_FIELD, field="points"))
    if len(raw) > MAX_POINTS_PER_EVENT:
        raise Refused(
            refuse(RejectionCode.INVALID_FIELD, field="points", detail=f"at most {MAX_POINTS_PER_EVENT}")
        )
    points: list[tuple[float, float]] = []
    for item in raw:
        if type(item) is dict or isinstance(item, Mapping):
            lat, lon = item.get("lat"), item.get("lon")
        elif isinstance(item, list) and len(item) >= 2:
            lat, lon = item[0], item[1]
        else:
            raise Refused(refuse(RejectionCode.INVALID_FIELD, field="points", detail=_BAD_POINTS))
        if type(lat) is float and type(lon) is float and -90 <= lat <= 90 and -180 <= lon <= 180:
            # what a phone sends; NaN and infinities fail the range test, so this is the full check
            points.append((lat, lon))
            continue
        # lat before lon, each fully, in the order the checks always ran (math.isfinite raises on
        # an int too large for a float, and which error comes first must not change)
        if not (_is_coordinate(lat) and _is_coordinate(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise Refused(refuse(RejectionCode.INVALID_FIELD, field="points", detail=_BAD_POINTS))
        points.append((float(lat), float(lon)))
    return points


# what ``dataclasses.replace`` does, several times faster (see ``engine.frozen``)
evolve_patrol = evolver(Patrol)
_PATROL_STATE_OF_VALUE: dict[str, PatrolState] = {state.value: state for state in PatrolState}
_PATROL_STATE_VALUE: dict[PatrolState, str] = {state: state.value for state in PatrolState}


class PatrolTransit:
    __slots__ = ("event", "patrol", "result", "state", "values")

    def __init__(self, patrol: Patrol, event: Event) -> None:
        self.patrol = patrol
        self.event = event
        self.state: str = _PATROL_STATE_VALUE[patrol.state]
        self.values: dict[str, Any] = {}
        self.result: Patrol | None = None


def _check_start(t: PatrolTransit) -> None:
    args, actor = t.event.args, t.event.actor
    community = read_id(args, "community_id", required=False)
    if actor.community_id is not None and community not in (None, actor.community_id):
        raise Refused(refuse(RejectionCode.OUT_OF_SCOPE, field="community_id"))
    t.values = {
        "chief_id": actor.user_id,
        "road_id": read_id(args, "road_id", required=True),
        "community_id": community or actor.community_id,
        "started_at": t.event.occurred_at,
    }


def _check_points(t: PatrolTransit) -> None:
    points = _read_points(t.event.args)
    distance, last_point = t.patrol.distance_m, t.patrol.last_point
    if last_point is None:
        lat, lon = points[0]
        ahead: list[tuple[float, float]] = points[1:]
    else:
        lat, lon = last_point.lat, last_point.lon
        ahead = points
    # The haversine distance from each point to the next, summed. Each point's radians and cosine
    # are computed once and reused as the next leg's start: the same operations on the same values
    # in the same order as a leg-by-leg haversine, so the sum is the same to the last bit.
    p = math.radians(lat)
    cos_p = math.cos(p)
    for next_lat, next_lon in ahead:
        q = math.radians(next_lat)
        cos_q = math.cos(q)
        dl = math.radians(next_lon - lon)
        h = math.sin((q - p) / 2) ** 2 + cos_p * cos_q * math.sin(dl / 2) ** 2
        distance += 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
        lat, lon, p, cos_p = next_lat, next_lon, q, cos_q
    t.values = {
        "point_count": t.patrol.point_count + len(points),
        "distance_m": distance,
        "last_point": Location(lat, lon),
    }


def _check_end(t: PatrolTransit) -> None:
    findings = read_ids(t.event.args, "findings")
    t.values = {"findings": findings, "nothing_found": not findings, "ended_at": t.event.occurred_at}


PATROL_TRANSITIONS: tuple[tuple[Trigger, PatrolState, PatrolState, Any], ...] = (
    (Trigger.START_PATROL, PatrolState.NEW, PatrolState.WALKING, _check_start),
    (Trigger.RECORD_POINTS, PatrolState.WALKING, PatrolState.WALKING, _check_points),
    (Trigger.END_PATROL, PatrolState.WALKING, PatrolState.ENDED, _check_end),
)


def _condition(check: Any) -> Any:
    def condition(event_data: EventData) -> bool:
        t: PatrolTransit = event_data.model
        event, patrol = t.event, t.patrol
        if event.role is not Role.ROAD_CHIEF:
            raise Refused(refuse(RejectionCode.ROLE_NOT_ALLOWED, trigger=Trigger(event.name)))
        if event.actor.street_id != patrol.street_id:
            raise Refused(refuse(RejectionCode.OUT_OF_SCOPE))
        if patrol.state is not PatrolState.NEW and event.actor.user_id != patrol.chief_id:
            raise Refused(
                refuse(RejectionCode.NOT_ASSIGNED, detail="另一位路长的巡查 / another chief's patrol")
            )
        check(t)
        return True

    return condition


def _effect(event_data: EventData) -> None:
    t: PatrolTransit = event_data.model
    values = t.values
    values["state"] = _PATROL_STATE_OF_VALUE[t.state]
    values["version"] = t.patrol.version + 1
    t.result = evolve_patrol(t.patrol, values)


PATROL_MACHINE = LoopMachine(
    model=None,
    states=[s.value for s in PatrolState],
    initial=PatrolState.NEW.value,
    transitions=[
        {
            "trigger": trigger.value,
            "source": source.value,
            "dest": dest.value,
            "conditions": [_condition(check)],
            "after": _effect,
        }
        for trigger, source, dest, check in PATROL_TRANSITIONS
    ],
    auto_transitions=False,
    send_event=True,
    ignore_invalid_triggers=False,
)
