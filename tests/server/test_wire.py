"""The server's fast JSON reader answers exactly what the protocol's strict parser answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.event_text import iso_text
from server.wire import read_json, read_push_json, write_json
from shared import MalformedPayload, PushRequest, PushResponse, dumps, loads
from shared.protocol import MutationResult, MutationStatus

ID = "0b7d4c1e-7a0b-4c53-9a43-5a2c8f1d9e01"


def outcome(read: Any, body: bytes) -> tuple[str, Any]:
    try:
        return "ok", read(body)
    except MalformedPayload as exc:
        return "refused", str(exc)


def same_as_strict(body: bytes) -> None:
    fast, strict = outcome(read_json, body), outcome(loads, body)
    assert fast == strict
    if fast[0] == "ok":  # equal objects of the same types (1 and 1.0 compare equal: look closer)
        assert json.dumps(fast[1], sort_keys=True) == json.dumps(strict[1], sort_keys=True)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":1,"a":2}',  # a duplicate key: orjson would keep the last one silently
        b'{"a":{"b":1,"b":1}}',
        b'{"n":123456789012345678901234567890}',  # orjson reads this as a float
        b'{"n":1e400}',
        b'{"n":NaN}',
        b'{"n":-0}',
        b'{"n":1E5}',
        b'{"n":1.0}',
        b'{"n":0.00001}',
        b'{"s":"\\ud800"}',  # an unpaired surrogate
        b'{"s":"\\u4e2d"}',  # an escape the canonical form does not use
        b'{"s":"\xe4\xb8\xad"}',
        b'{"s":"\xff"}',  # not UTF-8
        b'{ "a" : 1 }',  # not compact
        b"[1,2]",
        b'"text"',
        b"",
        b"{" * 40 + b"}" * 40,  # deeper than the protocol allows
        b'{"a":' * 30 + b"1" + b"}" * 30,
    ],
)
def test_odd_bodies_get_the_strict_answer(body: bytes) -> None:
    same_as_strict(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_what_a_phone_writes_reads_back_the_same(document: dict[str, Any]) -> None:
    try:
        body = dumps(document)
    except MalformedPayload:  # e.g. an unpaired surrogate in generated text: a phone cannot send it
        return
    same_as_strict(body)


def test_answers_are_written_as_the_protocol_writes_them() -> None:
    answer = PushResponse(
        1,
        (
            MutationResult(ID, 1, MutationStatus.APPLIED),
            MutationResult(ID, 2, MutationStatus.REJECTED, "not_allowed", "不允许", "Not allowed"),
        ),
        2,
    )
    assert write_json(answer) == dumps(answer)


# --- a push body read the fast way is the push read the strict way ---------------------------

_UUID = "9f1c2a3b-4d5e-4f60-8a7b-1c2d3e4f5a6b"
_odd_ids = st.sampled_from([ID, _UUID, ID.upper(), "x", 5, None])
_mutation_fields = {
    "id": _odd_ids,
    "seq": st.sampled_from([1, 2, 3, 7, 0, -1, True, 1.0, 2**60, "1"]),
    "name": st.sampled_from(["comment", "report", "record_points", "nope", 3, None]),
    "case_id": _odd_ids,
    "args": st.one_of(
        st.dictionaries(st.text(max_size=5), json_values, max_size=4),
        st.just({"text": "x" * 20_000}),  # larger than the protocol's args limit
        st.sampled_from([[], "args", None]),
    ),
    "occurred_at": st.sampled_from(
        ["2026-11-29T10:00:00+08:00", "2026-11-29T02:00:00.123456Z", "2026-11-29T10:00:00", "soon", 5]
    ),
}


@st.composite
def _push_documents(draw: st.DrawFn) -> dict[str, Any]:
    mutations = []
    for _ in range(draw(st.integers(1, 4))):
        mutation = {key: draw(values) for key, values in _mutation_fields.items()}
        if draw(st.integers(0, 9)) == 0:  # now and then a field missing, or one too many
            mutation.pop(draw(st.sampled_from(sorted(mutation))))
        elif draw(st.integers(0, 9)) == 0:
            mutation["extra"] = 1
        mutations.append(mutation)
    return {"protocol_version": 1, "device_id": _UUID, "mutations": mutations}


def _read_push(read: Any, body: bytes) -> tuple[str, Any]:
    try:
        request = read(body)
    except MalformedPayload as exc:
        return "refused", f"{type(exc).__name__}: {exc}"
    # args_json is left out of a mutation's equality: compare it too
    return "ok", (request, [mutation.args_json for mutation in request.mutations])


@settings(max_examples=400, deadline=None)
@given(_push_documents())
def test_a_push_body_read_the_fast_way_is_the_push_the_strict_reader_gives(document: dict[str, Any]) -> None:
    try:
        body = dumps(document)
    except MalformedPayload:  # e.g. an unpaired surrogate in generated text: a phone cannot send it
        return
    fast = _read_push(lambda b: PushRequest.from_dict(*read_push_json(b)), body)
    strict = _read_push(lambda b: PushRequest.from_dict(loads(b)), body)
    assert fast == strict


_MINUTE_OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))


@settings(max_examples=500, deadline=None)
@given(st.datetimes(timezones=st.one_of(st.just(UTC), _MINUTE_OFFSETS)))
def test_a_time_the_protocol_accepts_is_written_as_isoformat_writes_it(moment: datetime) -> None:
    assert iso_text(moment) == moment.isoformat()


def test_an_offset_with_seconds_is_what_orjson_would_get_wrong() -> None:
    # why the protocol refuses it (shared.codec): the seconds would be lost
    moment = datetime(2026, 11, 29, 10, tzinfo=timezone(timedelta(hours=5, minutes=30, seconds=15)))
    assert iso_text(moment) != moment.isoformat()
