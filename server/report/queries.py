"""The evaluation (综合评价) as SQL: every figure is a GROUP BY in the database, never a Python loop.

Four queries per report, each portable across SQLite and PostgreSQL (SQLAlchemy Core):

* **cases**: the cohort (cases reported in the period, read from the ``cases`` snapshots) grouped
  by the scope's key, with conditional sums for every count;
* **step times**: the visits to each step the push recorded (``step_visits``, migration 0003),
  joined to the cohort, then average and 90th percentile per step and group
  (``percentile_cont`` on PostgreSQL; the same linear interpolation with ``row_number`` /
  ``count`` windows on SQLite, over the visits rather than the whole log);
* **patrols**: ended patrols started in the period, and roads meeting the patrol rule;
* **trend**: reports and closures per day, folded into weeks.

Every fact read here is a plain column written with the snapshot or the event it comes from
(``server.facts``, migration 0002): times as epoch seconds (the instant, whatever offset the phone
wrote), the case's community, road, reporter, last dispatch department and counts. No query parses
JSON or converts text to time row by row. See docs/evaluation.md for the definitions.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from engine import OPEN_STATES, Role, State

from ..facts import epoch
from ..models import CaseRow, Community, Department, PatrolRow, Road, StepVisitRow, Street, User
from .definitions import (
    PatrolRule,
    Period,
    Report,
    Row,
    Scope,
    StepTime,
    TrendPoint,
)

__all__ = ["cohort", "evaluate", "names_of", "scope_exists"]

_HOUR = 3600.0
_DAY = 86400
_CST = 8 * 3600  # days and weeks are China days
_OPEN = tuple(sorted(s.value for s in OPEN_STATES))
NO_KEY = None


# --- portable time arithmetic ----------------------------------------------------------------------


class _day(FunctionElement[int]):
    """The China day number (days since 1970-01-01 CST) of an epoch-seconds expression."""

    type = Integer()
    inherit_cache = True
    name = "rc_day"


@compiles(_day, "sqlite")
def _day_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    # epoch times here are positive, so truncation is the floor
    return f"CAST((({compiler.process(element.clauses, **kw)}) + {_CST}) / {_DAY} AS INTEGER)"


@compiles(_day, "postgresql")
def _day_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR((({compiler.process(element.clauses, **kw)}) + {_CST}) / {_DAY}) AS INTEGER)"


def _ts(value: datetime) -> float:
    return epoch(value)  # rounded as the columns are


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


# --- the cohort --------------------------------------------------------------------------------------


def cohort(street_id: str, scope: Scope, period: Period | None) -> Any:
    """One row per case of the street (reported in ``period`` if given), with its scope key."""
    t = CaseRow.__table__
    columns: list[Any] = [
        t.c.id,
        t.c.state,
        t.c.reported_epoch.label("reported_t"),
        t.c.due_epoch.label("due_t"),
        t.c.completed_epoch.label("completed_t"),
        t.c.ended_epoch.label("ended_t"),
        t.c.rework_count.label("reworks"),
        t.c.return_count.label("returns"),
        t.c.dispatch_count.label("dispatches"),
        _flag(t.c.escalated).label("escalated"),
        _flag(t.c.fixed_on_spot).label("fixed"),
    ]
    query = select(*columns).where(t.c.street_id == street_id, t.c.state != State.PATROL.value)
    if scope is Scope.STREET:
        query = query.add_columns(literal(street_id).label("key"))
    elif scope is Scope.COMMUNITY:
        query = query.add_columns(t.c.community_id.label("key"))
    elif scope is Scope.ROAD:
        query = query.add_columns(t.c.road_id.label("key"))
    elif scope is Scope.CHIEF:
        # a case filed by a coordinator (a citizen's call) belongs to no chief
        chiefs = select(User.id).where(User.street_id == street_id, User.role == Role.ROAD_CHIEF.value)
        reporter = t.c.reporter_id
        query = query.add_columns(case((reporter.in_(chiefs), reporter), else_=None).label("key"))
    else:
        # the department of the last dispatch, kept by the push when a return clears the case's own
        query = query.add_columns(t.c.dispatch_department_id.label("key"))
    if period is not None:
        query = query.where(t.c.reported_epoch >= _ts(period.start), t.c.reported_epoch < _ts(period.end))
    return query.subquery("cohort")


def _only(query: Any, key: Any, scope_id: str | None) -> Any:
    return query.where(key == scope_id) if scope_id is not None else query


def _case_counts(
    session: Session, street_id: str, scope: Scope, scope_id: str | None, period: Period, now: datetime
) -> dict[str | None, dict[str, int]]:
    c = cohort(street_id, scope, period)
    closed = c.c.state == State.CLOSED.value
    query = select(
        c.c.key,
        func.count().label("reported"),
        func.sum(_flag(c.c.state == State.CANCELLED.value)).label("cancelled"),
        func.sum(_flag(c.c.state == State.MERGED.value)).label("merged"),
        func.sum(_flag(closed)).label("closed"),
        func.sum(_flag(and_(closed, or_(c.c.due_t.is_(None), c.c.completed_t <= c.c.due_t)))).label(
            "closed_on_time"
        ),
        func.sum(_flag(and_(c.c.state.in_(_OPEN), c.c.due_t.is_not(None), c.c.due_t < _ts(now)))).label(
            "overdue_open"
        ),
        func.sum(_flag(c.c.completed_t.is_not(None))).label("supervised"),
        func.sum(_flag(c.c.reworks > 0)).label("reworked_cases"),
        func.sum(c.c.reworks).label("rework_count"),
        func.sum(c.c.returns).label("returns"),
        func.sum(_flag(c.c.returns > 0)).label("returned_cases"),
        func.sum(case((c.c.dispatches > 1, c.c.dispatches - 1), else_=0)).label("redispatches"),
        func.sum(c.c.escalated).label("escalated"),
        func.sum(c.c.fixed).label("fixed_on_spot"),
    ).group_by(c.c.key)
    out: dict[str | None, dict[str, int]] = {}
    for row in session.execute(_only(query, c.c.key, scope_id)).mappings():
        out[row["key"]] = {name: int(value or 0) for name, value in row.items() if name != "key"}
    return out


# --- step times ------------------------------------------------------------------------------------


def _visits(street_id: str, scope: Scope, period: Period) -> Any:
    """(key, step, seconds) for every completed visit of a cohort case to a step, and its whole loop.

    The visits are rows the push wrote (``step_visits``, migration 0003); the key is the case's
    current one, from the cohort. An open visit (``left_epoch`` NULL) has no end and is not a
    duration.
    """
    sv = StepVisitRow.__table__
    cases = cohort(street_id, scope, period)
    # device clocks can disagree: a negative visit counts as zero
    seconds = case((sv.c.left_epoch < sv.c.entered_epoch, 0.0), else_=sv.c.left_epoch - sv.c.entered_epoch)
    # joining the cohort (this street's cases) keeps to the street: a case's visits are its street's
    visits = (
        select(cases.c.key, sv.c.step, seconds.label("seconds"))
        .join_from(sv, cases, cases.c.id == sv.c.case_id)
        .where(sv.c.left_epoch.is_not(None))
    )
    cycle_seconds = case(
        (cases.c.ended_t < cases.c.reported_t, 0.0), else_=cases.c.ended_t - cases.c.reported_t
    )
    cycle = select(cases.c.key, literal("cycle").label("step"), cycle_seconds.label("seconds")).where(
        cases.c.state == State.CLOSED.value
    )
    return visits.union_all(cycle).subquery("visits")


def _step_times(
    session: Session, street_id: str, scope: Scope, scope_id: str | None, period: Period
) -> dict[str | None, dict[str, StepTime]]:
    v = _visits(street_id, scope, period)
    if session.get_bind().dialect.name == "postgresql":
        query = select(
            v.c.key,
            v.c.step,
            func.count().label("n"),
            func.avg(v.c.seconds).label("avg"),
            func.percentile_cont(0.9).within_group(v.c.seconds).label("p90"),
        ).group_by(v.c.key, v.c.step)
        query = _only(query, v.c.key, scope_id)
    else:
        query = _only(_p90_by_windows(v), None, None) if scope_id is None else _p90_by_windows(v, scope_id)
    out: dict[str | None, dict[str, StepTime]] = defaultdict(dict)
    for row in session.execute(query).mappings():
        out[row["key"]][row["step"]] = StepTime(
            row["step"],
            int(row["n"]),
            _hours(row["avg"]),
            _hours(row["p90"]),
        )
    return out


def _p90_by_windows(v: Any, scope_id: str | None = None) -> Any:
    """percentile_cont(0.9) without it: rank each group's values, interpolate between two ranks.

    With n values sorted v[0..n-1], position p = 0.9 (n − 1) = lo + frac; the result is
    v[lo] + frac (v[lo+1] − v[lo]). Integer arithmetic (9 (n − 1) / 10 and its remainder) keeps
    lo exact where floating point would put 0.9 × 10 a hair under 9.
    """
    source = select(v).where(v.c.key == scope_id).subquery("v1") if scope_id is not None else v
    # one window definition (the count's frame spans the whole group), so the values are sorted once
    window = {"partition_by": (source.c.key, source.c.step), "order_by": source.c.seconds}
    ranked = select(
        source.c.key,
        source.c.step,
        source.c.seconds,
        (func.row_number().over(**window) - 1).label("rn"),
        func.count().over(**window, rows=(None, None)).label("n"),
    ).subquery("ranked")
    lo = (9 * (ranked.c.n - 1)) // 10
    frac = ((9 * (ranked.c.n - 1)) % 10) / 10.0
    p90 = func.sum(
        case(
            (ranked.c.rn == lo, ranked.c.seconds * (1 - frac)),
            (ranked.c.rn == lo + 1, ranked.c.seconds * frac),
            else_=0.0,
        )
    )
    return select(
        ranked.c.key,
        ranked.c.step,
        func.count().label("n"),
        func.avg(ranked.c.seconds).label("avg"),
        p90.label("p90"),
    ).group_by(ranked.c.key, ranked.c.step)


def _hours(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / _HOUR, 4)


# --- patrols ---------------------------------------------------------------------------------------


def _patrol_key(scope: Scope, street_id: str, patrols: Any) -> Any:
    return {
        Scope.STREET: literal(street_id),
        Scope.COMMUNITY: patrols.c.community_id,
        Scope.ROAD: patrols.c.road_id,
        Scope.CHIEF: patrols.c.chief_id,
    }[scope]


def _road_key(scope: Scope, street_id: str, roads: Any) -> Any:
    return {
        Scope.STREET: literal(street_id),
        Scope.COMMUNITY: roads.c.community_id,
        Scope.ROAD: roads.c.id,
        Scope.CHIEF: roads.c.chief_id,
    }[scope]


def _ended_patrols(street_id: str, period: Period) -> Any:
    p = PatrolRow.__table__
    started = p.c.started_epoch
    return (
        select(p.c.community_id, p.c.road_id, p.c.chief_id, p.c.nothing_found)
        .where(
            p.c.street_id == street_id,
            p.c.state == "ended",
            started >= _ts(period.start),
            started < _ts(period.end),
        )
        .subquery("ended_patrols")
    )


def _patrol_counts(
    session: Session,
    street_id: str,
    scope: Scope,
    scope_id: str | None,
    period: Period,
    required: int,
) -> dict[str | None, dict[str, int]]:
    if scope is Scope.DEPARTMENT:
        return {}
    ended = _ended_patrols(street_id, period)
    key = _patrol_key(scope, street_id, ended).label("key")
    walked = select(
        key,
        func.count().label("patrols"),
        func.sum(_flag(ended.c.nothing_found)).label("nothing_found"),
    ).group_by(key)
    out: dict[str | None, dict[str, int]] = defaultdict(
        lambda: {"patrols": 0, "patrols_with_findings": 0, "roads": 0, "roads_covered": 0}
    )
    for row in session.execute(_only(walked, key, scope_id)).mappings():
        out[row["key"]]["patrols"] = int(row["patrols"])
        out[row["key"]]["patrols_with_findings"] = int(row["patrols"]) - int(row["nothing_found"] or 0)
    # coverage: per road first (patrols on it), then rolled up to the scope through the road register
    road_key = ended.c.road_id
    per_road = (
        select(road_key.label("road_id"), func.count().label("n")).group_by(road_key).subquery("per_road")
    )
    roads = Road.__table__
    rkey = _road_key(scope, street_id, roads).label("key")
    coverage = (
        select(
            rkey,
            func.count().label("roads"),
            func.sum(_flag(func.coalesce(per_road.c.n, 0) >= required)).label("covered"),
        )
        .select_from(roads.outerjoin(per_road, per_road.c.road_id == roads.c.id))
        .where(roads.c.street_id == street_id)
        .group_by(rkey)
    )
    for row in session.execute(_only(coverage, rkey, scope_id)).mappings():
        out[row["key"]]["roads"] = int(row["roads"])
        out[row["key"]]["roads_covered"] = int(row["covered"] or 0)
    return dict(out)


# --- trend -----------------------------------------------------------------------------------------


def _trend(
    session: Session, street_id: str, scope: Scope, scope_id: str | None, period: Period
) -> tuple[TrendPoint, ...]:
    c = cohort(street_id, scope, None)
    lo, hi = _ts(period.start), _ts(period.end)
    day_reported = _day(c.c.reported_t)
    reported = _only(
        select(day_reported.label("day"), func.count().label("n"))
        .where(c.c.reported_t >= lo, c.c.reported_t < hi)
        .group_by(day_reported),
        c.c.key,
        scope_id,
    )
    day_closed = _day(c.c.ended_t)
    closed = _only(
        select(day_closed.label("day"), func.count().label("n"))
        .where(c.c.state == State.CLOSED.value, c.c.ended_t >= lo, c.c.ended_t < hi)
        .group_by(day_closed),
        c.c.key,
        scope_id,
    )
    weeks: dict[date, list[int]] = {}
    monday = period.first - timedelta(days=period.first.weekday())
    while monday <= period.last:
        weeks[monday] = [0, 0]
        monday += timedelta(days=7)
    epoch_day = date(1970, 1, 1)
    for column, query in ((0, reported), (1, closed)):
        for day_number, count in session.execute(query):
            day = epoch_day + timedelta(days=int(day_number))
            weeks[day - timedelta(days=day.weekday())][column] += int(count)
    return tuple(TrendPoint(week, r, c_) for week, (r, c_) in weeks.items())


# --- names and the whole report --------------------------------------------------------------------


def names_of(session: Session, street_id: str, scope: Scope) -> dict[str | None, str]:
    """Every member of the scope in the street (so a group with nothing to show still has a row)."""
    if scope is Scope.STREET:
        street = session.get(Street, street_id)
        return {street_id: street.name if street is not None else street_id}
    if scope is Scope.CHIEF:
        rows = session.execute(
            select(User.id, User.display_name, User.username).where(
                User.street_id == street_id, User.role == Role.ROAD_CHIEF.value
            )
        )
        return {r.id: f"{r.display_name} ({r.username})" if r.display_name else r.username for r in rows}
    model: Any = {Scope.COMMUNITY: Community, Scope.DEPARTMENT: Department, Scope.ROAD: Road}[scope]
    rows = session.execute(select(model.id, model.name).where(model.street_id == street_id))
    return {r.id: r.name for r in rows}


def scope_exists(session: Session, street_id: str, scope: Scope, scope_id: str) -> bool:
    """Whether ``scope_id`` names a member of ``scope`` in ``street_id`` (another street's is not)."""
    return scope_id in names_of(session, street_id, scope)


_NONE_LABEL = {
    Scope.DEPARTMENT: "未派遣 not dispatched",
    Scope.COMMUNITY: "无社区 no community",
    Scope.CHIEF: "非路长上报 not reported by a chief",
}


def evaluate(
    session: Session,
    street_id: str,
    period: Period,
    now: datetime,
    scope: Scope = Scope.STREET,
    scope_id: str | None = None,
    rule: PatrolRule | None = None,
) -> Report:
    """The street's figures for cases reported in ``period``, grouped by ``scope``, as of ``now``."""
    rule = rule or PatrolRule()
    required = rule.required(period)
    names = names_of(session, street_id, scope)
    street = session.get(Street, street_id)
    cases = _case_counts(session, street_id, scope, scope_id, period, now)
    steps = _step_times(session, street_id, scope, scope_id, period)
    patrols = _patrol_counts(session, street_id, scope, scope_id, period, required)
    if scope_id is not None:
        keys: list[str | None] = [scope_id]
    else:
        keys = sorted(names, key=lambda k: names[k])
        extra = (set(cases) | set(patrols)) - set(names)
        keys += sorted(extra, key=lambda k: (k is not None, k or ""))
    rows = []
    for key in keys:
        name = names.get(key) or (_NONE_LABEL.get(scope, "—") if key is None else str(key))
        rows.append(
            Row(key, name, _figures(cases.get(key), patrols.get(key), scope), dict(steps.get(key, {})))
        )
    return Report(
        street_id=street_id,
        street_name=street.name if street is not None else street_id,
        scope=scope,
        scope_id=scope_id,
        period=period,
        now=now,
        rule=rule,
        required_patrols=required,
        rows=tuple(rows),
        trend=_trend(session, street_id, scope, scope_id, period),
    )


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)


