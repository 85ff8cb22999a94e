"""Photos on the phone: shrunk before they are stored, named by their hash, kept until uploaded.

Field networks are weak and camera files are large, so a photo is shrunk once, when it is taken
(upright per its EXIF orientation, long side at most ``MAX_SIDE`` pixels, JPEG), and the bytes
that will be uploaded are what is hashed and stored: the SHA-256 is the photo's name on the phone,
in mutations, and on the server.
"""

from __future__ import annotations

import hashlib
import io
import os
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps

from .store import LocalStore

__all__ = ["JPEG_QUALITY", "MAX_SIDE", "keep_photo", "photo_bytes", "shrink"]

MAX_SIDE = 1600
JPEG_QUALITY = 85


def shrink(data: bytes) -> bytes:
    """The photo upright, long side ≤ ``MAX_SIDE``, as a JPEG without metadata."""
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image)
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # exif=b"": the phone's GPS and serial number do not travel with the evidence
        upright.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=b"")
        return out.getvalue()


def keep_photo(store: LocalStore, data: bytes, now: datetime, *, shrink_first: bool = True) -> str:
    """Store a photo under the app's photo directory by its hash; the same photo twice is one file."""
    jpeg = shrink(data) if shrink_first else data
    sha = hashlib.sha256(jpeg).hexdigest()
    known = store.photo(sha)
    if known is not None and Path(known.path).exists():
        return sha
    store.photo_dir.mkdir(parents=True, exist_ok=True)
    target = store.photo_dir / f"{sha}.jpg"
    if not target.exists():
        # written aside, synced and renamed: a kill never leaves half a photo under its hash
        temp = target.with_name(target.name + ".part")
        with open(temp, "wb") as handle:
            handle.write(jpeg)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    with store.transaction():
        store.add_photo(sha, target, len(jpeg), now)
    return sha


def photo_bytes(store: LocalStore, sha: str) -> bytes | None:
    """The kept bytes of a photo, or ``None`` when this phone does not have it."""
    row = store.photo(sha)
    if row is None:
        return None
    try:
        return Path(row.path).read_bytes()
    except FileNotFoundError:
        return None
