"""Line charts drawn on the server as SVG: no JavaScript, no colour needed to read them.

Each series differs from the others by its dash pattern and its marker shape as well as by colour,
and the legend shows both; every point with a marker carries a ``<title>`` with its values, and the
chart has a ``<title>`` and a ``<desc>`` for screen readers. Attributes only, no ``style``: the page's
CSP forbids inline styles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# (stroke colour, dash pattern, marker) per series, in order: told apart without colour too
_LOOKS = (("#2f5bd3", None, "circle"), ("#1d2430", "6 4", "square"), ("#b3261e", "2 3", "triangle"))


@dataclass(frozen=True)
class Series:
    """One line of a chart; ``None`` values break the line. ``markers`` draws each point too."""

    label: str
    points: Sequence[tuple[float, float | None]]
    markers: bool = False
    line: bool = True
    notes: Sequence[str] | None = None  # one per point: its tooltip after the values


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / (count - 1)
    return [low + k * step for k in range(count)]


def _number(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if not float(x).is_integer() else str(int(x))


def line_chart(*, title: str, description: str, x_label: str, y_label: str,
               x_range: tuple[float, float], y_range: tuple[float, float],
               series: Sequence[Series], width: int = 480, height: int = 300) -> Markup:
    """An SVG line chart (scales with its container: only the viewBox is fixed)."""
    left, right, top, bottom = 56, 16, 16, 72
    plot_w, plot_h = width - left - right, height - top - bottom
    (x0, x1), (y0, y1) = x_range, y_range

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * plot_h

    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
           f'<desc>{escape(description)}</desc>']
    for x in _ticks(x0, x1, 9):
        out.append(f'<line x1="{sx(x):.1f}" y1="{top}" x2="{sx(x):.1f}" y2="{top + plot_h}" '
                   'stroke="#dddddd" stroke-width="1"/>')
        out.append(f'<text x="{sx(x):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                   f'font-size="11" fill="#1d2430">{_number(x)}</text>')
    for y in _ticks(y0, y1, 5):
        out.append(f'<line x1="{left}" y1="{sy(y):.1f}" x2="{left + plot_w}" y2="{sy(y):.1f}" '
                   'stroke="#dddddd" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end" font-size="11" '
                   f'fill="#1d2430">{_number(y)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
               'stroke="#5b6472" stroke-width="1"/>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 34}" text-anchor="middle" '
               f'font-size="12" fill="#1d2430">{escape(x_label)}</text>')
    out.append(f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" font-size="12" '
               f'fill="#1d2430" transform="rotate(-90 14 {top + plot_h / 2:.1f})">{escape(y_label)}</text>')
    for k, s in enumerate(series):
        colour, dash, marker = _LOOKS[k % len(_LOOKS)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if s.line:
            run: list[str] = []
            for px, py in [*s.points, (math.nan, None)]:
                if py is None or not math.isfinite(py):
                    if len(run) > 1:
                        out.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                                   f'stroke-width="2"{dash_attr}/>')
                    run = []
                else:
                    run.append(f"{sx(px):.1f},{sy(min(max(py, y0), y1)):.1f}")
        if s.markers:
            for n, (px, py) in enumerate(s.points):
                if py is None:
                    continue
                note = f" ({s.notes[n]})" if s.notes else ""
                tip = f"{s.label}: {_number(round(px, 2))}, {_number(round(py, 2))}{note}"
                out.append(f"<g><title>{escape(tip)}</title>{_marker(marker, sx(px), sy(py), colour)}</g>")
        # legend: a short line in the series' dash and its marker, then the label
        lx, ly = left + (k % 2) * plot_w / 2, top + plot_h + 52 + (k // 2) * 16
        if s.line:
            out.append(f'<line x1="{lx:.1f}" y1="{ly:.1f}" x2="{lx + 24:.1f}" y2="{ly:.1f}" '
                       f'stroke="{colour}" stroke-width="2"{dash_attr}/>')
        if s.markers:
            out.append(_marker(marker, lx + 12, ly, colour))
        out.append(f'<text x="{lx + 30:.1f}" y="{ly + 4:.1f}" font-size="11" '
                   f'fill="#1d2430">{escape(s.label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))  # every text above is escaped


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if shape == "triangle":
        return (f'<polygon points="{x:.1f},{y - 5:.1f} {x - 5:.1f},{y + 4:.1f} {x + 5:.1f},{y + 4:.1f}" '
                f'fill="{colour}"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'


def bar_chart(*, title: str, description: str, x_label: str, y_label: str,
              bars: Sequence[tuple[str, int]], tips: Sequence[str] | None = None, width: int = 480,
              height: int = 240, label_every: int = 1) -> Markup:
    """Vertical bars with their count written on each (so the numbers need no reading off the axis);
    every ``label_every``-th bar's label is written under the axis, and each bar's tooltip is its
    ``tips`` entry (or its label) with its count."""
    left, right, top, bottom = 44, 12, 16, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    top_count = max((n for _label, n in bars), default=0) or 1
    slot = plot_w / max(len(bars), 1)
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
           f'<desc>{escape(description)}</desc>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
           'stroke="#5b6472" stroke-width="1"/>']
    for k, (label, n) in enumerate(bars):
        h = plot_h * n / top_count
        x = left + k * slot + slot * 0.15
        tip = tips[k] if tips else label
        out.append(f'<g><title>{escape(tip)}: {n}</title><rect x="{x:.1f}" y="{top + plot_h - h:.1f}" '
                   f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="#2f5bd3" stroke="#1d2430" '
                   'stroke-width="1"/></g>')
        out.append(f'<text x="{x + slot * 0.35:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle" '
                   f'font-size="10" fill="#1d2430">{n}</text>')
        if k % label_every == 0:
            out.append(f'<text x="{x + slot * 0.35:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                       f'font-size="10" fill="#1d2430">{escape(label)}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 34}" text-anchor="middle" '
               f'font-size="12" fill="#1d2430">{escape(x_label)}</text>')
    out.append(f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" font-size="12" '
               f'fill="#1d2430" transform="rotate(-90 12 {top + plot_h / 2:.1f})">{escape(y_label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))  # every text above is escaped