def _figures(
    counts: dict[str, int] | None, patrols: dict[str, int] | None, scope: Scope
) -> dict[str, int | float | None]:
    c = defaultdict(int, counts or {})
    filed = c["reported"] - c["cancelled"] - c["merged"]
    out: dict[str, int | float | None] = {
        "reported": c["reported"],
        "cancelled": c["cancelled"],
        "merged": c["merged"],
        "filed": filed,
        "closed": c["closed"],
        "closure_rate": _rate(c["closed"], filed),
        "closed_on_time": c["closed_on_time"],
        "on_time_rate": _rate(c["closed_on_time"], filed),
        "open": filed - c["closed"],
        "overdue_open": c["overdue_open"],
        "supervised": c["supervised"],
        "reworked_cases": c["reworked_cases"],
        "rework_count": c["rework_count"],
        "rework_rate": _rate(c["reworked_cases"], c["supervised"]),
        "returns": c["returns"],
        "returned_cases": c["returned_cases"],
        "redispatches": c["redispatches"],
        "escalated": c["escalated"],
        "escalation_rate": _rate(c["escalated"], c["reported"]),
        "fixed_on_spot": c["fixed_on_spot"],
    }
    if scope is Scope.DEPARTMENT:
        out.update(
            dict.fromkeys(("patrols", "patrols_with_findings", "roads", "roads_covered", "coverage_rate"))
        )
    else:
        p = defaultdict(int, patrols or {})
        out.update(
            {
                "patrols": p["patrols"],
                "patrols_with_findings": p["patrols_with_findings"],
                "roads": p["roads"],
                "roads_covered": p["roads_covered"],
                "coverage_rate": _rate(p["roads_covered"], p["roads"]),
            }
        )
    return out
