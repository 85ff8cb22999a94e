"""Photo evidence: verify uploads, store them content-addressed, serve them back.

Phones take a photo, shrink it, and name it by the SHA-256 of the bytes they will upload; a mutation
then refers to the photo by that hash (``design.md``, "Photos"). So the server's job is:

* **verify** (:func:`verify_photo`): the hash is 64 lower-case hex digits and really is the SHA-256
  of the bytes as uploaded; the size is under the cap; the bytes are one JPEG or PNG and nothing
  else (no trailing payload after the image's end, the usual trick behind image/ZIP, image/HTML and
  image/PHP polyglots); the header declares a sane pixel count (decompression bombs); Pillow can
  both ``verify()`` and fully ``load()`` it (``verify()`` alone misses truncated data);
* **clean**: the pixels are re-encoded with the EXIF orientation applied and every piece of metadata
  dropped (EXIF, GPS, XMP, ICC, text chunks), so what we serve carries no location or device data
  and no bytes the uploader chose beyond the pixels;
* **keep what the supervisor needs**: when and where the photo was taken (EXIF ``DateTimeOriginal``
  and GPS), with width, height and format, go to a JSON sidecar that stays on the server;
* **store** (:class:`PhotoStore`): under ``root/ab/cd/<sha256>.jpg|png``, a name made only from the
  verified hash (never from anything the client named), written atomically so a crash never leaves
  half a photo under its final name. The stored file is the cleaned one, yet it is filed under the
  hash of the upload, because that is the only name the phone knows.

HTTP (:func:`make_router`): ``PUT``, ``HEAD`` and ``GET`` on ``/api/v1/photos/{sha256}``. ``PUT`` is
idempotent: 201 when stored, 200 when the server already had it. Every refusal is a 4xx with
``{"error": {"code": ..., "reason": ...}}``:

=====================  ======  ================================================================
code                   status  meaning
=====================  ======  ================================================================
``invalid_hash``       422     the name is not 64 lower-case hex digits
``hash_mismatch``      422     the bytes do not hash to the name (damaged in transit: send again)
``invalid_photo``      422     JPEG/PNG that is truncated, corrupt, or has bytes after its end
``photo_too_large``    413     more bytes than the cap, or more pixels than the cap
``unsupported_photo``  415     not a JPEG or PNG (by content or by ``Content-Type``), or animated
``photo_not_found``    404     ``GET`` of a photo the server does not have
=====================  ======  ================================================================

A ``PUT`` the server cannot store just now (its disk full, over quota, failing or read-only) is
answered 503 ``unavailable``, like any outage: the phone keeps the photo and sends it again.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import logging
import math
import os
import re
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from PIL import ExifTags, Image, ImageOps
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from shared.constants import MAX_PHOTO_BYTES, PHOTO_PATH

__all__ = [
    "MAX_PHOTO_PIXELS",
    "PhotoError",
    "PhotoStore",
    "StoredPhoto",
    "VerifiedPhoto",
    "make_router",
    "verify_photo",
]

log = logging.getLogger("server")

# 40 megapixels: above any photo a shrunk phone upload can be (the phone shrinks before hashing),
# below Pillow's own bomb warning (~89 MP), and ~120 MB of RGB once decoded: the most one upload may
# make the server allocate.
MAX_PHOTO_PIXELS: int = 40_000_000

# Re-encoding quality: visually lossless for evidence photos, much smaller than camera output.
JPEG_QUALITY: int = 88

_HASH_RE = re.compile(r"[0-9a-f]{64}")
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png"}
# Only these decoders ever see uploaded bytes: a smaller attack surface than Pillow's ~40 formats.
_FORMATS = ("JPEG", "PNG")
# Modes the PNG encoder writes as they are; anything else is converted to RGB(A) first.
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})
_TEMP_SUFFIX = ".part"


# --------------------------------------------------------------------------------------------------
# Errors and records


class PhotoError(Exception):
    """An upload or lookup the server refuses; ``code`` is stable, ``reason`` is English for people,
    ``status`` is the HTTP status the router answers with."""

    def __init__(self, code: str, reason: str, status: int) -> None:
        super().__init__(reason)
        self.code: str = code
        self.reason: str = reason
        self.status: int = status

    def to_dict(self) -> dict[str, Any]:
        """The same envelope as every other 4xx of the server (``shared.protocol.ErrorBody``)."""
        return {"error": {"code": self.code, "reason": self.reason}}


def _invalid_hash(sha256: object) -> PhotoError:
    shown = repr(sha256)[:80]  # the name is attacker-chosen: never echo it whole
    return PhotoError("invalid_hash", f"a photo is named by 64 lower-case hex digits, got {shown}", 422)


def _too_large(reason: str) -> PhotoError:
    return PhotoError("photo_too_large", reason, 413)


def _unsupported(reason: str) -> PhotoError:
    return PhotoError("unsupported_photo", reason, 415)


def _invalid(reason: str) -> PhotoError:
    return PhotoError("invalid_photo", reason, 422)


def _not_found(sha256: str) -> PhotoError:
    return PhotoError("photo_not_found", f"no photo {sha256}", 404)


@dataclass(frozen=True, slots=True)
class VerifiedPhoto:
    """An upload that passed every check, with its cleaned bytes ready to store.

    ``data`` is the re-encoded image (no metadata); ``sha256`` and ``uploaded_size`` describe the
    upload it came from. ``taken_at`` is ISO 8601 (with the EXIF offset when the camera gave one),
    ``latitude``/``longitude`` are decimal degrees as EXIF has them (WGS-84); each is ``None`` when
    the upload did not say.
    """

    sha256: str
    format: str
    width: int
    height: int
    data: bytes
    uploaded_size: int
    taken_at: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self.format]


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    """What the store knows about one photo (the JSON sidecar, plus where the file is).

    ``size`` is the stored (cleaned) file's length. ``created`` is True only on the record returned
    by the :meth:`PhotoStore.put` call that wrote the file; everywhere else it is False.
    """

    sha256: str
    format: str
    media_type: str
    width: int
    height: int
    size: int
    uploaded_size: int
    taken_at: str | None
    latitude: float | None
    longitude: float | None
    received_at: str
    path: Path = field(compare=False)
    created: bool = field(default=False, compare=False)

    def sidecar(self) -> dict[str, Any]:
        record = asdict(self)
        del record["path"], record["created"]  # derived from where it lies / from the call
        return record


def _check_hash(sha256: object) -> str:
    # fullmatch, not match with "$": "$" also matches before a trailing newline.
    if not isinstance(sha256, str) or _HASH_RE.fullmatch(sha256) is None:
        raise _invalid_hash(sha256)
    return sha256


# --------------------------------------------------------------------------------------------------
# Verification


def _jpeg_end(data: bytes) -> int:
    """The offset just past the JPEG's EOI marker, found by walking its segments.

    A walk, not a search for ``FF D9``: an embedded EXIF thumbnail has its own EOI inside an APP1
    segment, and a payload can end in ``FF D9`` too.
    """
    n = len(data)
    i = 2  # past SOI
    while True:
        if i >= n:
            raise _invalid("the JPEG is truncated: it ends before its end-of-image marker")
        if data[i] != 0xFF:
            raise _invalid(f"the JPEG is corrupt: expected a marker at byte {i}")
        while i < n and data[i] == 0xFF:  # fill bytes may precede any marker
            i += 1
        if i >= n:
            raise _invalid("the JPEG is truncated: it ends inside a marker")
        marker = data[i]
        i += 1
        if marker == 0xD9:  # EOI
            return i
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # TEM and RSTn stand alone
            continue
        if marker == 0x00 or marker == 0xD8:
            raise _invalid(f"the JPEG is corrupt: unexpected marker 0x{marker:02X} at byte {i - 1}")
        if i + 2 > n:
            raise _invalid("the JPEG is truncated: it ends inside a segment header")
        length = int.from_bytes(data[i : i + 2], "big")
        if length < 2 or i + length > n:
            raise _invalid("the JPEG is truncated or corrupt: a segment runs past the end")
        i += length
        if marker == 0xDA:  # SOS: entropy-coded data until a real marker (not stuffing, not RSTn)
            while True:
                j = data.find(b"\xff", i)
                if j < 0 or j + 1 >= n:
                    raise _invalid("the JPEG is truncated: its scan data has no end")
                nxt = data[j + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                    i = j + 2
                elif nxt == 0xFF:
                    i = j + 1
                else:
                    i = j
                    break


def _png_end(data: bytes) -> int:
    """The offset just past the PNG's IEND chunk, walking chunk by chunk and checking each CRC."""
    n = len(data)
    i = len(_PNG_MAGIC)
    while True:
        if i + 12 > n:
            raise _invalid("the PNG is truncated: it ends before its IEND chunk")
        length = int.from_bytes(data[i : i + 4], "big")
        end = i + 12 + length
        if length > 0x7FFFFFFF or end > n:
            raise _invalid("the PNG is truncated or corrupt: a chunk runs past the end")
        kind = data[i + 4 : i + 8]
        if zlib.crc32(data[i + 4 : end - 4]) != int.from_bytes(data[end - 4 : end], "big"):
            raise _invalid(f"the PNG is corrupt: bad CRC in chunk {kind!r}")
        i = end
        if kind == b"IEND":
            return i


