"""JSON on the server's hot paths: the protocol's strict reading and compact writing, faster.

``shared.loads`` refuses duplicate keys, non-finite numbers and unpaired surrogates by running a
Python callback for every object and number it parses: on a push that was a tenth of the server's
time (bench/sync.py, py-spy). ``read_json`` parses with orjson and accepts the result only when
writing it back gives the very bytes received: then the body was compact canonical JSON, no key
was dropped (a duplicate key would have shortened the output), no number was rounded (a big
integer or a number written another way would differ), and the strict parser would have returned
the same object. Anything else — phones write exactly that canonical form with ``shared.dumps`` —
goes through ``shared.loads`` itself, which gives the same answers and the same errors as before.

``read_push_json`` reads a push body. For a canonical body it also gives ``PushRequest.from_dict``
an encoder that hands each mutation its args' JSON text, written back by orjson (the very bytes
the phone sent), instead of the protocol walking every args object and encoding it again with
the stdlib (a sixth of a push's time, bench/sync.py under py-spy).

``write_json`` writes what ``shared.dumps`` writes (compact, UTF-8, Chinese unescaped).
"""

from __future__ import annotations

from typing import Any

from shared import MAX_JSON_DEPTH, dumps, loads
from shared.codec import check_depth, within_depth
from shared.protocol import ArgsEncoder

try:
    import orjson
except ImportError:  # pragma: no cover - the server extra installs it
    orjson = None  # type: ignore[assignment]

__all__ = ["read_json", "read_push_json", "write_json"]

# A push body holds each mutation's args three levels down (body → mutations → mutation → args):
# a body this shallow has no args deeper than the protocol's args limit (MAX_JSON_DEPTH - 4).
_PUSH_DEPTH = MAX_JSON_DEPTH - 1


def read_json(body: bytes) -> Any:
    """``shared.loads(body)``, the same object or the same ``MalformedPayload``, usually faster."""
    if orjson is not None:
        obj = _canonical(body)
        if obj is not None:
            check_depth(obj)
            return obj
    return loads(body)  # the strict parser says what is wrong, in its words


def _canonical(body: bytes) -> Any:
    """The object, when ``body`` is compact canonical JSON as orjson writes it; otherwise None."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return obj if type(obj) is dict and orjson.dumps(obj) == body else None


def _args_text(args: dict[str, Any]) -> str:
    return orjson.dumps(args).decode()


def read_push_json(body: bytes) -> tuple[Any, ArgsEncoder | None]:
    """``read_json(body)``, and for a body whose args may be taken as sent, their encoder for
    ``PushRequest.from_dict``: the same request or the same errors as without it.

    A canonical body came from orjson's parser, so its args hold only plain JSON values; within
    ``_PUSH_DEPTH`` they are no deeper than allowed; and orjson writes each back as the phone sent
    it. Each mutation then gets that text rather than the protocol's own check and encoding.
    """
    if orjson is not None:
        obj = _canonical(body)
        if obj is not None:
            if within_depth(obj, _PUSH_DEPTH):
                return obj, _args_text
            check_depth(obj)
            return obj, None
    return loads(body), None


def write_json(message: Any) -> bytes:
    """A protocol message (a dataclass whose fields are its wire keys) as ``shared.dumps`` writes it.

    orjson writes dataclasses and enums itself, field by field, without building the ``to_dict``
    dictionaries first; tests/server/test_wire.py holds the bytes equal to ``shared.dumps``'s.
    """
    if orjson is not None:
        try:
            return orjson.dumps(message)
        except TypeError:  # pragma: no cover - an integer beyond 64 bits: the stdlib writes it
            pass
    return dumps(message)
