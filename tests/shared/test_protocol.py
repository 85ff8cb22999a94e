"""The sync messages: what a phone may push and pull, written out as the JSON that travels."""

from __future__ import annotations

import ast
import copy
import math
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from engine.events import Actor, Event
from engine.vocabulary import Role, Trigger
from shared import (
    DEFAULT_PULL_LIMIT,
    MAX_ARGS_BYTES,
    MAX_BATCH,
    MAX_PULL_LIMIT,
    MAX_SEQ,
    PROTOCOL_VERSION,
    ErrorBody,
    EventRecord,
    MalformedPayload,
    Mutation,
    MutationResult,
    MutationStatus,
    ProtocolError,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    UnsupportedVersion,
    dumps,
    loads,
    new_id,
)

BEIJING = timezone(timedelta(hours=8))
DEVICE = "6f1c2d3e-4a5b-4c6d-8e7f-901234567890"
CASE = "0c9a8b7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
PATROL = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
M1 = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
M2 = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
M3 = "c3d4e5f6-a7b8-4c9d-8e1f-2a3b4c5d6e7f"

# A road chief on patrol finds a pothole, reports it, then adds a photo.
START_PATROL: dict[str, Any] = {
    "id": M1,
    "seq": 41,
    "name": "start_patrol",
    "case_id": PATROL,
    "args": {"road": "广宁路"},
    "occurred_at": "2024-05-06T08:58:00+08:00",
}
REPORT: dict[str, Any] = {
    "id": M2,
    "seq": 42,
    "name": "report",
    "case_id": CASE,
    "args": {
        "domain": "safety",
        "description": "人行道井盖缺失，有行人跌倒风险",
        "location": {"lat": 23.6341, "lon": 112.4408},
        "photos": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
        "urgent": True,
    },
    "occurred_at": "2024-05-06T09:14:27.512000+08:00",
}
ATTACH: dict[str, Any] = {
    "id": M3,
    "seq": 43,
    "name": "attach_photos",
    "case_id": CASE,
    "args": {"photos": []},
    "occurred_at": "2024-05-06T01:20:00+00:00",
}
PUSH: dict[str, Any] = {
    "protocol_version": 1,
    "device_id": DEVICE,
    "mutations": [START_PATROL, REPORT, ATTACH],
}


