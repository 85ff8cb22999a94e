"""Imports of a street's directory from files: roads (GeoJSON or CSV), users (CSV), categories (CSV).

Every row is checked first and every problem reported with its row number; only a file without a
single error is written, in one transaction, so a bad file changes nothing. Slow work (argon2id
hashing) happens before the transaction, so the writer is held only for the inserts.

Row numbers are what a person sees: a CSV's header is row 1 and its first record row 2; a
GeoJSON's features count from 1.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import Category, LimitUnit, Role

from .auth import Passwords
from .db import Database
from .directory import _check_scope
from .errors import ApiError
from .models import CategoryOverride, Community, Department, Road, Street, User
from .rules import load_rules
from .schemas import LineString, UserIn

__all__ = [
    "ImportFailed",
    "ImportResult",
    "RowError",
    "Track",
    "import_categories",
    "import_roads",
    "import_users",
    "read_table",
]

T = TypeVar("T")
Track = Callable[[Iterable[T], str, int], Iterable[T]]
"""Wraps a loop to show progress: ``track(items, description, total)`` yields the items."""


def _no_progress(items: Iterable[T], _description: str, _total: int) -> Iterable[T]:
    return items


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    message: str


class ImportFailed(Exception):
    """The file has errors; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s); nothing was imported")
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    names: list[str] = field(default_factory=list)


