"""The bundled font: Simplified Chinese shapes, and a glyph for every character the app can show.

A subset font silently drops characters it lacks (no tofu box), so a missing glyph would only show
as a gap on screen. This test reads the font's cmap with fontTools; no window is needed.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from engine import CATEGORIES
from mobile import i18n
from mobile.widgets.theme import FONT_PATH

fontTools = pytest.importorskip("fontTools.ttLib")


@pytest.fixture(scope="module")
def cmap() -> set[int]:
    with fontTools.TTFont(str(FONT_PATH), lazy=True) as font:
        return set(font.getBestCmap())


def _missing(texts: Iterable[str], cmap: set[int]) -> dict[str, str]:
    """Characters (other than line breaks) absent from the font, with one string that uses each."""
    missing: dict[str, str] = {}
    for text in texts:
        for char in text:
            if char not in "\n\t" and ord(char) not in cmap:
                missing.setdefault(char, text)
    return missing


def test_the_font_is_the_simplified_chinese_face_and_licensed() -> None:
    with fontTools.TTFont(str(FONT_PATH), lazy=True) as font:
        family = font["name"].getDebugName(1)
        subfamily = font["name"].getDebugName(2)
        variable = "fvar" in font
    assert family == "Noto Sans CJK SC", family  # face 0 of the .ttc is JP: different shapes
    assert subfamily == "Regular" and not variable  # a variable font would default to Thin
    licence = (FONT_PATH.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert FONT_PATH.stat().st_size < 3_000_000


def test_the_font_covers_all_of_gb2312(cmap: set[int]) -> None:
    gb2312 = []
    for high in range(0xB0, 0xF8):  # the hanzi rows
        for low in range(0xA1, 0xFF):
            try:
                gb2312.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    assert len(gb2312) == 6763
    assert _missing(gb2312, cmap) == {}


def test_every_ui_string_and_domain_label_is_in_the_font(cmap: set[int]) -> None:
    assert _missing(i18n.all_texts(), cmap) == {}


def test_every_category_name_is_in_the_font(cmap: set[int]) -> None:
    texts = []
    for category in CATEGORIES.values():
        texts += [category.name_zh, category.name_en, category.major_zh, category.major_en, category.code]
    assert _missing(texts, cmap) == {}


def test_every_refusal_message_is_in_the_font(cmap: set[int]) -> None:
    from engine.rejection import MESSAGES

    texts = [text for pair in MESSAGES.values() for text in pair]
    assert _missing(texts, cmap) == {}


def test_the_symbols_the_screens_draw_are_in_the_font(cmap: set[int]) -> None:
    from mobile.widgets import theme

    assert _missing(theme.SYMBOLS.values(), cmap) == {}


def test_the_test_would_catch_a_missing_glyph(cmap: set[int]) -> None:
    assert _missing(["路长制 \U0001f600"], cmap) == {"\U0001f600": "路长制 \U0001f600"}
