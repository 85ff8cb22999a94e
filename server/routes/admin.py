"""``/api/v1/admin/...``: the street admin keeps the directory. Admin role only, own street only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy import select

from ..auth import AdminUser
from ..directory import (
    categories_of,
    community_out,
    create_community,
    create_department,
    create_road,
    create_user,
    department_out,
    put_category,
    rename,
    reset_category,
    road_out,
    update_road,
    update_user,
    user_out,
)
from ..errors import error_responses
from ..models import Community, Department, Road, User
from ..schemas import (
    CategoryIn,
    CategoryOut,
    CommunityOut,
    DepartmentOut,
    NameIn,
    RoadIn,
    RoadOut,
    RoadPatch,
    UserIn,
    UserOut,
    UserPatch,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=error_responses(401, 403, 422))

ItemId = Annotated[str, Path(min_length=1, max_length=36)]
Code = Annotated[str, Path(min_length=5, max_length=5, pattern=r"^[CE]\d{4}$")]
_WRITE = error_responses(404, 409)


def _list(request: Request, model: type, street_id: str, order: object) -> list:
    with request.app.state.db.read() as session:
        return list(session.scalars(select(model).where(model.street_id == street_id).order_by(order)))  # type: ignore[attr-defined]


# --- communities and departments -------------------------------------------------------------------


@router.get("/communities", response_model=list[CommunityOut])
def list_communities(admin: AdminUser, request: Request) -> list[dict]:
    return [community_out(r) for r in _list(request, Community, admin.street_id, Community.name)]


@router.post("/communities", response_model=CommunityOut, status_code=201, responses=_WRITE)
def add_community(admin: AdminUser, body: NameIn, request: Request) -> dict:
    with request.app.state.db.write() as session:
        return community_out(create_community(session, admin.street_id, body.name))


@router.patch("/communities/{item_id}", response_model=CommunityOut, responses=_WRITE)
def rename_community(admin: AdminUser, item_id: ItemId, body: NameIn, request: Request) -> dict:
    with request.app.state.db.write() as session:
        return community_out(rename(session, Community, admin.street_id, item_id, body.name))


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(admin: AdminUser, request: Request) -> list[dict]:
    return [department_out(r) for r in _list(request, Department, admin.street_id, Department.name)]


@router.post("/departments", response_model=DepartmentOut, status_code=201, responses=_WRITE)
def add_department(admin: AdminUser, body: NameIn, request: Request) -> dict:
    with request.app.state.db.write() as session:
        return department_out(create_department(session, admin.street_id, body.name))


@router.patch("/departments/{item_id}", response_model=DepartmentOut, responses=_WRITE)
def rename_department(admin: AdminUser, item_id: ItemId, body: NameIn, request: Request) -> dict:
    with request.app.state.db.write() as session:
        return department_out(rename(session, Department, admin.street_id, item_id, body.name))


# --- roads -----------------------------------------------------------------------------------------


@router.get("/roads", response_model=list[RoadOut])
def list_roads(admin: AdminUser, request: Request) -> list[dict]:
    return [road_out(r) for r in _list(request, Road, admin.street_id, Road.name)]


@router.post("/roads", response_model=RoadOut, status_code=201, responses=_WRITE)
def add_road(admin: AdminUser, body: RoadIn, request: Request) -> dict:
    """A road as a GeoJSON LineString of ``[lon, lat]`` positions, optionally in a community."""
    with request.app.state.db.write() as session:
        return road_out(create_road(session, admin.street_id, body))


@router.patch("/roads/{item_id}", response_model=RoadOut, responses=_WRITE)
def change_road(admin: AdminUser, item_id: ItemId, body: RoadPatch, request: Request) -> dict:
    with request.app.state.db.write() as session:
        return road_out(update_road(session, admin.street_id, item_id, body))


# --- users -----------------------------------------------------------------------------------------


@router.get("/users", response_model=list[UserOut])
def list_users(admin: AdminUser, request: Request) -> list[dict]:
    return [user_out(r) for r in _list(request, User, admin.street_id, User.username)]


@router.post("/users", response_model=UserOut, status_code=201, responses=_WRITE)
def add_user(admin: AdminUser, body: UserIn, request: Request) -> dict:
    """A user of this street with a role and its scope (community for chiefs, department for handlers)."""
    state = request.app.state
    with state.db.write() as session:
        return user_out(create_user(session, state.passwords, admin.street_id, body))


@router.patch("/users/{item_id}", response_model=UserOut, responses=_WRITE)
def change_user(admin: AdminUser, item_id: ItemId, body: UserPatch, request: Request) -> dict:
    """Change a user's role, scope, name or password, or deactivate them (which ends their sessions)."""
    state = request.app.state
    with state.db.write() as session:
        return user_out(update_user(session, state.passwords, admin.street_id, item_id, body))


# --- categories ------------------------------------------------------------------------------------


@router.get("/categories", response_model=list[CategoryOut])
def list_categories(admin: AdminUser, request: Request) -> list[dict]:
    """The street's effective categories: the engine's table with the street's changes laid over it."""
    with request.app.state.db.read() as session:
        return categories_of(session, admin.street_id)


@router.put("/categories/{code}", response_model=CategoryOut, responses=_WRITE)
def set_category(admin: AdminUser, code: Code, body: CategoryIn, request: Request) -> dict:
    """Set this street's names or deadlines (处置时限) for a category, or add a category of its own."""
    with request.app.state.db.write() as session:
        return put_category(session, admin.street_id, code, body)


@router.delete("/categories/{code}", status_code=204, responses=_WRITE)
def drop_category(admin: AdminUser, code: Code, request: Request) -> Response:
    """Go back to the engine's default for this category."""
    with request.app.state.db.write() as session:
        reset_category(session, admin.street_id, code)
    return Response(status_code=204)
