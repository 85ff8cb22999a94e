"""Images for the photo tests, made in code with Pillow (nothing is downloaded or checked in).

Each helper returns the exact bytes a phone (or an attacker) would upload.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zipfile
import zlib

from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

__all__ = [
    "BLUE",
    "RED",
    "apng",
    "exif_with_gps",
    "halves",
    "jpeg",
    "jpeg_declaring",
    "jpeg_with_comment",
    "noise",
    "other_formats",
    "png",
    "png_chunk",
    "png_declaring",
    "sha",
    "zip_archive",
]

RED = (220, 30, 30)
BLUE = (30, 30, 220)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def halves(width: int = 64, height: int = 32) -> Image.Image:
    """Left half red, right half blue: big flat areas survive JPEG, and a rotation shows."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


def noise(width: int, height: int, seed: int = 7) -> Image.Image:
    """Incompressible pixels, for files of a predictable, large size."""
    rng = random.Random(seed)
    return Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))


def exif_with_gps(
    *,
    orientation: int = 1,
    lat: tuple[float, float, float] = (22.0, 30.0, 36.0),
    lat_ref: str = "N",
    lon: tuple[float, float, float] = (113.0, 15.0, 30.5),
    lon_ref: str = "E",
    taken: str = "2026:03:01 09:30:15",
    offset: str | None = "+08:00",
) -> Image.Exif:
    """EXIF as a phone camera writes it: orientation, make/model, time taken and GPS."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "RoadCam 9 Pro"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = lat_ref
    gps[ExifTags.GPS.GPSLatitude] = tuple(IFDRational(x) for x in lat)
    gps[ExifTags.GPS.GPSLongitudeRef] = lon_ref
    gps[ExifTags.GPS.GPSLongitude] = tuple(IFDRational(x) for x in lon)
    return exif


def jpeg(image: Image.Image | None = None, *, quality: int = 95, **save: object) -> bytes:
    out = io.BytesIO()
    (image or halves()).save(out, "JPEG", quality=quality, **save)
    return out.getvalue()


def png(image: Image.Image | None = None, **save: object) -> bytes:
    out = io.BytesIO()
    (image or halves()).save(out, "PNG", **save)
    return out.getvalue()


def jpeg_with_comment(comment: bytes) -> bytes:
    """A valid JPEG carrying ``comment`` in a COM segment right after SOI."""
    body = jpeg()
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return body[:2] + segment + body[2:]


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose SOF header is patched to claim ``width``×``height`` pixels."""
    data = bytearray(jpeg())
    i = 2
    while True:
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            struct.pack_into(">HH", data, i + 5, height, width)
            return bytes(data)
        i += 2 + length


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG (good CRCs, IEND last) whose header claims ``width``×``height``:
    the shape of a decompression bomb, without making the test allocate one."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def apng() -> bytes:
    frames = [Image.new("RGB", (16, 16), colour) for colour in (RED, BLUE)]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("shell.php", "<?php system($_GET['c']); ?>")
    return out.getvalue()


def _saved(fmt: str, **save: object) -> bytes:
    out = io.BytesIO()
    halves().save(out, fmt, **save)
    return out.getvalue()


def other_formats() -> dict[str, bytes]:
    """Things that are not a JPEG or PNG, by name."""
    return {
        "text": "路长 patrol note: pothole on 广宁路\n".encode(),
        "gif": _saved("GIF"),
        "webp": _saved("WEBP"),
        "bmp": _saved("BMP"),
        "tiff": _saved("TIFF"),
        "pdf": _saved("PDF"),
        "ico": _saved("ICO"),
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script></svg>",
        "html": b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>",
        "php": b"<?php system($_GET['c']); ?>",
        "zip": zip_archive(),
        "empty-ish": b"\x00",
    }
