"""What any signed-in user may read of their own street: who they are, its reference data, a case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy import select, text

from shared import PROTOCOL_VERSION, event_to_wire

from ..auth import Authenticated
from ..directory import categories_of, community_out, department_out, road_out, user_out
from ..errors import ApiError, error_responses
from ..models import CaseRow, Community, Department, PatrolRow, Road, Street, User
from ..pull import record_events
from ..schemas import Health, RecordOut, ReferenceOut, UserOut

__all__ = ["router"]

router = APIRouter(tags=["reference"])


@router.get("/api/v1/health", response_model=Health)
def health(request: Request) -> Health:
    """Liveness: the server answers and its database does too."""
    db = request.app.state.db
    with db.read() as session:
        session.execute(text("SELECT 1"))
    return Health(status="ok", database=db.dialect, protocol_version=PROTOCOL_VERSION)


@router.get("/api/v1/me", response_model=UserOut, responses=error_responses(401))
def me(user: Authenticated, request: Request) -> UserOut:
    with request.app.state.db.read() as session:
        row = session.get(User, user.id)
        assert row is not None
        return UserOut(**user_out(row))


@router.get("/api/v1/reference", response_model=ReferenceOut, responses=error_responses(401))
def reference(user: Authenticated, request: Request) -> ReferenceOut:
    """The street's communities, departments, roads and effective categories, for the phone's forms."""
    sid = user.street_id
    with request.app.state.db.read() as session:
        street = session.get(Street, sid)
        assert street is not None
        return ReferenceOut.model_validate(
            {
                "street": {"id": street.id, "name": street.name},
                "communities": [
                    community_out(r)
                    for r in session.scalars(
                        select(Community).where(Community.street_id == sid).order_by(Community.name)
                    )
                ],
                "departments": [
                    department_out(r)
                    for r in session.scalars(
                        select(Department).where(Department.street_id == sid).order_by(Department.name)
                    )
                ],
                "roads": [
                    road_out(r)
                    for r in session.scalars(select(Road).where(Road.street_id == sid).order_by(Road.name))
                ],
                "categories": categories_of(session, sid),
                # names for the phone's timelines: who did what, not a user id
                "people": [
                    {"id": r.id, "display_name": r.display_name or r.id, "role": r.role}
                    for r in session.execute(
                        select(User.id, User.display_name, User.role)
                        .where(User.street_id == sid, User.active.is_(True))
                        .order_by(User.display_name)
                    )
                ],
            }
        )


RecordId = Annotated[str, Path(min_length=1, max_length=64)]


def _record(request: Request, street_id: str, record_id: str, table: type, kind: str) -> RecordOut:
    with request.app.state.db.read() as session:
        row = session.execute(
            select(table.data).where(table.id == record_id, table.street_id == street_id)  # type: ignore[attr-defined]
        ).first()
        if row is None:
            raise ApiError(404, "not_found", f"no {kind} {record_id!r} in your street")
        events = [event_to_wire(e) for e in record_events(session, street_id, record_id)]
    return RecordOut(kind=kind, record=row.data, events=events)  # type: ignore[arg-type]


@router.get("/api/v1/cases/{case_id}", response_model=RecordOut, responses=error_responses(401, 404, 422))
def get_case(user: Authenticated, request: Request, case_id: RecordId) -> RecordOut:
    """A case of your street as the server holds it, with its events in server order."""
    return _record(request, user.street_id, case_id, CaseRow, "case")


@router.get("/api/v1/patrols/{patrol_id}", response_model=RecordOut, responses=error_responses(401, 404, 422))
def get_patrol(user: Authenticated, request: Request, patrol_id: RecordId) -> RecordOut:
    """A patrol of your street, with its events."""
    return _record(request, user.street_id, patrol_id, PatrolRow, "patrol")
