"""Entry point: ``python -m mobile.main``, ``roadchief app`` and python-for-android's ``main.py``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["main"]

DESKTOP_SIZE = (420, 860)  # a phone-shaped window on a desktop


def main(data_dir: str | Path | None = None, server_url: str | None = None, lang: str | None = None) -> None:
    """Open the field app in a window; Kivy is imported here, so env vars set before apply."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kivy.config import Config

    if "ANDROID_ARGUMENT" not in os.environ:
        Config.set("graphics", "width", str(DESKTOP_SIZE[0]))
        Config.set("graphics", "height", str(DESKTOP_SIZE[1]))
    from .app import RoadChiefApp

    RoadChiefApp(data_dir=data_dir, server_url=server_url, lang=lang).run()


if __name__ == "__main__":
    main()
