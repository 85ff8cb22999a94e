"""What goes wrong when a message does not follow the protocol.

::

    Exception
     └── ProtocolError            code "protocol_error"
          ├── UnsupportedVersion  code "unsupported_version"
          └── MalformedPayload    code "malformed_payload"

``code`` is stable (clients key on it); ``reason`` is English for a human, and names the offending
field as a path, e.g. ``"mutations[3].seq: expected an integer ≥ 1, got 0"``. The server answers
one with a 4xx whose body is ``ErrorBody.from_error(exc).to_dict()`` (see ``shared.protocol``).
"""

from __future__ import annotations

__all__ = ["MalformedPayload", "ProtocolError", "UnsupportedVersion"]


class ProtocolError(Exception):
    """A message that cannot be accepted as it stands; retrying it unchanged will fail again."""

    code: str = "protocol_error"

    def __init__(self, reason: str) -> None:
        # Only ``reason`` goes into args, so the exception pickles and str() is the reason itself.
        super().__init__(reason)
        self.reason: str = reason


class UnsupportedVersion(ProtocolError):
    """The message speaks a ``protocol_version`` this side does not."""

    code = "unsupported_version"


class MalformedPayload(ProtocolError):
    """Not JSON, or JSON of the wrong shape: unknown or missing field, wrong type, out of range.

    ``field`` is the path of the offending field (``"mutations[3].seq"``) when the fault is in one,
    and ``reason`` then starts with it.
    """

    code = "malformed_payload"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field: str | None = field

    def within(self, outer: str) -> MalformedPayload:
        """The same complaint seen from the enclosing object: ``seq`` inside ``mutations[3]``
        becomes ``mutations[3].seq``."""
        if self.field is None:
            return MalformedPayload(self.reason, outer)
        return MalformedPayload(self.reason[len(self.field) + 2 :], f"{outer}.{self.field}")
