"""The loop told as stories: what a street office expects each action to do."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from engine import (
    DEFAULT_RULES,
    Actor,
    Case,
    CorruptLog,
    Level,
    Rejection,
    RejectionCode,
    Role,
    State,
    Step,
    Trigger,
    allowed_triggers,
    apply,
    default_due,
    fold,
)

from .story import (
    CHIEF,
    COMMAND_CENTRE,
    COMMUNITY,
    DEPARTMENT,
    HANDLER,
    OTHER_COMMUNITY,
    OTHER_DEPARTMENT,
    PHOTO_AFTER,
    STATION,
    STREET,
    SUPERVISOR,
    VALID_ARGS,
    Story,
    walk_to,
)


def test_a_report_becomes_a_case_in_the_stations_queue() -> None:
    story = walk_to(State.FEEDBACK)
    case = story.case
    assert case is not None
    assert case.state is State.FEEDBACK and case.step is Step.FEEDBACK
    assert case.street_id == STREET and case.community_id == COMMUNITY
    assert case.reporter_id == CHIEF.user_id
    assert case.category_code == "E0501" and case.before_photos == ("a" * 64,)
    assert case.location is not None and case.location.lat == pytest.approx(39.93)
    assert case.reported_at == story.log[0].occurred_at == case.state_since


def test_the_whole_loop_with_one_rework_closes_the_case() -> None:
    story = walk_to(State.SUPERVISION)
    rejected = story.must(Trigger.REJECT, SUPERVISOR, Role.SUPERVISOR)
    assert rejected.state is State.DISPOSAL and rejected.rework_count == 1
    story.must(Trigger.COMPLETE, HANDLER, Role.HANDLER, note="重新清理", photos=["c" * 64])
    closed = story.must(Trigger.APPROVE, SUPERVISOR, Role.SUPERVISOR)
    assert closed.state is State.CLOSED and closed.is_final and closed.step is Step.DONE
    assert closed.after_photos == (PHOTO_AFTER, "c" * 64)
    assert closed.ended_at == story.log[-1].occurred_at
    assert fold(story.log) == closed


def test_a_rejected_disposal_goes_back_to_the_handler() -> None:
    story = walk_to(State.SUPERVISION)
    case = story.must(Trigger.REJECT, SUPERVISOR, Role.SUPERVISOR)
    assert case.department_id == DEPARTMENT and case.handler_id == HANDLER.user_id
    assert case.reason == VALID_ARGS[Trigger.REJECT]["reason"]


def test_a_road_chief_who_fixed_it_sends_it_straight_to_supervision() -> None:
    story = walk_to(State.FEEDBACK)
    case = story.must(Trigger.FIX_ON_SPOT, CHIEF, Role.ROAD_CHIEF)
    assert case.state is State.SUPERVISION and case.fixed_on_spot and case.disposer_id == CHIEF.user_id
    # a rejected fix on the spot has no department to go back to: the coordinator takes it up
    case = story.must(Trigger.REJECT, SUPERVISOR, Role.SUPERVISOR)
    assert case.state is State.COORDINATION and case.rework_count == 1


def test_only_the_reporting_road_chief_can_fix_on_the_spot() -> None:
    story = walk_to(State.FEEDBACK)
    colleague = Actor("u-chief-2", STREET, community_id=COMMUNITY)
    refusal = story.act(Trigger.FIX_ON_SPOT, colleague, Role.ROAD_CHIEF, **VALID_ARGS[Trigger.FIX_ON_SPOT])
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.NOT_ASSIGNED


def test_a_fix_needs_a_result_note_and_an_after_photo() -> None:
    story = walk_to(State.DISPOSAL)
    no_photo = story.act(Trigger.COMPLETE, HANDLER, Role.HANDLER, note="已清理")
    assert isinstance(no_photo, Rejection) and no_photo.code is RejectionCode.MISSING_FIELD
    assert no_photo.field == "photos"
    no_note = story.act(Trigger.COMPLETE, HANDLER, Role.HANDLER, photos=[PHOTO_AFTER])
    assert isinstance(no_note, Rejection) and no_note.field == "note"
    bad_hash = story.act(Trigger.COMPLETE, HANDLER, Role.HANDLER, note="x", photos=["../../etc/passwd"])
    assert isinstance(bad_hash, Rejection) and bad_hash.code is RejectionCode.INVALID_FIELD


def test_a_supervisor_may_not_approve_a_disposal_they_made() -> None:
    story = walk_to(State.FEEDBACK)
    # the supervisor also holds a road-chief account for their own walks and fixed it on the spot
    story.must(Trigger.FIX_ON_SPOT, CHIEF, Role.ROAD_CHIEF)
    same_person = Actor(CHIEF.user_id, STREET)
    refusal = story.act(Trigger.APPROVE, same_person, Role.SUPERVISOR)
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.SELF_APPROVAL
    assert story.case is not None and story.case.state is State.SUPERVISION


def test_a_handler_of_another_department_cannot_dispose() -> None:
    story = walk_to(State.DISPATCHED)
    police = Actor("u-police", STREET, department_id=OTHER_DEPARTMENT)
    refusal = story.act(Trigger.ACCEPT, police, Role.HANDLER)
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.NOT_ASSIGNED


def test_nobody_of_another_street_touches_the_case() -> None:
    story = walk_to(State.SUPERVISION)
    stranger = Actor("u-other", "street-bajiao")
    for trigger, role in ((Trigger.APPROVE, Role.SUPERVISOR), (Trigger.COMMENT, Role.ADMIN)):
        refusal = story.act(trigger, stranger, role, **VALID_ARGS[trigger])
        assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.OUT_OF_SCOPE


def test_a_station_of_another_community_cannot_dispatch() -> None:
    story = walk_to(State.FEEDBACK)
    other_station = Actor("u-station-b", STREET, community_id=OTHER_COMMUNITY)
    refusal = story.act(Trigger.DISPATCH, other_station, Role.COORDINATOR, department_id=DEPARTMENT)
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.OUT_OF_SCOPE


def test_escalation_hands_the_case_to_the_street_command_centre() -> None:
    story = walk_to(State.FEEDBACK)
    case = story.must(Trigger.ESCALATE, STATION, Role.COORDINATOR)
    assert case.state is State.COORDINATION and case.level is Level.STREET and case.escalated
    # the station may comment but no longer coordinate; the command centre dispatches
    refusal = story.act(Trigger.DISPATCH, STATION, Role.COORDINATOR, department_id=DEPARTMENT)
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.OUT_OF_SCOPE
    assert isinstance(story.act(Trigger.COMMENT, STATION, Role.COORDINATOR, text="已上报街道"), Case)
    again = story.act(Trigger.ESCALATE, COMMAND_CENTRE, Role.COORDINATOR, reason="再次吹哨")
    assert isinstance(again, Rejection) and again.code is RejectionCode.NOT_ALLOWED_IN_STATE
    case = story.must(Trigger.DISPATCH, COMMAND_CENTRE, Role.COORDINATOR)
    assert case.state is State.DISPATCHED and case.dispatch_count == 1


def test_a_returned_case_goes_back_to_coordination_and_is_redispatched() -> None:
    story = walk_to(State.DISPOSAL)
    case = story.must(Trigger.RETURN_CASE, HANDLER, Role.HANDLER)
    assert case.state is State.COORDINATION and case.return_count == 1
    assert case.department_id is None and case.due_at is None
    case = story.must(Trigger.DISPATCH, STATION, Role.COORDINATOR, department_id=OTHER_DEPARTMENT)
    assert case.department_id == OTHER_DEPARTMENT and case.dispatch_count == 2


def test_a_return_and_a_cancel_need_a_reason() -> None:
    story = walk_to(State.DISPATCHED)
    refusal = story.act(Trigger.RETURN_CASE, HANDLER, Role.HANDLER, reason="   ")
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.MISSING_FIELD
    story = walk_to(State.FEEDBACK)
    refusal = story.act(Trigger.CANCEL, STATION, Role.COORDINATOR)
    assert isinstance(refusal, Rejection) and refusal.field == "reason"


def test_a_case_cannot_be_merged_into_itself() -> None:
    story = walk_to(State.FEEDBACK)
    refusal = story.act(Trigger.MERGE, STATION, Role.COORDINATOR, into=story.case_id)
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.INVALID_FIELD


def test_dispatch_sets_the_deadline_from_the_category_and_urgency() -> None:
    story = walk_to(State.DISPATCHED)
    case = story.case
    assert case is not None and case.due_at is not None and case.dispatched_at is not None
    assert case.due_at == default_due(replace(case), case.dispatched_at, DEFAULT_RULES)
    assert case.due_at > case.dispatched_at
    assert not case.is_overdue(case.dispatched_at)
    late = case.due_at + timedelta(minutes=1)
    assert case.is_overdue(late) and case.overdue_by(late) == timedelta(minutes=1)


def test_a_coordinator_may_tighten_the_deadline_but_not_stretch_it() -> None:
    story = walk_to(State.FEEDBACK)
    at = story.clock + timedelta(minutes=10)  # when the next action happens
    limit = default_due(story.case, at, DEFAULT_RULES)  # type: ignore[arg-type]
    stretched = story.act(
        Trigger.DISPATCH,
        STATION,
        Role.COORDINATOR,
        department_id=DEPARTMENT,
        due_at=(limit + timedelta(hours=1)).isoformat(),
    )
    assert isinstance(stretched, Rejection) and stretched.code is RejectionCode.INVALID_DEADLINE
    tight = story.clock + timedelta(minutes=10, hours=1)
    case = story.must(
        Trigger.DISPATCH, STATION, Role.COORDINATOR, department_id=DEPARTMENT, due_at=tight.isoformat()
    )
    assert case.due_at == tight


def test_a_deadline_whose_offset_has_seconds_is_refused() -> None:
    # RFC 3339 offsets are whole minutes; the case's snapshot, written as JSON, would lose the seconds
    story = walk_to(State.FEEDBACK)
    odd_zone = timezone(timedelta(hours=5, minutes=30, seconds=15))
    tight = (story.clock + timedelta(hours=1)).astimezone(odd_zone)
    refusal = story.act(
        Trigger.DISPATCH, STATION, Role.COORDINATOR, department_id=DEPARTMENT, due_at=tight.isoformat()
    )
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.INVALID_FIELD
    assert refusal.field == "due_at" and "whole minutes" in refusal.message_en


def test_an_unknown_category_is_refused() -> None:
    story = Story()
    refusal = story.act(
        Trigger.REPORT, CHIEF, Role.ROAD_CHIEF, **{**VALID_ARGS[Trigger.REPORT], "category": "X9999"}
    )
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.UNKNOWN_CATEGORY
    assert story.case is None


def test_a_report_needs_a_description_or_a_photo_and_a_road() -> None:
    story = Story()
    bare = story.act(Trigger.REPORT, CHIEF, Role.ROAD_CHIEF, category="E0501", road_id="road-1")
    assert isinstance(bare, Rejection) and bare.field == "description"
    no_road = story.act(Trigger.REPORT, CHIEF, Role.ROAD_CHIEF, category="E0501", description="x")
    assert isinstance(no_road, Rejection) and no_road.field == "road_id"
    photo_only = story.act(
        Trigger.REPORT, CHIEF, Role.ROAD_CHIEF, category="E0501", road_id="r", photos=["d" * 64]
    )
    assert isinstance(photo_only, Case)


def test_wrong_types_in_arguments_are_refused_not_crashed() -> None:
    story = Story()
    for bad in (
        {"category": 7},
        {"location": {"lat": "x", "lon": 1}},
        {"location": {"lat": 91, "lon": 0}},
        {"urgency": "whenever"},
        {"photos": "a" * 64},
        {"description": ["x"]},
    ):
        result = story.act(Trigger.REPORT, CHIEF, Role.ROAD_CHIEF, **{**VALID_ARGS[Trigger.REPORT], **bad})
        assert isinstance(result, Rejection), bad
        assert result.code in (RejectionCode.INVALID_FIELD, RejectionCode.UNKNOWN_CATEGORY)


def test_closed_and_cancelled_cases_never_change() -> None:
    for state in (State.CLOSED, State.CANCELLED, State.MERGED):
        story = walk_to(state)
        frozen = story.case
        for trigger in (Trigger.COMMENT, Trigger.DISPATCH, Trigger.REJECT):
            refusal = story.act(trigger, SUPERVISOR, Role.SUPERVISOR, **VALID_ARGS[trigger])
            assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.CASE_FINAL
        assert story.case is frozen


def test_an_unknown_action_is_refused() -> None:
    story = walk_to(State.FEEDBACK)
    refusal = story.act("teleport", STATION, Role.COORDINATOR)
    assert isinstance(refusal, Rejection) and refusal.code is RejectionCode.UNKNOWN_ACTION


def test_time_spent_on_a_phone_is_counted_apart() -> None:
    story = walk_to(State.FEEDBACK)
    late = story.event(Trigger.DISPATCH, STATION, Role.COORDINATOR, department_id=DEPARTMENT)
    late = replace(late, received_at=late.occurred_at + timedelta(hours=5))
    case = apply(story.case, late)
    assert isinstance(case, Case)
    assert case.offline_seconds == 5 * 3600
    assert case.dispatched_at == late.occurred_at  # the deadline counts from when it happened


def test_folding_a_log_with_a_foreign_event_is_a_corrupt_log() -> None:
    story = walk_to(State.DISPATCHED)
    forged = story.event(Trigger.APPROVE, SUPERVISOR, Role.SUPERVISOR)
    with pytest.raises(CorruptLog):
        fold([*story.log, forged])


def test_the_app_is_offered_only_what_the_engine_allows() -> None:
    case = walk_to(State.DISPATCHED).case
    assert case is not None
    assert set(allowed_triggers(case, HANDLER, Role.HANDLER)) == {
        Trigger.ACCEPT,
        Trigger.RETURN_CASE,
        Trigger.COMMENT,
        Trigger.ATTACH_PHOTOS,
    }
    assert Trigger.APPROVE not in allowed_triggers(case, CHIEF, Role.ROAD_CHIEF)
    police = Actor("u-police", STREET, department_id=OTHER_DEPARTMENT)
    assert allowed_triggers(case, police, Role.HANDLER) == []
