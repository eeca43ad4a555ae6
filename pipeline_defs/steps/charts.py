"""Charts drawn without a plotting library: one figure, two renderings (SVG and PNG).

The processing image (scikit-learn 1.9-0) has no matplotlib; it has Pillow and the
standard library. A `Figure` is a list of drawing operations in pixel coordinates; `svg()`
writes them as an inline SVG element (the report page embeds it: no script, no network)
and `png()` draws the same operations with Pillow (a file to attach or paste elsewhere).

`Plot` maps data coordinates onto a figure: axes with ticks and labels, lines, points,
bars, horizontal reference lines and a legend. Charts are small (hundreds of points): the
report downsamples curves before drawing them.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

WIDTH, HEIGHT = 560, 340
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 48, 52
PALETTE = ("#1565c0", "#ef6c00", "#2e7d32", "#c62828", "#6a1b9a", "#546e7a")
GRID = "#e0e0e0"
INK = "#212121"


@dataclass(frozen=True)
class Op:
    """One drawing operation: kind is line, polyline, rect, circle or text."""

    kind: str
    points: tuple[tuple[float, float], ...] = ()
    colour: str = INK
    fill: str | None = None
    width: float = 1.0
    dash: bool = False
    radius: float = 0.0
    text: str = ""
    size: int = 11
    anchor: str = "start"  # start, middle, end
    title: str = ""  # a tooltip in the SVG


@dataclass
class Figure:
    """A titled drawing of `width` x `height` pixels."""

    key: str
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    ops: list[Op] = field(default_factory=list)

    def add(self, op: Op) -> None:
        """Append one operation."""
        self.ops.append(op)

    def svg(self) -> str:
        """The figure as an SVG element (inline in HTML)."""
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-{escape(self.key)}" '
            f'width="{self.width}" height="{self.height}" viewBox="0 0 {self.width} {self.height}" '
            f'role="img" aria-label="{escape(self.title)}">',
            f'<rect x="0" y="0" width="{self.width}" height="{self.height}" fill="#ffffff"/>',
        ]
        parts.extend(_svg_op(op) for op in self.ops)
        parts.append("</svg>")
        return "\n".join(parts)

    def png(self, *, scale: int = 2) -> bytes | None:
        """The figure as PNG bytes, or None where Pillow is not installed."""
        try:
            from PIL import Image, ImageDraw, ImageFont
        except ImportError:
            return None
        image = Image.new("RGB", (self.width * scale, self.height * scale), "#ffffff")
        draw = ImageDraw.Draw(image)
        fonts: dict[int, Any] = {}

        def font(size: int) -> Any:
            if size not in fonts:
                fonts[size] = ImageFont.load_default(size=size * scale)
            return fonts[size]

        def at(point: tuple[float, float]) -> tuple[float, float]:
            return point[0] * scale, point[1] * scale

        for op in self.ops:
            width = max(1, round(op.width * scale))
            if op.kind in ("line", "polyline") and len(op.points) >= 2:
                pieces = dash_segments(op.points) if op.dash else [list(op.points)]
                for piece in pieces:
                    draw.line([at(p) for p in piece], fill=op.colour, width=width)
            elif op.kind == "rect":
                (x0, y0), (x1, y1) = (at(p) for p in op.points)
                draw.rectangle(
                    (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
                    fill=op.fill,
                    outline=op.colour if op.fill is None else None,
                )
            elif op.kind == "circle":
                x, y = at(op.points[0])
                r = op.radius * scale
                draw.ellipse(
                    (x - r, y - r, x + r, y + r), fill=op.fill, outline=op.colour, width=width
                )
            elif op.kind == "text":
                anchor = {"start": "ls", "middle": "ms", "end": "rs"}[op.anchor]
                draw.text(
                    at(op.points[0]), op.text, fill=op.colour, font=font(op.size), anchor=anchor
                )
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()


DASH_ON, DASH_OFF = 5.0, 4.0
"""The dash pattern of both renderings (the SVG's stroke-dasharray="5,4"), in figure units."""


def dash_segments(
    points: Sequence[tuple[float, float]], *, on: float = DASH_ON, off: float = DASH_OFF
) -> list[list[tuple[float, float]]]:
    """The drawn pieces of a dashed polyline: `on` units drawn, `off` skipped, the pattern
    carried across corners as SVG does (Pillow has no dashes)."""
    pieces: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    drawing, left = True, on  # in the pattern: drawing or not, and how far until it flips
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0)
        done = 0.0
        while length - done > 1e-9:
            step = min(left, length - done)
            start = (x0 + (x1 - x0) * done / length, y0 + (y1 - y0) * done / length)
            done += step
            end = (x0 + (x1 - x0) * done / length, y0 + (y1 - y0) * done / length)
            if drawing:
                if not current:
                    current.append((float(start[0]), float(start[1])))
                current.append((float(end[0]), float(end[1])))
            left -= step
            if left <= 1e-9:
                if drawing and current:
                    pieces.append(current)
                    current = []
                drawing, left = not drawing, off if drawing else on
    if current:
        pieces.append(current)
    return pieces


