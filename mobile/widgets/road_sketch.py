"""``RoadSketch``: a small drawing of roads and cases from their coordinates — no map tiles.

A coordinator deciding whether a report is a duplicate needs to see *where* it is against the other
open cases, not a street map: the road's GeoJSON line is enough. The sketch projects ``(lat, lon)``
onto the widget with an equirectangular projection (longitude scaled by cos(latitude), which is
exact enough over a few hundred metres), keeps the aspect ratio so distances look true, and draws:

- each road as a thick grey line, its name at its start;
- each nearby case as a numbered amber dot (the number is the one in the merge list);
- the case being coordinated as a larger blue dot with a white ring, drawn last (on top);
- a scale bar (a round number of metres) in the lower right corner.

It redraws whenever its size, position, ``lines``, ``dots`` or ``names`` change (coalesced into one
redraw per frame).
"""

from __future__ import annotations

import math
from typing import Any

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Ellipse, Line, Rectangle, RoundedRectangle
from kivy.metrics import dp, sp
from kivy.properties import ListProperty
from kivy.uix.widget import Widget

from . import theme

__all__ = ["RoadSketch", "project", "scale_bar_metres"]

_M_PER_DEG = 111_320.0
_ROAD = theme.hex_rgba("#9aa5b1")
_NEAR = theme.hex_rgba("#d98c00")
_PAPER = theme.hex_rgba("#f7f9fb")


def project(
    points: list[tuple[float, float]], width: float, height: float, pad: float
) -> tuple[list[tuple[float, float]], float]:
    """Map ``(lat, lon)`` points into a ``width × height`` box with ``pad`` around them.

    Returns the projected ``(x, y)`` points and the scale in pixels per metre. One point (or many
    at the same place) is centred at a scale showing about 200 m across.
    """
    if not points:
        return [], 1.0
    lat0 = sum(p[0] for p in points) / len(points)
    k = math.cos(math.radians(lat0))
    xs = [p[1] * _M_PER_DEG * k for p in points]  # metres east
    ys = [p[0] * _M_PER_DEG for p in points]  # metres north
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    inner_w, inner_h = max(1.0, width - 2 * pad), max(1.0, height - 2 * pad)
    span = max(span_x / inner_w, span_y / inner_h)
    scale = 1 / span if span > 0 else min(inner_w, inner_h) / 200.0
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    out = [(width / 2 + (x - cx) * scale, height / 2 + (y - cy) * scale) for x, y in zip(xs, ys, strict=True)]
    return out, scale


def scale_bar_metres(pixels_per_metre: float, max_pixels: float) -> int:
    """The largest round length (1, 2 or 5 × 10ⁿ metres) that fits in ``max_pixels``."""
    best = 1
    for exponent in range(6):
        for mantissa in (1, 2, 5):
            metres = mantissa * 10**exponent
            if metres * pixels_per_metre <= max_pixels:
                best = metres
    return best


def _text(text: str, size: float, colour: tuple[float, float, float, float]) -> Any:
    label = CoreLabel(text=text, font_size=size, color=colour)
    label.refresh()
    return label.texture


class RoadSketch(Widget):
    """Roads (``lines``: lists of ``(lat, lon)``) and cases (``dots``) in a small box."""

    lines = ListProperty()
    dots = ListProperty()  # dicts: lat, lon, label ("" for the case itself), highlight
    names = ListProperty()  # one road name per line

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._redraw_trigger = Clock.create_trigger(self._redraw, 0)
        self.bind(
            pos=self._redraw_trigger,
            size=self._redraw_trigger,
            lines=self._redraw_trigger,
            dots=self._redraw_trigger,
            names=self._redraw_trigger,
        )

    def _redraw(self, *_args: Any) -> None:
        self.canvas.clear()
        pad = dp(22)
        everything = [p for line in self.lines for p in line] + [(d["lat"], d["lon"]) for d in self.dots]
        projected, scale = project([tuple(p) for p in everything], self.width, self.height, pad)
        ox, oy = self.x, self.y
        with self.canvas:
            Color(*_PAPER)
            RoundedRectangle(pos=self.pos, size=self.size, radius=[dp(8)])
            Color(*theme.BORDER)
            Line(rounded_rectangle=(self.x, self.y, self.width, self.height, dp(8)), width=dp(1))
            at = 0
            for index, line in enumerate(self.lines):
                pts = projected[at : at + len(line)]
                at += len(line)
                if len(pts) >= 2:
                    Color(*_ROAD)
                    Line(
                        points=[c for x, y in pts for c in (ox + x, oy + y)],
                        width=dp(4),
                        cap="round",
                        joint="round",
                    )
                if pts and index < len(self.names) and self.names[index]:
                    # the name at the line's far end, clear of the dots that gather mid-road
                    end = max(pts, key=lambda p: p[1])
                    texture = _text(self.names[index], sp(12), theme.MUTED)
                    x = ox + end[0] - texture.width / 2
                    x = min(max(x, ox + dp(4)), self.right - texture.width - dp(4))
                    y = min(oy + end[1] + dp(8), self.top - texture.height - dp(4))
                    Color(1, 1, 1, 1)
                    Rectangle(texture=texture, pos=(x, y), size=texture.size)
            for dot, (x, y) in zip(self.dots, projected[at:], strict=True):
                self._dot(ox + x, oy + y, dot)
            metres = scale_bar_metres(scale, self.width / 3)
            length = metres * scale
            right, bottom = self.right - dp(12), self.y + dp(10)
            Color(*theme.MUTED)
            tick = dp(4)
            Line(
                points=[
                    right - length,
                    bottom + tick,
                    right - length,
                    bottom,
                    right,
                    bottom,
                    right,
                    bottom + tick,
                ],
                width=dp(1.2),
            )
            texture = _text(f"{metres} m", sp(11), theme.MUTED)
            Color(1, 1, 1, 1)
            Rectangle(
                texture=texture,
                pos=(right - length / 2 - texture.width / 2, bottom + dp(3)),
                size=texture.size,
            )

    def _dot(self, x: float, y: float, dot: dict[str, Any]) -> None:
        if dot.get("highlight"):
            radius = dp(10)
            Color(1, 1, 1, 1)
            ring = radius + dp(3)
            Ellipse(pos=(x - ring, y - ring), size=(2 * ring, 2 * ring))
            Color(*theme.PRIMARY)
            Ellipse(pos=(x - radius, y - radius), size=(2 * radius, 2 * radius))
            Color(1, 1, 1, 1)
            Ellipse(pos=(x - dp(3), y - dp(3)), size=(dp(6), dp(6)))
            return
        radius = dp(11)
        Color(1, 1, 1, 1)
        Ellipse(pos=(x - radius - dp(2), y - radius - dp(2)), size=(2 * radius + dp(4), 2 * radius + dp(4)))
        Color(*_NEAR)
        Ellipse(pos=(x - radius, y - radius), size=(2 * radius, 2 * radius))
        texture = _text(str(dot.get("label", "")), sp(13), (1, 1, 1, 1))
        Color(1, 1, 1, 1)
        Rectangle(texture=texture, pos=(x - texture.width / 2, y - texture.height / 2), size=texture.size)
