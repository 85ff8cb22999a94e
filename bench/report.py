"""How long the evaluation (综合评价) takes on a big street, and how much memory it needs.

    python bench/report.py [--cases 100000] [--database-url URL]

Builds a street with CASES cases (default 100,000) over one year: each case's events are made by
the engine (``engine.apply``, so the log and the snapshots are exactly what pushes would have
stored) and inserted with Core ``executemany`` in batches, bypassing HTTP. Then it times the full
evaluation for every scope and reports peak memory, next to a baseline in the same run: a plain
``SELECT count(*) … GROUP BY`` over the same events. The evaluation is SQL aggregation, so the
Python side holds a few rows per group, never the cases.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, update

from engine import Actor, Case, Event, Patrol, Rejection, Role, apply
from server import Database, Settings
from server.auth import Passwords
from server.directory import create_community, create_department, create_street, create_user
from server.facts import StepVisits, epoch, event_facts, facts
from server.migrations import upgrade_database
from server.models import CaseRow, EventRow, PatrolRow, Road, StreetCounter
from server.report import Period, Scope, evaluate
from server.schemas import UserIn

SHA = "cd" * 32
START = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
SCRIPTS = (
    (50, ("dispatch", "accept", "complete", "approve")),
    (10, ("dispatch", "accept", "complete", "reject", "complete", "approve")),
    (6, ("dispatch", "return_case", "dispatch", "accept", "complete", "approve")),
    (6, ("escalate", "dispatch", "accept", "complete", "approve")),
    (10, ("fix_on_spot", "approve")),
    (5, ("cancel",)),
    (5, ("dispatch", "accept")),
    (4, ("dispatch",)),
    (4, ()),
)
ARGS = {
    "escalate": {"reason": "需要街道协调"},
    "return_case": {"reason": "不属于本部门"},
    "complete": {"note": "已处理", "photos": [SHA]},
    "fix_on_spot": {"note": "已现场处置", "photos": [SHA]},
    "approve": {"note": "核实"},
    "reject": {"reason": "返工"},
    "cancel": {"reason": "不属实"},
}


def build(url: str, cases: int, seed: int = 1) -> str:
    """The street and its cases; returns the street's id."""
    rng = random.Random(seed)
    upgrade_database(url)
    db = Database(url)
    passwords = Passwords(Settings(password_time_cost=1, password_memory_kib=1024))
    with db.write() as s:
        street = create_street(s, "基准街道")
        sid = street.id
        communities = [create_community(s, sid, f"社区{i}").id for i in range(6)]
        departments = [create_department(s, sid, f"部门{i}").id for i in range(9)]
        roads: list[tuple[str, str]] = []
        chiefs: dict[str, list[Actor]] = {}
        stations: dict[str, Actor] = {}
        for c in communities:
            chiefs[c] = []
            for k in range(3):
                u = create_user(
                    s,
                    passwords,
                    sid,
                    UserIn(
                        username=f"chief-{c[:8]}-{k}",
                        password="benchmark1",
                        role=Role.ROAD_CHIEF,
                        community_id=c,
                    ),
                )
                chiefs[c].append(Actor(u.id, sid, c))
            u = create_user(
                s,
                passwords,
                sid,
                UserIn(
                    username=f"station-{c[:8]}", password="benchmark1", role=Role.COORDINATOR, community_id=c
                ),
            )
            stations[c] = Actor(u.id, sid, c)
            for r in range(5):
                road_id = str(uuid.uuid4())
                roads.append((road_id, c))
                s.add(
                    Road(
                        id=road_id,
                        street_id=sid,
                        community_id=c,
                        name=f"{c[:4]}路{r}",
                        geometry={"type": "LineString", "coordinates": [[116.1, 39.9], [116.2, 39.9]]},
                        chief_id=chiefs[c][r % 3].user_id,
                    )
                )
        handlers = {}
        for d in departments:
            u = create_user(
                s,
                passwords,
                sid,
                UserIn(
                    username=f"handler-{d[:8]}", password="benchmark1", role=Role.HANDLER, department_id=d
                ),
            )
            handlers[d] = Actor(u.id, sid, None, d)
        centre = Actor(
            create_user(
                s, passwords, sid, UserIn(username="centre-b", password="benchmark1", role=Role.COORDINATOR)
            ).id,
            sid,
        )
        supervisor = Actor(
            create_user(
                s, passwords, sid, UserIn(username="super-b", password="benchmark1", role=Role.SUPERVISOR)
            ).id,
            sid,
        )
    weights = [w for w, _ in SCRIPTS]
    seq = 0
    events: list[dict[str, Any]] = []
    snapshots: list[dict[str, Any]] = []
    visits = StepVisits()  # the step_visits rows, by the push's own code
    started = time.perf_counter()

    def flush(final: bool = False) -> None:
        if len(events) >= 20_000 or (final and events):
            with db.write() as s:
                s.execute(insert(EventRow), events)
                visits.write(s)
                if snapshots:
                    s.execute(
                        insert(CaseRow if "category_code" in snapshots[0]["data"] else PatrolRow), snapshots
                    )
            events.clear()
            snapshots.clear()

    def record(event: Event, result: Case | Patrol) -> None:
        nonlocal seq
        seq += 1
        events.append(
            {
                "street_id": sid,
                "street_seq": seq,
                "id": event.id,
                "case_id": event.case_id,
                "name": event.name,
                "actor_id": event.actor.user_id,
                "role": event.role.value,
                "community_id": event.actor.community_id,
                "department_id": event.actor.department_id,
                "occurred_at": event.occurred_at.isoformat(),
                "received_at": event.received_at,
                "args": dict(event.args),
                **event_facts(event),  # the report's columns, as the push writes them
            }
        )

    for n in range(cases):
        road_id, community = rng.choice(roads)
        chief = rng.choice(chiefs[community])
        at = START + timedelta(minutes=rng.uniform(0, 364 * 24 * 60))
        case_id = str(uuid.uuid4())
        script = rng.choices(SCRIPTS, weights)[0][1]
        steps: list[tuple[Actor, Role, str, dict[str, Any]]] = [
            (
                chief,
                Role.ROAD_CHIEF,
                "report",
                {"category": "E0501", "road_id": road_id, "description": "占道"},
            )
        ]
        coordinator = stations[community]
        department = rng.choice(departments)
        for name in script:
            if name == "dispatch":
                if steps[-1][2] == "return_case":
                    department = rng.choice([d for d in departments if d != department])
                steps.append((coordinator, Role.COORDINATOR, name, {"department_id": department}))
            elif name == "escalate":
                steps.append((coordinator, Role.COORDINATOR, name, ARGS[name]))
                coordinator = centre
            elif name == "cancel":
                steps.append((coordinator, Role.COORDINATOR, name, ARGS[name]))
            elif name in ("accept", "complete", "return_case"):
                steps.append((handlers[department], Role.HANDLER, name, ARGS.get(name, {})))
            elif name == "fix_on_spot":
                steps.append((chief, Role.ROAD_CHIEF, name, ARGS[name]))
            else:
                steps.append((supervisor, Role.SUPERVISOR, name, ARGS[name]))
        case: Case | None = None
        dispatched: str | None = None  # the last dispatch's department, as the push tracks it
        for actor, role, name, args in steps:
            event = Event(str(uuid.uuid4()), case_id, name, actor, role, at, args, received_at=at)
            result = apply(case, event)
            if isinstance(result, Rejection):
                raise RuntimeError(f"{name}: {result.message_en}")
            # the step visit as the push records it (server.sync): the engine's step before and after
            assert isinstance(result, Case)
            before = case.step if case is not None else None
            visits.record(sid, case_id, before, result.step, seq + 1, epoch(event.occurred_at))
            case = result
            if name == "dispatch":
                dispatched = args["department_id"]
            record(event, result)
            at += timedelta(hours=rng.uniform(0.2, 30))
        assert case is not None
        snapshots.append(
            {
                "id": case_id,
                "street_id": sid,
                "state": case.state.value,
                "version": case.version,
                "data": case.to_dict(),
                **facts(case, dispatched),
            }
        )
        flush()
        if n and n % 20_000 == 0:
            print(f"  {n:,} cases ({time.perf_counter() - started:.0f} s)", flush=True)
    flush(final=True)
    # patrols: one for every four cases, each with a start and an end
    for _ in range(cases // 4):
        road_id, community = rng.choice(roads)
        chief = rng.choice(chiefs[community])
        at = START + timedelta(minutes=rng.uniform(0, 364 * 24 * 60))
        patrol_id = str(uuid.uuid4())
        patrol: Patrol | None = None
        for name, args in (("start_patrol", {"road_id": road_id}), ("end_patrol", {"findings": []})):
            event = Event(
                str(uuid.uuid4()), patrol_id, name, chief, Role.ROAD_CHIEF, at, args, received_at=at
            )
            patrol = apply(patrol, event)  # type: ignore[assignment]
            record(event, patrol)  # type: ignore[arg-type]
            at += timedelta(minutes=40)
        assert isinstance(patrol, Patrol)
        snapshots.append(
            {
                "id": patrol_id,
                "street_id": sid,
                "state": patrol.state.value,
                "version": patrol.version,
                "data": patrol.to_dict(),
                **facts(patrol),
            }
        )
        flush()
    flush(final=True)
    with db.write() as s:
        s.execute(update(StreetCounter).where(StreetCounter.street_id == sid).values(value=seq))
    print(
        f"built {cases:,} cases, {cases // 4:,} patrols, {seq:,} events "
        f"in {time.perf_counter() - started:.0f} s"
    )
    db.dispose()
    return sid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file in a temp dir")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    sid = build(url, args.cases)
    db = Database(url)
    period = Period(date(2026, 1, 1), date(2026, 12, 31))
    now = datetime(2027, 1, 1, tzinfo=UTC)
    with db.read() as s:
        t = time.perf_counter()
        counted = s.execute(
            select(EventRow.name, func.count()).where(EventRow.street_id == sid).group_by(EventRow.name)
        ).all()
        s.execute(
            select(CaseRow.state, func.count()).where(CaseRow.street_id == sid).group_by(CaseRow.state)
        ).all()
        baseline = time.perf_counter() - t
    print(
        f"{db.dialect}: baseline SELECT count(*) GROUP BY over {sum(c for _, c in counted):,} events "
        f"and the case snapshots: {baseline:.2f} s"
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    total = cpu_total = 0.0
    for scope in Scope:
        with db.read() as s:
            t, cpu = time.perf_counter(), time.process_time()
            report = evaluate(s, sid, period, now, scope)
            elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        total += elapsed
        cpu_total += cpu
        # this process's CPU: SQLite's whole work on a busy machine (PostgreSQL's runs elsewhere)
        print(f"  {scope.value:<11} {len(report.rows):>4} rows  {elapsed:6.2f} s  (cpu {cpu:5.2f} s)")
    print(
        f"full evaluation (5 scopes): {total:.2f} s = {total / baseline:.0f}× the baseline "
        f"(cpu {cpu_total:.2f} s)"
    )
    tracemalloc.start()
    with db.read() as s:
        evaluate(s, sid, period, now, Scope.ROAD)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"peak Python memory of one evaluation (tracemalloc): {peak / 2**20:.1f} MiB; "
        f"process max RSS {rss_after / 1024:.0f} MiB (grew {max(0, rss_after - rss_before) / 1024:.0f} MiB "
        f"during the evaluations)"
    )
    first = report.rows[0]
    print(
        f"sample: {report.scope.value} {first.name}: reported {first['reported']}, "
        f"closure rate {first['closure_rate']}, disposal p90 {first.steps['disposal'].p90_hours} h"
    )
    db.dispose()


if __name__ == "__main__":
    main()