def push_with(edit: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """The golden push with its last mutation (mutations[2]) edited."""
    body = copy.deepcopy(PUSH)
    edit(body["mutations"][2])
    return body


def reason_of(excinfo: pytest.ExceptionInfo[ProtocolError]) -> str:
    return excinfo.value.reason


# --- golden round trips ----------------------------------------------------------------------------


def test_mutation_reads_the_phone_json_and_writes_it_back_unchanged() -> None:
    mutation = Mutation.from_dict(REPORT)

    assert mutation.id == M2
    assert mutation.seq == 42
    assert mutation.name is Trigger.REPORT
    assert mutation.case_id == CASE
    assert mutation.args["description"] == "人行道井盖缺失，有行人跌倒风险"
    assert mutation.occurred_at == datetime(2024, 5, 6, 9, 14, 27, 512000, tzinfo=BEIJING)
    assert mutation.to_dict() == REPORT


def test_push_request_round_trips_through_bytes() -> None:
    request = PushRequest.from_dict(PUSH)

    assert request.protocol_version == PROTOCOL_VERSION
    assert request.device_id == DEVICE
    assert [m.seq for m in request.mutations] == [41, 42, 43]
    assert request.to_dict() == PUSH
    assert loads(dumps(request)) == PUSH
    assert PushRequest.from_dict(loads(dumps(request))) == request


def test_occurred_at_keeps_the_device_offset() -> None:
    # The same instant in another zone is equal as a datetime, so compare what is written.
    mutation = Mutation.from_dict(ATTACH)
    assert mutation.occurred_at.utcoffset() == timedelta(0)
    assert mutation.to_dict()["occurred_at"] == "2024-05-06T01:20:00+00:00"


def test_utc_written_as_z_is_read() -> None:
    mutation = Mutation.from_dict({**ATTACH, "occurred_at": "2024-05-06T01:20:00Z"})
    assert mutation.occurred_at == datetime(2024, 5, 6, 1, 20, tzinfo=UTC)


PUSH_RESPONSE: dict[str, Any] = {
    "protocol_version": 1,
    "results": [
        {"id": M1, "seq": 41, "status": "duplicate", "code": None, "message_zh": None, "message_en": None},
        {
            "id": M2,
            "seq": 42,
            "status": "rejected",
            "code": "case_final",
            "message_zh": "督察已结案，不能再上报",
            "message_en": "the supervisor already closed this case",
        },
        {
            "id": M3,
            "seq": 43,
            "status": "retry",
            "code": "photo_missing",
            "message_zh": "照片尚未上传",
            "message_en": "the photo has not been uploaded yet",
        },
    ],
    "last_seq": 42,
}


def test_push_response_round_trips_with_rejected_and_retry_answers() -> None:
    response = PushResponse.from_dict(PUSH_RESPONSE)

    assert [r.status for r in response.results] == [
        MutationStatus.DUPLICATE,
        MutationStatus.REJECTED,
        MutationStatus.RETRY,
    ]
    assert response.results[1].message_zh == "督察已结案，不能再上报"
    assert response.last_seq == 42
    assert response.to_dict() == PUSH_RESPONSE
    assert PushResponse.from_dict(loads(dumps(response))) == response


@pytest.mark.parametrize("status", [MutationStatus.APPLIED, MutationStatus.DUPLICATE])
def test_the_servers_acknowledgement_is_the_answer_the_checked_constructor_builds(
    status: MutationStatus,
) -> None:
    mutation = _mutation(seq=7)
    acknowledged = MutationResult.acknowledging(mutation, status)
    assert type(acknowledged) is MutationResult
    assert acknowledged == MutationResult(mutation.id, mutation.seq, status)
    assert acknowledged.to_dict() == MutationResult(mutation.id, mutation.seq, status).to_dict()
    assert hash(acknowledged) == hash(MutationResult(mutation.id, mutation.seq, status))
    with pytest.raises(AttributeError):
        acknowledged.seq = 1  # type: ignore[misc]


@pytest.mark.parametrize("status", [MutationStatus.REJECTED, MutationStatus.RETRY])
def test_a_refusal_cannot_be_acknowledged_without_its_reason(status: MutationStatus) -> None:
    with pytest.raises(ValueError, match="needs a code"):
        MutationResult.acknowledging(_mutation(seq=7), status)


def test_mutation_result_may_leave_out_its_empty_reason() -> None:
    result = MutationResult.from_dict({"id": M1, "seq": 41, "status": "applied"})
    assert result == MutationResult(M1, 41, MutationStatus.APPLIED)
    assert result.to_dict() == {
        "id": M1,
        "seq": 41,
        "status": "applied",
        "code": None,
        "message_zh": None,
        "message_en": None,
    }


def test_an_empty_push_response_says_how_far_the_server_got() -> None:
    body = {"protocol_version": 1, "results": [], "last_seq": 0}
    assert PushResponse.from_dict(body).to_dict() == body


def test_pull_request_first_pull_has_no_cursor_and_the_default_limit() -> None:
    request = PullRequest.from_dict({"protocol_version": 1, "device_id": DEVICE, "cursor": None})

    assert request == PullRequest(PROTOCOL_VERSION, DEVICE, None)
    assert request.limit == DEFAULT_PULL_LIMIT
    assert request.to_dict() == {
        "protocol_version": 1,
        "device_id": DEVICE,
        "cursor": None,
        "limit": DEFAULT_PULL_LIMIT,
    }


def test_pull_request_with_cursor_round_trips() -> None:
    body = {"protocol_version": 1, "device_id": DEVICE, "cursor": "c1:000000000815", "limit": MAX_PULL_LIMIT}
    assert PullRequest.from_dict(body).to_dict() == body


REPORTED_EVENT = Event(
    id=M2,
    case_id=CASE,
    name="report",
    actor=Actor(user_id="u-wang", street_id="s-nanjie", community_id="c-xiguan"),
    role=Role.ROAD_CHIEF,
    occurred_at=datetime(2024, 5, 6, 9, 14, 27, 512000, tzinfo=BEIJING),
    args={"domain": "safety", "description": "人行道井盖缺失"},
    received_at=datetime(2024, 5, 6, 1, 40, tzinfo=UTC),
)
DISPATCHED_EVENT = Event(
    id="d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a",
    case_id=CASE,
    name="dispatch",
    actor=Actor(user_id="u-li", street_id="s-nanjie"),
    role=Role.COORDINATOR,
    occurred_at=datetime(2024, 5, 6, 10, 2, tzinfo=BEIJING),
    args={"department_id": "d-municipal", "limit": {"unit": "working_days", "amount": 2}},
    received_at=datetime(2024, 5, 6, 2, 2, 1, tzinfo=UTC),
)
PULL_RESPONSE: dict[str, Any] = {
    "protocol_version": 1,
    "events": [
        {
            "position": 815,
            "event": {
                "id": M2,
                "case_id": CASE,
                "name": "report",
                "actor": {
                    "user_id": "u-wang",
                    "street_id": "s-nanjie",
                    "community_id": "c-xiguan",
                    "department_id": None,
                },
                "role": "road_chief",
                "occurred_at": "2024-05-06T09:14:27.512000+08:00",
                "args": {"domain": "safety", "description": "人行道井盖缺失"},
                "received_at": "2024-05-06T01:40:00+00:00",
            },
        },
        {
            "position": 817,
            "event": {
                "id": "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a",
                "case_id": CASE,
                "name": "dispatch",
                "actor": {
                    "user_id": "u-li",
                    "street_id": "s-nanjie",
                    "community_id": None,
                    "department_id": None,
                },
                "role": "coordinator",
                "occurred_at": "2024-05-06T10:02:00+08:00",
                "args": {"department_id": "d-municipal", "limit": {"unit": "working_days", "amount": 2}},
                "received_at": "2024-05-06T02:02:01+00:00",
            },
        },
    ],
    "cursor": "c1:000000000817",
    "has_more": False,
    "last_seq": 43,
}


def test_pull_response_carries_engine_events_in_server_order() -> None:
    response = PullResponse.from_dict(PULL_RESPONSE)

    assert response.events == (
        EventRecord(REPORTED_EVENT, 815),
        EventRecord(DISPATCHED_EVENT, 817),
    )
    assert response.cursor == "c1:000000000817"
    assert response.has_more is False
    assert response.last_seq == 43
    assert response.to_dict() == PULL_RESPONSE
    assert PullResponse.from_dict(loads(dumps(response))) == response


def test_error_body_is_nested_under_error() -> None:
    body = {"error": {"code": "unsupported_version", "reason": "protocol_version: 2 is not supported"}}
    error = ErrorBody.from_dict(body)
    assert error == ErrorBody("unsupported_version", "protocol_version: 2 is not supported")
    assert error.to_dict() == body


def test_error_body_from_a_protocol_error_keeps_its_code_and_reason() -> None:
    with pytest.raises(ProtocolError) as excinfo:
        PushRequest.from_dict({**PUSH, "protocol_version": 2})
    body = ErrorBody.from_error(excinfo.value).to_dict()
    assert body == {
        "error": {
            "code": "unsupported_version",
            "reason": "protocol_version: 2 is not supported; this side speaks 1",
        }
    }


# --- a push the server must refuse -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        pytest.param(
            lambda m: m.update(colour="red"), "mutations[2].colour", "unknown field", id="unknown-field"
        ),
        pytest.param(
            lambda m: m.pop("occurred_at"), "mutations[2].occurred_at", "missing", id="missing-field"
        ),
        pytest.param(lambda m: m.update(seq=True), "mutations[2].seq", "integer", id="bool-as-seq"),
        pytest.param(lambda m: m.update(seq=43.0), "mutations[2].seq", "integer", id="float-seq"),
        pytest.param(lambda m: m.update(seq="43"), "mutations[2].seq", "integer", id="string-seq"),
        pytest.param(lambda m: m.update(seq=0), "mutations[2].seq", "≥ 1", id="seq-zero"),
        pytest.param(lambda m: m.update(seq=-1), "mutations[2].seq", "≥ 1", id="seq-negative"),
        pytest.param(lambda m: m.update(seq=MAX_SEQ + 1), "mutations[2].seq", "≤", id="seq-beyond-json-safe"),
        pytest.param(lambda m: m.update(seq=42), "mutations[2].seq", "more than", id="seq-repeated"),
        pytest.param(lambda m: m.update(seq=7), "mutations[2].seq", "more than", id="seq-going-back"),
        pytest.param(
            lambda m: m.update(occurred_at="2024-05-06T09:20:00"),
            "mutations[2].occurred_at",
            "timezone",
            id="naive-datetime",
        ),
        pytest.param(
            lambda m: m.update(occurred_at="2024-05-06T09:20:00+05:30:15"),
            "mutations[2].occurred_at",
            "whole minutes",
            id="offset-with-seconds",
        ),
        pytest.param(
            lambda m: m.update(occurred_at="yesterday"),
            "mutations[2].occurred_at",
            "ISO-8601",
            id="not-a-date",
        ),
        pytest.param(
            lambda m: m.update(occurred_at=1714958400), "mutations[2].occurred_at", "string", id="epoch-date"
        ),
        pytest.param(lambda m: m.update(id="not-a-uuid"), "mutations[2].id", "UUID", id="bad-uuid"),
        pytest.param(lambda m: m.update(id=M3.upper()), "mutations[2].id", "lowercase", id="uppercase-uuid"),
        pytest.param(lambda m: m.update(id="{" + M3 + "}"), "mutations[2].id", "canonical", id="braced-uuid"),
        pytest.param(
            lambda m: m.update(case_id=CASE.replace("-", "")),
            "mutations[2].case_id",
            "canonical",
            id="bare-hex",
        ),
        pytest.param(lambda m: m.update(case_id=None), "mutations[2].case_id", "UUID", id="null-case"),
        pytest.param(
            lambda m: m.update(name="teleport"), "mutations[2].name", "trigger", id="unknown-trigger"
        ),
        pytest.param(
            lambda m: m.update(name="REPORT"), "mutations[2].name", "trigger", id="trigger-wrong-case"
        ),
        pytest.param(lambda m: m.update(args=["photo"]), "mutations[2].args", "JSON object", id="args-array"),
        pytest.param(lambda m: m.update(args="{}"), "mutations[2].args", "JSON object", id="args-string"),
        pytest.param(lambda m: m.update(args=None), "mutations[2].args", "JSON object", id="args-null"),
        pytest.param(
            lambda m: m.update(args={"note": "x" * MAX_ARGS_BYTES}),
            "mutations[2].args",
            "bytes",
            id="args-too-big",
        ),
    ],
)
def test_a_malformed_mutation_is_refused_naming_its_field(
    edit: Callable[[dict[str, Any]], object], field: str, words: str
) -> None:
    with pytest.raises(MalformedPayload) as excinfo:
        PushRequest.from_dict(push_with(edit))
    assert excinfo.value.code == "malformed_payload"
    assert excinfo.value.field == field
    assert reason_of(excinfo).startswith(f"{field}: ")
    assert words in reason_of(excinfo)


