"""Photo uploads: verification, cleaning, content-addressed storage, and the HTTP routes.

Unit tests call :func:`verify_photo` and :class:`PhotoStore` directly; HTTP tests go through a real
uvicorn server on 127.0.0.1 serving a tiny app built from :func:`make_router`. After every refusal
the store must hold nothing new: no photo, no sidecar, no temp file, no directory.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import uvicorn
from fastapi import FastAPI, HTTPException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageCms, ImageStat

from server.photos import (
    MAX_PHOTO_PIXELS,
    PhotoError,
    PhotoStore,
    make_router,
    verify_photo,
)
from shared.constants import MAX_PHOTO_BYTES
from tests.server import photo_samples as samples

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------------
# Helpers


def tree(root: Path) -> list[str]:
    """Every file and directory under ``root`` (temp files included), relative and sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def refused(exc: pytest.ExceptionInfo[PhotoError], code: str, status: int) -> None:
    assert (exc.value.code, exc.value.status) == (code, status), exc.value.reason


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return max(ImageStat.Stat(diff).mean)


@pytest.fixture
def store(tmp_path: Path) -> PhotoStore:
    return PhotoStore(tmp_path / "photos")


# --------------------------------------------------------------------------------------------------
# verify_photo


def test_verified_jpeg_keeps_when_and_where_but_not_the_metadata() -> None:
    data = samples.jpeg(exif=samples.exif_with_gps())
    photo = verify_photo(samples.sha(data), data, MAX_PHOTO_BYTES)

    assert (photo.format, photo.media_type, photo.width, photo.height) == ("JPEG", "image/jpeg", 64, 32)
    assert photo.taken_at == "2026-03-01T09:30:15+08:00"
    assert photo.latitude == pytest.approx(22.51)
    assert photo.longitude == pytest.approx(113 + 15 / 60 + 30.5 / 3600)
    assert photo.uploaded_size == len(data)
    cleaned = Image.open(io.BytesIO(photo.data))
    assert not cleaned.getexif()
    assert b"Exif" not in photo.data and b"RoadCam" not in photo.data


def test_southern_and_western_positions_are_negative() -> None:
    exif = samples.exif_with_gps(lat_ref="S", lon_ref="W", offset=None)
    data = samples.jpeg(exif=exif)
    photo = verify_photo(samples.sha(data), data)
    assert photo.latitude == pytest.approx(-22.51)
    assert photo.longitude < 0
    assert photo.taken_at == "2026-03-01T09:30:15"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lat": (91.0, 0.0, 0.0)},  # beyond the pole
        {"lon": (10.0, 75.0, 0.0)},  # 75 minutes
    ],
)
def test_impossible_positions_are_dropped_not_guessed(kwargs: dict[str, tuple[float, ...]]) -> None:
    data = samples.jpeg(exif=samples.exif_with_gps(**kwargs))  # type: ignore[arg-type]
    photo = verify_photo(samples.sha(data), data)
    assert (photo.latitude, photo.longitude) == (None, None)


def test_a_malformed_time_taken_is_dropped() -> None:
    data = samples.jpeg(exif=samples.exif_with_gps(taken="yesterday-ish"))
    assert verify_photo(samples.sha(data), data).taken_at is None


def test_a_photo_without_exif_has_no_time_or_place() -> None:
    data = samples.png()
    photo = verify_photo(samples.sha(data), data)
    assert (photo.taken_at, photo.latitude, photo.longitude) == (None, None, None)


def test_orientation_is_applied_to_the_pixels_before_the_tag_is_dropped() -> None:
    # Orientation 6: the sensor stored the picture lying on its side; turn it 90° clockwise.
    data = samples.jpeg(exif=samples.exif_with_gps(orientation=6))
    photo = verify_photo(samples.sha(data), data)
    upright = Image.open(io.BytesIO(photo.data))
    assert upright.size == (32, 64)
    expected = samples.halves().transpose(Image.Transpose.ROTATE_270)  # red on top, blue below
    # JPEG blurs the red/blue edge a little; the wrong rotation would differ by ~100.
    assert mean_difference(upright, expected) < 10
    assert mean_difference(upright, samples.halves().transpose(Image.Transpose.ROTATE_90)) > 50
    assert not upright.getexif()


