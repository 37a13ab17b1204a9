"""Markdown to sanitised HTML, and the inspection that tells an author what sanitising removed.

Lessons, stems, options and feedback are CommonMark with tables; ``$…$`` and ``$$…$$`` are kept as TeX
source in ``<span class="math inline">`` / ``<div class="math block">`` for the browser to typeset. The
HTML is then cleaned with an allow-list (nh3, the Rust *ammonia* sanitiser): no scripts, no event
handlers, no ``javascript:`` URLs, no forms or frames. :func:`inspect_markdown` walks the same tokens to
report, with line numbers, every piece of raw HTML the allow-list will drop, and every image it shows.
SVG images are parsed with defusedxml (no DTDs, no entities) and stripped of scripts and references
that leave the image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from xml.etree import ElementTree

import nh3
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "MarkdownReport",
    "SvgResult",
    "inspect_markdown",
    "render_markdown",
    "sanitise_svg",
]

ALLOWED_TAGS: frozenset[str] = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl",
    "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var", "wbr",
})
"""Tags that survive sanitising."""

ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "abbr": frozenset({"title"}),
    "code": frozenset({"class"}),
    "div": frozenset({"class"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "ol": frozenset({"start"}),
    "span": frozenset({"class"}),
    "td": frozenset({"class", "colspan", "rowspan"}),
    "th": frozenset({"class", "colspan", "rowspan", "scope"}),
}
"""Attributes that survive sanitising, per tag (a cell's ``class`` only as an alignment class)."""

ALIGN_CLASSES = frozenset({"align-left", "align-center", "align-right"})
"""A table column's alignment, as a class: the pages' CSP allows no inline styles."""

_CELLS = ("td", "th")
_ALIGN = re.compile(r'<(td|th)([^>]*?) style="text-align:\s*(left|center|right);?"')

URL_SCHEMES = frozenset({"http", "https", "mailto"})
"""Schemes allowed in links; images must be files inside the pack."""

_MD = MarkdownIt("commonmark", {"html": True}).enable("table").use(dollarmath_plugin)
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")


def render_markdown(text: str) -> str:
    """Render Markdown to HTML that is safe to insert into a page."""
    html = _ALIGN.sub(r'<\1\2 class="align-\3"', _MD.render(text))
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        # a cell's classes are filtered by value instead (nh3 wants "class" out of its attributes)
        attributes={tag: set(attrs) - ({"class"} if tag in _CELLS else set())
                    for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        allowed_classes={tag: set(ALIGN_CLASSES) for tag in _CELLS},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


@dataclass(frozen=True, slots=True)
class MarkdownReport:
    """What :func:`inspect_markdown` found: ``(line, text)`` pairs, lines 1-based within the text."""

    removed: tuple[tuple[int, str], ...] = ()
    images: tuple[tuple[int, str], ...] = ()
    n_tags: int = 0


class _HtmlScan(HTMLParser):
    """Collect the tags, attributes and URLs of a raw HTML fragment that the allow-list drops."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.removed: list[str] = []
        self.images: list[str] = []
        self.n_tags = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.n_tags += 1
        if tag not in ALLOWED_TAGS:
            self.removed.append(f"<{tag}>")
            return
        allowed = ALLOWED_ATTRIBUTES.get(tag, frozenset())
        for name, value in attrs:
            if name not in allowed:
                self.removed.append(f"the {name!r} attribute of <{tag}>")
            elif name in ("href", "src") and value is not None:
                match = _SCHEME.match(value)
                if match and match.group(1).lower() not in URL_SCHEMES:
                    self.removed.append(f"the {match.group(1).lower()}: URL of <{tag}>")
                elif tag == "img":
                    self.images.append(value)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def _scan_html(fragment: str) -> _HtmlScan:
    scan = _HtmlScan()
    scan.feed(fragment)
    scan.close()
    return scan


def inspect_markdown(text: str) -> MarkdownReport:
    """List the raw HTML that sanitising will remove and the images the text shows, with lines."""
    if "<" not in text and "![" not in text:
        return MarkdownReport()
    removed: list[tuple[int, str]] = []
    images: list[tuple[int, str]] = []
    n_tags = 0

    def html(line: int, fragment: str) -> None:
        nonlocal n_tags
        scan = _scan_html(fragment)
        n_tags += scan.n_tags
        removed.extend((line, what) for what in scan.removed)
        images.extend((line, src) for src in scan.images)

    tokens: list[Token] = _MD.parse(text)
    for token in tokens:
        line = token.map[0] + 1 if token.map else 1
        if token.type == "html_block":
            html(line, token.content)
        for child in token.children or ():
            if child.type == "softbreak" or child.type == "hardbreak":
                line += 1
            elif child.type == "html_inline":
                html(line, child.content)
            elif child.type == "image":
                src = child.attrGet("src")
                if isinstance(src, str):
                    images.append((line, src))
    return MarkdownReport(tuple(removed), tuple(images), n_tags)


# ---------------------------------------------------------------------------------------- SVG
_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
ElementTree.register_namespace("", _SVG_NS)
ElementTree.register_namespace("xlink", _XLINK_NS)
_SVG_DROP = frozenset({"script", "foreignObject", "iframe", "embed", "object", "style", "handler"})


@dataclass(frozen=True, slots=True)
class SvgResult:
    """A sanitised SVG: the bytes to keep (None when unusable), what was removed, or why it failed."""

    data: bytes | None
    removed: tuple[str, ...] = ()
    error: str | None = None


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def sanitise_svg(data: bytes) -> SvgResult:
    """Parse an SVG without DTDs or entities and drop scripts, handlers and outside references.

    The bytes are returned unchanged when nothing had to be removed, so a clean image round-trips.
    """
    try:
        root = SafeElementTree.fromstring(data, forbid_dtd=True, forbid_entities=True,
                                          forbid_external=True)
    except DefusedXmlException as exc:
        return SvgResult(None, error=f"declares a DTD or entities ({type(exc).__name__})")
    except (ElementTree.ParseError, ValueError) as exc:
        return SvgResult(None, error=f"is not well-formed XML ({exc})")
    if _local(root.tag) != "svg":
        return SvgResult(None, error=f"is not an SVG image (root element <{_local(root.tag)}>)")
    removed: list[str] = []
    for parent in list(root.iter()):
        for child in list(parent):
            if not isinstance(child.tag, str) or _local(child.tag) in _SVG_DROP:
                removed.append(f"<{_local(child.tag) if isinstance(child.tag, str) else '?'}>")
                parent.remove(child)
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            local = _local(name).lower()
            compact = value.replace(" ", "").lower()
            outside = local == "href" and not value.strip().startswith("#")
            outside = outside or ("url(" in compact and "url(#" not in compact)
            if local.startswith("on") or outside:
                removed.append(f"the {local!r} attribute of <{_local(element.tag)}>")
                del element.attrib[name]
    if not removed:
        return SvgResult(data)
    return SvgResult(ElementTree.tostring(root, encoding="utf-8"), tuple(removed))