def test_the_reason_reads_like_the_protocol_says() -> None:
    with pytest.raises(MalformedPayload) as excinfo:
        PushRequest.from_dict(push_with(lambda m: m.update(seq=0)))
    assert reason_of(excinfo) == "mutations[2].seq: expected an integer ≥ 1, got 0"


def test_seq_up_to_the_json_safe_bound_is_accepted() -> None:
    request = PushRequest.from_dict(push_with(lambda m: m.update(seq=MAX_SEQ)))
    assert request.mutations[-1].seq == MAX_SEQ


def _args_of_size(size: int, char: str) -> dict[str, str]:
    # '{"note":""}' is 11 bytes; the rest is the note, in characters of len(char.encode()) bytes each.
    width = len(char.encode())
    assert (size - 11) % width == 0
    return {"note": char * ((size - 11) // width)}


@pytest.mark.parametrize("char", ["x", "路"])
def test_args_may_fill_the_byte_limit_counted_as_utf8(char: str) -> None:
    limit = MAX_ARGS_BYTES - (MAX_ARGS_BYTES - 11) % len(char.encode())
    args = _args_of_size(limit, char)
    assert len(dumps(args)) == limit
    assert Mutation.from_dict({**ATTACH, "args": args}).args == args


def test_chinese_args_count_three_bytes_a_character() -> None:
    # 5 458 characters is far below 16 384 characters, but 16 385 bytes once encoded.
    args = {"note": "路" * 5458}
    assert len(dumps(args)) == MAX_ARGS_BYTES + 1
    with pytest.raises(MalformedPayload, match=r"^args: 16385 bytes"):
        Mutation.from_dict({**ATTACH, "args": args})


def test_more_mutations_than_a_batch_holds_are_refused_before_parsing_them() -> None:
    body = {**PUSH, "mutations": [{"junk": i} for i in range(MAX_BATCH + 1)]}
    with pytest.raises(MalformedPayload) as excinfo:
        PushRequest.from_dict(body)
    assert reason_of(excinfo) == f"mutations: expected at most {MAX_BATCH} items, got {MAX_BATCH + 1}"


def test_a_full_batch_is_accepted() -> None:
    mutations = [{**ATTACH, "id": new_id(), "seq": seq} for seq in range(1, MAX_BATCH + 1)]
    assert len(PushRequest.from_dict({**PUSH, "mutations": mutations}).mutations) == MAX_BATCH


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(MalformedPayload, match=r"^mutations: expected 1 to 200 items, got 0$"):
        PushRequest.from_dict({**PUSH, "mutations": []})


@pytest.mark.parametrize("body", [[], "push", None, 42], ids=["array", "string", "null", "number"])
def test_a_body_that_is_not_an_object_is_refused(body: object) -> None:
    with pytest.raises(MalformedPayload, match="expected a JSON object"):
        PushRequest.from_dict(body)


def test_a_mutation_that_is_not_an_object_is_refused_by_index() -> None:
    with pytest.raises(MalformedPayload) as excinfo:
        PushRequest.from_dict({**PUSH, "mutations": [START_PATROL, ["report"]]})
    assert reason_of(excinfo) == "mutations[1]: expected a JSON object, got an array"


@pytest.mark.parametrize("version", [0, 2, 99, -1])
@pytest.mark.parametrize("message", [PushRequest, PullRequest, PushResponse, PullResponse])
def test_an_unknown_protocol_version_is_unsupported_not_malformed(message: Any, version: int) -> None:
    # A newer phone may send fields this server has never heard of: the version answers first.
    body = {"protocol_version": version, "device_id": DEVICE, "something_new": True}
    with pytest.raises(UnsupportedVersion) as excinfo:
        message.from_dict(body)
    assert excinfo.value.code == "unsupported_version"
    assert str(version) in reason_of(excinfo)


@pytest.mark.parametrize("version", ["1", 1.0, True, None])
def test_a_protocol_version_that_is_not_an_integer_is_malformed(version: object) -> None:
    with pytest.raises(MalformedPayload, match=r"^protocol_version: expected an integer"):
        PushRequest.from_dict({**PUSH, "protocol_version": version})


def test_a_missing_protocol_version_is_malformed() -> None:
    body = {key: value for key, value in PUSH.items() if key != "protocol_version"}
    with pytest.raises(MalformedPayload, match=r"^protocol_version: missing$"):
        PushRequest.from_dict(body)


def test_unknown_top_level_field_is_refused() -> None:
    with pytest.raises(MalformedPayload, match=r"^user_id: unknown field"):
        PushRequest.from_dict({**PUSH, "user_id": "u-wang"})


def test_device_id_must_be_a_canonical_uuid() -> None:
    with pytest.raises(MalformedPayload, match=r"^device_id: "):
        PushRequest.from_dict({**PUSH, "device_id": DEVICE.upper()})


# --- answers the phone must refuse -----------------------------------------------------------------


def _response_with(edit: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    body = copy.deepcopy(PUSH_RESPONSE)
    edit(body)
    return body


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        pytest.param(
            lambda b: b["results"][1].update(code=None), "results[1].code", id="rejected-without-code"
        ),
        pytest.param(
            lambda b: b["results"][1].pop("message_en"),
            "results[1].message_en",
            id="rejected-without-english",
        ),
        pytest.param(
            lambda b: b["results"][0].update(code="case_exists"), "results[0].code", id="duplicate-with-code"
        ),
        pytest.param(lambda b: b["results"][0].update(status="ok"), "results[0].status", id="unknown-status"),
        pytest.param(lambda b: b["results"][0].update(status=1), "results[0].status", id="status-not-string"),
        pytest.param(
            lambda b: b["results"].insert(0, b["results"].pop(1)), "results[1].seq", id="results-out-of-order"
        ),
        pytest.param(
            lambda b: b["results"].append({**b["results"][1], "seq": 44}),
            "results[2].status",
            id="retry-not-last",
        ),
        pytest.param(lambda b: b.update(last_seq=41), "results[1].seq", id="processed-beyond-last-seq"),
        pytest.param(lambda b: b.update(last_seq=-1), "last_seq", id="negative-last-seq"),
        pytest.param(lambda b: b.update(results={}), "results", id="results-not-array"),
    ],
)
def test_an_inconsistent_push_response_is_refused(
    edit: Callable[[dict[str, Any]], object], field: str
) -> None:
    with pytest.raises(MalformedPayload) as excinfo:
        PushResponse.from_dict(_response_with(edit))
    assert excinfo.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"limit": 0}, "limit", id="limit-zero"),
        pytest.param({"limit": MAX_PULL_LIMIT + 1}, "limit", id="limit-above-max"),
        pytest.param({"limit": True}, "limit", id="limit-bool"),
        pytest.param({"limit": 100.0}, "limit", id="limit-float"),
        pytest.param({"cursor": ""}, "cursor", id="empty-cursor"),
        pytest.param({"cursor": 815}, "cursor", id="numeric-cursor"),
        pytest.param({"device_id": "phone-7"}, "device_id", id="device-not-uuid"),
        pytest.param({"since": "2024-05-01"}, "since", id="unknown-field"),
    ],
)
def test_a_bad_pull_request_is_refused(change: dict[str, Any], field: str) -> None:
    body = {"protocol_version": 1, "device_id": DEVICE, "cursor": None, **change}
    with pytest.raises(MalformedPayload) as excinfo:
        PullRequest.from_dict(body)
    assert excinfo.value.field == field