@pytest.mark.parametrize(
    "sha256",
    [
        "",
        "0" * 63,
        "0" * 65,
        "A" * 64,  # upper case: one name per photo
        "g" * 64,
        "0" * 64 + "\n",  # "$" in a regex would let this through
        "../" + "0" * 61,
        "0" * 60 + ".jpg",
    ],
)
def test_a_photo_name_is_64_lower_case_hex_digits(sha256: str) -> None:
    data = samples.png()
    with pytest.raises(PhotoError) as exc:
        verify_photo(sha256, data)
    refused(exc, "invalid_hash", 422)


def test_the_hash_is_of_the_bytes_as_uploaded() -> None:
    data = samples.jpeg()
    with pytest.raises(PhotoError) as exc:
        verify_photo(samples.sha(data + b"x"), data)
    refused(exc, "hash_mismatch", 422)


def test_more_bytes_than_the_cap_are_refused_before_hashing() -> None:
    data = samples.jpeg(samples.noise(64, 64))
    with pytest.raises(PhotoError) as exc:
        verify_photo(samples.sha(data), data, max_bytes=len(data) - 1)
    refused(exc, "photo_too_large", 413)
    assert verify_photo(samples.sha(data), data, max_bytes=len(data)).format == "JPEG"


@pytest.mark.parametrize("name", sorted(samples.other_formats()))
def test_only_jpeg_and_png_are_accepted(name: str) -> None:
    data = samples.other_formats()[name]
    with pytest.raises(PhotoError) as exc:
        verify_photo(samples.sha(data), data)
    refused(exc, "unsupported_photo", 415)


def test_an_animated_png_is_refused() -> None:
    data = samples.apng()
    with pytest.raises(PhotoError) as exc:
        verify_photo(samples.sha(data), data)
    refused(exc, "unsupported_photo", 415)


@pytest.mark.parametrize(
    ("base", "payload"),
    [
        ("jpeg", samples.zip_archive()),
        ("jpeg", b"<?php system($_GET['c']); ?>"),
        ("jpeg", b"\x00"),  # even one byte
        ("png", b"<html><script>alert(1)</script></html>"),
        ("png", samples.zip_archive()),
    ],
)
def test_a_polyglot_with_bytes_after_the_image_is_refused(base: str, payload: bytes) -> None:
    data = (samples.jpeg() if base == "jpeg" else samples.png()) + payload
    with pytest.raises(PhotoError) as exc:
        verify_photo(samples.sha(data), data)
    refused(exc, "invalid_photo", 422)
    assert "follow the end" in exc.value.reason


def test_a_payload_inside_a_comment_is_not_kept() -> None:
    # A valid JPEG may carry anything in a COM segment; re-encoding drops it.
    payload = b"<?php system($_GET['c']); ?>"
    data = samples.jpeg_with_comment(payload)
    photo = verify_photo(samples.sha(data), data)
    assert payload not in photo.data


def test_png_text_icc_and_exif_are_stripped() -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "home address: 广宁路 12号")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret</x:xmpmeta>")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = samples.png(pnginfo=info, exif=samples.exif_with_gps(), icc_profile=srgb)
    photo = verify_photo(samples.sha(data), data)
    assert photo.latitude == pytest.approx(22.51)
    cleaned = Image.open(io.BytesIO(photo.data))
    assert cleaned.info == {}
    assert not cleaned.getexif()
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"iCCP"):
        assert chunk not in photo.data
    assert cleaned.tobytes() == samples.halves().tobytes()


@pytest.mark.parametrize("cut", [0.25, 0.5, 0.9])
@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_a_truncated_photo_is_refused(kind: str, cut: float) -> None:
    whole = samples.jpeg(samples.noise(80, 60)) if kind == "jpeg" else samples.png(samples.noise(80, 60))
    data = whole[: int(len(whole) * cut)]
    with pytest.raises(PhotoError) as exc:
        verify_photo(samples.sha(data), data)
    refused(exc, "invalid_photo", 422)


def test_a_png_with_a_bad_crc_is_refused() -> None:
    data = bytearray(samples.png(samples.noise(20, 20)))
    data[40] ^= 0xFF  # inside IDAT
    with pytest.raises(PhotoError) as exc:
        verify_photo(samples.sha(bytes(data)), bytes(data))
    refused(exc, "invalid_photo", 422)


