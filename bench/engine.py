"""Engine throughput and memory, against a plain-dict transition table doing the same checks.

    python bench/engine.py [CASES]

Folds CASES cases (default 100,000) through the whole loop with one rework (report, dispatch,
accept, complete, reject, complete, approve: 7 events each) and prints, from the same run:
events/s for the engine, events/s for the plain-dict baseline, their ratio, and the bytes per
case held in memory (tracemalloc; the folded case, not its log). Goal: ratio >= 0.08 and
<= 2,000 bytes per case.
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow the engine
# package it measures: drop that folder.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from engine import DEFAULT_RULES, Actor, Case, Event, Role, Trigger, apply_to_case  # noqa: E402
from engine.arguments import read_choice, read_id, read_location, read_photos, read_text  # noqa: E402
from engine.vocabulary import Urgency  # noqa: E402

STREET, COMMUNITY, DEPARTMENT = "street-guangning", "community-a", "dept-chengguan"
CHIEF = Actor("u-chief", STREET, community_id=COMMUNITY)
STATION = Actor("u-station", STREET, community_id=COMMUNITY)
HANDLER = Actor("u-handler", STREET, department_id=DEPARTMENT)
SUPERVISOR = Actor("u-supervisor", STREET)
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def loop_events(n: int) -> list[Event]:
    """The seven events of one case; ids and photos unique per case, as in the field."""
    case_id = f"case-{n:08d}"
    photo = f"{n:064x}"
    t = START + timedelta(seconds=n)
    step = timedelta(minutes=30)
    script: list[tuple[Trigger, Actor, Role, dict[str, Any]]] = [
        (
            Trigger.REPORT,
            CHIEF,
            Role.ROAD_CHIEF,
            {
                "category": "E0501",
                "road_id": "road-jinding",
                "description": "占道经营",
                "photos": [photo],
                "location": {"lat": 39.93, "lon": 116.19},
            },
        ),
        (Trigger.DISPATCH, STATION, Role.COORDINATOR, {"department_id": DEPARTMENT}),
        (Trigger.ACCEPT, HANDLER, Role.HANDLER, {}),
        (Trigger.COMPLETE, HANDLER, Role.HANDLER, {"note": "已清理", "photos": [photo[::-1]]}),
        (Trigger.REJECT, SUPERVISOR, Role.SUPERVISOR, {"reason": "仍有杂物"}),
        (Trigger.COMPLETE, HANDLER, Role.HANDLER, {"note": "再次清理", "photos": [photo[1:] + "f"]}),
        (Trigger.APPROVE, SUPERVISOR, Role.SUPERVISOR, {}),
    ]
    return [
        Event(f"{case_id}-{i}", case_id, trigger.value, actor, role, t + step * i, args)
        for i, (trigger, actor, role, args) in enumerate(script)
    ]


def fold_with_engine(events: list[Event]) -> Case:
    case: Case | None = None
    for event in events:
        result = apply_to_case(case, event)
        assert isinstance(result, Case), result
        case = result
    assert case is not None
    return case


# --- the baseline: the same loop as a plain dict table, same checks, no transitions ----------

_TABLE: dict[tuple[str, str], str] = {
    ("patrol", "report"): "feedback",
    ("feedback", "dispatch"): "dispatched",
    ("dispatched", "accept"): "disposal",
    ("disposal", "complete"): "supervision",
    ("supervision", "reject"): "disposal",
    ("supervision", "approve"): "closed",
}
_ROLES: dict[str, set[Role]] = {
    "report": {Role.ROAD_CHIEF, Role.COORDINATOR},
    "dispatch": {Role.COORDINATOR},
    "accept": {Role.HANDLER},
    "complete": {Role.HANDLER},
    "reject": {Role.SUPERVISOR},
    "approve": {Role.SUPERVISOR},
}


def _plain_checks(case: dict[str, Any], event: Event) -> dict[str, Any]:
    args, name, actor = event.args, event.name, event.actor
    if name == "report":
        code = read_id(args, "category", required=True)
        category = DEFAULT_RULES.categories.get(code or "")
        if category is None:
            raise ValueError("unknown category")
        photos = read_photos(args, "photos")
        return {
            "category_code": code,
            "urgency": read_choice(args, "urgency", Urgency, Urgency.NORMAL),
            "description": read_text(args, "description", required=not photos),
            "before_photos": photos,
            "road_id": read_id(args, "road_id", required=True),
            "location": read_location(args),
            "reporter_id": actor.user_id,
        }
    if actor.street_id != case["street_id"]:
        raise PermissionError("out of scope")
    if name == "dispatch":
        category = DEFAULT_RULES.categories[case["category_code"]]
        due = DEFAULT_RULES.calendar.due(event.occurred_at, category.limit(case["urgency"]))
        department = read_id(args, "department_id", required=True)
        return {
            "department_id": department,
            "due_at": due,
            "dispatch_count": case.get("dispatch_count", 0) + 1,
        }
    if event.role is Role.HANDLER and actor.department_id != case.get("department_id"):
        raise PermissionError("not assigned")
    if name == "accept":
        return {"handler_id": actor.user_id}
    if name == "complete":
        photos = read_photos(args, "photos", min_count=1)
        return {
            "result_note": read_text(args, "note", required=True),
            "after_photos": case.get("after_photos", ()) + photos,
            "disposer_id": actor.user_id,
        }
    if name == "reject":
        return {
            "reason": read_text(args, "reason", required=True),
            "rework_count": case.get("rework_count", 0) + 1,
        }
    if name == "approve":
        if actor.user_id == case.get("disposer_id"):
            raise PermissionError("self approval")
        return {"ended_at": event.occurred_at}
    raise ValueError(name)


def fold_with_plain_dict(events: list[Event]) -> dict[str, Any]:
    case: dict[str, Any] = {
        "id": events[0].case_id,
        "street_id": events[0].actor.street_id,
        "state": "patrol",
    }
    for event in events:
        dest = _TABLE.get((case["state"], event.name))
        if dest is None or event.role not in _ROLES[event.name]:
            raise ValueError("not allowed")
        changes = _plain_checks(case, event)
        case = {**case, **changes, "state": dest, "version": case.get("version", 0) + 1}
    return case


def events_per_second(fold: Callable[[list[Event]], object], logs: list[list[Event]]) -> float:
    gc.collect()
    started = time.perf_counter()
    for log in logs:
        fold(log)
    elapsed = time.perf_counter() - started
    return sum(len(log) for log in logs) / elapsed


def bytes_per_case(count: int) -> float:
    """Memory held by ``count`` folded cases (their logs dropped), measured with tracemalloc."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    held = [fold_with_engine(loop_events(n)) for n in range(count)]
    gc.collect()
    grown = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(base, "filename"))
    tracemalloc.stop()
    assert len(held) == count
    return grown / count


def main() -> None:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    logs = [loop_events(n) for n in range(cases)]
    # warm up both, then alternate runs so noise on this shared machine hits both alike
    events_per_second(fold_with_engine, logs[:2000])
    events_per_second(fold_with_plain_dict, logs[:2000])
    engine_rates, plain_rates = [], []
    for _ in range(3):
        engine_rates.append(events_per_second(fold_with_engine, logs))
        plain_rates.append(events_per_second(fold_with_plain_dict, logs))
    engine_rate, plain_rate = max(engine_rates), max(plain_rates)
    del logs
    memory = bytes_per_case(min(cases, 20_000))
    print(f"cases folded            {cases:>12,} (7 events each, one rework)")
    print(f"engine (transitions)    {engine_rate:>12,.0f} events/s  ({1e6 / engine_rate:.1f} µs/event)")
    print(f"plain dict table        {plain_rate:>12,.0f} events/s  ({1e6 / plain_rate:.1f} µs/event)")
    print(f"ratio engine/plain      {engine_rate / plain_rate:>12.3f}   (goal >= 0.08)")
    print(f"memory per folded case  {memory:>12,.0f} bytes (goal <= 2,000)")


if __name__ == "__main__":
    main()