class _Errors:
    def __init__(self) -> None:
        self.items: list[RowError] = []

    def add(self, row: int, column: str, message: str) -> None:
        self.items.append(RowError(row, column, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise ImportFailed(sorted(self.items, key=lambda e: (e.row, e.field)))


# --- reading files ---------------------------------------------------------------------------------


def read_table(path: Path) -> list[tuple[int, dict[str, str]]]:
    """A CSV (UTF-8, with or without BOM) as (row number, {column: text}); headers are lower-cased."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise ImportFailed([RowError(1, "", "the file is empty")])
        rows = []
        for number, record in enumerate(reader, start=2):
            cleaned = {
                (k or "").strip().lower(): (v or "").strip() for k, v in record.items() if k is not None
            }
            if any(cleaned.values()):
                rows.append((number, cleaned))
        return rows


_WKT = re.compile(r"^\s*LINESTRING\s*\((?P<body>[^()]*)\)\s*$", re.IGNORECASE)


def _geometry_from_text(text: str) -> Any:
    """WKT ``LINESTRING (lon lat, …)`` or GeoJSON text; the LineString check comes after."""
    match = _WKT.match(text)
    if match:
        points = []
        for pair in match.group("body").split(","):
            parts = pair.split()
            if len(parts) != 2:
                raise ValueError(f"WKT position {pair.strip()!r} is not 'lon lat'")
            points.append([float(parts[0]), float(parts[1])])
        return {"type": "LineString", "coordinates": points}
    try:
        return json.loads(text)
    except ValueError:
        raise ValueError("geometry is neither WKT LINESTRING nor GeoJSON") from None


def _read_roads(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        except ValueError as exc:
            raise ImportFailed([RowError(0, "", f"not JSON: {exc}")]) from None
        features = document.get("features") if isinstance(document, dict) else None
        if not isinstance(features, list):
            raise ImportFailed([RowError(0, "", "expected a GeoJSON FeatureCollection")])
        for number, feature in enumerate(features, start=1):
            props = feature.get("properties") if isinstance(feature, dict) else None
            props = props if isinstance(props, dict) else {}
            yield (
                number,
                {
                    "name": str(props.get("name") or "").strip(),
                    "community": str(props.get("community") or "").strip(),
                    "chief": str(props.get("chief") or "").strip(),
                    "geometry": feature.get("geometry") if isinstance(feature, dict) else None,
                },
            )
        return
    for number, record in read_table(path):
        raw: dict[str, Any] = {k: record.get(k, "") for k in ("name", "community", "chief")}
        text = record.get("geometry") or record.get("wkt") or ""
        try:
            raw["geometry"] = _geometry_from_text(text) if text else None
        except ValueError as exc:
            raw["geometry"] = exc
        yield number, raw


def _pydantic_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))


def _lookup(session: Session, model: Any, street_id: str) -> dict[str, str]:
    """name → id and id → id for the street's communities or departments."""
    table: dict[str, str] = {}
    for item_id, name in session.execute(select(model.id, model.name).where(model.street_id == street_id)):
        table[name] = item_id
        table[item_id] = item_id
    return table


# --- roads -----------------------------------------------------------------------------------------


def import_roads(db: Database, street_id: str, path: Path, track: Track[Any] = _no_progress) -> ImportResult:
    """Roads with a LineString, a community (name or id) and optionally a chief (username).

    A road whose name the street already has is updated; any other is created.
    """
    rows = list(_read_roads(path))
    errors = _Errors()
    planned: list[dict[str, Any]] = []
    with db.read() as session:
        communities = _lookup(session, Community, street_id)
        chiefs = dict(
            session.execute(
                select(User.username, User.id).where(
                    User.street_id == street_id, User.role == Role.ROAD_CHIEF.value
                )
            ).all()
        )
        existing = dict(session.execute(select(Road.name, Road.id).where(Road.street_id == street_id)).all())
    seen: dict[str, int] = {}
    for number, raw in track(rows, "检查路段 checking roads", len(rows)):
        name = raw["name"]
        if not name or len(name) > 100:
            errors.add(number, "name", "a road needs a name of 1–100 characters")
        elif name in seen:
            errors.add(number, "name", f"{name!r} appears again (first in row {seen[name]})")
        else:
            seen[name] = number
        geometry = raw["geometry"]
        line = None
        if isinstance(geometry, Exception):
            errors.add(number, "geometry", str(geometry))
        elif geometry is None:
            errors.add(number, "geometry", "missing")
        else:
            try:
                line = LineString.model_validate(geometry)
            except ValidationError as exc:
                errors.add(number, "geometry", _pydantic_message(exc))
        community = communities.get(raw["community"]) if raw["community"] else None
        if not raw["community"]:
            errors.add(number, "community", "missing")
        elif community is None:
            errors.add(number, "community", f"no community {raw['community']!r} in this street")
        chief = None
        if raw["chief"]:
            chief = chiefs.get(raw["chief"])
            if chief is None:
                errors.add(number, "chief", f"{raw['chief']!r} is not a road chief of this street")
        if line is not None:
            planned.append(
                {
                    "name": name,
                    "geometry": line.model_dump(mode="json"),
                    "community_id": community,
                    "chief_id": chief,
                    "id": existing.get(name),
                }
            )
    errors.raise_if_any()
    result = ImportResult()
    with db.write() as session:
        for item in track(planned, "写入路段 writing roads", len(planned)):
            if item["id"] is None:
                session.add(Road(**{**item, "id": str(uuid.uuid4()), "street_id": street_id}))
                result.created += 1
            else:
                session.execute(
                    update(Road)
                    .where(Road.id == item["id"], Road.street_id == street_id)
                    .values(
                        geometry=item["geometry"],
                        community_id=item["community_id"],
                        chief_id=item["chief_id"],
                    )
                )
                result.updated += 1
            result.names.append(item["name"])
    return result


# --- users -----------------------------------------------------------------------------------------

_ROLE_WORDS = {
    "路长": Role.ROAD_CHIEF,
    "站长": Role.COORDINATOR,
    "协调员": Role.COORDINATOR,
    "处置人员": Role.HANDLER,
    "督察": Role.SUPERVISOR,
    "督察员": Role.SUPERVISOR,
    "管理员": Role.ADMIN,
}


def import_users(
    db: Database, street_id: str, path: Path, passwords: Passwords, track: Track[Any] = _no_progress
) -> ImportResult:
    """Users: username, password, role, display_name, community, department (names or ids)."""
    rows = read_table(path)
    errors = _Errors()
    planned: list[tuple[int, UserIn]] = []
    with db.read() as session:
        communities = _lookup(session, Community, street_id)
        departments = _lookup(session, Department, street_id)
        taken = set(session.scalars(select(User.username)))
    seen: dict[str, int] = {}
    for number, record in track(rows, "检查用户 checking users", len(rows)):
        role_text = record.get("role", "")
        role = _ROLE_WORDS.get(role_text) or (
            Role(role_text) if role_text in Role._value2member_map_ else None
        )
        if role is None:
            allowed = ", ".join(r.value for r in Role)
            errors.add(number, "role", f"{role_text!r} is not a role ({allowed})")
            continue
        community = departments_id = None
        unknown = False
        if record.get("community"):
            community = communities.get(record["community"])
            if community is None:
                unknown = True
                errors.add(number, "community", f"no community {record['community']!r} in this street")
        if record.get("department"):
            departments_id = departments.get(record["department"])
            if departments_id is None:
                unknown = True
                errors.add(number, "department", f"no department {record['department']!r} in this street")
        username = record.get("username", "")
        if username in seen:
            errors.add(number, "username", f"{username!r} appears again (first in row {seen[username]})")
        elif username in taken:
            errors.add(number, "username", f"{username!r} is already taken")
        seen.setdefault(username, number)
        try:
            body = UserIn(
                username=username,
                password=record.get("password", ""),
                role=role,
                display_name=record.get("display_name", ""),
                community_id=community,
                department_id=departments_id,
            )
            if not unknown:  # the scope of a row naming an unknown place is already wrong
                _check_scope(role, community, departments_id)
        except ValidationError as exc:
            errors.add(number, "user", _pydantic_message(exc))
            continue
        except ApiError as exc:
            errors.add(number, "scope", exc.reason)
            continue
        planned.append((number, body))
    errors.raise_if_any()
    hashed = [
        (body, passwords.hash(body.password))
        for _, body in track(planned, "加密口令 hashing passwords", len(planned))
    ]
    result = ImportResult()
    now = datetime.now(UTC)
    with db.write() as session:
        for body, password_hash in track(hashed, "写入用户 writing users", len(hashed)):
            session.add(
                User(
                    id=str(uuid.uuid4()),
                    street_id=street_id,
                    username=body.username,
                    password_hash=password_hash,
                    role=body.role.value,
                    community_id=body.community_id,
                    department_id=body.department_id,
                    display_name=body.display_name,
                    active=True,
                    created_at=now,
                )
            )
            result.created += 1
            result.names.append(body.username)
    return result


# --- categories ------------------------------------------------------------------------------------

_UNIT_WORDS = {
    "工作日": LimitUnit.WORKING_DAYS,
    "工作时": LimitUnit.WORKING_HOURS,
    "工作小时": LimitUnit.WORKING_HOURS,
    "小时": LimitUnit.CLOCK_HOURS,
}
_LIMIT = re.compile(r"^\s*(\d{1,5})\s*(\S+)\s*$")
_TEXT_COLUMNS = ("kind", "domain", "major_zh", "major_en", "name_zh", "name_en")


def _limit(text: str) -> dict[str, Any]:
    """ "3 working_days", "4 working_hours", "1 clock_hours" or "3 工作日" → a TimeLimit dict."""
    match = _LIMIT.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not '<amount> <unit>'")
    amount, unit_text = int(match.group(1)), match.group(2)
    unit = _UNIT_WORDS.get(unit_text) or (
        LimitUnit(unit_text) if unit_text in LimitUnit._value2member_map_ else None
    )
    if unit is None:
        allowed = ", ".join(u.value for u in LimitUnit)
        raise ValueError(f"unknown deadline unit {unit_text!r} (one of {allowed}, 工作日, 工作时, 小时)")
    if not 1 <= amount <= 10_000:
        raise ValueError("the amount must be 1–10000")
    return {"amount": amount, "unit": unit.value}


def import_categories(
    db: Database, street_id: str, path: Path, track: Track[Any] = _no_progress
) -> ImportResult:
    """Categories and deadlines: code, kind, domain, major_zh, major_en, name_zh, name_en, normal, urgent.

    A blank cell keeps the current value (the street's, or the engine's); a new code needs them all.
    """
    rows = read_table(path)
    errors = _Errors()
    planned: list[Category] = []
    with db.read() as session:
        current = load_rules(session, street_id).categories
    seen: dict[str, int] = {}
    for number, record in track(rows, "检查类别 checking categories", len(rows)):
        code = record.get("code", "").upper()
        if code in seen:
            errors.add(number, "code", f"{code} appears again (first in row {seen[code]})")
            continue
        seen[code] = number
        known = current.get(code)
        data: dict[str, Any] = (
            dict(known.to_dict()) if known is not None else {"code": code, "major_code": code[:3]}
        )
        for column in _TEXT_COLUMNS:
            if record.get(column):
                data[column] = record[column]
        bad = False
        for column in ("normal", "urgent"):
            if record.get(column):
                try:
                    data[column] = _limit(record[column])
                except ValueError as exc:
                    errors.add(number, column, str(exc))
                    bad = True
        if bad:
            continue
        try:
            planned.append(Category.from_dict(data))
        except ValueError as exc:
            errors.add(number, "category", str(exc))
    errors.raise_if_any()
    result = ImportResult()
    with db.write() as session:
        overrides = {
            row.code: row
            for row in session.scalars(
                select(CategoryOverride).where(CategoryOverride.street_id == street_id)
            )
        }
        for category in track(planned, "写入类别 writing categories", len(planned)):
            row = overrides.get(category.code)
            if row is None:
                session.add(
                    CategoryOverride(street_id=street_id, code=category.code, data=category.to_dict())
                )
                result.created += 1
            else:
                row.data = category.to_dict()
                result.updated += 1
            result.names.append(category.code)
        # one bump: every worker reloads the street's rules on its next request
        session.execute(
            update(Street).where(Street.id == street_id).values(rules_version=Street.rules_version + 1)
        )
    return result