@pytest.mark.parametrize(
    "data",
    [
        samples.png_declaring(8000, 6250),  # 50 MP: over our cap, under Pillow's warning
        samples.png_declaring(10_000, 10_000),  # 100 MP: Pillow warns
        samples.png_declaring(100_000, 100_000),  # 10 GP: Pillow errors
        samples.jpeg_declaring(65_000, 65_000),
    ],
    ids=["png-50MP", "png-100MP", "png-10GP", "jpeg-4GP"],
)
def test_a_decompression_bomb_is_refused_from_its_header(data: bytes) -> None:
    with pytest.raises(PhotoError) as exc:
        verify_photo(samples.sha(data), data)
    refused(exc, "photo_too_large", 413)


def test_the_pixel_cap_is_configurable() -> None:
    data = samples.png(samples.halves(100, 100))
    with pytest.raises(PhotoError) as exc:
        verify_photo(samples.sha(data), data, max_pixels=9_999)
    refused(exc, "photo_too_large", 413)
    assert verify_photo(samples.sha(data), data, max_pixels=10_000).width == 100
    assert MAX_PHOTO_PIXELS == 40_000_000


@pytest.mark.parametrize(
    ("make", "served_mode"),
    [
        (lambda: samples.jpeg(samples.halves().convert("L")), "L"),
        (lambda: samples.jpeg(samples.halves().convert("CMYK")), "RGB"),
        (lambda: samples.png(samples.halves().convert("RGBA")), "RGBA"),
        (lambda: samples.png(samples.halves().convert("LA")), "LA"),
        (lambda: samples.png(samples.halves().convert("P"), transparency=0), "P"),
        (lambda: samples.png(samples.halves().convert("L").convert("I;16")), "I;16"),
        (lambda: samples.png(samples.halves().convert("1")), "1"),
    ],
    ids=["jpeg-L", "jpeg-CMYK", "png-RGBA", "png-LA", "png-P-transparent", "png-16bit", "png-1bit"],
)
def test_common_variants_are_accepted(make: object, served_mode: str) -> None:
    data = make()  # type: ignore[operator]
    photo = verify_photo(samples.sha(data), data)
    cleaned = Image.open(io.BytesIO(photo.data))
    assert (cleaned.size, cleaned.mode) == ((64, 32), served_mode)
    if photo.format == "PNG":
        original = Image.open(io.BytesIO(data))
        assert cleaned.tobytes() == original.tobytes()
        assert cleaned.info.get("transparency") == original.info.get("transparency")


