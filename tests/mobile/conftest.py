"""Kivy runs headless here: SDL's offscreen driver, no console log, and a KIVY_HOME inside the repo.

These variables must be set before anything imports Kivy, so they are set at collection time.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_HOME", str(ROOT / ".kivyhome"))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")

from .server_process import launcher, street  # noqa: E402  (fixtures, after the Kivy setup above)

__all__ = ["launcher", "street"]
