"""Patrols (路长上路): started, tracked, ended; a patrol that found nothing is a record too."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import Actor, Event, Patrol, PatrolState, Rejection, RejectionCode, Role, Trigger, apply, fold

from .story import CHIEF, COMMUNITY, OTHER_COMMUNITY, START, STATION, STREET


def patrol_event(
    n: int, trigger: Trigger, actor: Actor = CHIEF, role: Role = Role.ROAD_CHIEF, **args: object
) -> Event:
    return Event(f"p-e{n}", "patrol-1", trigger.value, actor, role, START + timedelta(minutes=n), args)


def walked() -> list[Event]:
    return [
        patrol_event(0, Trigger.START_PATROL, road_id="road-jinding"),
        patrol_event(1, Trigger.RECORD_POINTS, points=[[39.9300, 116.1900], [39.9310, 116.1900]]),
        patrol_event(2, Trigger.RECORD_POINTS, points=[{"lat": 39.9320, "lon": 116.1900}]),
    ]


def test_a_patrol_with_nothing_found_is_recorded() -> None:
    patrol = fold([*walked(), patrol_event(3, Trigger.END_PATROL)])
    assert isinstance(patrol, Patrol)
    assert patrol.state is PatrolState.ENDED and patrol.nothing_found and patrol.findings == ()
    assert patrol.chief_id == CHIEF.user_id and patrol.community_id == COMMUNITY
    assert patrol.point_count == 3
    assert patrol.distance_m == pytest.approx(222.4, abs=1.0)  # two 0.001° steps of latitude
    assert patrol.started_at == START and patrol.ended_at == START + timedelta(minutes=3)


def test_a_patrol_keeps_its_findings() -> None:
    patrol = fold([*walked(), patrol_event(3, Trigger.END_PATROL, findings=["case-1", "case-2", "case-1"])])
    assert isinstance(patrol, Patrol)
    assert patrol.findings == ("case-1", "case-2") and not patrol.nothing_found


def test_an_ended_patrol_takes_no_more_points() -> None:
    patrol = fold([*walked(), patrol_event(3, Trigger.END_PATROL)])
    refusal = apply(patrol, patrol_event(4, Trigger.RECORD_POINTS, points=[[39.9, 116.1]]))
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.PATROL_ENDED


def test_only_the_chief_on_patrol_adds_to_it() -> None:
    patrol = fold(walked())
    colleague = Actor("u-chief-2", STREET, community_id=COMMUNITY)
    refusal = apply(patrol, patrol_event(3, Trigger.END_PATROL, actor=colleague))
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.NOT_ASSIGNED
    station = apply(patrol, patrol_event(3, Trigger.END_PATROL, actor=STATION, role=Role.COORDINATOR))
    assert isinstance(station, Rejection) and station.code is RejectionCode.ROLE_NOT_ALLOWED


def test_a_chief_patrols_only_in_their_community() -> None:
    refusal = apply(None, patrol_event(0, Trigger.START_PATROL, road_id="r", community_id=OTHER_COMMUNITY))
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.OUT_OF_SCOPE


@pytest.mark.parametrize(
    "points",
    [[], [[91, 0]], [["a", "b"]], [[True, False]], "39.9,116.1", [[float("nan"), 1]], [[0, 0]] * 501],
)
def test_bad_gps_points_are_refused(points: object) -> None:
    patrol = fold(walked())
    refusal = apply(patrol, patrol_event(3, Trigger.RECORD_POINTS, points=points))
    assert isinstance(refusal, Rejection)
    assert refusal.code in (RejectionCode.INVALID_FIELD, RejectionCode.MISSING_FIELD)


def test_patrol_and_case_events_do_not_mix() -> None:
    patrol = fold(walked())
    refusal = apply(patrol, patrol_event(3, Trigger.COMMENT, text="x"))
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.UNKNOWN_ACTION
    twice = apply(patrol, patrol_event(3, Trigger.START_PATROL, road_id="r"))
    assert isinstance(twice, Rejection) and twice.code is RejectionCode.CASE_EXISTS


def test_a_patrol_snapshot_round_trips() -> None:
    patrol = fold([*walked(), patrol_event(3, Trigger.END_PATROL, findings=["case-1"])])
    assert isinstance(patrol, Patrol)
    assert Patrol.from_dict(patrol.to_dict()) == patrol