def test_a_pull_request_must_say_it_has_no_cursor() -> None:
    with pytest.raises(MalformedPayload, match=r"^cursor: missing$"):
        PullRequest.from_dict({"protocol_version": 1, "device_id": DEVICE})


def _pull_with(edit: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    body = copy.deepcopy(PULL_RESPONSE)
    edit(body)
    return body


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        pytest.param(lambda b: b["events"].reverse(), "events[1].position", id="positions-out-of-order"),
        pytest.param(
            lambda b: b["events"][1].update(position=815), "events[1].position", id="position-repeated"
        ),
        pytest.param(lambda b: b.update(has_more=1), "has_more", id="has-more-not-bool"),
        pytest.param(lambda b: b.update(cursor=None), "cursor", id="no-cursor"),
        pytest.param(lambda b: b["events"][0].update(seq=3), "events[0].seq", id="record-unknown-field"),
        pytest.param(
            lambda b: b["events"][1]["event"].update(role="mayor"), "events[1].event.role", id="unknown-role"
        ),
        pytest.param(
            lambda b: b["events"][1]["event"]["actor"].update(phone="138"),
            "events[1].event.actor.phone",
            id="actor-unknown-field",
        ),
        pytest.param(
            lambda b: b["events"][1]["event"]["actor"].pop("street_id"),
            "events[1].event.actor.street_id",
            id="actor-without-street",
        ),
        pytest.param(
            lambda b: b["events"][0]["event"].update(received_at="2024-05-06 01:40:00"),
            "events[0].event.received_at",
            id="naive-received-at",
        ),
        pytest.param(
            lambda b: b["events"][0]["event"].update(args=[]), "events[0].event.args", id="args-array"
        ),
        pytest.param(
            lambda b: b["events"][0]["event"].update(name=""), "events[0].event.name", id="empty-name"
        ),
    ],
)
def test_an_inconsistent_pull_response_is_refused(
    edit: Callable[[dict[str, Any]], object], field: str
) -> None:
    with pytest.raises(MalformedPayload) as excinfo:
        PullResponse.from_dict(_pull_with(edit))
    assert excinfo.value.field == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"code": "x", "reason": "y"}, "code", id="not-nested"),
        pytest.param({"error": {"code": "x"}}, "error.reason", id="missing-reason"),
        pytest.param(
            {"error": {"code": "x", "reason": "y", "status": 400}}, "error.status", id="unknown-field"
        ),
        pytest.param({"error": "bad request"}, "error", id="error-is-a-string"),
        pytest.param({"error": {"code": "", "reason": "y"}}, "error.code", id="empty-code"),
    ],
)
def test_a_bad_error_body_is_refused(body: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedPayload) as excinfo:
        ErrorBody.from_dict(body)
    assert excinfo.value.field == field


