"""Colours, sizes and the bundled font: one place for the app's look.

Step colours are the diagram's (``engine.diagram.STEP_COLOURS``, as in ``docs/loop.png``), so a
case's step looks the same on the phone as on the wall chart. Colours are RGBA tuples for kv
(``#:import theme mobile.widgets.theme``). Touch targets are at least 48 dp, text at least 15 sp:
the app is used one-handed, outdoors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine import Step
from engine.diagram import STEP_COLOURS

__all__ = [
    "ACCENT",
    "BACKGROUND",
    "BORDER",
    "CARD",
    "DANGER",
    "DANGER_BG",
    "FONT_PATH",
    "MUTED",
    "OK",
    "ON_PRIMARY",
    "PRIMARY",
    "PRIMARY_DARK",
    "STEP_BG",
    "STEP_FG",
    "SYMBOLS",
    "SYNC_COLOURS",
    "TEXT",
    "TOUCH",
    "WARN",
    "fade",
    "hex_rgba",
    "register_font",
    "step_bg",
    "step_fg",
]

FONT_PATH = Path(__file__).resolve().parent.parent / "fonts" / "NotoSansSC-Regular-GB2312.otf"


def hex_rgba(value: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """``"#1d4f91"`` as an RGBA tuple of floats, for kv ``Color`` and ``background_color``."""
    value = value.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


PRIMARY = hex_rgba("#1d4f91")  # the top bar and primary buttons: government blue
PRIMARY_DARK = hex_rgba("#143a6b")
ON_PRIMARY = hex_rgba("#ffffff")
ACCENT = hex_rgba("#e8f1fb")
BACKGROUND = hex_rgba("#f2f4f7")
CARD = hex_rgba("#ffffff")
BORDER = hex_rgba("#d5dae1")
TEXT = hex_rgba("#1a1f26")
MUTED = hex_rgba("#5b6470")
DANGER = hex_rgba("#c62828")  # overdue, refused
DANGER_BG = hex_rgba("#fdecea")
WARN = hex_rgba("#d98c00")
OK = hex_rgba("#2e7d32")

# backgrounds from the diagram; foregrounds are darker shades of the same hue for text on them
STEP_BG: dict[str, tuple[float, float, float, float]] = {
    step.value: hex_rgba(colour) for step, colour in STEP_COLOURS.items()
}
STEP_FG: dict[str, tuple[float, float, float, float]] = {
    Step.PATROL.value: hex_rgba("#1d4f91"),
    Step.FEEDBACK.value: hex_rgba("#7a5600"),
    Step.COORDINATION.value: hex_rgba("#9a4400"),
    Step.DISPOSAL.value: hex_rgba("#2e6b2f"),
    Step.SUPERVISION.value: hex_rgba("#5b3a9e"),
    Step.DONE.value: hex_rgba("#555b63"),
}

# the sync dot: up to date, work waiting, syncing, offline, something refused
SYNC_COLOURS: dict[str, tuple[float, float, float, float]] = {
    "online": hex_rgba("#43a047"),
    "pending": hex_rgba("#f9a825"),
    "syncing": hex_rgba("#29b6f6"),
    "offline": hex_rgba("#9e9e9e"),
    "refused": hex_rgba("#e53935"),
}

# the only non-letter glyphs the screens draw; tests/mobile/test_font.py checks the font has them
SYMBOLS: dict[str, str] = {
    "dot": "●",
    "back": "‹",
    "chevron": "›",
    "check": "✓",
    "cross": "×",
    "arrow": "→",
    "warning": "▲",
    "sep": "·",
}

TOUCH = 52  # dp: the smallest button height (≥ 48 dp)


def fade(colour: Sequence[float], alpha: float) -> tuple[float, float, float, float]:
    """``colour`` with its alpha replaced (kv ``ColorProperty`` values are lists, theme's tuples)."""
    return (colour[0], colour[1], colour[2], alpha)


def step_bg(step: str) -> tuple[float, float, float, float]:
    """Background colour of a step chip; grey for an unknown step."""
    return STEP_BG.get(step, STEP_BG[Step.DONE.value])


def step_fg(step: str) -> tuple[float, float, float, float]:
    """Text colour on a step chip."""
    return STEP_FG.get(step, STEP_FG[Step.DONE.value])


def register_font() -> str:
    """Make the bundled Noto Sans SC subset Kivy's default font (every widget, every style).

    Imports Kivy, so call it before building widgets, never from plain-Python modules.
    """
    from kivy.core.text import DEFAULT_FONT, LabelBase

    path = str(FONT_PATH)
    LabelBase.register(DEFAULT_FONT, path, path, path, path)
    return path