def _svg_op(op: Op) -> str:
    dash = f' stroke-dasharray="{DASH_ON:g},{DASH_OFF:g}"' if op.dash else ""
    title = f"<title>{escape(op.title)}</title>" if op.title else ""
    if op.kind in ("line", "polyline"):
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in op.points)
        return (
            f'<polyline points="{points}" fill="none" stroke="{op.colour}" '
            f'stroke-width="{op.width}"{dash}>{title}</polyline>'
        )
    if op.kind == "rect":
        (x0, y0), (x1, y1) = op.points
        fill = op.fill or "none"
        stroke = "" if op.fill else f' stroke="{op.colour}"'
        return (
            f'<rect x="{min(x0, x1):.1f}" y="{min(y0, y1):.1f}" width="{abs(x1 - x0):.1f}" '
            f'height="{abs(y1 - y0):.1f}" fill="{fill}"{stroke}>{title}</rect>'
        )
    if op.kind == "circle":
        (x, y) = op.points[0]
        return (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{op.radius}" fill="{op.fill or "none"}" '
            f'stroke="{op.colour}" stroke-width="{op.width}">{title}</circle>'
        )
    if op.kind == "text":
        (x, y) = op.points[0]
        return (
            f'<text x="{x:.1f}" y="{y:.1f}" font-family="sans-serif" font-size="{op.size}" '
            f'text-anchor="{op.anchor}" fill="{op.colour}">{escape(op.text)}</text>'
        )
    raise ValueError(f"unknown drawing operation {op.kind!r}")


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values within [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    values = []
    value = first
    while value <= high + step * 1e-9:
        values.append(round(value, 10))
        value += step
    return values


def _label(value: float) -> str:
    return f"{value:g}" if abs(value) >= 0.01 or value == 0 else f"{value:.1e}"


class Plot:
    """Data coordinates on a Figure: x in [x_low, x_high], y in [y_low, y_high]."""

    def __init__(
        self,
        key: str,
        title: str,
        *,
        x_label: str,
        y_label: str,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        x_ticks: Sequence[tuple[float, str]] | None = None,
        width: int = WIDTH,
        height: int = HEIGHT,
    ) -> None:
        """Draw the frame, the title, the axis labels, ticks and grid lines."""
        (x_low, x_high), (y_low, y_high) = x_range, y_range
        if x_high <= x_low:
            x_low, x_high = x_low - 0.5, x_low + 0.5
        if y_high <= y_low:
            y_low, y_high = y_low - 0.5, y_low + 0.5
        self.x_range, self.y_range = (x_low, x_high), (y_low, y_high)
        self.figure = Figure(key=key, title=title, width=width, height=height)
        self.left, self.top = MARGIN_LEFT, MARGIN_TOP
        self.right, self.bottom = width - MARGIN_RIGHT, height - MARGIN_BOTTOM
        self._legend: list[tuple[str, str, bool]] = []
        add = self.figure.add
        add(Op("text", ((self.left, 20),), text=title, size=14))
        for value in ticks(y_low, y_high):
            y = self.y(value)
            add(Op("line", ((self.left, y), (self.right, y)), colour=GRID))
            add(Op("text", ((self.left - 6, y + 4),), text=_label(value), size=10, anchor="end"))
        for value, text in x_ticks or [(v, _label(v)) for v in ticks(x_low, x_high)]:
            x = self.x(value)
            add(Op("line", ((x, self.bottom), (x, self.bottom + 4))))
            add(Op("text", ((x, self.bottom + 16),), text=text, size=10, anchor="middle"))
        add(Op("rect", ((self.left, self.top), (self.right, self.bottom)), colour="#9e9e9e"))
        add(
            Op(
                "text",
                (((self.left + self.right) / 2, height - 14),),
                text=x_label,
                size=11,
                anchor="middle",
            )
        )
        add(Op("text", ((8, self.top - 10),), text=y_label, size=11))

    def x(self, value: float) -> float:
        """Pixel x of a data x."""
        low, high = self.x_range
        return self.left + (value - low) / (high - low) * (self.right - self.left)

    def y(self, value: float) -> float:
        """Pixel y of a data y."""
        low, high = self.y_range
        return self.bottom - (value - low) / (high - low) * (self.bottom - self.top)

    def line(
        self,
        points: Sequence[tuple[float, float]],
        *,
        colour: str,
        label: str = "",
        dash: bool = False,
        width: float = 2.0,
    ) -> None:
        """A polyline through data points (skipped when fewer than two)."""
        if len(points) < 2:
            return
        pixels = tuple((self.x(px), self.y(py)) for px, py in points)
        self.figure.add(Op("polyline", pixels, colour=colour, width=width, dash=dash, title=label))
        if label:
            self._legend.append((label, colour, dash))

    def points(
        self,
        points: Sequence[tuple[float, float, str, str]],
        *,
        radius: float = 4.0,
    ) -> None:
        """Markers: (x, y, colour, tooltip) each."""
        for px, py, colour, tip in points:
            self.figure.add(
                Op(
                    "circle",
                    ((self.x(px), self.y(py)),),
                    colour=colour,
                    fill=colour,
                    radius=radius,
                    title=tip,
                )
            )

    def ring(self, x: float, y: float, *, colour: str) -> None:
        """An open circle around a point (the champion)."""
        self.figure.add(Op("circle", ((self.x(x), self.y(y)),), colour=colour, radius=8, width=2))

    def bars(
        self,
        bars: Sequence[tuple[float, float, float]],
        *,
        colour: str,
        label: str = "",
    ) -> None:
        """Vertical bars: (x from, x to, height) each, from y=0 (or the axis floor)."""
        base = self.y(max(self.y_range[0], 0.0))
        for x0, x1, value in bars:
            self.figure.add(
                Op(
                    "rect",
                    ((self.x(x0), base), (self.x(x1), self.y(value))),
                    fill=colour,
                    title=f"{label} {value:.4g}".strip(),
                )
            )
        if label:
            self._legend.append((label, colour, False))

    def hline(self, value: float, *, colour: str, label: str) -> None:
        """A dashed horizontal reference line with its label at the right."""
        y = self.y(value)
        self.figure.add(Op("line", ((self.left, y), (self.right, y)), colour=colour, dash=True))
        self.figure.add(
            Op("text", ((self.right - 4, y - 4),), text=label, size=10, colour=colour, anchor="end")
        )

    def diagonal(self, label: str = "") -> None:
        """The dashed y = x line across the plot (chance, perfect calibration)."""
        low = max(self.x_range[0], self.y_range[0])
        high = min(self.x_range[1], self.y_range[1])
        self.line([(low, low), (high, high)], colour="#9e9e9e", dash=True, width=1.0, label=label)

    def done(self, legend: str = "upper right") -> Figure:
        """Draw the legend on white inside the plot at `legend` (upper/lower, left/right:
        where the chart's data is not) and return the figure."""
        vertical, horizontal = legend.split()
        height = 6 + 15 * len(self._legend)
        left = self.left + 6 if horizontal == "left" else self.right - 176
        top = self.top + 2 if vertical == "upper" else self.bottom - 4 - height
        if self._legend:
            self.figure.add(Op("rect", ((left, top), (left + 172, top + height)), fill="#ffffff"))
        for index, (text, colour, dash) in enumerate(self._legend):
            y = top + 12 + 15 * index
            x = left + 6
            self.figure.add(
                Op("line", ((x, y - 4), (x + 18, y - 4)), colour=colour, width=3, dash=dash)
            )
            self.figure.add(Op("text", ((x + 24, y),), text=text, size=10))
        return self.figure


def hbar_figure(
    key: str,
    title: str,
    rows: Sequence[tuple[str, float]],
    *,
    x_label: str,
    colour: str = PALETTE[0],
) -> Figure:
    """Horizontal bars, one row per (label, value >= 0), largest first as given."""
    height = MARGIN_TOP + 22 * max(len(rows), 1) + MARGIN_BOTTOM
    high = max([value for _, value in rows] + [1e-9])
    plot = Plot(
        key,
        title,
        x_label=x_label,
        y_label="",
        x_range=(0.0, high * 1.05),
        y_range=(0.0, float(max(len(rows), 1))),
        height=height,
    )
    plot.left = 170  # room for the labels: re-map x after moving the left edge
    figure = plot.figure
    figure.ops.clear()
    figure.add(Op("text", ((8, 20),), text=title, size=14))
    for value in ticks(0.0, high * 1.05):
        x = plot.x(value)
        figure.add(Op("line", ((x, plot.top), (x, plot.bottom)), colour=GRID))
        figure.add(
            Op("text", ((x, plot.bottom + 16),), text=_label(value), size=10, anchor="middle")
        )
    figure.add(
        Op(
            "text",
            (((plot.left + plot.right) / 2, height - 14),),
            text=x_label,
            size=11,
            anchor="middle",
        )
    )
    for index, (label, value) in enumerate(rows):
        top = plot.top + 22 * index + 4
        figure.add(Op("text", ((plot.left - 6, top + 12),), text=label, size=11, anchor="end"))
        figure.add(
            Op(
                "rect",
                ((plot.left, top), (plot.x(value), top + 15)),
                fill=colour,
                title=f"{label}: {value:.4f}",
            )
        )
    return figure
