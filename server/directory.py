"""The street's directory, kept by its admin: communities, roads, departments, users, categories.

Every function takes a session and the street it acts in; nothing here can see another street's
rows (a foreign id is simply "not found"). ``bootstrap_admin`` creates a street and its first admin
so a fresh server is usable (``roadchief create-admin``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import CATEGORIES, Category, Role

from .auth import Passwords
from .errors import ApiError
from .models import (
    CategoryOverride,
    Community,
    Department,
    Road,
    Street,
    StreetCounter,
    Token,
    User,
)
from .rules import load_rules
from .schemas import CategoryIn, RoadIn, RoadPatch, UserIn, UserPatch

__all__ = [
    "bootstrap_admin",
    "categories_of",
    "community_out",
    "create_community",
    "create_department",
    "create_road",
    "create_street",
    "create_user",
    "department_out",
    "put_category",
    "rename",
    "reset_category",
    "road_out",
    "update_road",
    "update_user",
    "user_out",
]


def _new_id() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


def _flush(session: Session, what: str) -> None:
    """Flush, turning a unique-key clash into a 409 the admin can act on."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ApiError(409, "conflict", f"{what} already exists") from None


# --- streets and the first admin -------------------------------------------------------------------


def create_street(session: Session, name: str) -> Street:
    street = Street(id=_new_id(), name=name, rules_version=0, created_at=_now())
    session.add(street)
    _flush(session, f"street {name!r}")
    session.add(StreetCounter(street_id=street.id, value=0))
    session.flush()
    return street


def bootstrap_admin(
    session: Session, passwords: Passwords, street_name: str, username: str, password: str
) -> tuple[Street, User]:
    """The street named ``street_name`` (created if new) and a new admin user for it."""
    street = session.scalars(select(Street).where(Street.name == street_name)).one_or_none()
    if street is None:
        street = create_street(session, street_name)
    user = create_user(
        session,
        passwords,
        street.id,
        UserIn(username=username, password=password, role=Role.ADMIN, display_name="管理员"),
    )
    return street, user


# --- places and departments ------------------------------------------------------------------------


def community_out(row: Community) -> dict[str, Any]:
    return {"id": row.id, "name": row.name}


department_out = community_out


def create_community(session: Session, street_id: str, name: str) -> Community:
    row = Community(id=_new_id(), street_id=street_id, name=name)
    session.add(row)
    _flush(session, f"community {name!r}")
    return row


def create_department(session: Session, street_id: str, name: str) -> Department:
    row = Department(id=_new_id(), street_id=street_id, name=name)
    session.add(row)
    _flush(session, f"department {name!r}")
    return row


def _own(session: Session, model: Any, street_id: str, item_id: str | None, what: str) -> Any:
    """The row ``item_id`` of ``street_id``; a foreign or unknown id is 404 (never "forbidden")."""
    row = session.get(model, item_id) if item_id else None
    if row is None or row.street_id != street_id:
        raise ApiError(404, "not_found", f"no {what} {item_id!r} in this street")
    return row


def _ref(session: Session, model: Any, street_id: str, item_id: str | None, field: str) -> str | None:
    """A reference in an input body: it must name a row of the same street (else 422)."""
    if item_id is None:
        return None
    row = session.get(model, item_id)
    if row is None or row.street_id != street_id:
        raise ApiError(422, "invalid_reference", f"{field}: no such item in this street")
    return item_id


def rename(session: Session, model: Any, street_id: str, item_id: str, name: str) -> Any:
    row = _own(session, model, street_id, item_id, model.__tablename__[:-1])
    row.name = name
    _flush(session, f"{name!r}")
    return row


def road_out(row: Road) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "community_id": row.community_id,
        "chief_id": row.chief_id,
        "geometry": row.geometry,
    }