# --- building messages in Python ---------------------------------------------------------------------


def _mutation(**changes: Any) -> Mutation:
    fields: dict[str, Any] = {
        "id": new_id(),
        "seq": 1,
        "name": Trigger.COMMENT,
        "case_id": CASE,
        "args": {"text": "已联系物业"},
        "occurred_at": datetime(2024, 5, 6, 11, 0, tzinfo=BEIJING),
    }
    return Mutation(**{**fields, **changes})


def test_a_phone_cannot_queue_a_mutation_the_server_would_refuse() -> None:
    with pytest.raises(MalformedPayload, match=r"^occurred_at: "):
        _mutation(occurred_at=datetime(2024, 5, 6, 11, 0))
    with pytest.raises(MalformedPayload, match=r"^seq: "):
        _mutation(seq=0)
    with pytest.raises(MalformedPayload, match=r"^name: "):
        _mutation(name="shout")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param({"points": (1, 2)}, id="tuple-would-come-back-a-list"),
        pytest.param({"at": datetime(2024, 5, 6, tzinfo=UTC)}, id="datetime-is-not-json"),
        pytest.param({"lat": math.nan}, id="nan"),
        pytest.param({"lat": math.inf}, id="infinity"),
        pytest.param({1: "one"}, id="integer-key-would-come-back-a-string"),
        pytest.param({"nested": {2: "two"}}, id="nested-integer-key"),
        pytest.param({"text": "\ud800"}, id="unpaired-surrogate"),
    ],
)
def test_args_must_survive_the_wire_unchanged(args: dict[Any, Any]) -> None:
    with pytest.raises(MalformedPayload, match=r"^args: "):
        _mutation(args=args)


