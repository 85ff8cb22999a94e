"""The wire protocol phone and server speak: constants, messages, JSON codec and errors.

Pure Python (standard library and ``engine.vocabulary`` / ``engine.events`` only), because it
ships inside the phone app.
"""

from __future__ import annotations

from .codec import dumps, event_from_wire, event_to_wire, loads, new_id, parse_datetime
from .constants import (
    DEFAULT_PULL_LIMIT,
    LOGIN_PATH,
    MAX_ARGS_BYTES,
    MAX_BATCH,
    MAX_JSON_DEPTH,
    MAX_PHOTO_BYTES,
    MAX_PULL_LIMIT,
    MAX_SEQ,
    PHOTO_PATH,
    PROTOCOL_VERSION,
    PULL_CURSOR_HEADER,
    PULL_HAS_MORE_HEADER,
    PULL_PATH,
    PUSH_PATH,
)
from .errors import MalformedPayload, ProtocolError, UnsupportedVersion
from .protocol import (
    ErrorBody,
    EventRecord,
    Mutation,
    MutationResult,
    MutationStatus,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
)

__all__ = [
    "DEFAULT_PULL_LIMIT",
    "LOGIN_PATH",
    "MAX_ARGS_BYTES",
    "MAX_BATCH",
    "MAX_JSON_DEPTH",
    "MAX_PHOTO_BYTES",
    "MAX_PULL_LIMIT",
    "MAX_SEQ",
    "PHOTO_PATH",
    "PROTOCOL_VERSION",
    "PULL_CURSOR_HEADER",
    "PULL_HAS_MORE_HEADER",
    "PULL_PATH",
    "PUSH_PATH",
    "ErrorBody",
    "EventRecord",
    "MalformedPayload",
    "Mutation",
    "MutationResult",
    "MutationStatus",
    "ProtocolError",
    "PullRequest",
    "PullResponse",
    "PushRequest",
    "PushResponse",
    "UnsupportedVersion",
    "dumps",
    "event_from_wire",
    "event_to_wire",
    "loads",
    "new_id",
    "parse_datetime",
]
