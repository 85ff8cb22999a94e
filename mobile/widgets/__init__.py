"""Reusable widgets and the app's look (``theme``). ``load_kv()`` registers their kv rules once."""

from __future__ import annotations

from pathlib import Path

__all__ = ["load_kv"]

_loaded = False


def load_kv() -> None:
    """Load ``common.kv`` (and with it the widget classes); safe to call more than once."""
    global _loaded
    if _loaded:
        return
    from kivy.lang import Builder

    from . import common, rows  # noqa: F401  (registers the classes the kv rules name)

    here = Path(__file__).parent
    for name in ("common.kv", "rows.kv"):
        Builder.load_file(str(here / name))
    _loaded = True