def _check_container(data: bytes) -> str:
    """Which of our two formats the bytes are, refusing anything after the image's end."""
    if data.startswith(_JPEG_MAGIC):
        kind, end = "JPEG", _jpeg_end(data)
    elif data.startswith(_PNG_MAGIC):
        kind, end = "PNG", _png_end(data)
    else:
        raise _unsupported("only JPEG and PNG photos are accepted")
    if end != len(data):
        # Camera apps can append trailers (motion photos), but the phone re-encodes before hashing,
        # so extra bytes here are a payload riding along: an image/ZIP, image/HTML, image/PHP polyglot.
        raise _invalid(f"{len(data) - end} unexpected bytes follow the end of the {kind} image")
    return kind


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open the header only and refuse too many pixels before anything is decompressed."""
    try:
        image = Image.open(io.BytesIO(data), formats=_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard (>89 MP warns, >179 MP errors). In production the warning is only
        # logged and our own check below refuses; under pytest (warnings are errors) it lands here.
        raise _too_large(f"the photo declares too many pixels ({exc})") from None
    except Exception as exc:
        raise _invalid(f"the photo cannot be read: {exc}") from None
    if image.format not in _FORMATS:  # e.g. MPO: the JPEG decoder's multi-picture variant
        image.close()
        raise _unsupported(f"only JPEG and PNG photos are accepted, not {image.format}")
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise _too_large(f"the photo is {width}×{height} pixels, more than the {max_pixels} allowed")
    return image


def _exif_datetime(exif_ifd: dict[int, Any]) -> str | None:
    raw = exif_ifd.get(ExifTags.Base.DateTimeOriginal)
    if not isinstance(raw, str):
        return None
    try:
        taken = datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # a malformed stamp is no evidence of when; don't guess
    offset = exif_ifd.get(ExifTags.Base.OffsetTimeOriginal)
    if isinstance(offset, str) and re.fullmatch(r"[+-](0\d|1[0-4]):[0-5]\d", offset.strip("\x00 ")):
        return taken.isoformat() + offset.strip("\x00 ")
    return taken.isoformat()


def _exif_degrees(value: Any, ref: Any, negative: str, limit: float) -> float | None:
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(x) for x in (d, m, s)) or not (0 <= m < 60 and 0 <= s < 60):
        return None
    degrees = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if isinstance(ref, str) and ref.strip("\x00 ").upper() == negative:
        degrees = -degrees
    if not -limit <= degrees <= limit:
        return None
    return round(degrees, 7)  # ~1 cm: more digits would be noise, not precision


def _exif_facts(image: Image.Image) -> tuple[str | None, float | None, float | None]:
    """When and where, from the upload's EXIF, before it is stripped. Best effort: metadata is
    untrusted input, so anything unreadable is simply absent."""
    try:
        exif = image.getexif()
        taken_at = _exif_datetime(dict(exif.get_ifd(ExifTags.IFD.Exif)))
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        lat = _exif_degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S", 90)
        lon = _exif_degrees(
            gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W", 180
        )
    except Exception:
        return None, None, None
    if lat is None or lon is None:
        lat = lon = None  # half a position is no position
    return taken_at, lat, lon


def _reencode(image: Image.Image, kind: str) -> tuple[bytes, int, int]:
    """Pixels only: orientation applied, then saved with no metadata at all."""
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:
        upright = image.copy()  # an unreadable orientation tag: keep the pixels as stored
    # Drop everything Pillow could carry over (exif, xmp, icc_profile, text chunks, comments);
    # only PNG transparency is part of the picture.
    kept = {"transparency": upright.info["transparency"]} if "transparency" in upright.info else {}
    upright.info = kept
    out = io.BytesIO()
    if kind == "JPEG":
        if upright.mode not in ("L", "RGB"):
            upright = upright.convert("RGB")  # CMYK/YCCK: browsers render RGB predictably
        upright.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=b"")
    else:
        if upright.mode not in _PNG_MODES:
            upright = upright.convert("RGBA" if "A" in upright.mode else "RGB")
        upright.save(out, "PNG", optimize=False)
    return out.getvalue(), upright.width, upright.height


def verify_photo(
    sha256: str, data: bytes, max_bytes: int = MAX_PHOTO_BYTES, *, max_pixels: int = MAX_PHOTO_PIXELS
) -> VerifiedPhoto:
    """Check an upload against its claimed hash and our rules; return it cleaned, or raise
    :class:`PhotoError`. Cheap checks run first, so a wrong hash never reaches a decoder."""
    _check_hash(sha256)
    if len(data) > max_bytes:
        raise _too_large(f"the photo is {len(data)} bytes, more than the {max_bytes} allowed")
    if not data:
        raise _invalid("the photo is empty")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise PhotoError("hash_mismatch", f"the uploaded bytes hash to {actual}, not to {sha256}", 422)
    kind = _check_container(data)

    image = _open(data, max_pixels)
    try:
        image.verify()
    except Exception as exc:
        raise _invalid(f"the photo is corrupt: {exc}") from None
    finally:
        image.close()

    # verify() leaves the image unusable and does not decode pixel data: reopen and load it all,
    # which is what catches truncated or corrupt compressed data.
    image = _open(data, max_pixels)
    try:
        try:
            image.load()
        except Exception as exc:
            raise _invalid(f"the photo cannot be decoded: {exc}") from None
        if getattr(image, "is_animated", False):
            raise _unsupported("animated images are not accepted as evidence")
        taken_at, lat, lon = _exif_facts(image)
        clean, width, height = _reencode(image, kind)
    finally:
        image.close()
    return VerifiedPhoto(
        sha256=sha256,
        format=kind,
        width=width,
        height=height,
        data=clean,
        uploaded_size=len(data),
        taken_at=taken_at,
        latitude=lat,
        longitude=lon,
    )


# --------------------------------------------------------------------------------------------------
# Storage


def _fsync_dir(directory: Path) -> None:
    # A rename is durable only once its directory is; not every platform can open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_temp(directory: Path, data: bytes) -> Path:
    """A fully written, fsynced temp file in ``directory`` (same filesystem: os.replace is atomic)."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=".", suffix=_TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


