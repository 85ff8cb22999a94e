"""The bytes on the wire: strict JSON both ways, datetimes, ids and engine events."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.events import Actor, Event
from engine.vocabulary import Role, Trigger, Urgency
from shared import (
    MAX_ARGS_BYTES,
    MAX_JSON_DEPTH,
    MAX_SEQ,
    MalformedPayload,
    Mutation,
    dumps,
    event_from_wire,
    event_to_wire,
    loads,
    new_id,
    parse_datetime,
)

BEIJING = timezone(timedelta(hours=8))
CASE = "0c9a8b7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"

APPROVED = Event(
    id="e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
    case_id=CASE,
    name="approve",
    actor=Actor(user_id="u-zhao", street_id="s-nanjie"),
    role=Role.SUPERVISOR,
    occurred_at=datetime(2024, 5, 8, 16, 45, 3, tzinfo=BEIJING),
    args={"comment": "已修复，验收通过", "photos": ["ab" * 32]},
    received_at=datetime(2024, 5, 8, 8, 45, 4, 250000, tzinfo=UTC),
)
APPROVED_WIRE: dict[str, Any] = {
    "id": "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b",
    "case_id": CASE,
    "name": "approve",
    "actor": {"user_id": "u-zhao", "street_id": "s-nanjie", "community_id": None, "department_id": None},
    "role": "supervisor",
    "occurred_at": "2024-05-08T16:45:03+08:00",
    "args": {"comment": "已修复，验收通过", "photos": ["ab" * 32]},
    "received_at": "2024-05-08T08:45:04.250000+00:00",
}


# --- dumps / loads -----------------------------------------------------------------------------------


def test_chinese_text_travels_unescaped_and_comes_back() -> None:
    data = dumps({"description": "井盖缺失", "road": "广宁路"})

    assert data == '{"description":"井盖缺失","road":"广宁路"}'.encode()
    assert b"\\u" not in data
    assert loads(data) == {"description": "井盖缺失", "road": "广宁路"}


def test_dumps_writes_datetimes_with_their_offset_and_enums_as_their_value() -> None:
    data = dumps({"at": datetime(2024, 5, 6, 9, 0, tzinfo=BEIJING), "urgency": Urgency.URGENT})
    assert json.loads(data) == {"at": "2024-05-06T09:00:00+08:00", "urgency": "urgent"}


def test_dumps_writes_a_message_as_its_dict() -> None:
    mutation = Mutation(
        id=new_id(),
        seq=1,
        name=Trigger.COMMENT,
        case_id=CASE,
        args={},
        occurred_at=datetime(2024, 5, 6, tzinfo=BEIJING),
    )
    assert dumps(mutation) == dumps(mutation.to_dict())
    assert dumps(APPROVED) == dumps(APPROVED_WIRE)


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), float("-inf"), datetime(2024, 5, 6, 9, 0), "\ud800"],
    ids=["nan", "infinity", "minus-infinity", "naive-datetime", "unpaired-surrogate"],
)
def test_dumps_refuses_what_the_other_side_would_refuse(value: object) -> None:
    with pytest.raises(MalformedPayload, match="cannot be sent as JSON"):
        dumps({"value": value})


def test_dumps_refuses_objects_it_does_not_know() -> None:
    with pytest.raises(TypeError):
        dumps({"value": {1, 2}})


def test_loads_reads_bytes_and_text_alike() -> None:
    assert loads(b'{"seq":1}') == loads('{"seq":1}') == {"seq": 1}
    assert loads(bytearray(b"[true,null]")) == [True, None]


@pytest.mark.parametrize(
    "text",
    ['{"lat": NaN}', '{"lat": Infinity}', '{"lat": -Infinity}', '{"lat": 1e400}', '{"lat": -1e400}'],
    ids=["nan", "infinity", "minus-infinity", "overflow", "minus-overflow"],
)
def test_non_finite_numbers_are_refused(text: str) -> None:
    with pytest.raises(MalformedPayload, match="not valid JSON"):
        loads(text)


def _nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _nested_objects(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


@pytest.mark.parametrize("nested", [_nested_arrays, _nested_objects], ids=["arrays", "objects"])
def test_nesting_up_to_the_limit_is_read(nested: Any) -> None:
    loads(nested(MAX_JSON_DEPTH))


@pytest.mark.parametrize("nested", [_nested_arrays, _nested_objects], ids=["arrays", "objects"])
def test_nesting_beyond_the_limit_is_refused(nested: Any) -> None:
    with pytest.raises(MalformedPayload, match=f"nested deeper than {MAX_JSON_DEPTH}"):
        loads(nested(MAX_JSON_DEPTH + 1))


def test_absurdly_deep_nesting_is_refused_without_blowing_the_stack() -> None:
    with pytest.raises(MalformedPayload, match="nested deeper"):
        loads(_nested_arrays(200_000))


def test_depth_counts_the_deepest_branch_not_the_widest() -> None:
    wide = [[[]] for _ in range(1000)]
    assert loads(json.dumps(wide)) == wide


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(b"", "not valid JSON", id="empty"),
        pytest.param(b"{'seq': 1}", "not valid JSON", id="single-quotes"),
        pytest.param(b'{"seq": 1} trailing', "not valid JSON", id="trailing-garbage"),
        pytest.param(b'{"seq": 1, "seq": 2}', "appears twice", id="duplicate-key"),
        pytest.param(b'{"s": "\xff"}', "not UTF-8", id="not-utf8"),
        pytest.param('{"s": "x"}'.encode("utf-16"), "not UTF-8", id="utf16"),
        pytest.param(b'"\\ud800"', "unpaired surrogate", id="escaped-lone-surrogate"),
        pytest.param(b'"\\udc00x"', "unpaired surrogate", id="escaped-lone-low-surrogate"),
        pytest.param(b"1" * 5000, "not valid JSON", id="integer-with-5000-digits"),
        pytest.param(b'"tab\there"', "not valid JSON", id="raw-control-character"),
    ],
)
def test_loads_refuses_what_is_not_strict_json(data: bytes, words: str) -> None:
    with pytest.raises(MalformedPayload, match=words):
        loads(data)


def test_a_lone_surrogate_in_text_is_refused() -> None:
    with pytest.raises(MalformedPayload, match="unpaired surrogate"):
        loads('"\ud800"')


def test_an_escaped_surrogate_pair_is_one_character() -> None:
    assert loads(b'"\\ud83d\\udea7"') == "🚧"


def test_loads_takes_only_bytes_or_text() -> None:
    with pytest.raises(TypeError):
        loads(42)  # type: ignore[arg-type]


# --- datetimes and ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-06T09:14:27+08:00", datetime(2024, 5, 6, 9, 14, 27, tzinfo=BEIJING)),
        ("2024-05-06T01:14:27Z", datetime(2024, 5, 6, 1, 14, 27, tzinfo=UTC)),
        ("2024-05-06T01:14:27.5+00:00", datetime(2024, 5, 6, 1, 14, 27, 500000, tzinfo=UTC)),
    ],
)
def test_parse_datetime_reads_iso_8601_with_an_offset(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-06T09:14:27",
        "2024-05-06",
        "06/05/2024 09:14",
        "",
        "2024-13-01T00:00:00+08:00",
        None,
        1714958067,
    ],
)
def test_parse_datetime_refuses_naive_or_garbled_times(text: Any) -> None:
    with pytest.raises(MalformedPayload):
        parse_datetime(text)


def test_new_ids_are_canonical_random_uuids() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 4


# --- engine events -----------------------------------------------------------------------------------


def test_event_to_wire_writes_every_field() -> None:
    assert event_to_wire(APPROVED) == APPROVED_WIRE


def test_an_event_round_trips_to_the_same_event() -> None:
    assert event_from_wire(event_to_wire(APPROVED)) == APPROVED
    assert event_from_wire(loads(dumps(event_to_wire(APPROVED)))) == APPROVED


def test_a_handler_event_keeps_its_department_and_no_received_at() -> None:
    accepted = Event(
        id=new_id(),
        case_id=CASE,
        name="accept",
        actor=Actor(user_id="u-chen", street_id="s-nanjie", department_id="d-municipal"),
        role=Role.HANDLER,
        occurred_at=datetime(2024, 5, 7, 8, 30, tzinfo=BEIJING),
    )
    wire = event_to_wire(accepted)
    assert wire["actor"]["department_id"] == "d-municipal"
    assert wire["received_at"] is None
    assert wire["args"] == {}
    again = event_from_wire(loads(dumps(wire)))
    assert again == accepted
    assert again.role is Role.HANDLER


def test_an_event_may_leave_out_its_defaults() -> None:
    wire = {key: value for key, value in APPROVED_WIRE.items() if key not in {"args", "received_at"}}
    wire["actor"] = {"user_id": "u-zhao", "street_id": "s-nanjie"}
    event = event_from_wire(wire)
    assert event.args == {}
    assert event.received_at is None
    assert event.actor == Actor(user_id="u-zhao", street_id="s-nanjie")


def test_read_only_args_from_the_engine_are_written_as_a_plain_object() -> None:
    frozen_args = Event(
        id=APPROVED.id,
        case_id=CASE,
        name="approve",
        actor=APPROVED.actor,
        role=Role.SUPERVISOR,
        occurred_at=APPROVED.occurred_at,
        args=MappingProxyType({"comment": "通过"}),
    )
    assert json.loads(dumps(event_to_wire(frozen_args)))["args"] == {"comment": "通过"}


def test_an_event_with_a_naive_time_cannot_be_written() -> None:
    naive = Event(
        id=APPROVED.id,
        case_id=CASE,
        name="approve",
        actor=APPROVED.actor,
        role=Role.SUPERVISOR,
        occurred_at=datetime(2024, 5, 8, 16, 45),
    )
    with pytest.raises(MalformedPayload, match=r"^occurred_at: "):
        event_to_wire(naive)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "E5F6A7B8-C9D0-4E1F-8A2B-3C4D5E6F7A8B"}, "id"),
        ({"role": "ROAD_CHIEF"}, "role"),
        ({"actor": {"user_id": "", "street_id": "s-nanjie"}}, "actor.user_id"),
        ({"actor": ["u-zhao"]}, "actor"),
        ({"occurred_at": "2024-05-08T16:45:03"}, "occurred_at"),
        ({"position": 3}, "position"),
    ],
)
def test_event_from_wire_is_strict(change: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedPayload) as excinfo:
        event_from_wire({**APPROVED_WIRE, **change})
    assert excinfo.value.field == field


# --- property: whatever a phone can build survives the wire -------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
mutations = st.builds(
    Mutation,
    id=st.uuids().map(str),
    seq=st.integers(min_value=1, max_value=MAX_SEQ),
    name=st.sampled_from(Trigger),
    case_id=st.uuids().map(str),
    args=st.dictionaries(st.text(max_size=12), json_values, max_size=6).filter(
        lambda args: len(json.dumps(args, ensure_ascii=False).encode()) <= MAX_ARGS_BYTES
    ),
    occurred_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
    ),
)


@given(mutations)
def test_any_valid_mutation_round_trips_through_the_wire_unchanged(mutation: Mutation) -> None:
    again = Mutation.from_dict(loads(dumps(mutation)))

    assert again == mutation
    assert again.to_dict() == mutation.to_dict()  # the device's offset too, not only the instant