def _chief(session: Session, street_id: str, user_id: str | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or user.street_id != street_id:
        raise ApiError(422, "invalid_reference", "chief_id: no such user in this street")
    if user.role != Role.ROAD_CHIEF.value:
        raise ApiError(422, "invalid_reference", "chief_id: the user is not a road chief")
    return user_id


def create_road(session: Session, street_id: str, body: RoadIn) -> Road:
    row = Road(
        id=_new_id(),
        street_id=street_id,
        name=body.name,
        geometry=body.geometry.model_dump(mode="json"),
        community_id=_ref(session, Community, street_id, body.community_id, "community_id"),
        chief_id=_chief(session, street_id, body.chief_id),
    )
    session.add(row)
    _flush(session, f"road {body.name!r}")
    return row


def update_road(session: Session, street_id: str, road_id: str, body: RoadPatch) -> Road:
    row: Road = _own(session, Road, street_id, road_id, "road")
    sent = body.model_fields_set
    if "name" in sent and body.name is not None:
        row.name = body.name
    if "geometry" in sent and body.geometry is not None:
        row.geometry = body.geometry.model_dump(mode="json")
    if "community_id" in sent:
        row.community_id = _ref(session, Community, street_id, body.community_id, "community_id")
    if "chief_id" in sent:
        row.chief_id = _chief(session, street_id, body.chief_id)
    _flush(session, "a road with that name")
    return row


# --- users -----------------------------------------------------------------------------------------


def user_out(row: User) -> dict[str, Any]:
    return {
        "id": row.id,
        "username": row.username,
        "street_id": row.street_id,
        "role": row.role,
        "community_id": row.community_id,
        "department_id": row.department_id,
        "display_name": row.display_name,
        "active": row.active,
    }


def _check_scope(role: Role, community_id: str | None, department_id: str | None) -> None:
    """A role's scope must make sense to the engine: handlers belong to a department, chiefs to a
    community; only handlers have a department."""
    if role is Role.HANDLER and department_id is None:
        raise ApiError(422, "invalid_scope", "a handler needs a department_id")
    if role is not Role.HANDLER and department_id is not None:
        raise ApiError(422, "invalid_scope", "only a handler has a department_id")
    if role is Role.ROAD_CHIEF and community_id is None:
        raise ApiError(422, "invalid_scope", "a road chief needs a community_id")
    if role is Role.HANDLER and community_id is not None:
        raise ApiError(422, "invalid_scope", "a handler works for a department, not a community")


def create_user(session: Session, passwords: Passwords, street_id: str, body: UserIn) -> User:
    community_id = _ref(session, Community, street_id, body.community_id, "community_id")
    department_id = _ref(session, Department, street_id, body.department_id, "department_id")
    _check_scope(body.role, community_id, department_id)
    if session.scalars(select(User.id).where(User.username == body.username)).first() is not None:
        raise ApiError(409, "conflict", f"username {body.username!r} is taken")
    row = User(
        id=_new_id(),
        street_id=street_id,
        username=body.username,
        password_hash=passwords.hash(body.password),
        role=body.role.value,
        community_id=community_id,
        department_id=department_id,
        display_name=body.display_name,
        active=True,
        created_at=_now(),
    )
    session.add(row)
    _flush(session, f"username {body.username!r}")
    return row


def update_user(
    session: Session, passwords: Passwords, street_id: str, user_id: str, body: UserPatch
) -> User:
    row: User = _own(session, User, street_id, user_id, "user")
    sent = body.model_fields_set
    role = body.role if "role" in sent and body.role is not None else Role(row.role)
    community_id = (
        _ref(session, Community, street_id, body.community_id, "community_id")
        if "community_id" in sent
        else row.community_id
    )
    department_id = (
        _ref(session, Department, street_id, body.department_id, "department_id")
        if "department_id" in sent
        else row.department_id
    )
    _check_scope(role, community_id, department_id)
    row.role, row.community_id, row.department_id = role.value, community_id, department_id
    if "display_name" in sent and body.display_name is not None:
        row.display_name = body.display_name
    revoke = False
    if "active" in sent and body.active is not None:
        row.active = body.active
        revoke = not body.active
    if "password" in sent and body.password is not None:
        row.password_hash = passwords.hash(body.password)
        revoke = True
    if revoke:  # a deactivated user, or a changed password, ends every open session
        session.execute(
            update(Token).where(Token.user_id == row.id, Token.revoked_at.is_(None)).values(revoked_at=_now())
        )
    session.flush()
    return row


# --- categories ------------------------------------------------------------------------------------


def categories_of(session: Session, street_id: str) -> list[dict[str, Any]]:
    """The street's effective categories, each marked whether the street customized it."""
    customized = set(
        session.scalars(select(CategoryOverride.code).where(CategoryOverride.street_id == street_id))
    )
    rules = load_rules(session, street_id)
    return [
        {**category.to_dict(), "customized": code in customized}
        for code, category in rules.categories.items()
    ]


def _bump_rules(session: Session, street_id: str) -> None:
    session.execute(
        update(Street).where(Street.id == street_id).values(rules_version=Street.rules_version + 1)
    )


def put_category(session: Session, street_id: str, code: str, body: CategoryIn) -> dict[str, Any]:
    current = load_rules(session, street_id).categories.get(code)
    data: dict[str, Any] = dict(current.to_dict()) if current is not None else {"code": code}
    for name, value in body.model_dump(mode="json", exclude_none=True).items():
        data[name] = value
    try:
        category = Category.from_dict(data)
    except ValueError as exc:
        raise ApiError(422, "invalid_category", str(exc)) from None
    row = session.get(CategoryOverride, (street_id, code))
    if row is None:
        session.add(CategoryOverride(street_id=street_id, code=code, data=category.to_dict()))
    else:
        row.data = category.to_dict()
    _bump_rules(session, street_id)
    session.flush()
    return {**category.to_dict(), "customized": True}


def reset_category(session: Session, street_id: str, code: str) -> None:
    """Drop the street's version of ``code``: the engine's default applies again (if it has one)."""
    result = session.execute(
        delete(CategoryOverride).where(CategoryOverride.street_id == street_id, CategoryOverride.code == code)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        known = code in CATEGORIES
        raise ApiError(404, "not_found", f"category {code} is {'not customized' if known else 'unknown'}")
    _bump_rules(session, street_id)
