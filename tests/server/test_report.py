"""Every figure of the evaluation against a hand-made street whose answers are worked out below.

The data set: one street, two communities, two departments, three roads, eight cases in the week
of 2026-11-02 (China time) with exact times, plus one case before it and one after it, and six
patrols. Each case is pushed through ``server.sync.apply_push`` (the engine decides, as for a
phone). Times are written as hours after H0 = Monday 2026-11-02 09:00 CST (01:00 UTC); half of the
events carry +08:00, half UTC, so the SQL must compare instants, not text.

    A  K1 R1  report 0, dispatch D1 (due 25) 1, accept 2, complete 10, approve 12     closed on time
    B  K1 R1  report 2, dispatch D1 (due 27) 3, accept 4, complete 20, reject 22,
              complete 30, reject 31, complete 33, approve 35                           closed late, 2 reworks
    C  K1 R2  report 5, fix on the spot 5.5, approve 7                                 closed, no deadline
    D  K2 R3  report 6, escalate 8, dispatch D2 (due 58) 10, return 12,
              dispatch D1 (due 38) 14, accept 15, complete 40, approve 41              closed late
    E  K2 R3  report 20, cancel 21                                                     cancelled
    F  K2 R3  report 22, merge into D 23                                               merged
    G  K1 R2  report 24, dispatch D2 (due 35) 25, accept 26                            open, overdue
    H  S1 R1  report 30 (a citizen's call, filed by the station)                       open, no deadline
    I  K1 R1  report −72 … approve 8   (before the period: not in the cohort, but its closure is)
    J  K2 R3  report 170               (after the period)
    now = 171 (Monday 2026-11-09 12:00 CST); period 2026-11-02 … 2026-11-08.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from engine import CHINA_TZ, Role
from server import Database, Settings
from server.auth import CurrentUser, Passwords
from server.directory import create_community, create_department, create_road, create_street, create_user
from server.migrations import upgrade_database
from server.report.definitions import PatrolRule, Period, Report, Scope
from server.report.queries import evaluate
from server.rules import load_rules
from server.schemas import LineString, RoadIn, UserIn
from server.seed import Phones, new_uuid

from .conftest import PG_URL, _create_pg_database, _drop_pg_database, start_server, stop_server

H0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
NOW = H0 + timedelta(hours=171)
PERIOD = Period(date(2026, 11, 2), date(2026, 11, 8))
# 4 patrols per 14 days over a 7-day period: round(4 × 7 / 14) = 2 patrols needed per road
RULE = PatrolRule(times=4, per_days=14)
PASSWORD = "correct horse battery"
SHA = "ab" * 32
CHEAP = Settings(password_time_cost=1, password_memory_kib=1024)
_flip = iter(range(10**6))


def h(hours: float) -> datetime:
    """H0 + hours; every other moment is written in China time (same instant, other offset)."""
    moment = H0 + timedelta(hours=hours)
    return moment.astimezone(CHINA_TZ) if next(_flip) % 2 else moment


@dataclass
class World:
    url: str
    street_id: str
    ids: dict[str, str]  # A..J, C1, C2, D1, D2, R1..R3, K1, K2, S1, other street


def _line() -> LineString:
    return LineString(type="LineString", coordinates=[[116.17, 39.93], [116.18, 39.94]])


def build(url: str) -> World:
    upgrade_database(url)
    db = Database(url)
    ids: dict[str, str] = {}
    passwords = Passwords(CHEAP)
    with db.write() as s:
        street = create_street(s, "测试街道")
        sid = street.id
        for key, name in (("C1", "甲社区"), ("C2", "乙社区")):
            ids[key] = create_community(s, sid, name).id
        for key, name in (("D1", "城管"), ("D2", "物业")):
            ids[key] = create_department(s, sid, name).id
        people: dict[str, CurrentUser] = {}
        cast = {
            "K1": (Role.ROAD_CHIEF, {"community_id": ids["C1"]}),
            "K2": (Role.ROAD_CHIEF, {"community_id": ids["C2"]}),
            "S1": (Role.COORDINATOR, {"community_id": ids["C1"]}),
            "S2": (Role.COORDINATOR, {"community_id": ids["C2"]}),
            "Z": (Role.COORDINATOR, {}),
            "H1": (Role.HANDLER, {"department_id": ids["D1"]}),
            "H2": (Role.HANDLER, {"department_id": ids["D2"]}),
            "V": (Role.SUPERVISOR, {}),
            "ADMIN": (Role.ADMIN, {}),
        }
        for key, (role, scope) in cast.items():
            row = create_user(
                s, passwords, sid, UserIn(username=f"t-{key.lower()}", password=PASSWORD, role=role, **scope)
            )
            people[key] = CurrentUser.of(row)
            ids[key] = row.id
        for key, community, chief in (("R1", "C1", "K1"), ("R2", "C1", "K1"), ("R3", "C2", "K2")):
            road = RoadIn(name=key, geometry=_line(), community_id=ids[community], chief_id=ids[chief])
            ids[key] = create_road(s, sid, road).id
        other = create_street(s, "别的街道")
        ids["other_community"] = create_community(s, other.id, "别处社区").id

        rng = random.Random(7)
        phones = Phones(s, load_rules(s, sid), rng)
        for key in "ABCDEFGHIJ":
            ids[key] = new_uuid(rng)

        def do(who: str, name: str, case: str, at: float, **args: Any) -> None:
            phones.act(people[who], name, ids.get(case, case), h(at), **args)

        def report(case: str, who: str, road: str, at: float) -> None:
            do(who, "report", case, at, category="E0601", road_id=ids[road], description=f"case {case}")

        def dispatch(case: str, who: str, dept: str, at: float, due: float) -> None:
            do(
                who,
                "dispatch",
                case,
                at,
                department_id=ids[dept],
                due_at=(H0 + timedelta(hours=due)).isoformat(),
            )

        done = {"note": "done", "photos": [SHA]}
        # I: before the period; its approval at 8 falls inside it
        report("I", "K1", "R1", -72)
        dispatch("I", "S1", "D1", -71, due=-47)
        do("H1", "accept", "I", -70)
        do("H1", "complete", "I", -60, **done)
        report("A", "K1", "R1", 0)
        dispatch("A", "S1", "D1", 1, due=25)
        do("H1", "accept", "A", 2)
        report("B", "K1", "R1", 2)
        dispatch("B", "S1", "D1", 3, due=27)
        do("H1", "accept", "B", 4)
        report("C", "K1", "R2", 5)
        do("K1", "fix_on_spot", "C", 5.5, **done)
        report("D", "K2", "R3", 6)
        do("V", "approve", "C", 7)
        do("S2", "escalate", "D", 8, reason="needs the street")
        do("V", "approve", "I", 8)
        dispatch("D", "Z", "D2", 10, due=58)
        do("H1", "complete", "A", 10, **done)
        do("H2", "return_case", "D", 12, reason="not ours")
        do("V", "approve", "A", 12)
        dispatch("D", "Z", "D1", 14, due=38)
        do("H1", "accept", "D", 15)
        do("H1", "complete", "B", 20, **done)
        report("E", "K2", "R3", 20)
        do("S2", "cancel", "E", 21, reason="not a problem")
        do("V", "reject", "B", 22, reason="not fixed")
        report("F", "K2", "R3", 22)
        do("S2", "merge", "F", 23, into=ids["D"])
        report("G", "K1", "R2", 24)
        dispatch("G", "S1", "D2", 25, due=35)
        do("H2", "accept", "G", 26)
        do("H1", "complete", "B", 30, **done)
        report("H", "S1", "R1", 30)
        do("V", "reject", "B", 31, reason="still not fixed")
        do("H1", "complete", "B", 33, **done)
        do("V", "approve", "B", 35)
        do("H1", "complete", "D", 40, **done)
        do("V", "approve", "D", 41)
        report("J", "K2", "R3", 170)
        # patrols: P1–P4 count; P5 never ended, P6 before the period
        for who, road, start, end, findings in (
            ("K1", "R1", -0.5, -0.25, ["A"]),
            ("K1", "R1", 50, 51, []),
            ("K1", "R2", 23.5, 24.5, ["G"]),
            ("K2", "R3", 60, 61, []),
            ("K2", "R3", 61, None, []),
            ("K1", "R1", -100, -99, []),
        ):
            patrol = new_uuid(rng)
            do(who, "start_patrol", patrol, start, road_id=ids[road])
            if end is not None:
                do(who, "end_patrol", patrol, end, findings=[ids[f] for f in findings])
    db.dispose()
    return World(url, sid, ids)


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres])],
)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'report.db'}"
    else:
        if PG_URL is None:
            pytest.skip("ROADCHIEF_TEST_PG_URL is not set (scripts/test sets it)")
        url, pg_name = _create_pg_database()
    try:
        yield build(url)
    finally:
        if pg_name is not None:
            _drop_pg_database(pg_name)


def run(world: World, scope: Scope = Scope.STREET, scope_id: str | None = None) -> Report:
    db = Database(world.url)
    try:
        with db.read() as session:
            return evaluate(session, world.street_id, PERIOD, NOW, scope, scope_id, RULE)
    finally:
        db.dispose()


def figures(report: Report, key: str | None) -> dict[str, Any]:
    (row,) = [r for r in report.rows if r.key == key]
    return row.figures


def test_street_figures(world: World) -> None:
    report = run(world)
    assert report.required_patrols == 2
    assert figures(report, world.street_id) == {
        "reported": 8,  # A–H (I before, J after the period)
        "cancelled": 1,  # E
        "merged": 1,  # F
        "filed": 6,  # 8 − 1 − 1
        "closed": 4,  # A, B, C, D
        "closure_rate": 0.6667,  # 4 / 6
        "closed_on_time": 2,  # A (10 ≤ 25), C (no deadline); B 33 > 27, D 40 > 38
        "on_time_rate": 0.3333,  # 2 / 6
        "open": 2,  # G, H
        "overdue_open": 1,  # G: due 35 < now 171; H has no deadline
        "supervised": 4,  # A, B, C, D completed at least once
        "reworked_cases": 1,  # B
        "rework_count": 2,  # B rejected twice
        "rework_rate": 0.25,  # 1 / 4
        "returns": 1,  # D
        "returned_cases": 1,
        "redispatches": 1,  # D dispatched twice
        "escalated": 1,  # D
        "escalation_rate": 0.125,  # 1 / 8
        "fixed_on_spot": 1,  # C
        "patrols": 4,  # P1–P4 (P5 still walking, P6 before the period)
        "patrols_with_findings": 2,  # P1, P3
        "roads": 3,
        "roads_covered": 1,  # R1 has 2 (P1, P2); R2 and R3 have 1
        "coverage_rate": 0.3333,
    }


def test_step_times_average_and_90th_percentile(world: World) -> None:
    (row,) = run(world).rows
    steps = {name: (s.visits, s.avg_hours, s.p90_hours) for name, s in row.steps.items()}
    # p90 of n sorted values: position 0.9 (n − 1), linear between its neighbours
    assert steps == {
        # A 1, B 1, C 0.5, D 2, E 1, F 1, G 1 (H still waiting): 7.5 / 7; pos 5.4 → 1 + 0.4 × (2 − 1)
        "feedback": (7, pytest.approx(1.0714, abs=1e-4), pytest.approx(1.4)),
        # D: escalated 8 → dispatch 10, returned 12 → dispatch 14
        "coordination": (2, 2.0, 2.0),
        # A 9; B 17, 8, 2; D 2, 26 (G still open): 64 / 6; sorted 2 2 8 9 17 26, pos 4.5 → 17 + 0.5 × 9
        "disposal": (6, pytest.approx(10.6667, abs=1e-4), pytest.approx(21.5)),
        # A 2; B 2, 1, 2; C 1.5; D 1: 9.5 / 6; sorted 1 1 1.5 2 2 2, pos 4.5 → 2
        "supervision": (6, pytest.approx(1.5833, abs=1e-4), pytest.approx(2.0)),
        # A 12, B 33, C 2, D 35: 82 / 4; sorted 2 12 33 35, pos 2.7 → 33 + 0.7 × 2
        "cycle": (4, 20.5, pytest.approx(34.4)),
    }


def test_community_figures(world: World) -> None:
    ids = world.ids
    report = run(world, Scope.COMMUNITY)
    assert sorted(r.name for r in report.rows) == sorted(["甲社区", "乙社区"])
    c1 = figures(report, ids["C1"])  # A B C G H
    assert (c1["reported"], c1["filed"], c1["closed"], c1["closure_rate"]) == (5, 5, 3, 0.6)
    assert (c1["closed_on_time"], c1["on_time_rate"], c1["open"], c1["overdue_open"]) == (2, 0.4, 2, 1)
    assert (c1["rework_rate"], c1["escalation_rate"], c1["fixed_on_spot"]) == (0.3333, 0.0, 1)  # 1 / 3
    # patrols walked by C1's chief: P1 P2 P3; roads R1 R2, only R1 has 2
    assert (c1["patrols"], c1["patrols_with_findings"], c1["roads"], c1["roads_covered"]) == (3, 2, 2, 1)
    c2 = figures(report, ids["C2"])  # D E F
    assert (c2["reported"], c2["cancelled"], c2["merged"], c2["filed"], c2["closed"]) == (3, 1, 1, 1, 1)
    assert (c2["closure_rate"], c2["on_time_rate"], c2["escalation_rate"]) == (1.0, 0.0, 0.3333)
    assert (c2["returns"], c2["redispatches"], c2["patrols"], c2["coverage_rate"]) == (1, 1, 1, 0.0)


def test_department_figures_follow_the_last_dispatch(world: World) -> None:
    ids = world.ids
    report = run(world, Scope.DEPARTMENT)
    d1 = figures(report, ids["D1"])  # A, B, D (D went to D2 first, then D1)
    assert (d1["reported"], d1["closed"], d1["closure_rate"], d1["closed_on_time"]) == (3, 3, 1.0, 1)
    assert (d1["rework_count"], d1["rework_rate"], d1["returns"], d1["escalated"]) == (2, 0.3333, 1, 1)
    assert d1["patrols"] is None  # departments do not patrol
    d2 = figures(report, ids["D2"])  # G
    assert (d2["reported"], d2["closed"], d2["overdue_open"], d2["rework_rate"]) == (1, 0, 1, None)
    none = figures(report, None)  # never dispatched: C, E, F, H
    assert (none["reported"], none["filed"], none["closed"], none["on_time_rate"]) == (4, 2, 1, 0.5)
    disposal = next(r for r in report.rows if r.key == ids["D1"]).steps["disposal"]
    assert (disposal.visits, disposal.avg_hours) == (6, pytest.approx(10.6667, abs=1e-4))


def test_road_and_chief_figures(world: World) -> None:
    ids = world.ids
    roads = run(world, Scope.ROAD)
    r1 = figures(roads, ids["R1"])  # A B H; patrols P1 P2
    assert (r1["reported"], r1["closed"], r1["closed_on_time"], r1["open"]) == (3, 2, 1, 1)
    assert (r1["patrols"], r1["patrols_with_findings"], r1["roads_covered"], r1["coverage_rate"]) == (
        2,
        1,
        1,
        1.0,
    )
    assert figures(roads, ids["R2"])["coverage_rate"] == 0.0  # P3 only
    chiefs = run(world, Scope.CHIEF)
    k1 = figures(chiefs, ids["K1"])  # reported A B C G; walked P1 P2 P3; owns R1 R2
    assert (k1["reported"], k1["closed"], k1["closure_rate"], k1["on_time_rate"]) == (4, 3, 0.75, 0.5)
    assert (k1["patrols"], k1["roads"], k1["roads_covered"]) == (3, 2, 1)
    assert figures(chiefs, None)["reported"] == 1  # H, filed by the station


def test_one_member_of_a_scope_and_the_weekly_trend(world: World) -> None:
    report = run(world, Scope.COMMUNITY, world.ids["C2"])
    assert [r.key for r in report.rows] == [world.ids["C2"]]
    assert report.rows[0]["reported"] == 3
    # C2 reported D E F; closures in the week among C2's cases: D
    assert [(p.week_start, p.reported, p.closed) for p in report.trend] == [(date(2026, 11, 2), 3, 1)]
    # the street: A–H reported; A B C D and I (reported before the period) closed in it
    assert [(p.reported, p.closed) for p in run(world).trend] == [(8, 5)]


def test_the_api_serves_the_same_figures_to_supervisors_only(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    process, base = start_server(world.url, tmp_path_factory.mktemp("api"))
    try:
        with httpx.Client(base_url=base, timeout=30) as client:

            def sign_in(username: str) -> dict[str, str]:
                answer = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
                assert answer.status_code == 200, answer.text
                return {"Authorization": f"Bearer {answer.json()['token']}"}

            query = {"from": "2026-11-02", "to": "2026-11-08", "scope": "community", "id": world.ids["C1"]}
            supervisor = sign_in("t-v")
            answer = client.get(
                "/api/v1/report", params={**query, "now": NOW.isoformat()}, headers=supervisor
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["scope"] == "community"
            assert (body["from"], body["to"], body["required_patrols"]) == ("2026-11-02", "2026-11-08", 1)
            (row,) = body["rows"]
            assert (row["name"], row["figures"]["reported"], row["figures"]["closure_rate"]) == (
                "甲社区",
                5,
                0.6,
            )
            assert row["figures"]["overdue_open"] == 1
            assert row["steps"]["supervision"]["visits"] == 5  # C1: A once, B three times, C once
            assert client.get("/api/v1/report", params=query, headers=sign_in("t-s1")).status_code == 200
            assert client.get("/api/v1/report", params=query, headers=sign_in("t-k1")).status_code == 403
            assert client.get("/api/v1/report", params=query, headers=sign_in("t-h1")).status_code == 403
            foreign = {**query, "id": world.ids["other_community"]}
            assert client.get("/api/v1/report", params=foreign, headers=supervisor).status_code == 404
            bad = {**query, "to": "2026-10-01"}
            assert client.get("/api/v1/report", params=bad, headers=supervisor).status_code == 422
            assert client.get("/api/v1/report", params=query).status_code == 401
    finally:
        stop_server(process)
