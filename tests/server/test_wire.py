"""The server's fast JSON reader answers exactly what the protocol's strict parser answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.wire import read_json, write_json
from shared import MalformedPayload, PushResponse, dumps, loads
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