def test_args_nesting_is_capped_so_any_message_carrying_them_stays_parseable() -> None:
    def nested(depth: int) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for _ in range(depth - 1):
            args = {"x": args}
        return args

    # 28 levels is the most a pull page has room for: response, events, record, event, then args.
    mutation = _mutation(args=nested(28))
    with pytest.raises(MalformedPayload, match=r"^args: nested deeper than 28$"):
        _mutation(args=nested(29))

    record = EventRecord(
        Event(
            id=mutation.id,
            case_id=CASE,
            name="comment",
            actor=Actor("u-wang", "s-nanjie"),
            role=Role.ROAD_CHIEF,
            occurred_at=mutation.occurred_at,
            args=mutation.args,
        ),
        1,
    )
    page = PullResponse(PROTOCOL_VERSION, (record,), "c1:1", False, 1)
    assert PullResponse.from_dict(loads(dumps(page))) == page


def test_name_is_kept_as_the_trigger_member() -> None:
    assert _mutation(name="comment").name is Trigger.COMMENT


def test_status_is_kept_as_the_enum_member() -> None:
    assert MutationResult(M1, 1, "applied").status is MutationStatus.APPLIED  # type: ignore[arg-type]


def test_a_batch_is_a_tuple_of_mutations() -> None:
    with pytest.raises(MalformedPayload, match=r"^mutations: expected a tuple"):
        PushRequest(PROTOCOL_VERSION, DEVICE, [_mutation()])  # type: ignore[arg-type]


def test_statuses_are_the_four_the_phone_understands() -> None:
    assert {status.value for status in MutationStatus} == {"applied", "duplicate", "rejected", "retry"}


# --- the package ships inside the phone app ----------------------------------------------------------


def test_shared_imports_only_the_standard_library_and_the_engine_vocabulary() -> None:
    # engine.frozen: the fast dataclass constructors, standard library only
    allowed_engine = {"engine.vocabulary", "engine.events", "engine.frozen"}
    package = Path(__file__).resolve().parents[2] / "shared"
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__" or module in allowed_engine, (
                    f"{path.name} imports {module}"
                )
