"""``GET /api/v1/report``: the evaluation (综合评价) for the app's supervisor screen."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from engine import Role

from ..auth import Authenticated
from ..errors import ApiError, error_responses
from ..report import PatrolRule, Period, Scope, evaluate, scope_exists
from ..report.export import report_to_dict

__all__ = ["ReportOut", "router"]

router = APIRouter(tags=["report"])

READERS = frozenset({Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN})


class StepTimeOut(BaseModel):
    visits: int = Field(description="completed visits of the group's cases to this step")
    avg_hours: float | None = Field(description="average length of a visit, clock hours")
    p90_hours: float | None = Field(description="90th percentile (linear interpolation), clock hours")


class ReportRowOut(BaseModel):
    key: str | None = Field(description="id of the community / department / road / chief; null: none")
    name: str
    figures: dict[str, int | float | None] = Field(description="keyed as in `definitions`; rates are 0–1")
    steps: dict[str, StepTimeOut] = Field(description="feedback, coordination, disposal, supervision, cycle")


class TrendOut(BaseModel):
    week_start: date
    reported: int
    closed: int


class DefinitionOut(BaseModel):
    key: str
    zh: str
    en: str
    formula: str
    kind: str


class ReportOut(BaseModel):
    """The figures of cases reported in [from, to] (China days), grouped by scope. See docs/evaluation.md."""

    model_config = ConfigDict(populate_by_name=True)

    street_id: str
    street_name: str
    scope: Scope
    id: str | None
    from_: date = Field(alias="from")
    to: date
    now: datetime = Field(description="the moment open cases are judged overdue at")
    rule: str
    required_patrols: int
    rows: list[ReportRowOut]
    trend: list[TrendOut]
    definitions: list[DefinitionOut]


@router.get(
    "/api/v1/report",
    response_model=ReportOut,
    responses=error_responses(401, 403, 404, 422),
)
def get_report(
    user: Authenticated,
    request: Request,
    first: Annotated[date, Query(alias="from", description="first day, China time")],
    last: Annotated[date, Query(alias="to", description="last day, included")],
    scope: Scope = Scope.STREET,
    id: Annotated[str | None, Query(max_length=36, description="one member of the scope")] = None,
    now: Annotated[datetime | None, Query(description="judge overdue at this moment (default: now)")] = None,
    patrols: Annotated[int, Query(ge=1, le=100, description="patrol rule: times …")] = 2,
    per_days: Annotated[int, Query(ge=1, le=366, description="… per this many days")] = 30,
) -> Any:
    """综合评价 for supervisors, coordinators and admins of the street; others are refused (403)."""
    if user.role not in READERS:
        raise ApiError(403, "forbidden", "only supervisors, coordinators and admins read the evaluation")
    try:
        period = Period(first, last)
    except ValueError as exc:
        raise ApiError(422, "invalid_period", str(exc)) from None
    if now is not None and now.tzinfo is None:
        raise ApiError(422, "invalid_time", "now needs a timezone offset")
    with request.app.state.db.read() as session:
        if id is not None and not scope_exists(session, user.street_id, scope, id):
            raise ApiError(404, "not_found", f"no {scope.value} {id!r} in your street")
        report = evaluate(
            session,
            user.street_id,
            period,
            now or datetime.now(UTC),
            scope,
            id,
            PatrolRule(patrols, per_days),
        )
    return report_to_dict(report)