class PhotoStore:
    """Content-addressed photo files under ``root``, safe to share between threads.

    Layout: ``root/ab/cd/<sha256>.jpg`` (or ``.png``) holds the cleaned image and
    ``root/ab/cd/<sha256>.json`` its sidecar. The image is written last and is the commit point:
    :meth:`has` looks only at it, so a crash between the two writes leaves at most an orphan sidecar,
    which the next upload of that photo overwrites. Between processes (several workers) the rename is
    still atomic; two racing first uploads then both answer "created", harmlessly.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        max_bytes: int = MAX_PHOTO_BYTES,
        max_pixels: int = MAX_PHOTO_PIXELS,
        max_decoding: int | None = None,
    ) -> None:
        self.root: Path = Path(root).resolve()
        self.max_bytes: int = max_bytes
        self.max_pixels: int = max_pixels
        self.root.mkdir(parents=True, exist_ok=True)
        # Held only for "is it there yet? then rename": decoding and fsyncs happen outside it.
        self._lock = threading.Lock()
        # Each decode may hold ~120 MB of pixels and a core; the server's thread pool is 40 wide, so
        # without this a burst of uploads could decode 40 at once. More than the cores gains nothing.
        slots = max_decoding if max_decoding is not None else min(4, os.cpu_count() or 1)
        self._decoding = threading.BoundedSemaphore(max(1, slots))

    def __repr__(self) -> str:
        return f"PhotoStore({str(self.root)!r})"

    # Names come from the verified hash alone: 64 hex digits cannot contain "/" or "..".
    def _dir(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4]

    def _image_path(self, sha256: str) -> Path | None:
        directory = self._dir(sha256)
        for suffix in _SUFFIXES.values():
            candidate = directory / f"{sha256}{suffix}"
            if candidate.is_file():
                return candidate
        return None

    def has(self, sha256: str) -> bool:
        """Whether the photo is stored. A malformed name is never stored, so it is simply False."""
        if not isinstance(sha256, str) or _HASH_RE.fullmatch(sha256) is None:
            return False
        return self._image_path(sha256) is not None

    def path(self, sha256: str) -> Path:
        """The stored (cleaned) file; :class:`PhotoError` ``photo_not_found`` if there is none."""
        found = self._image_path(_check_hash(sha256))
        if found is None:
            raise _not_found(sha256)
        return found

    def open(self, sha256: str) -> bytes:
        """The stored (cleaned) image's bytes."""
        return self.path(sha256).read_bytes()

    def meta(self, sha256: str) -> StoredPhoto:
        """The sidecar record: size, format, and when and where the photo was taken."""
        image = self.path(sha256)
        try:
            record = json.loads(image.with_suffix(".json").read_text(encoding="utf-8"))
            if record.get("sha256") == sha256:
                return StoredPhoto(**record, path=image)
        except (OSError, ValueError, TypeError, AttributeError):
            pass
        # Only reachable if someone edited the store by hand: rebuild what the file itself says.
        with Image.open(image, formats=_FORMATS) as im:
            kind = im.format or "JPEG"
            return StoredPhoto(
                sha256=sha256,
                format=kind,
                media_type=_MEDIA_TYPES[kind],
                width=im.width,
                height=im.height,
                size=image.stat().st_size,
                uploaded_size=0,
                taken_at=None,
                latitude=None,
                longitude=None,
                received_at="",
                path=image,
            )

    def put(self, sha256: str, data: bytes) -> StoredPhoto:
        """Verify ``data`` against ``sha256`` and store it cleaned, unless it is already stored.

        Idempotent: a hash already stored is a no-op returning the existing record (``created``
        False), once the bytes are shown to match it. Raises :class:`PhotoError` on any refusal,
        having written nothing.
        """
        _check_hash(sha256)
        if len(data) > self.max_bytes:
            raise _too_large(f"the photo is {len(data)} bytes, more than the {self.max_bytes} allowed")
        if self.has(sha256):
            # Still check the bytes: a PUT must not be able to "confirm" a photo it does not hold.
            actual = hashlib.sha256(data).hexdigest()
            if actual != sha256:
                raise PhotoError(
                    "hash_mismatch", f"the uploaded bytes hash to {actual}, not to {sha256}", 422
                )
            return self.meta(sha256)

        with self._decoding:
            photo = verify_photo(sha256, data, self.max_bytes, max_pixels=self.max_pixels)
        directory = self._dir(sha256)
        image_path = directory / f"{sha256}{_SUFFIXES[photo.format]}"
        record = StoredPhoto(
            sha256=sha256,
            format=photo.format,
            media_type=photo.media_type,
            width=photo.width,
            height=photo.height,
            size=len(photo.data),
            uploaded_size=photo.uploaded_size,
            taken_at=photo.taken_at,
            latitude=photo.latitude,
            longitude=photo.longitude,
            received_at=datetime.now(UTC).isoformat(timespec="seconds"),
            path=image_path,
        )
        sidecar = json.dumps(record.sidecar(), ensure_ascii=False, sort_keys=True, indent=1).encode()

        directory.mkdir(parents=True, exist_ok=True)
        temps: list[Path] = []
        try:
            temps.append(_write_temp(directory, sidecar))
            temps.append(_write_temp(directory, photo.data))
            with self._lock:
                if self.has(sha256):  # another request stored it while we were decoding
                    return self.meta(sha256)
                os.replace(temps[0], image_path.with_suffix(".json"))
                os.replace(temps[1], image_path)  # the commit point
        finally:
            for temp in temps:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
        _fsync_dir(directory)
        return StoredPhoto(**record.sidecar(), path=image_path, created=True)

    def stored(self) -> Iterator[tuple[str, Path]]:
        """Every stored photo: (its hash, its image file)."""
        for suffix in _SUFFIXES.values():
            for image in self.root.glob(f"*/*/*{suffix}"):
                if _HASH_RE.fullmatch(image.stem) is not None:
                    yield image.stem, image

    def remove(self, sha256: str) -> int:
        """Delete a photo (its image first: from then on it is not stored) and its sidecar; the
        bytes freed, 0 if it was not there."""
        image = self._image_path(_check_hash(sha256))
        if image is None:
            return 0
        freed = 0
        for path in (image, image.with_suffix(".json")):
            with contextlib.suppress(FileNotFoundError):
                freed += path.stat().st_size
                path.unlink()
        return freed

    def remove_stale_temp(self, older_than: float = 3600.0) -> int:
        """Delete temp files a crash left behind (older than ``older_than`` seconds, so an upload
        in flight in another worker is left alone). Returns how many were removed."""
        cutoff = time.time() - older_than
        removed = 0
        for temp in self.root.glob(f"*/*/.*{_TEMP_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()
                    removed += 1
        return removed


# --------------------------------------------------------------------------------------------------
# HTTP


class ErrorDetail(BaseModel):
    code: str
    reason: str


class ErrorEnvelope(BaseModel):
    """The body of every refusal."""

    error: ErrorDetail


class PhotoOut(BaseModel):
    """What ``PUT`` answers: the stored photo as the server will serve it."""

    sha256: str
    media_type: str
    width: int
    height: int
    size: int


_ACCEPTED_TYPES = frozenset(_MEDIA_TYPES.values())
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_HASH_DOC = "SHA-256 of the bytes as uploaded: 64 lower-case hex digits"
# The pattern is documented here but checked in the handler, so a bad name gets our own error
# envelope rather than FastAPI's validation body.
_Sha256 = Annotated[str, PathParam(description=_HASH_DOC, json_schema_extra={"pattern": "^[0-9a-f]{64}$"})]


def _error_doc(description: str) -> dict[str, Any]:
    return {"model": ErrorEnvelope, "description": description}


# the photo directory cannot take a file just now (full, over quota, failing, read-only): an outage
# the phone waits out with the photo kept, not a bug
_STORAGE_OUTAGE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})


