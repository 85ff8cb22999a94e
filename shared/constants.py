"""Numbers and paths both ends of the sync protocol agree on.

A change here is a protocol change: bump ``PROTOCOL_VERSION`` when an old phone could no longer
talk to a new server (or the other way round).
"""

from __future__ import annotations

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
]

PROTOCOL_VERSION: int = 1

PUSH_PATH: str = "/api/v1/sync/push"
PULL_PATH: str = "/api/v1/sync/pull"
# A pull answer's ``cursor`` and ``has_more`` again, as response headers: a client can ask for the
# next page before it has parsed this one (the body stays the whole answer; the headers may be absent).
PULL_CURSOR_HEADER: str = "Roadchief-Cursor"
PULL_HAS_MORE_HEADER: str = "Roadchief-Has-More"
LOGIN_PATH: str = "/api/v1/auth/login"
# A template: fill with ``PHOTO_PATH.format(sha256=digest)``; photos are content-addressed.
PHOTO_PATH: str = "/api/v1/photos/{sha256}"

MAX_BATCH: int = 200  # mutations in one push: one server transaction per batch stays short
DEFAULT_PULL_LIMIT: int = 500
MAX_PULL_LIMIT: int = 2000
MAX_ARGS_BYTES: int = 16_384  # one mutation's args, as compact UTF-8 JSON
MAX_PHOTO_BYTES: int = 10 * 1024 * 1024
# Integers above 2**53 - 1 lose precision in JavaScript and in many JSON libraries; seqs, positions
# and cursors must survive any client.
MAX_SEQ: int = 2**53 - 1
# Deeper documents are refused before anyone walks them recursively.
MAX_JSON_DEPTH: int = 32
