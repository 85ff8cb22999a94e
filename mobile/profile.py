"""Who is signed in, and the street's reference data the forms are filled from.

``UserProfile`` is the ``user`` object of the login answer; it turns into the engine's ``Actor`` and
``Role``. ``Reference`` is ``GET /api/v1/reference``: communities, departments, roads with their
geometry and the street's categories, from which the phone builds the same engine ``Rules`` the
server checks against. Both live in the store's meta table as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine import CATEGORIES, DEFAULT_RULES, Actor, Category, Role, Rules

__all__ = ["Reference", "Road", "UserProfile"]


@dataclass(frozen=True, slots=True)
class UserProfile:
    """The signed-in user: identity, role and scope (street; community; department)."""

    id: str
    username: str
    role: Role
    street_id: str
    community_id: str | None = None
    department_id: str | None = None
    display_name: str = ""

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.street_id, self.community_id, self.department_id)

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role.value,
            "street_id": self.street_id,
            "community_id": self.community_id,
            "department_id": self.department_id,
            "display_name": self.display_name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UserProfile:
        return cls(
            id=str(data["id"]),
            username=str(data.get("username", "")),
            role=Role(data["role"]),
            street_id=str(data["street_id"]),
            community_id=data.get("community_id"),
            department_id=data.get("department_id"),
            display_name=str(data.get("display_name") or ""),
        )


@dataclass(frozen=True, slots=True)
class Road:
    """A road of the street: its chief and its line as ``(lat, lon)`` points."""

    id: str
    name: str
    community_id: str | None
    chief_id: str | None
    points: tuple[tuple[float, float], ...]

    @property
    def middle(self) -> tuple[float, float] | None:
        """A point to file a report at when there is no GPS fix: the line's middle vertex."""
        return self.points[len(self.points) // 2] if self.points else None


@dataclass(frozen=True)
class Reference:
    """The street's reference data as the server last sent it."""

    street: Mapping[str, Any] = field(default_factory=dict)
    communities: tuple[Mapping[str, Any], ...] = ()
    departments: tuple[Mapping[str, Any], ...] = ()
    roads: tuple[Road, ...] = ()
    categories: Mapping[str, Category] = field(default_factory=lambda: CATEGORIES)
    people: Mapping[str, str] = field(default_factory=dict)  # user id -> display name

    @property
    def rules(self) -> Rules:
        """The engine rules with the street's own categories (its deadlines and custom codes)."""
        if self.categories is CATEGORIES:
            return DEFAULT_RULES
        return Rules(categories=self.categories)

    def road(self, road_id: str | None) -> Road | None:
        return next((road for road in self.roads if road.id == road_id), None)

    def person_name(self, user_id: str) -> str:
        """A colleague's name for timelines; the id when the reference data does not know them."""
        return self.people.get(user_id) or user_id

    def department_name(self, department_id: str | None) -> str:
        found = next((d for d in self.departments if d.get("id") == department_id), None)
        return str(found["name"]) if found else (department_id or "")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Reference:
        if not data:
            return cls()
        roads = []
        for raw in data.get("roads", ()):
            coords = (raw.get("geometry") or {}).get("coordinates") or ()
            # GeoJSON is [lon, lat]; the rest of the app speaks (lat, lon)
            points = tuple((float(c[1]), float(c[0])) for c in coords)
            roads.append(
                Road(raw["id"], raw.get("name", ""), raw.get("community_id"), raw.get("chief_id"), points)
            )
        categories: dict[str, Category] = {}
        for raw in data.get("categories", ()):
            fields = {k: v for k, v in raw.items() if k != "customized"}
            categories[fields["code"]] = Category.from_dict(fields)
        return cls(
            street=dict(data.get("street") or {}),
            communities=tuple(data.get("communities", ())),
            departments=tuple(data.get("departments", ())),
            roads=tuple(roads),
            categories=categories or CATEGORIES,
            people={
                str(p["id"]): str(p.get("display_name") or p["id"])
                for p in data.get("people", ())
                if isinstance(p, Mapping) and p.get("id")
            },
        )