_VALID = samples.jpeg(exif=samples.exif_with_gps()), samples.png(samples.noise(12, 9))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(_VALID),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.none() | st.integers(min_value=0),
)
def test_damaged_uploads_are_refused_cleanly_or_accepted_cleanly(
    base: bytes, edits: list[tuple[int, int]], cut: int | None
) -> None:
    """Whatever the damage, the answer is a PhotoError or a clean JPEG/PNG: never a crash."""
    data = bytearray(base)
    for index, value in edits:
        data[index % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    try:
        photo = verify_photo(samples.sha(bytes(data)), bytes(data))
    except PhotoError as exc:
        assert exc.status in (413, 415, 422)
        return
    cleaned = Image.open(io.BytesIO(photo.data))
    assert cleaned.format == photo.format and not cleaned.getexif()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_are_refused_cleanly(data: bytes) -> None:
    with pytest.raises(PhotoError):
        verify_photo(samples.sha(data), data)


# --------------------------------------------------------------------------------------------------
# PhotoStore


def test_a_photo_is_filed_under_its_upload_hash_with_a_sidecar(store: PhotoStore) -> None:
    data = samples.jpeg(exif=samples.exif_with_gps())
    h = samples.sha(data)
    stored = store.put(h, data)

    assert stored.created
    assert stored.path == store.root / h[:2] / h[2:4] / f"{h}.jpg"
    assert tree(store.root) == [
        h[:2],
        f"{h[:2]}/{h[2:4]}",
        f"{h[:2]}/{h[2:4]}/{h}.jpg",
        f"{h[:2]}/{h[2:4]}/{h}.json",
    ]
    assert store.has(h)
    assert store.open(h) == stored.path.read_bytes() != data  # the cleaned copy, not the upload
    sidecar = json.loads(stored.path.with_suffix(".json").read_text())
    assert sidecar["sha256"] == h
    assert sidecar["taken_at"] == "2026-03-01T09:30:15+08:00"
    assert sidecar["latitude"] == pytest.approx(22.51)
    assert (sidecar["width"], sidecar["height"], sidecar["format"]) == (64, 32, "JPEG")
    assert sidecar["size"] == stored.path.stat().st_size
    assert sidecar["uploaded_size"] == len(data)
    assert store.meta(h) == stored


def test_put_is_idempotent(store: PhotoStore) -> None:
    data = samples.png()
    h = samples.sha(data)
    first = store.put(h, data)
    listing = tree(store.root)
    mtime = first.path.stat().st_mtime_ns
    again = store.put(h, data)
    assert (first.created, again.created) == (True, False)
    assert again == first
    assert tree(store.root) == listing
    assert first.path.stat().st_mtime_ns == mtime  # not rewritten


def test_a_stored_hash_cannot_be_confirmed_with_other_bytes(store: PhotoStore) -> None:
    data = samples.png()
    h = samples.sha(data)
    store.put(h, data)
    with pytest.raises(PhotoError) as exc:
        store.put(h, b"not the photo")
    refused(exc, "hash_mismatch", 422)


def test_lookups_of_unknown_or_malformed_names(store: PhotoStore) -> None:
    unknown = "ab" * 32
    assert not store.has(unknown)
    assert not store.has("../../etc/passwd")
    assert not store.has(None)  # type: ignore[arg-type]
    for lookup in (store.path, store.open, store.meta):
        with pytest.raises(PhotoError) as exc:
            lookup(unknown)
        refused(exc, "photo_not_found", 404)
        with pytest.raises(PhotoError) as exc:
            lookup("../" + unknown[3:])
        refused(exc, "invalid_hash", 422)


@pytest.mark.parametrize(
    "data",
    [
        samples.jpeg() + samples.zip_archive(),
        samples.jpeg()[:-100],
        samples.other_formats()["gif"],
        samples.png_declaring(100_000, 100_000),
    ],
    ids=["polyglot", "truncated", "gif", "bomb"],
)
def test_a_refused_put_writes_nothing(store: PhotoStore, data: bytes) -> None:
    with pytest.raises(PhotoError):
        store.put(samples.sha(data), data)
    with pytest.raises(PhotoError):
        store.put(samples.sha(data + b"!"), data)
    assert tree(store.root) == []


def test_the_stores_byte_cap_applies(tmp_path: Path) -> None:
    small = PhotoStore(tmp_path / "small", max_bytes=100)
    data = samples.png()
    assert len(data) > 100
    with pytest.raises(PhotoError) as exc:
        small.put(samples.sha(data), data)
    refused(exc, "photo_too_large", 413)
    assert tree(small.root) == []


def test_concurrent_puts_of_one_photo_store_it_once(store: PhotoStore) -> None:
    data = samples.jpeg(samples.noise(300, 200), exif=samples.exif_with_gps())
    h = samples.sha(data)
    start = threading.Barrier(8)
    results: list[bool] = []

    def upload() -> None:
        start.wait()
        results.append(store.put(h, data).created)

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert [p for p in tree(store.root) if "." in p] == [
        f"{h[:2]}/{h[2:4]}/{h}.jpg",
        f"{h[:2]}/{h[2:4]}/{h}.json",
    ]


def test_decoding_is_limited_to_a_few_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import server.photos

    store = PhotoStore(tmp_path / "photos", max_decoding=2)
    real_verify = server.photos.verify_photo
    lock = threading.Lock()
    running, peak = 0, 0

    def slow_verify(*args: object, **kwargs: object) -> object:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return real_verify(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(server.photos, "verify_photo", slow_verify)
    photos = [samples.png(samples.noise(8, 8, seed=n)) for n in range(8)]
    threads = [threading.Thread(target=store.put, args=(samples.sha(p), p)) for p in photos]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2
    assert all(store.has(samples.sha(p)) for p in photos)


def test_a_failed_rename_leaves_no_photo_and_no_temp_file(
    store: PhotoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = samples.png()
    h = samples.sha(data)
    real_replace = os.replace
    calls: list[str] = []

    def failing_replace(src: str, dst: str) -> None:
        calls.append(str(dst))
        if str(dst).endswith(".png"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr("server.photos.os.replace", failing_replace)
    with pytest.raises(OSError):
        store.put(h, data)
    assert not store.has(h)
    assert not [p for p in tree(store.root) if p.endswith((".part", ".png"))]

    monkeypatch.setattr("server.photos.os.replace", real_replace)
    assert store.put(h, data).created  # the orphan sidecar is simply overwritten
    assert store.meta(h).sha256 == h


def test_a_process_killed_before_the_commit_leaves_no_photo(store: PhotoStore) -> None:
    """SIGKILL-equivalent: the child dies (os._exit) just before the image rename."""
    data = samples.png(samples.noise(40, 40))
    h = samples.sha(data)
    child = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        import server.photos as photos
        real = os.replace
        def die_before_image(src, dst):
            if str(dst).endswith(".png"):
                os._exit(9)
            real(src, dst)
        photos.os.replace = die_before_image
        photos.PhotoStore(Path({str(store.root)!r})).put({h!r}, sys.stdin.buffer.read())
        """
    )
    run = subprocess.run([sys.executable, "-c", child], input=data, cwd=ROOT, capture_output=True, timeout=60)
    assert run.returncode == 9, run.stderr.decode()
    assert not store.has(h)
    leftovers = [p for p in tree(store.root) if p.endswith(".part")]
    assert len(leftovers) == 1  # the image's temp file: never under a final name

    # A later upload succeeds, and the sweep removes the crash's leftovers (but not fresh ones).
    assert store.put(h, data).created
    fresh = store.root / h[:2] / h[2:4] / ".inflight.part"
    fresh.write_bytes(b"x")
    old = store.root / leftovers[0]
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert store.remove_stale_temp(older_than=3600) == 1
    assert not old.exists() and fresh.exists()


# --------------------------------------------------------------------------------------------------
# HTTP, over a real uvicorn server


def deny() -> None:
    raise HTTPException(status_code=401, detail="login required")


class Server:
    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, http="h11", ws="none", lifespan="off", log_level="warning"
        )
        self.app = app
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def photo_server() -> Iterator[Server]:
    """Its own uvicorn (not the conftest's full server): just the photo routes, open and locked."""
    app = FastAPI()
    app.include_router(make_router(lambda: None))
    app.include_router(make_router(deny), prefix="/locked")
    with Server(app) as running:
        yield running


class Api:
    """The test's view of the server: a session, the store behind it, and raw-path requests."""

    def __init__(self, server: Server, store: PhotoStore) -> None:
        self.url = server.url
        self.port = server.port
        self.store = store
        self.http = requests.Session()

    def photo(self, sha256: str) -> str:
        return f"{self.url}/api/v1/photos/{sha256}"

    def put(
        self, data: bytes, sha256: str | None = None, content_type: str | None = "image/jpeg"
    ) -> requests.Response:
        headers = {"Content-Type": content_type} if content_type else {}
        return self.http.put(self.photo(sha256 or samples.sha(data)), data=data, headers=headers, timeout=30)

    def raw(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> int:
        """Send ``path`` byte for byte (no client-side normalising of ``..`` or ``%2F``)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "image/jpeg", **(headers or {})})
            return conn.getresponse().status
        finally:
            conn.close()


@pytest.fixture
def api(photo_server: Server, tmp_path: Path) -> Iterator[Api]:
    store = PhotoStore(tmp_path / "store" / "photos", max_bytes=64 * 1024)
    photo_server.app.state.photos = store
    client = Api(photo_server, store)
    yield client
    client.http.close()


def assert_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]) == {"code", "reason"}


def test_http_jpeg_with_gps_is_stored_and_served_without_it(api: Api) -> None:
    data = samples.jpeg(exif=samples.exif_with_gps(orientation=6))
    h = samples.sha(data)

    response = api.put(data)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "sha256": h,
        "media_type": "image/jpeg",
        "width": 32,
        "height": 64,
        "size": api.store.meta(h).size,
    }
    assert response.headers["location"] == f"/api/v1/photos/{h}"

    served = api.http.get(api.photo(h), timeout=10)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.content == api.store.open(h)
    image = Image.open(io.BytesIO(served.content))
    assert not image.getexif() and "exif" not in image.info
    assert b"RoadCam" not in served.content and b"PhoneMaker" not in served.content
    expected = samples.halves().transpose(Image.Transpose.ROTATE_270)
    assert mean_difference(image, expected) < 10  # pixels intact (JPEG-close), turned upright

    meta = api.store.meta(h)
    assert (meta.latitude, meta.taken_at) == (pytest.approx(22.51), "2026-03-01T09:30:15+08:00")
    assert meta.longitude == pytest.approx(113.2584722)


def test_http_same_put_twice_is_201_then_200_and_one_file(api: Api) -> None:
    data = samples.png()
    h = samples.sha(data)
    assert api.http.head(api.photo(h), timeout=10).status_code == 404
    assert api.put(data, content_type="image/png").status_code == 201
    listing = tree(api.store.root)
    second = api.put(data, content_type="image/png")
    assert second.status_code == 200 and second.json()["sha256"] == h
    assert tree(api.store.root) == listing
    assert len([p for p in listing if p.endswith(".png")]) == 1

    head = api.http.head(api.photo(h), timeout=10)
    assert head.status_code == 200
    assert head.headers["content-type"] == "image/png"
    assert int(head.headers["content-length"]) == api.store.meta(h).size
    assert head.headers["etag"] == f'"{h}"' and head.content == b""


def test_http_content_type_must_be_jpeg_or_png_but_need_not_match(api: Api) -> None:
    data = samples.jpeg()
    # The claim is irrelevant: the server sniffs the bytes and names the file itself.
    assert api.put(data, content_type="image/png").status_code == 201
    served = api.http.get(api.photo(samples.sha(data)), timeout=10)
    assert served.headers["content-type"] == "image/jpeg"

    other = samples.png()
    before = tree(api.store.root)
    for content_type in (None, "text/html", "application/octet-stream", "image/gif"):
        assert_error(api.put(other, content_type=content_type), 415, "unsupported_photo")
    assert tree(api.store.root) == before


def test_http_get_answers(api: Api) -> None:
    data = samples.png()
    h = samples.sha(data)
    assert_error(api.http.get(api.photo(h), timeout=10), 404, "photo_not_found")
    assert_error(api.http.get(api.photo("nothex"), timeout=10), 422, "invalid_hash")
    assert api.http.head(api.photo("nothex"), timeout=10).status_code == 422
    api.put(data, content_type="image/png")
    served = api.http.get(api.photo(h), timeout=10)
    assert served.headers["etag"] == f'"{h}"'
    assert "immutable" in served.headers["cache-control"]
    again = api.http.get(api.photo(h), headers={"If-None-Match": f'"{h}"'}, timeout=10)
    assert again.status_code == 304 and again.content == b""


def test_http_hash_mismatch_is_refused_and_nothing_stored(api: Api) -> None:
    data = samples.jpeg()
    assert_error(api.put(data, sha256=samples.sha(data + b"\x00")), 422, "hash_mismatch")
    assert_error(api.put(data, sha256=samples.sha(data).upper()), 422, "invalid_hash")
    assert tree(api.store.root) == []


@pytest.mark.parametrize(
    "data",
    [
        samples.jpeg() + samples.zip_archive(),
        samples.jpeg() + b"<?php system($_GET['c']); ?>",
        samples.png() + b"<html><script>alert(1)</script></html>",
    ],
    ids=["jpeg+zip", "jpeg+php", "png+html"],
)
def test_http_polyglot_is_refused_and_nothing_stored(api: Api, data: bytes) -> None:
    assert_error(api.put(data), 422, "invalid_photo")
    assert api.http.head(api.photo(samples.sha(data)), timeout=10).status_code == 404
    assert tree(api.store.root) == []


def test_http_traversal_attempts_write_nothing_anywhere(api: Api, tmp_path: Path) -> None:
    data = samples.jpeg()
    h = samples.sha(data)
    outside = tree(tmp_path)
    attempts = [
        "/api/v1/photos/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/photos/..%2F..%2F..%2F..%2Ftmp%2Fpwned.php",
        "/api/v1/photos/%2e%2e",
        "/api/v1/photos/..",
        f"/api/v1/photos/../photos/{h}",
        f"/api/v1/photos/{h}/../../../x",
        f"/api/v1/photos/..%2F{h[3:]}",
        f"/api/v1/photos/{h}%2F..%2F..%2Fx",
        f"/api/v1/photos/{h}.php",
        f"/api/v1/photos/{h}%0A",
        f"/api/v1/photos/{h}%00",
    ]
    for path in attempts:
        status = api.raw("PUT", path, body=data)
        assert 400 <= status < 500, (path, status)
    assert tree(api.store.root) == []
    assert tree(tmp_path) == outside
    assert not Path("/tmp/pwned.php").exists()


def test_http_oversize_is_413_and_nothing_stored(api: Api) -> None:
    data = samples.jpeg(samples.noise(300, 300))
    assert len(data) > api.store.max_bytes
    assert_error(api.put(data), 413, "photo_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap is counted while streaming
        for i in range(0, len(data), 4096):
            yield data[i : i + 4096]

    chunked = api.http.put(
        api.photo(samples.sha(data)), data=chunks(), headers={"Content-Type": "image/jpeg"}, timeout=30
    )
    assert "content-length" not in {k.lower() for k in chunked.request.headers}
    assert_error(chunked, 413, "photo_too_large")
    assert tree(api.store.root) == []


def test_http_a_huge_content_length_is_refused_before_any_body_is_sent(api: Api) -> None:
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as sock:
        sock.sendall(
            f"PUT /api/v1/photos/{'0' * 64} HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: {10**12}\r\n\r\n".encode()
        )
        head = sock.recv(4096)  # answered without a single body byte having been sent
    assert head.startswith(b"HTTP/1.1 413"), head
    assert tree(api.store.root) == []


@pytest.mark.parametrize("name", ["text", "gif", "webp", "svg", "html", "pdf"])
def test_http_non_images_are_refused_and_nothing_stored(api: Api, name: str) -> None:
    data = samples.other_formats()[name]
    assert_error(api.put(data), 415, "unsupported_photo")
    assert tree(api.store.root) == []


def test_http_truncated_jpeg_is_refused(api: Api) -> None:
    data = samples.jpeg(samples.noise(100, 80))[:-200]
    assert_error(api.put(data), 422, "invalid_photo")
    assert tree(api.store.root) == []


def test_http_decompression_bomb_is_refused(api: Api) -> None:
    for data in (samples.png_declaring(100_000, 100_000), samples.png_declaring(10_000, 10_000)):
        assert_error(api.put(data, content_type="image/png"), 413, "photo_too_large")
    assert tree(api.store.root) == []


def test_http_concurrent_puts_store_exactly_one_file(api: Api) -> None:
    data = samples.jpeg(samples.noise(120, 90), exif=samples.exif_with_gps())
    h = samples.sha(data)
    start = threading.Barrier(10)
    statuses: list[int] = []

    def upload() -> None:
        with requests.Session() as session:
            start.wait()
            url = api.photo(h)
            statuses.append(
                session.put(url, data=data, headers={"Content-Type": "image/jpeg"}, timeout=30).status_code
            )

    threads = [threading.Thread(target=upload) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 9 + [201]
    files = [p for p in tree(api.store.root) if "." in p]
    assert files == [f"{h[:2]}/{h[2:4]}/{h}.jpg", f"{h[:2]}/{h[2:4]}/{h}.json"]


def test_http_the_auth_dependency_guards_every_route_before_the_body_is_read(api: Api) -> None:
    data = samples.jpeg()
    h = samples.sha(data)
    locked = f"{api.url}/locked/api/v1/photos/{h}"
    assert (
        api.http.put(locked, data=data, headers={"Content-Type": "image/jpeg"}, timeout=10).status_code == 401
    )
    assert tree(api.store.root) == []
    api.put(data)
    assert api.http.head(locked, timeout=10).status_code == 401
    assert api.http.get(locked, timeout=10).status_code == 401


def test_http_openapi_documents_the_routes(api: Api) -> None:
    spec = api.http.get(f"{api.url}/openapi.json", timeout=10).json()
    operations = spec["paths"]["/api/v1/photos/{sha256}"]
    assert set(operations) == {"put", "head", "get"}
    assert {"200", "201", "413", "415", "422"} <= set(operations["put"]["responses"])
    assert set(operations["put"]["requestBody"]["content"]) == {"image/jpeg", "image/png"}
    assert {"200", "404", "422"} <= set(operations["get"]["responses"])
    assert set(operations["get"]["responses"]["200"]["content"]) == {"image/jpeg", "image/png"}
    assert operations["put"]["parameters"][0]["schema"]["pattern"] == "^[0-9a-f]{64}$"
    locked = spec["paths"]["/locked/api/v1/photos/{sha256}"]
    assert all("401" in locked[method]["responses"] for method in ("put", "head", "get"))
