"""``PhotoCompare``: the "before" and "after" photos side by side, each with when and where it was taken.

The supervisor decides from this: the same place (the distance between the two positions is
shown), the problem gone. Each side is a ``PhotoPanel``: a heading (处置前 / 处置后), the photo
(``source``: a local file; empty shows ``placeholder`` instead — "downloading…" or "no photo"),
a count when there are more photos than the one shown, and two caption lines. The look lives in
``photo_compare.kv`` beside this file.
"""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import ColorProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from . import theme

__all__ = ["PhotoCompare", "PhotoPanel"]


class PhotoPanel(BoxLayout):
    """One side: heading, photo (or placeholder), when, where."""

    heading = StringProperty("")
    source = StringProperty("")
    placeholder = StringProperty("")
    more = NumericProperty(0)  # photos on this side beyond the one shown
    when = StringProperty("")
    where = StringProperty("")
    accent = ColorProperty(theme.PRIMARY)


class PhotoCompare(BoxLayout):
    """Two ``PhotoPanel`` s (``ids.before`` and ``ids.after``) and a line under them (``note``)."""

    note = StringProperty("")


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
