"""JSON on the server's hot paths: the protocol's strict reading and compact writing, faster.

``shared.loads`` refuses duplicate keys, non-finite numbers and unpaired surrogates by running a
Python callback for every object and number it parses: on a push that was a tenth of the server's
time (bench/sync.py, py-spy). ``read_json`` parses with orjson and accepts the result only when
writing it back gives the very bytes received: then the body was compact canonical JSON, no key
was dropped (a duplicate key would have shortened the output), no number was rounded (a big
integer or a number written another way would differ), and the strict parser would have returned
the same object. Anything else — phones write exactly that canonical form with ``shared.dumps`` —
goes through ``shared.loads`` itself, which gives the same answers and the same errors as before.

``write_json`` writes what ``shared.dumps`` writes (compact, UTF-8, Chinese unescaped).
"""

from __future__ import annotations

from typing import Any

from shared import dumps, loads
from shared.codec import check_depth

try:
    import orjson
except ImportError:  # pragma: no cover - the server extra installs it
    orjson = None  # type: ignore[assignment]

__all__ = ["read_json", "write_json"]


def read_json(body: bytes) -> Any:
    """``shared.loads(body)``, the same object or the same ``MalformedPayload``, usually faster."""
    if orjson is not None:
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            return loads(body)  # let the strict parser say what is wrong, in its words
        if type(obj) is dict and orjson.dumps(obj) == body:
            check_depth(obj)
            return obj
    return loads(body)


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
