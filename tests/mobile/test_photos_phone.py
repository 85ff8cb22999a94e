"""Photos are shrunk on the phone (upright, long side ≤ 1600 px, JPEG) and kept by their hash."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from mobile import keep_photo, photo_bytes, shrink

from .phone import make_ctx


def camera_photo(size=(4000, 3000), orientation: int | None = None, mode="RGB") -> bytes:
    image = Image.new(mode, size, (120, 80, 40) if mode == "RGB" else (120, 80, 40, 255))
    out = io.BytesIO()
    if orientation is None:
        image.save(out, format="JPEG" if mode == "RGB" else "PNG")
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_a_large_photo_is_shrunk_to_a_jpeg_of_1600_px():
    small = shrink(camera_photo())
    with Image.open(io.BytesIO(small)) as image:
        assert image.format == "JPEG" and image.size == (1600, 1200)
        assert not image.getexif()  # no GPS or device data leaves the phone


def test_orientation_is_applied_before_shrinking():
    # EXIF 6: the camera held upright stored the pixels on their side
    small = shrink(camera_photo((4000, 3000), orientation=6))
    with Image.open(io.BytesIO(small)) as image:
        assert image.size == (1200, 1600)


def test_small_photos_keep_their_size_and_pngs_become_jpegs():
    with Image.open(io.BytesIO(shrink(camera_photo((640, 480), mode="RGBA")))) as image:
        assert image.format == "JPEG" and image.size == (640, 480)


def test_a_kept_photo_is_named_by_the_hash_of_its_bytes_and_kept_once(tmp_path):
    ctx = make_ctx(tmp_path)
    data = camera_photo((2000, 1000))
    sha = keep_photo(ctx.store, data, ctx.now())
    again = keep_photo(ctx.store, data, ctx.now())
    assert sha == again
    stored = photo_bytes(ctx.store, sha)
    assert stored is not None and hashlib.sha256(stored).hexdigest() == sha
    row = ctx.store.photo(sha)
    assert row is not None and not row.uploaded and Path(row.path).name == f"{sha}.jpg"
    assert list(ctx.store.photo_dir.iterdir()) == [Path(row.path)]
    ctx.close()


def test_not_an_image_is_refused(tmp_path):
    ctx = make_ctx(tmp_path)
    with pytest.raises(OSError):
        keep_photo(ctx.store, b"not a photo", ctx.now())
    ctx.close()
