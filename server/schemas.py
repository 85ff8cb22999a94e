"""Request and response bodies of the HTTP API (pydantic), strict and closed.

Inputs refuse unknown fields (``extra="forbid"``: no mass assignment), coerce nothing (``strict``)
and bound every string and number, so nothing a client sends can overflow a column. The sync
messages are parsed by ``shared`` (the protocol's one definition); the mirrors at the bottom only
document them in the OpenAPI schema.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine import Domain, LimitUnit, Role
from engine.categories import CategoryKind
from shared import MAX_BATCH, MAX_PULL_LIMIT, MAX_SEQ

__all__ = [
    "CategoryIn",
    "CategoryOut",
    "CommunityIn",
    "CommunityOut",
    "DepartmentIn",
    "DepartmentOut",
    "Health",
    "LineString",
    "LoginRequest",
    "LoginResponse",
    "NameIn",
    "PullBody",
    "PullResult",
    "PushBody",
    "PushResult",
    "RecordOut",
    "ReferenceOut",
    "RoadIn",
    "RoadOut",
    "RoadPatch",
    "StreetOut",
    "UserIn",
    "UserOut",
    "UserPatch",
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Name = Annotated[str, Field(min_length=1, max_length=100)]
ItemId = Annotated[str, Field(min_length=1, max_length=36)]


class Health(BaseModel):
    status: Literal["ok"]
    database: str
    protocol_version: int


# --- auth ------------------------------------------------------------------------------------------


class LoginRequest(Input):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class UserOut(BaseModel):
    id: str
    username: str
    street_id: str
    role: Role
    community_id: str | None
    department_id: str | None
    display_name: str
    active: bool


class LoginResponse(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user: UserOut


# --- directory -------------------------------------------------------------------------------------


class NameIn(Input):
    name: Name


CommunityIn = NameIn
DepartmentIn = NameIn


class CommunityOut(BaseModel):
    id: str
    name: str


class DepartmentOut(BaseModel):
    id: str
    name: str


class LineString(Input):
    """A GeoJSON LineString: at least two ``[lon, lat]`` positions (WGS-84)."""

    type: Literal["LineString"]
    coordinates: Annotated[
        list[Annotated[list[float], Field(min_length=2, max_length=2)]], Field(min_length=2, max_length=5000)
    ] = Field(description="[lon, lat] positions, WGS-84")

    @field_validator("coordinates")
    @classmethod
    def _on_the_globe(cls, value: list[list[float]]) -> list[list[float]]:
        for index, (lon, lat) in enumerate(value):
            if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(f"position {index} is not [lon, lat] on the globe")
        return value


class RoadIn(Input):
    name: Name
    geometry: LineString
    community_id: ItemId | None = None
    chief_id: ItemId | None = None


class RoadPatch(Input):
    name: Name | None = None
    geometry: LineString | None = None
    community_id: ItemId | None = None
    chief_id: ItemId | None = None


class RoadOut(BaseModel):
    id: str
    name: str
    community_id: str | None
    chief_id: str | None
    geometry: dict[str, Any]


Username = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Password = Annotated[str, Field(min_length=8, max_length=256)]


class UserIn(Input):
    username: Username
    password: Password
    role: Role
    community_id: ItemId | None = None
    department_id: ItemId | None = None
    display_name: Annotated[str, Field(max_length=100)] = ""

    @field_validator("role", mode="before")
    @classmethod
    def _role_text(cls, value: Any) -> Any:
        # strict mode wants the enum itself; JSON can only send its value
        return Role(value) if isinstance(value, str) and value in Role._value2member_map_ else value


class UserPatch(Input):
    role: Role | None = None
    community_id: ItemId | None = None
    department_id: ItemId | None = None
    display_name: Annotated[str, Field(max_length=100)] | None = None
    active: bool | None = None
    password: Password | None = None

    _role_text = field_validator("role", mode="before")(UserIn._role_text.__func__)  # type: ignore[attr-defined]


class TimeLimitIn(Input):
    amount: Annotated[int, Field(ge=1, le=10_000)]
    unit: LimitUnit

    @field_validator("unit", mode="before")
    @classmethod
    def _unit_text(cls, value: Any) -> Any:
        return LimitUnit(value) if isinstance(value, str) and value in LimitUnit._value2member_map_ else value


class CategoryIn(Input):
    """A street's version of one category; fields left out keep the current (or engine) value.

    ``kind``, ``domain`` and ``major_code`` are required only for a code the engine does not have.
    """

    kind: CategoryKind | None = None
    domain: Domain | None = None
    major_code: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    major_zh: Name | None = None
    major_en: Name | None = None
    name_zh: Name | None = None
    name_en: Name | None = None
    normal: TimeLimitIn | None = None
    urgent: TimeLimitIn | None = None

    @field_validator("kind", "domain", mode="before")
    @classmethod
    def _enum_text(cls, value: Any, info: Any) -> Any:
        enum = CategoryKind if info.field_name == "kind" else Domain
        return enum(value) if isinstance(value, str) and value in enum._value2member_map_ else value


class TimeLimitOut(BaseModel):
    amount: int
    unit: LimitUnit


class CategoryOut(BaseModel):
    code: str
    kind: CategoryKind
    domain: Domain
    major_code: str
    major_zh: str
    major_en: str
    name_zh: str
    name_en: str
    normal: TimeLimitOut
    urgent: TimeLimitOut
    customized: bool = Field(description="true when the street overrides the engine's default")


class StreetOut(BaseModel):
    id: str
    name: str


class PersonOut(BaseModel):
    """A colleague as a timeline names them: no username, no scope beyond the role."""

    id: str
    display_name: str
    role: Role


class ReferenceOut(BaseModel):
    """What a phone needs to fill its forms: the street's places, departments, categories and people."""

    street: StreetOut
    communities: list[CommunityOut]
    departments: list[DepartmentOut]
    roads: list[RoadOut]
    categories: list[CategoryOut]
    people: list[PersonOut]


class RecordOut(BaseModel):
    """A case (or patrol) as the server holds it, and its events in order."""

    kind: Literal["case", "patrol"]
    record: dict[str, Any]
    events: list[dict[str, Any]]


# --- sync mirrors (documentation only; ``shared`` parses the real thing) ---------------------------

Seq = Annotated[int, Field(ge=1, le=MAX_SEQ)]


class MutationBody(Input):
    id: str = Field(description="canonical lowercase UUID minted on the phone")
    seq: Seq
    name: str = Field(description="an engine trigger, e.g. report")
    case_id: str = Field(description="canonical lowercase UUID of the case or patrol")
    args: dict[str, Any]
    occurred_at: datetime


class PushBody(Input):
    protocol_version: int
    device_id: str = Field(description="canonical lowercase UUID of the phone's outbox")
    mutations: Annotated[list[MutationBody], Field(min_length=1, max_length=MAX_BATCH)]


class MutationResultOut(BaseModel):
    id: str
    seq: int
    status: Literal["applied", "duplicate", "rejected", "retry"]
    code: str | None
    message_zh: str | None
    message_en: str | None


class PushResult(BaseModel):
    protocol_version: int
    results: list[MutationResultOut]
    last_seq: int


class PullBody(Input):
    protocol_version: int
    device_id: str
    cursor: str | None
    limit: Annotated[int, Field(ge=1, le=MAX_PULL_LIMIT)] = 500


class EventRecordOut(BaseModel):
    position: int
    event: dict[str, Any]


class PullResult(BaseModel):
    protocol_version: int
    events: list[EventRecordOut]
    cursor: str
    has_more: bool
    last_seq: int