def _storage_unavailable(sha256: str, exc: OSError) -> PhotoError:
    log.warning("photo %s not stored: %s", sha256, exc.strerror or exc)
    return PhotoError(
        "unavailable", "the server cannot store photos just now (its disk is full or failing); try again", 503
    )


def _error_response(exc: PhotoError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status)


def _store(request: Request) -> PhotoStore:
    store = getattr(request.app.state, "photos", None)
    if not isinstance(store, PhotoStore):
        raise RuntimeError("app.state.photos must be a PhotoStore (the app factory sets it)")
    return store


async def _read_body(request: Request, cap: int) -> bytes:
    """The request body, but never more than ``cap`` bytes of it in memory."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        # Refuse before reading a byte: the client learns at once, the server spends nothing.
        raise _too_large(f"the photo is {int(declared)} bytes, more than the {cap} allowed")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:  # chunked uploads have no Content-Length: count as they arrive
            raise _too_large(f"the photo is more than the {cap} bytes allowed")
    return bytes(body)


def _photo_out(photo: StoredPhoto) -> dict[str, Any]:
    return PhotoOut(
        sha256=photo.sha256,
        media_type=photo.media_type,
        width=photo.width,
        height=photo.height,
        size=photo.size,
    ).model_dump()


def make_router(auth_dependency: Callable[..., Any] | None) -> APIRouter:
    """The photo routes, each behind ``Depends(auth_dependency)``.

    The dependency runs before the body is read, so an unauthenticated upload costs nothing. Pass
    ``None`` only in tests that want the routes open.
    """
    if auth_dependency is None:
        router = APIRouter(tags=["photos"])
    else:
        router = APIRouter(
            tags=["photos"],
            dependencies=[Depends(auth_dependency)],
            responses={401: _error_doc("Not signed in (answered by the auth dependency).")},
        )

    @router.put(
        PHOTO_PATH,
        status_code=201,
        summary="Upload a photo (idempotent)",
        responses={
            201: {"model": PhotoOut, "description": "Stored."},
            200: {"model": PhotoOut, "description": "Already stored: nothing changed."},
            413: _error_doc("`photo_too_large`: more bytes or pixels than allowed."),
            415: _error_doc("`unsupported_photo`: not JPEG or PNG."),
            422: _error_doc("`invalid_hash`, `hash_mismatch` or `invalid_photo`."),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "The photo's bytes exactly as hashed; JPEG or PNG.",
                "content": {media_type: _BINARY for media_type in sorted(_ACCEPTED_TYPES)},
            }
        },
    )
    async def put_photo(sha256: _Sha256, request: Request) -> Response:
        """Store a JPEG or PNG under the SHA-256 of its bytes. The server keeps a copy without
        metadata (EXIF orientation applied), plus when and where it was taken."""
        store = _store(request)
        try:
            _check_hash(sha256)
            media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type not in _ACCEPTED_TYPES:
                raise _unsupported(f"Content-Type must be image/jpeg or image/png, not {media_type!r:.60}")
            data = await _read_body(request, store.max_bytes)
            # Hashing, decoding and fsync are blocking: keep them off the event loop.
            try:
                photo = await run_in_threadpool(store.put, sha256, data)
            except OSError as exc:
                if exc.errno not in _STORAGE_OUTAGE:
                    raise  # a bug or a misconfiguration: the last-resort handler logs it, 500
                raise _storage_unavailable(sha256, exc) from exc
        except PhotoError as exc:
            return _error_response(exc)
        return JSONResponse(
            _photo_out(photo),
            status_code=201 if photo.created else 200,
            headers={"location": PHOTO_PATH.format(sha256=sha256)},
        )

    @router.head(
        PHOTO_PATH,
        summary="Does the server have this photo?",
        response_class=Response,
        responses={
            200: {"description": "Stored: no need to upload it."},
            404: {"description": "Not stored."},
            422: {"description": "Not a photo name."},
        },
    )
    async def head_photo(sha256: _Sha256, request: Request) -> Response:
        """Lets a phone skip uploads the server already has."""
        store = _store(request)
        if _HASH_RE.fullmatch(sha256) is None:
            return Response(status_code=422)
        if not store.has(sha256):
            return Response(status_code=404)
        path = store.path(sha256)
        suffix_type = "image/png" if path.suffix == ".png" else "image/jpeg"
        return Response(
            status_code=200,
            headers={
                "content-length": str(path.stat().st_size),
                "content-type": suffix_type,
                "etag": f'"{sha256}"',
            },
        )

    @router.get(
        PHOTO_PATH,
        summary="Download a photo (metadata stripped)",
        response_class=Response,
        responses={
            200: {"content": {t: _BINARY for t in sorted(_ACCEPTED_TYPES)}, "description": "The photo."},
            304: {"description": "Not modified (If-None-Match)."},
            404: _error_doc("`photo_not_found`."),
            422: _error_doc("`invalid_hash`."),
        },
    )
    async def get_photo(sha256: _Sha256, request: Request) -> Response:
        """The stored copy: re-encoded pixels, no EXIF or GPS."""
        store = _store(request)
        try:
            path = store.path(sha256)
        except PhotoError as exc:
            return _error_response(exc)
        media_type = "image/png" if path.suffix == ".png" else "image/jpeg"
        etag = f'"{sha256}"'
        headers = {
            "etag": etag,
            # Content-addressed, so it never changes; "private" because it sits behind auth.
            "cache-control": "private, max-age=31536000, immutable",
            "x-content-type-options": "nosniff",
        }
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return FileResponse(path, media_type=media_type, headers=headers)

    return router
