"""Reading an event's arguments: required fields, types and bounds, refused with the field's name.

Arguments arrive as a JSON object from a phone; nothing in them is trusted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from .case import Location
from .rejection import Rejection, refuse
from .vocabulary import RejectionCode

__all__ = [
    "MAX_PHOTOS",
    "MAX_TEXT",
    "Refused",
    "read_choice",
    "read_id",
    "read_ids",
    "read_location",
    "read_photos",
    "read_text",
    "read_time",
]

MAX_TEXT = 2000
MAX_PHOTOS = 9  # what a phone's picker sends at most in one go
MAX_ID = 64
_SHA256 = re.compile(r"[0-9a-f]{64}")
E = TypeVar("E", bound=StrEnum)
# a tuple of types is checked faster than the equivalent ``int | float`` union, and a frozenset's
# issuperset needs no throwaway set of the mapping's keys
_NUMBER = (int, float)
_LOCATION_KEYS = frozenset({"lat", "lon", "accuracy"})


class Refused(Exception):
    """Raised inside the engine to stop an action; turned into a returned ``Rejection``."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.code.value)
        self.rejection = rejection


def _missing(name: str) -> Refused:
    return Refused(refuse(RejectionCode.MISSING_FIELD, field=name))


def _invalid(name: str, detail: str) -> Refused:
    return Refused(refuse(RejectionCode.INVALID_FIELD, field=name, detail=detail))


def read_text(args: Mapping[str, Any], name: str, *, required: bool, max_len: int = MAX_TEXT) -> str | None:
    value = args.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _missing(name)
        return None
    if not isinstance(value, str):
        raise _invalid(name, "expected text")
    if len(value) > max_len:
        raise _invalid(name, f"longer than {max_len} characters")
    return value.strip()


def read_id(args: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        if required:
            raise _missing(name)
        return None
    if not isinstance(value, str) or len(value) > MAX_ID or not value.isprintable():
        raise _invalid(name, "expected an identifier")
    return value


def read_ids(args: Mapping[str, Any], name: str, *, max_count: int = 200) -> tuple[str, ...]:
    value = args.get(name, [])
    if not isinstance(value, list) or len(value) > max_count:
        raise _invalid(name, f"expected a list of at most {max_count} identifiers")
    if not all(isinstance(v, str) and 0 < len(v) <= MAX_ID for v in value):
        raise _invalid(name, "expected identifiers")
    return tuple(dict.fromkeys(value))


def read_photos(args: Mapping[str, Any], name: str = "photos", *, min_count: int = 0) -> tuple[str, ...]:
    """Photo references are the SHA-256 of the file, lower-case hex; at most ``MAX_PHOTOS``."""
    value = args.get(name)
    if value is None:
        value = []
    if not isinstance(value, list):
        raise _invalid(name, "expected a list of photo hashes")
    if len(value) < min_count:
        raise _missing(name)
    if len(value) > MAX_PHOTOS:
        raise _invalid(name, f"at most {MAX_PHOTOS} photos")
    for item in value:
        if not isinstance(item, str) or not _SHA256.fullmatch(item):
            raise _invalid(name, "expected SHA-256 hashes")
    return tuple(dict.fromkeys(value))


def read_location(args: Mapping[str, Any], name: str = "location") -> Location | None:
    value = args.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping) or not _LOCATION_KEYS.issuperset(value):
        raise _invalid(name, "expected {lat, lon}")
    lat, lon = value.get("lat"), value.get("lon")
    for v in (lat, lon):
        if isinstance(v, bool) or not isinstance(v, _NUMBER) or not math.isfinite(v):
            raise _invalid(name, "lat and lon must be numbers")
    assert isinstance(lat, int | float) and isinstance(lon, int | float)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _invalid(name, "outside the globe")
    return Location(float(lat), float(lon))


def read_choice(args: Mapping[str, Any], name: str, enum: type[E], default: E) -> E:
    value = args.get(name)
    if value is None:
        return default
    try:
        return enum(value)
    except ValueError:
        raise _invalid(name, "one of " + ", ".join(e.value for e in enum)) from None


def read_time(args: Mapping[str, Any], name: str) -> datetime | None:
    value = args.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(name, "expected an ISO-8601 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(name, "expected an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise _invalid(name, "the time needs a timezone")
    offset = moment.utcoffset()
    if offset is not None and (offset.seconds % 60 or offset.microseconds):
        # RFC 3339: whole minutes; JSON writers drop the seconds, and the case would keep another time
        raise _invalid(name, "the timezone offset must be whole minutes")
    return moment
