"""One machine serves every case: folding thousands of cases leaves nothing registered or alive."""

from __future__ import annotations

import gc

from engine import Case, State, fold
from engine.loop import _CASE_EVENTS
from engine.workflow import CASE_MACHINE, Transit

from .story import walk_to


def live(kind: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is kind)


def test_ten_thousand_folded_cases_leave_no_live_case_objects() -> None:
    log = walk_to(State.CLOSED).log
    cases_before, transits_before = live(Case), live(Transit)
    for _ in range(10_000):
        case = fold(log)
        assert isinstance(case, Case) and case.state is State.CLOSED
    del case
    assert live(Case) == cases_before
    assert live(Transit) == transits_before
    assert CASE_MACHINE.models == []  # nothing was ever registered with the shared machine
    assert all(event.machine is CASE_MACHINE for event in _CASE_EVENTS.values())


def test_a_case_and_its_snapshot_round_trip() -> None:
    case = walk_to(State.SUPERVISION).case
    assert case is not None
    assert Case.from_dict(case.to_dict()) == case


def test_evolving_a_case_is_the_same_as_replacing_its_fields() -> None:
    from dataclasses import replace

    from engine.case import evolve

    case = walk_to(State.DISPOSAL).case
    assert case is not None
    changes = {"state": State.SUPERVISION, "version": case.version + 1, "result_note": "已清理"}
    evolved = evolve(case, changes)
    assert evolved == replace(case, **changes)
    assert case.state is State.DISPOSAL  # the original is untouched
