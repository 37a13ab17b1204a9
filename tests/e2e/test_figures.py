"""The demo pack's figures as the browser draws them: everything inside the picture, no text over other
text or over the data, and in the confidence-interval figure every interval inside the plot and the one
that misses told apart by more than its colour. Each figure is kept as ``figure-<name>.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import ARTIFACTS

IMAGES = Path(__file__).parents[2] / "content" / "packs" / "data-literacy" / "images"
FIGURES = sorted(IMAGES.glob("*.svg"))
GRID = "#dddddd"  # the light grid lines, which text may cross

# Every drawn element in the SVG's own units (the viewBox): its box, widened by half its stroke.
BOXES = """() => {
  const svg = document.documentElement;
  const view = svg.viewBox.baseVal;
  const frame = svg.getBoundingClientRect();
  const scale = view.width / frame.width;
  return [...svg.querySelectorAll('text, line, rect, circle, ellipse, path, polyline, polygon')].map(el => {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const pad = style.stroke !== 'none' ? (parseFloat(style.strokeWidth) || 0) / 2 : 0;
    return {
      tag: el.tagName, text: el.textContent, stroke: el.getAttribute('stroke'),
      dash: el.getAttribute('stroke-dasharray'),
      x1: (r.left - frame.left) * scale + view.x - (el.tagName === 'text' ? 0 : pad),
      x2: (r.right - frame.left) * scale + view.x + (el.tagName === 'text' ? 0 : pad),
      y1: (r.top - frame.top) * scale + view.y - (el.tagName === 'text' ? 0 : pad),
      y2: (r.bottom - frame.top) * scale + view.y + (el.tagName === 'text' ? 0 : pad),
      attrs: Object.fromEntries([...el.attributes].map(a => [a.name, a.value])),
    };
  });
}"""

VIEW = "() => { const v = document.documentElement.viewBox.baseVal; return [v.x, v.y, v.width, v.height]; }"


def _overlap(a: dict[str, Any], b: dict[str, Any], slack: float = 0.5) -> bool:
    across: float = min(a["x2"], b["x2"]) - max(a["x1"], b["x1"])
    down: float = min(a["y2"], b["y2"]) - max(a["y1"], b["y1"])
    return across > slack and down > slack


def _open(browser: Browser, figure: Path) -> tuple[Page, list[dict[str, Any]]]:
    page = browser.new_page(device_scale_factor=2)
    page.goto(figure.as_uri())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("svg").screenshot(path=str(ARTIFACTS / f"figure-{figure.stem}.png"))
    return page, page.evaluate(BOXES)


def _label(box: dict[str, Any]) -> str:
    return f"<{box['tag']}> {box['text'] or box['attrs']}"


@pytest.mark.parametrize("figure", FIGURES, ids=[f.stem for f in FIGURES])
def test_figure_stays_inside_and_its_text_is_clear(browser: Browser, figure: Path) -> None:
    page, boxes = _open(browser, figure)
    x, y, width, height = page.evaluate(VIEW)
    page.close()
    background = [b for b in boxes if b["tag"] == "rect" and "x" not in b["attrs"]]
    drawn = [b for b in boxes if b not in background]
    outside = [_label(b) for b in drawn
               if b["x1"] < x or b["y1"] < y or b["x2"] > x + width or b["y2"] > y + height]
    assert outside == []
    texts = [b for b in drawn if b["tag"] == "text"]
    marks = [b for b in drawn if b["tag"] != "text" and b["stroke"] != GRID]
    clashes = [(_label(a), _label(b)) for i, a in enumerate(texts) for b in texts[i + 1:] + marks
               if _overlap(a, b)]
    assert clashes == []


def test_every_confidence_interval_is_inside_the_plot_and_the_miss_is_not_told_by_colour_alone(
    browser: Browser,
) -> None:
    page, boxes = _open(browser, IMAGES / "confidence-intervals.svg")
    page.close()
    lines = [b for b in boxes if b["tag"] == "line"]
    grid = [b for b in lines if b["stroke"] == GRID]
    left, right = min(b["x1"] for b in grid), max(b["x2"] for b in grid)
    [truth] = [b for b in lines if b["stroke"] != GRID and b["attrs"]["x1"] == b["attrs"]["x2"]]
    true_x = float(truth["attrs"]["x1"])
    intervals = [b for b in lines if b["attrs"]["y1"] == b["attrs"]["y2"]]
    assert len(intervals) == 20
    assert [_label(b) for b in intervals if b["x1"] < left or b["x2"] > right] == []
    misses = [b for b in intervals if not float(b["attrs"]["x1"]) <= true_x <= float(b["attrs"]["x2"])]
    hits = [b for b in intervals if b not in misses]
    assert len(misses) == 1
    # a dash pattern of its own, and a word beside it
    assert {b["dash"] for b in misses}.isdisjoint({b["dash"] for b in hits})
    [miss] = misses
    middle = (miss["y1"] + miss["y2"]) / 2
    beside = [b["text"] for b in boxes if b["tag"] == "text" and b["y1"] <= middle <= b["y2"]]
    assert beside == ["misses"]
