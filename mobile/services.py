"""GPS, camera and notifications behind one small interface, with desktop fallbacks.

plyer has no Linux backend for GPS or the camera, and notifications need dbus; so the app talks to
``PlatformServices`` only. ``AndroidServices`` uses plyer (imported lazily, on Android only);
``DesktopServices`` uses a configured position, a photo directory or a chooser callback (the UI
helper passes one that opens a Kivy FileChooser), and keeps notices in a list the app shows.
``make_services()`` picks one without importing Kivy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

__all__ = ["AndroidServices", "DesktopServices", "PlatformServices", "is_android", "make_services"]

PhotoCallback = Callable[[bytes], None]


class PlatformServices(Protocol):
    """What the app needs from the phone."""

    def location(self) -> tuple[float, float] | None:
        """The last known ``(lat, lon)``, or ``None`` without a fix. Never blocks."""
        ...

    def pick_photo(self, on_chosen: PhotoCallback) -> None:
        """Take or choose a photo; ``on_chosen(bytes)`` is called later, maybe never (cancelled)."""
        ...

    def notify(self, title: str, message: str) -> None: ...


def is_android() -> bool:
    # python-for-android sets this; checking it needs no Kivy import
    return "ANDROID_ARGUMENT" in os.environ


class DesktopServices:
    """Desktop and tests: a fixed position, photos from a directory or a chooser, notices in a list."""

    def __init__(
        self,
        position: tuple[float, float] | None = None,
        photo_dir: str | Path | None = None,
        chooser: Callable[[PhotoCallback], None] | None = None,
        notices: list[tuple[str, str]] | None = None,
    ) -> None:
        self.position = position
        self.photo_dir = Path(photo_dir) if photo_dir is not None else None
        self.chooser = chooser
        self.notices: list[tuple[str, str]] = notices if notices is not None else []
        self._next = 0

    def location(self) -> tuple[float, float] | None:
        return self.position

    def pick_photo(self, on_chosen: PhotoCallback) -> None:
        if self.chooser is not None:
            self.chooser(on_chosen)
            return
        if self.photo_dir is None:
            return
        files = sorted(p for p in self.photo_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if files:
            # each pick takes the next sample, so a demo report gets different photos
            chosen = files[self._next % len(files)]
            self._next += 1
            on_chosen(chosen.read_bytes())

    def notify(self, title: str, message: str) -> None:
        self.notices.append((title, message))


class AndroidServices:
    """plyer on a phone. GPS runs continuously once started; ``location()`` returns the last fix."""

    def __init__(
        self,
        capture_dir: str | Path,
        post_to_ui: Callable[[Callable[[], None]], None] | None = None,
        min_time_ms: int = 5000,
        min_distance_m: float = 5.0,
    ) -> None:
        self.capture_dir = Path(capture_dir)
        # the camera answers on a Java thread; the photo must reach the store on the UI thread
        self.post_to_ui = post_to_ui or (lambda callback: callback())
        self._fix: tuple[float, float] | None = None
        self._lock = threading.Lock()
        self._gps: Any = None
        self._min_time = min_time_ms
        self._min_distance = min_distance_m

    def start_gps(self) -> None:
        from plyer import gps  # lazily: plyer probes the platform at import

        self._gps = gps
        gps.configure(on_location=self._on_location)
        gps.start(minTime=self._min_time, minDistance=self._min_distance)

    def stop_gps(self) -> None:
        if self._gps is not None:
            self._gps.stop()

    def _on_location(self, **kwargs: Any) -> None:
        # plyer calls this from a Java thread
        with self._lock:
            self._fix = (float(kwargs["lat"]), float(kwargs["lon"]))

    def location(self) -> tuple[float, float] | None:
        if self._gps is None:
            try:
                self.start_gps()
            except Exception:  # no permission yet, or GPS off: no fix rather than a crash
                return None
        with self._lock:
            return self._fix

    def pick_photo(self, on_chosen: PhotoCallback) -> None:
        from plyer import camera

        self.capture_dir.mkdir(parents=True, exist_ok=True)
        target = self.capture_dir / f"capture-{os.getpid()}-{threading.get_ident()}.jpg"

        def done(path: str) -> bool:
            try:
                data = Path(path).read_bytes()
            except OSError:
                return False
            Path(path).unlink(missing_ok=True)
            self.post_to_ui(lambda: on_chosen(data))
            return False

        camera.take_picture(filename=str(target), on_complete=done)

    def notify(self, title: str, message: str) -> None:
        from plyer import notification

        try:
            notification.notify(title=title, message=message, app_name="路长制")
        except Exception:  # a missing notification channel must never break an action
            pass


def make_services(
    data_dir: str | Path,
    position: tuple[float, float] | None = None,
    photo_dir: str | Path | None = None,
    post_to_ui: Callable[[Callable[[], None]], None] | None = None,
) -> PlatformServices:
    """plyer on Android, the desktop fallbacks elsewhere."""
    if is_android():
        return AndroidServices(Path(data_dir) / "captures", post_to_ui)
    return DesktopServices(position=position, photo_dir=photo_dir)
