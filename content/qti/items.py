"""Import IMS/1EdTech QTI 3.0 and 2.1 items and content packages as Thetapath items (issue 4).

:func:`read_qti` reads one item file (``.xml``), a content package (a folder or a ``.zip`` holding
``imsmanifest.xml``; its ``imsqti_item_xml*`` resources are read in manifest order) or a folder of item
files, and returns a :class:`QtiImport`: the items it could convert, the images they show (as pack
assets) and one :class:`~content.errors.PackIssue` per problem, naming the file (inside the package)
and the line. An item that can't be converted is reported and skipped; the others still import.
:func:`pack_from_qti` wraps the items in a minimal pack (one competency, one module, a lesson stub that
says where the items came from, one item file) that :func:`~content.io.export_pack` writes and
:func:`~content.io.load_pack` reads back equal.

Mapping
=======

================================== ======================================================================
QTI interaction                    Thetapath item
================================== ======================================================================
choiceInteraction, maxChoices 1    ``single_choice``; key = the correct response
choiceInteraction, otherwise       ``multiple_choice``; key = the correct response; ``scoring: partial``
                                   when the item is scored with ``map_response`` and has a mapping
                                   (else ``all_or_nothing``). Weights other than +1 per right option
                                   and -1 per wrong one are approximated (a warning says so)
inlineChoiceInteraction            ``single_choice``; the gap is shown as ``____`` in the stem
textEntryInteraction, string       ``short_text``; ``accepted`` = the correct response(s) and the
                                   mapping's full-credit entries (lower-credit entries are dropped with
                                   a warning); case-sensitive unless every entry used is
                                   case-insensitive (QTI 3 entries default to case-insensitive, 2.1
                                   ones to case-sensitive); the gap is shown as ``____``
textEntryInteraction, float/integer ``numeric``; key = the correct response (or the best mapped value);
                                   tolerance 0, or an ``equal`` with ``toleranceMode`` absolute
                                   (as is) or relative (percent of the key) in the response processing
orderInteraction                   ``ordering`` (all-or-nothing); key = the correct order
matchInteraction                   ``matching``: sources = the first ``simpleMatchSet``, targets = the
                                   second, key = the correct ``directedPair`` values (every source
                                   exactly once); ``scoring: partial`` with ``map_response`` + mapping
extendedTextInteraction            ``reflection`` (never scored)
anything else (hotspot, gapMatch,  an error for that item, naming the file, line and interaction
associate, hottext, graphic*,
slider, upload, drawing, media,
custom, portableCustom, ...)
================================== ======================================================================

- Response processing: the standard templates ``match_correct``, ``map_response`` and
  ``map_response_point`` (and Common Cartridge's ``CC2_match``, ``CC2_match_basic``,
  ``CC2_map_response``) are recognised by the last segment of their URL, for QTI 2.1 and 3.0 alike, and
  never fetched. Inline response processing is recognised when it sets ``SCORE`` only from a match of
  the response with its correct value (as the templates and most authoring tools do), from
  ``mapResponse``, or to 0; anything else is a warning that scoring falls back to the correct response.
- An item has one interaction; an item with several is an error.
- The item body (minus the interaction; a block interaction's ``prompt`` stays in its place) becomes
  Markdown: paragraphs, headings, lists, block quotes, emphasis, links, code, line breaks; tables stay
  HTML (the renderer's allow-list keeps them); MathML becomes TeX between ``$`` (fractions, scripts,
  roots, accents such as x-bar, limits of sums); ``rubricBlock``, feedback and template elements are left
  out.
- Images (``img``, or ``object`` with an image type) become pack assets under ``images/`` (their path
  inside the package kept) when the package holds them as PNG, JPEG, GIF or SVG within the size limit;
  otherwise the alt text stands in their place and a warning says why.
- Feedback: ``modalFeedback`` / ``feedbackBlock`` / ``feedbackInline`` shown when the response is
  (in)correct, or when one option is chosen (a match of the response with that option, or the response
  copied into the feedback outcome, the usual QTI 2.1 way), become ``feedback.correct`` / ``incorrect`` /
  ``options``; any other feedback is left out with a warning.
- Ids: the QTI identifier lower-cased, with runs of other characters than ``[a-z0-9]`` turned into
  ``-`` (``Choicesingle_853928446`` → ``choicesingle-853928446``); a collision gets ``-2``, ``-3``... and
  a warning. :attr:`QtiImport.identifiers` keeps the mapping. Option ids keep ``[A-Za-z0-9_.-]``.
- Items are pilot items (no IRT parameters) of level ``medium`` unless told otherwise.
- Option order: the interaction's ``shuffle`` follows QTI, where it defaults to false: ``shuffle="true"``
  gives ``shuffle: true``; an absent or false ``shuffle`` gives ``shuffle: false`` (the authored order is
  kept). Thetapath pins an item as a whole, so a choice (or match choice) with ``fixed="true"`` makes the
  item ``shuffle: false``.

XML is parsed with defusedxml: a DOCTYPE that names a DTD or declares anything is refused (an error for
that file, at its line), so no entity is ever expanded and nothing is ever fetched; a bare
``<!DOCTYPE assessmentItem>``, which declares nothing (rqti writes one), is accepted. Files are read within
the archive's :class:`~content.archive.Limits` (plus a cap on elements and nesting depth per file).
Malformed XML is an error naming the file, line and column. In a folder or zip without a manifest, XML
files that are not items (a test, QTI 1.2) are skipped with a warning. Paths in hrefs and ``src`` are
URLs: ``%20`` and the like are decoded.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import DefusedXMLParser

from ..archive import DEFAULT_LIMITS, Limits, PackFiles, pack_relative, read_pack_files, stat_source
from ..errors import ERROR, WARNING, IssueSplit, PackInvalid, PackIssue, PackUnreadable
from ..io import canonical_files
from ..model import Asset, Choice, Competency, ContentPack, Feedback, Item, Lesson, Module
from ..render import sanitise_svg
from ..validate import check_files

__all__ = ["QtiImport", "QtiSource", "pack_from_qti", "read_qti"]

QtiSource = str | os.PathLike[str] | bytes
"""An item ``.xml`` path, a package folder or ``.zip`` path, or zip (or XML) bytes."""

_MAX_NODES = 200_000
_MAX_DEPTH = 200
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                ".svg": "image/svg+xml"}
_V3_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
_V2_NS = re.compile(r"^http://www\.imsglobal\.org/xsd/imsqti_v2p[012]$")
_MATCH_TEMPLATES = {"match_correct", "CC2_match", "CC2_match_basic"}
_MAP_TEMPLATES = {"map_response", "map_response_point", "CC2_map_response"}
_SUPPORTED = {"choiceInteraction", "inlineChoiceInteraction", "textEntryInteraction",
              "orderInteraction", "matchInteraction", "extendedTextInteraction"}
_INLINE_INTERACTIONS = {"textEntryInteraction", "inlineChoiceInteraction", "endAttemptInteraction"}
_GAP = r"\_\_\_\_"
_SKIP = {"rubricBlock", "feedbackBlock", "feedbackInline", "templateBlock", "templateInline",
         "printedVariable", "stylesheet", "script", "style", "annotation", "annotation-xml",
         "infoControl", "catalogInfo", "companionMaterialsInfo"}
_BLOCK = {"p", "div", "blockquote", "ul", "ol", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
          "table", "hr", "figure", "section", "article", "aside", "header", "footer", "nav",
          "address", "prompt", "contentBody", "itemBody", "figcaption", "li", "dd", "dt"}
_HTML_INLINE = {"sub", "sup", "u", "s", "del", "ins", "mark", "small", "kbd", "var", "samp", "q",
                "abbr"}
_TABLE_TAGS = {"table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th", "colgroup", "col"}
_ACCENTS = {"\u00af": r"\bar", "\u203e": r"\bar", "_": r"\bar", "^": r"\hat", "\u02c6": r"\hat",
            "~": r"\tilde", "\u02dc": r"\tilde", "\u2192": r"\vec", "\u02d9": r"\dot", "\u00a8": r"\ddot"}
_BIG_OPERATORS = {"\u2211": r"\sum", "\u220f": r"\prod", "\u222b": r"\int", "\u22c3": r"\bigcup",
                  "\u22c2": r"\bigcap", "lim": r"\lim", "max": r"\max", "min": r"\min"}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_ID_CHARS = re.compile(r"[^a-z0-9]+")
_OPTION_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
_LINE_START = re.compile(r"^(#|>|-|\+|=|~|\d+[.)])")
_ESCAPE = re.compile(r"([\\`*_\[\]<>$&|])")
_SPACE = re.compile(r"\s+")


# ---------------------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class QtiImport(IssueSplit):
    """What :func:`read_qti` found.

    Attributes
    ----------
    items : tuple of Item
        The converted items, in package order (pilot items: no IRT parameters).
    assets : tuple of Asset
        The images the items show, at their pack paths (``images/<path in the package>``).
    issues : tuple of PackIssue
        Every problem, with the path of the file inside the package (errors: the item was skipped).
    identifiers : tuple of (file, QTI identifier, item id)
        How each imported item's identifier was normalised.
    title : str or None
        The package's title from its manifest metadata, if any.
    """

    items: tuple[Item, ...]
    assets: tuple[Asset, ...]
    issues: tuple[PackIssue, ...]
    identifiers: tuple[tuple[str, str, str], ...] = ()
    title: str | None = None


class _ItemFailed(Exception):
    """One item can't be converted; carries the message, hint and line."""

    def __init__(self, message: str, hint: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.line = line


# ---------------------------------------------------------------------------------------- XML
@dataclass(slots=True, eq=False)
class _Node:
    """An XML element: canonical QTI 2.1-style name, attributes, children, text, tail and line."""

    tag: str
    raw: str
    ns: str
    attrib: dict[str, str]
    line: int
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)
    text: str = ""
    tail: str = ""

    def get(self, name: str, default: str = "") -> str:
        return self.attrib.get(name, default)

    def first(self, tag: str) -> _Node | None:
        return next((child for child in self.children if child.tag == tag), None)

    def all(self, tag: str) -> list[_Node]:
        return [child for child in self.children if child.tag == tag]

    def iter(self) -> Iterator[_Node]:
        """Yield this node and every descendant, in document order (no recursion)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def itertext(self) -> str:
        parts: list[str] = []
        stack: list[_Node | str] = [self]
        while stack:
            top = stack.pop()
            if isinstance(top, str):
                parts.append(top)
                continue
            parts.append(top.text)
            for child in reversed(top.children):
                stack.append(child.tail)
                stack.append(child)
        return "".join(parts[:1]) + "".join(parts[1:])


class _TooBig(Exception):
    pass


def _camel(name: str) -> str:
    parts = name.split("-")
    return parts[0] + "".join(part[:1].upper() + part[1:] for part in parts[1:])


class _Builder:
    """Parser target: builds :class:`_Node` trees with line numbers, within element and depth caps."""

    def __init__(self) -> None:
        self.expat: Any = None
        self.stack: list[_Node] = []
        self.root: _Node | None = None
        self.count = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.count += 1
        if self.count > _MAX_NODES or len(self.stack) >= _MAX_DEPTH:
            raise _TooBig
        ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        qti3 = local.startswith("qti-")
        canon = _camel(local[4:]) if qti3 else local
        attrs = {(_camel(k.rpartition("}")[2]) if qti3 else k.rpartition("}")[2]): v
                 for k, v in attrib.items()}
        line = int(getattr(self.expat, "CurrentLineNumber", 0) or 0)
        parent = self.stack[-1] if self.stack else None
        node = _Node(canon, local, ns, attrs, line, parent)
        if parent is not None:
            parent.children.append(node)
        elif self.root is None:
            self.root = node
        self.stack.append(node)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def data(self, text: str) -> None:
        if not self.stack:
            return
        top = self.stack[-1]
        if top.children:
            top.children[-1].tail += text
        else:
            top.text += text

    def close(self) -> _Node | None:
        return self.root


@dataclass(frozen=True, slots=True)
class _Refused:
    """Why a file's XML was refused, where (when expat knows) and how to fix it."""

    message: str
    hint: str
    line: int | None = None
    column: int | None = None


def _bare_doctype_only(name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool) -> None:
    """Let a bare ``<!DOCTYPE assessmentItem>`` through (rqti writes one); refuse any DTD.

    A DOCTYPE without an external identifier or an internal subset declares nothing: no entity, no
    reference to fetch. One that names a DTD or carries declarations is refused before they are read.
    """
    if sysid or pubid or has_internal_subset:
        raise DTDForbidden(name, sysid, pubid)


def _parse_xml(data: bytes) -> _Node | _Refused:
    """Parse XML safely; return the root or why (and where) it was refused."""
    if not data.strip():
        return _Refused("is empty", "export the item again, or leave the empty file out")
    builder = _Builder()

    def here() -> int | None:
        return int(getattr(builder.expat, "CurrentLineNumber", 0) or 0) or None

    try:
        parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True,
                                  forbid_external=True)
        builder.expat = getattr(parser, "parser", None)
        if builder.expat is not None:
            builder.expat.StartDoctypeDeclHandler = _bare_doctype_only
        parser.feed(data)
        parser.close()
    except DTDForbidden:
        return _Refused("has a DOCTYPE that names a DTD or declares entities; DTDs are refused "
                        "(nothing is fetched or expanded)",
                        "delete the <!DOCTYPE ...> declaration: a QTI item needs none (a bare "
                        "<!DOCTYPE assessmentItem> is accepted)", here())
    except DefusedXmlException as exc:  # pragma: no cover - entities need a DTD, refused above
        return _Refused(f"declares entities or external references ({type(exc).__name__}); they are "
                        "refused", "write characters as themselves or as &#NNN; references", here())
    except _TooBig:
        return _Refused(f"has more than {_MAX_NODES:,} elements or nests them deeper than {_MAX_DEPTH}",
                        "split the item or flatten its markup", here())
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(": line ", 1)[0]
        if reason == "undefined entity":
            lines = data.split(b"\n")
            rest = lines[line - 1][column:] if 0 < line <= len(lines) else b""
            name = re.match(rb"&[A-Za-z0-9_.:-]{1,32};", rest)
            reason += f" {name.group().decode()}" if name else ""
        hint = ("XML defines only &amp; &lt; &gt; &quot; &apos;: write other characters as themselves "
                "or as numeric references (&#160; for &nbsp;)" if reason.startswith("undefined entity")
                else "correct the XML there (an unclosed or mismatched tag, a bare '&' or '<', a "
                     "character the file's encoding lacks), or export the item again")
        return _Refused(f"is not well-formed XML ({reason}, column {column + 1})", hint, line or None,
                        column + 1)
    except LookupError as exc:
        return _Refused(f"declares an encoding that is not known ({exc})",
                        'save the file as UTF-8 and declare encoding="UTF-8"', here())
    except (ValueError, UnicodeError) as exc:
        return _Refused(f"is not well-formed XML ({exc})",
                        "save the file as UTF-8, or in the encoding its XML declaration names")
    if builder.root is None:  # pragma: no cover - expat refuses a document without an element
        return _Refused("is empty", "give a QTI assessmentItem")
    return builder.root


# ---------------------------------------------------------------------------------------- ids
def _item_id(identifier: str) -> str:
    ident = _ID_CHARS.sub("-", identifier.lower()).strip("-")[:64].strip("-")
    return ident or "item"


def _option_ids(raw: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    used: set[str] = set()
    for ident in raw:
        if ident in out:
            continue
        base = _OPTION_BAD.sub("_", ident)
        if not base or not base[0].isalnum() or not base[0].isascii():
            base = "o" + base
        base = base[:60]
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base}-{n}", n + 1
        used.add(candidate)
        out[ident] = candidate
    return out


# ---------------------------------------------------------------------------------------- Markdown
def _esc(text: str) -> str:
    return _ESCAPE.sub(r"\\\1", _SPACE.sub(" ", text))


def _tex_text(text: str) -> str:
    text = " ".join(text.split())
    return re.sub(r"([{}$%#&_])", r"\\\1", text).replace("\\\\", r"\backslash ")


def _tex(node: _Node) -> str:
    """MathML (presentation) to TeX, enough for fractions, scripts, roots and plain tokens."""
    for child in node.iter():
        if child.tag == "annotation" and "tex" in child.get("encoding").lower():
            return " ".join(child.itertext().split())

    def conv(n: _Node) -> str:
        kids = [c for c in n.children if c.tag not in ("annotation", "annotation-xml")]
        args = [conv(c) for c in kids]
        tag = n.tag
        if tag in ("mi", "mn", "mo", "ms"):
            return _tex_text(n.itertext())
        if tag == "mtext":
            return r"\text{" + _tex_text(n.itertext()) + "}"
        if tag == "mfrac" and len(args) == 2:
            return r"\frac{" + args[0] + "}{" + args[1] + "}"
        if tag == "msup" and len(args) == 2:
            return "{" + args[0] + "}^{" + args[1] + "}"
        if tag == "msub" and len(args) == 2:
            return "{" + args[0] + "}_{" + args[1] + "}"
        if tag == "msubsup" and len(args) == 3:
            return "{" + args[0] + "}_{" + args[1] + "}^{" + args[2] + "}"
        if tag == "msqrt":
            return r"\sqrt{" + " ".join(args) + "}"
        if tag == "mroot" and len(args) == 2:
            return r"\sqrt[" + args[1] + "]{" + args[0] + "}"
        if tag == "mfenced":
            return r"\left" + (n.get("open") or "(") + ",".join(args) + r"\right" + (n.get("close") or ")")
        if tag in ("mover", "munder", "munderover") and len(args) == (3 if tag == "munderover" else 2):
            return _under_over(tag, kids, args)
        return " ".join(a for a in args if a)

    return conv(node).strip()


def _under_over(tag: str, kids: list[_Node], args: list[str]) -> str:
    """``mover`` / ``munder`` / ``munderover``: an accent (x-bar), a big operator's limits, or a stack."""
    base = " ".join(kids[0].itertext().split())
    if tag == "mover" and " ".join(kids[1].itertext().split()) in _ACCENTS:
        return _ACCENTS[" ".join(kids[1].itertext().split())] + "{" + args[0] + "}"
    under = args[1] if tag != "mover" else None
    over = args[-1] if tag != "munder" else None
    if base in _BIG_OPERATORS:
        return (_BIG_OPERATORS[base] + (f"_{{{under}}}" if under is not None else "")
                + (f"^{{{over}}}" if over is not None else ""))
    out = args[0]
    if over is not None:
        out = r"\overset{" + over + "}{" + out + "}"
    if under is not None:
        out = r"\underset{" + under + "}{" + out + "}"
    return out


def _fix_line_starts(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        line = line.strip()
        match = _LINE_START.match(line)
        if match:
            token = match.group(1)
            line = (token[:-1] + "\\" + token[-1] if token[0].isdigit() else "\\" + token) + line[len(token):]
        lines.append(line)
    return "\n".join(lines)


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text.strip(chr(10))}\n{fence}"


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Markdown:
    """XHTML (an item body, a choice, a feedback) to Markdown; images resolved through a callback."""

    def __init__(self, image: Callable[[str, str, int], str | None],
                 interaction: _Node | None = None, gap: str = _GAP) -> None:
        self.image = image
        self.interaction = interaction
        self.gap = gap

    # blocks ---------------------------------------------------------------------------------
    def blocks(self, node: _Node) -> list[str]:
        out: list[str] = []
        buf: list[str] = [_esc(node.text)]

        def flush() -> None:
            text = _fix_line_starts(re.sub(r"[ \t]{2,}", " ", "".join(buf))).strip()
            if text.replace("\\\n", "").strip():
                out.append(text.rstrip("\\").rstrip())
            buf.clear()

        for child in node.children:
            if child.tag in _SKIP:
                pass
            elif child is self.interaction and child.tag not in _INLINE_INTERACTIONS:
                flush()
                prompt = child.first("prompt")
                if prompt is not None:
                    out.extend(self.blocks(prompt))
            elif child.tag in _BLOCK or (child.tag == "math" and child.get("display") == "block"):
                flush()
                out.extend(self.block(child))
            else:
                buf.append(self.inline(child))
            buf.append(_esc(child.tail))
        flush()
        return out

    def block(self, node: _Node) -> list[str]:
        tag = node.tag
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = " ".join(" ".join(self.blocks(node)).replace("\\\n", " ").split())
            return [f"{'#' * int(tag[1])} {text}"] if text else []
        if tag == "blockquote":
            inner = "\n\n".join(self.blocks(node))
            return ["\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))] if inner else []
        if tag in ("ul", "ol"):
            lines: list[str] = []
            number = int(node.get("start", "1")) if node.get("start", "1").isdigit() else 1
            for li in node.children:
                if li.tag != "li":
                    continue
                marker = f"{number}. " if tag == "ol" else "- "
                number += 1
                body = "\n\n".join(self.blocks(li)) or " "
                pad = " " * len(marker)
                first, *rest = body.split("\n")
                lines.append(marker + first)
                lines.extend(pad + line if line else "" for line in rest)
            return ["\n".join(lines)] if lines else []
        if tag == "pre":
            return [_fence(node.itertext())]
        if tag == "hr":
            return ["* * *"]
        if tag == "table":
            return [self.html(node)]
        if tag == "math":
            tex = _tex(node)
            return [f"$${tex}$$"] if tex else []
        if tag == "dl":
            out: list[str] = []
            for child in node.children:
                text = " ".join(self.blocks(child))
                if text:
                    out.append(f"**{text}**" if child.tag == "dt" else text)
            return out
        return self.blocks(node)

    # inline ---------------------------------------------------------------------------------
    def inline(self, node: _Node) -> str:
        tag = node.tag
        if tag in _SKIP:
            return ""
        if node is self.interaction:
            return self.gap
        if tag == "br":
            return "\\\n"
        if tag == "img":
            return self.image(node.get("src"), node.get("alt"), node.line) or ""
        if tag == "object":
            if node.get("type").startswith("image/") and node.get("data"):
                alt = " ".join(node.itertext().split())[:300]
                return self.image(node.get("data"), alt, node.line) or ""
            return self.inner(node)
        if tag == "math":
            tex = _tex(node)
            return f"${tex}$" if tex else ""
        if tag in ("b", "strong"):
            return self.wrap(self.inner(node), "**")
        if tag in ("i", "em", "cite", "dfn"):
            return self.wrap(self.inner(node), "*")
        if tag == "code":
            code = " ".join(node.itertext().split())
            ticks = "`"
            while ticks in code:
                ticks += "`"
            return f"{ticks} {code} {ticks}" if code else ""
        if tag == "a":
            inner = self.inner(node)
            href = node.get("href")
            if re.match(r"^(https?|mailto):", href) and inner.strip():
                return f"[{inner.strip()}](<{href.replace('>', '%3E').replace(' ', '%20')}>)"
            return inner
        if tag in _HTML_INLINE:
            inner = self.inner(node)
            return f"<{tag}>{inner}</{tag}>" if inner.strip() else inner
        if tag in _BLOCK:
            return " ".join(self.blocks(node))
        return self.inner(node)

    def inner(self, node: _Node) -> str:
        parts = [_esc(node.text)]
        for child in node.children:
            if child.tag in _BLOCK:
                parts.append(" " + " ".join(self.blocks(child)) + " ")
            else:
                parts.append(self.inline(child))
            parts.append(_esc(child.tail))
        return "".join(parts)

    @staticmethod
    def wrap(inner: str, mark: str) -> str:
        core = inner.strip()
        if not core:
            return inner
        lead = inner[: len(inner) - len(inner.lstrip())]
        trail = inner[len(inner.rstrip()):]
        return f"{lead}{mark}{core}{mark}{trail}"

    # tables stay HTML -------------------------------------------------------------------------
    def html(self, node: _Node) -> str:
        parts: list[str] = []

        def walk(n: _Node) -> None:
            tag = n.tag
            if tag in _SKIP or tag in ("colgroup", "col"):
                return
            keep = tag in _TABLE_TAGS or tag in _HTML_INLINE or tag in ("b", "strong", "i", "em", "br", "p")
            if tag == "img":
                md = self.image(n.get("src"), n.get("alt"), n.line)
                match = re.match(r"^!\[(.*)\]\(<?([^>)]*)>?\)$", md or "")
                if match:
                    parts.append(f'<img src="{_html_escape(match.group(2))}" '
                                 f'alt="{_html_escape(n.get("alt")).replace(chr(34), "&quot;")}">')
                elif md:
                    parts.append(_html_escape(n.get("alt")))
                return
            if tag == "math":
                parts.append(_html_escape(" ".join(n.itertext().split())))
                return
            if keep:
                attrs = "".join(f' {a}="{_html_escape(n.get(a))}"' for a in ("colspan", "rowspan")
                                if tag in ("td", "th") and n.get(a).isdigit())
                parts.append(f"<{tag}{attrs}>" if tag != "br" else "<br>")
            parts.append(_html_escape(" ".join(n.text.split()) and _SPACE.sub(" ", n.text)))
            for child in n.children:
                walk(child)
                parts.append(_html_escape(_SPACE.sub(" ", child.tail)))
            if keep and tag != "br":
                parts.append(f"</{tag}>")

        walk(node)
        return _SPACE.sub(" ", "".join(parts)).strip()


# ---------------------------------------------------------------------------------------- package files
class _Files:
    """The files of a package: read up front (zip, folder) or on demand beside one item file."""

    def __init__(self, files: dict[str, bytes], limits: Limits, folder: Path | None = None) -> None:
        self.files = files
        self.limits = limits
        self.folder = folder

    def get(self, path: str) -> bytes | None:
        if path in self.files:
            return self.files[path]
        if self.folder is None:
            return None
        current = self.folder
        try:
            for part in path.split("/"):
                current = current / part
                mode = os.lstat(current).st_mode
                if stat.S_ISLNK(mode):
                    return None
            if not stat.S_ISREG(mode) or os.lstat(current).st_size > self.limits.max_file_bytes:
                return None
            data = current.read_bytes()
        except OSError:
            return None
        self.files[path] = data
        return data


def _load_source(source: QtiSource, limits: Limits) -> tuple[_Files, list[str] | None, list[PackIssue]]:
    """Return the files, the item paths when the source is one item, and reading issues."""
    if isinstance(source, bytes):
        if source[:2] == b"PK":
            read = read_pack_files(source, limits)
            return _Files(dict(read.files), limits), None, list(read.issues)
        if len(source) > limits.max_file_bytes:
            return _Files({}, limits), [], [PackIssue(
                "<upload>", None, None, ERROR,
                f"file is {len(source):,} bytes; the limit is {limits.max_file_bytes:,}", "split the file")]
        return _Files({"item.xml": source}, limits), ["item.xml"], []
    path = Path(source)
    st = stat_source(path)
    if stat.S_ISREG(st.st_mode) and path.suffix.lower() == ".xml":
        if st.st_size > limits.max_file_bytes:
            issue = PackIssue(path.name, None, None, ERROR,
                              f"file is {st.st_size:,} bytes; the limit is {limits.max_file_bytes:,}",
                              "split the file")
            return _Files({}, limits), [], [issue]
        try:
            data = path.read_bytes()
        except OSError as exc:
            msg = f"{path}: cannot be read ({exc.strerror})"
            raise PackUnreadable(msg) from None
        return _Files({path.name: data}, limits, path.parent), [path.name], []
    read = read_pack_files(path, limits)
    return _Files(dict(read.files), limits), None, list(read.issues)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _manifest_items(files: _Files, issues: list[PackIssue]) -> tuple[list[str], str | None]:
    """Item paths from imsmanifest.xml (at the root or in a single top folder), and the title."""
    manifests = sorted(p for p in files.files if p == "imsmanifest.xml" or (
        p.endswith("/imsmanifest.xml") and p.count("/") == 1))
    if not manifests:
        return sorted(p for p in files.files if p.lower().endswith(".xml")), None
    manifest = manifests[0]
    base = posixpath.dirname(manifest)
    root = _parse_xml(files.files[manifest])
    if isinstance(root, _Refused):
        issues.append(PackIssue(manifest, root.line, root.column, ERROR, f"the manifest {root.message}",
                                root.hint))
        return [], None
    title = None
    for node in root.iter():
        if node.tag == "title" and node.parent is not None and node.parent.tag == "general":
            text = " ".join(node.itertext().split())
            if text:
                title = text
                break
    paths: list[str] = []
    for resource in root.iter():
        if resource.tag != "resource" or not resource.get("type").startswith("imsqti_item_xml"):
            continue
        href = resource.get("href")
        if not href:
            file_node = resource.first("file")
            href = file_node.get("href") if file_node is not None else ""
        outside = bool(_SCHEME.match(href)) or href.startswith("/")
        target = pack_relative(manifest, unquote(href.split("#", 1)[0])) if href and not outside else None
        if target is None:
            issues.append(PackIssue(manifest, resource.line, None, ERROR,
                                    f"resource {resource.get('identifier')!r} has no usable href "
                                    f"({href!r})", "point href at the item file inside the package"))
            continue
        if target not in files.files:
            issues.append(PackIssue(manifest, resource.line, None, ERROR,
                                    f"resource {resource.get('identifier')!r}: {target} is missing "
                                    "from the package", "add the file or remove the resource"))
            continue
        if target not in paths:
            paths.append(target)
    del base
    return paths, title


_PLAIN_DOCTYPE = re.compile(rb"<!DOCTYPE\s+svg\s+PUBLIC\s+\"[^\"<>\[\]]*\"\s+\"[^\"<>\[\]]*\"\s*>")


def _svg(data: bytes) -> tuple[bytes | None, str | None]:
    """Check an SVG as the pack format will; drop a plain public DOCTYPE (no internal subset) first."""
    stripped = _PLAIN_DOCTYPE.sub(b"", data, count=1)
    result = sanitise_svg(stripped)
    if result.error is not None:
        return None, f"can't be used: SVG image {result.error}"
    return stripped, None


# ---------------------------------------------------------------------------------------- scoring
@dataclass(slots=True)
class _Decl:
    identifier: str
    cardinality: str
    base_type: str
    correct: list[str]
    mapping: list[tuple[str, float, bool | None]]
    has_mapping: bool
    default: float
    line: int


def _num(text: str, default: float = 0.0) -> float:
    try:
        value = float(text)
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def _declarations(root: _Node) -> dict[str, _Decl]:
    out: dict[str, _Decl] = {}
    for decl in root.all("responseDeclaration"):
        correct_node = decl.first("correctResponse")
        correct = [" ".join(v.itertext().split()) for v in correct_node.all("value")] if correct_node else []
        mapping_node = decl.first("mapping")
        entries: list[tuple[str, float, bool | None]] = []
        if mapping_node is not None:
            for entry in mapping_node.all("mapEntry"):
                cs = entry.get("caseSensitive")
                entries.append((entry.get("mapKey"), _num(entry.get("mappedValue")),
                                None if not cs else cs.strip().lower() in ("true", "1")))
        out[decl.get("identifier")] = _Decl(
            decl.get("identifier"), decl.get("cardinality", "single"), decl.get("baseType"),
            correct, entries, mapping_node is not None,
            _num(mapping_node.get("defaultValue", "0")) if mapping_node is not None else 0.0, decl.line)
    return out


def _unwrap(cond: _Node | None) -> _Node | None:
    while cond is not None and cond.tag == "and" and len(cond.children) == 1:
        cond = cond.children[0]
    return cond


def _is_correct_test(cond: _Node | None, resp: str) -> bool:
    cond = _unwrap(cond)
    if cond is None or cond.tag not in ("match", "equal") or len(cond.children) != 2:
        return False
    kinds = sorted((c.tag, c.get("identifier")) for c in cond.children)
    return kinds == [("correct", resp), ("variable", resp)]


def _branch(node: _Node) -> _Node | None:
    current = node.parent
    while current is not None and current.tag not in ("responseIf", "responseElseIf", "responseElse",
                                                       "responseProcessing"):
        current = current.parent
    return current if current is not None and current.tag != "responseProcessing" else None


def _harmless(expr: _Node | None) -> bool:
    if expr is None:
        return True
    if expr.tag == "baseValue":
        return _num(expr.itertext(), 1.0) == 0.0
    return expr.tag == "variable" and expr.get("identifier") == "SCORE"


def _custom_kind(rp: _Node, resp: str) -> str:
    kinds: set[str] = set()
    for node in rp.iter():
        if node.tag != "setOutcomeValue" or node.get("identifier") != "SCORE":
            continue
        expr = node.children[0] if node.children else None
        if any(n.tag in ("mapResponse", "mapResponsePoint") and n.get("identifier") == resp
               for n in node.iter()):
            kinds.add("map")
            continue
        if _harmless(expr):
            continue
        branch = _branch(node)
        if branch is not None and branch.tag != "responseElse" and branch.children and \
                _is_correct_test(branch.children[0], resp):
            kinds.add("match")
            continue
        return "unknown"
    return kinds.pop() if len(kinds) == 1 else "unknown"


def _tolerance(rp: _Node | None, resp: str, key: float) -> tuple[float, str | None]:
    """Absolute tolerance from an ``equal`` of the response with its correct value, and a warning."""
    if rp is None:
        return 0.0, None
    for node in rp.iter():
        if node.tag != "equal" or not _is_correct_test(node, resp):
            continue
        mode = node.get("toleranceMode", "exact")
        values = [_num(v, -1.0) for v in node.get("tolerance", "0").split()] or [0.0]
        values = [v for v in values if v >= 0] or [0.0]
        note = None
        if len(set(values)) > 1:
            unit = " %" if mode == "relative" else ""
            note = (f"the tolerance {node.get('tolerance')!r} differs below and above the key; "
                    f"the smaller ({min(values):g}{unit}) is used on both sides")
        tol = min(values)
        if mode == "relative":
            return abs(key) * tol / 100.0, note
        if mode == "absolute":
            return tol, note
        return 0.0, None
    return 0.0, None


# ---------------------------------------------------------------------------------------- feedback
def _condition_category(cond: _Node | None, resp: str) -> str | None:
    cond = _unwrap(cond)
    if cond is None:
        return None
    if _is_correct_test(cond, resp):
        return "correct"
    if cond.tag == "match" and len(cond.children) == 2:
        base = next((c for c in cond.children if c.tag == "baseValue"), None)
        var = next((c for c in cond.children if c.tag == "variable"), None)
        if base is None or var is None:
            return None
        value = " ".join(base.itertext().split())
        if var.get("identifier") == resp:
            return f"option:{value}"
        if value in ("correct", "incorrect"):
            return value
    return None


_ECHO = "*"
"""Stands for every feedback identifier of an outcome that is set to the response itself."""


def _feedback_triggers(rp: _Node | None, resp: str, outcomes: set[str]) -> dict[tuple[str, str], str]:
    """Map (outcome identifier, feedback identifier) to 'correct', 'incorrect' or 'option:<id>'.

    An outcome set to the response itself (the usual QTI 2.1 way to give feedback per option) maps
    ``(outcome, _ECHO)`` to ``'option:'``: each of its feedbacks belongs to the option it names.
    """
    out: dict[tuple[str, str], str] = {}
    if rp is None:
        return out
    for node in rp.iter():
        if node.tag != "setOutcomeValue" or node.get("identifier") not in outcomes:
            continue
        outcome = node.get("identifier")
        expr = node.children[0] if node.children else None
        if expr is not None and expr.tag == "variable" and expr.get("identifier") == resp:
            # FEEDBACK = RESPONSE: each feedback shows when the option of its identifier is chosen
            out.setdefault((outcome, _ECHO), "option:")
            continue
        category = _condition_category(expr, resp)
        if category is not None:  # a boolean outcome set from the condition (QTI 2.1 Onyx style)
            out.setdefault((outcome, "true"), category)
            continue
        branch = _branch(node)
        if branch is None:
            continue
        if branch.tag == "responseElse":
            conds = [b.children[0] for b in (branch.parent.children if branch.parent else [])
                     if b.tag in ("responseIf", "responseElseIf") and b.children]
            category = "incorrect" if any(_is_correct_test(c, resp) for c in conds) else None
        else:
            category = _condition_category(branch.children[0] if branch.children else None, resp)
        if category is None:
            continue
        for value in node.iter():
            if value.tag == "baseValue" and value.get("baseType") == "identifier":
                out.setdefault((outcome, " ".join(value.itertext().split())), category)
    return out


# ---------------------------------------------------------------------------------------- items
@dataclass(slots=True)
class _Context:
    path: str
    files: _Files
    limits: Limits
    item_file: str
    issues: list[PackIssue]
    assets: dict[str, Asset]
    competency: str
    level: str

    def warn(self, line: int | None, message: str, hint: str) -> None:
        self.issues.append(PackIssue(self.path, line, None, WARNING, message, hint))


def _true(value: str) -> bool:
    return value.strip() in ("true", "1")


def _shuffle(interaction: _Node, choices: list[_Node]) -> bool:
    """QTI's ``shuffle`` (absent means false); a choice with ``fixed="true"`` pins the whole item."""
    return _true(interaction.get("shuffle", "false")) and not any(_true(c.get("fixed", "false"))
                                                                  for c in choices)


def _choices(md: _Markdown, nodes: list[_Node], ids: dict[str, str]) -> tuple[Choice, ...]:
    out: list[Choice] = []
    for node in nodes:
        text = "\n\n".join(md.blocks(node)) or node.get("identifier")
        out.append(Choice(ids[node.get("identifier")], text))
    return tuple(out)


class _ItemReader:
    """Convert one parsed assessmentItem into an Item (or raise _ItemFailed)."""

    def __init__(self, ctx: _Context, root: _Node, v3: bool) -> None:
        self.ctx = ctx
        self.root = root
        self.v3 = v3
        self.item_assets: dict[str, Asset] = {}

    def name(self, node: _Node) -> str:
        return f"{node.tag} (<{node.raw}>)" if self.v3 else node.tag

    def image(self, src: str, alt: str, line: int) -> str | None:
        ctx = self.ctx
        alt_md = _esc(alt).strip()
        src = src.strip()
        if not src:
            return alt_md or None
        if _SCHEME.match(src) or src.startswith("/"):
            ctx.warn(line, f"image {src[:100]!r} is not a file inside the package; its alt text is shown",
                     "add the image to the package and refer to it by a relative path")
            return alt_md or None
        target = pack_relative(ctx.path, unquote(src.split("#", 1)[0].split("?", 1)[0]))
        media_type = _IMAGE_TYPES.get(PurePosixPath(target or "").suffix.lower())
        data = ctx.files.get(target) if target is not None else None
        problem, hint = None, ""
        if target is None:
            problem, hint = "leaves the package", "copy the image into the package and refer to it there"
        elif media_type is None:
            problem, hint = "is not a PNG, JPEG, GIF or SVG image", "convert it to PNG, JPEG, GIF or SVG"
        elif data is None:
            problem, hint = "is missing from the package", "add the image to the package or correct the path"
        elif len(data) > ctx.limits.max_image_bytes:
            problem = f"is {len(data):,} bytes; the limit is {ctx.limits.max_image_bytes:,}"
            hint = "scale or compress the image"
        if problem is None and media_type == "image/svg+xml" and data is not None:
            data, problem = _svg(data)
            hint = "export the SVG again as plain SVG, without a DOCTYPE"
        if problem or target is None or media_type is None or data is None:
            ctx.warn(line, f"image {src[:100]!r} {problem}; its alt text is shown instead", hint)
            return alt_md or None
        pack_path = "images/" + target
        self.item_assets[pack_path] = Asset(pack_path, media_type, data)
        rel = posixpath.relpath(pack_path, posixpath.dirname(self.ctx.item_file) or ".")
        alt_md = alt_md.replace("\n", " ")
        return f"![{alt_md}](<{rel}>)" if re.search(r"[\s()<>]", rel) else f"![{alt_md}]({rel})"

    def fail(self, node: _Node | None, message: str, hint: str) -> _ItemFailed:
        return _ItemFailed(message, hint, node.line if node is not None else self.root.line)

    def read(self) -> Item:
        root = self.root
        body = root.first("itemBody")
        if body is None:
            raise self.fail(root, "the item has no itemBody", "add the item's content")
        if root.first("templateDeclaration") is not None or root.first("templateProcessing") is not None:
            raise self.fail(root.first("templateDeclaration") or root.first("templateProcessing"),
                            "template (cloned) items are not supported",
                            "export the item with fixed values")
        interactions = [n for n in body.iter() if n.tag.endswith("Interaction")]
        if not interactions:
            raise self.fail(body, "the item has no interaction",
                            "add an interaction, or import it as a lesson")
        unsupported = [n for n in interactions if n.tag not in _SUPPORTED]
        if unsupported:
            node = unsupported[0]
            raise self.fail(node, f"{self.name(node)} is not supported",
                            "supported: choice, inlineChoice, textEntry, order, match and extendedText "
                            "interactions; rebuild the item with one of them or leave it out")
        if len(interactions) > 1:
            names = ", ".join(self.name(n) for n in interactions)
            raise self.fail(interactions[1], f"the item has {len(interactions)} interactions ({names}); "
                            "a Thetapath item has one", "split the item into one item per interaction")
        interaction = interactions[0]
        resp = interaction.get("responseIdentifier")
        decl = _declarations(root).get(resp)
        if decl is None:
            raise self.fail(interaction, f"no responseDeclaration for {resp!r}",
                            "declare the interaction's response")
        md = _Markdown(self.image, interaction)
        stem = "\n\n".join(md.blocks(body)).strip() or _esc(root.get("title")).strip() or "(no text)"
        rp = root.first("responseProcessing")
        kind = self.rp_kind(rp, resp, interaction)
        fields = self.answer(interaction, decl, kind, rp, md)
        feedback = self.feedback(rp, resp, md, fields)
        return Item(id=_item_id(root.get("identifier") or PurePosixPath(self.ctx.path).stem),
                    competency=self.ctx.competency, file=self.ctx.item_file, stem=stem,
                    feedback=feedback, level=self.ctx.level, **fields)

    def rp_kind(self, rp: _Node | None, resp: str, interaction: _Node) -> str:
        if interaction.tag == "extendedTextInteraction":
            return "none"
        fallback = "scored all-or-nothing against the correct response"
        if rp is None:
            self.ctx.warn(interaction.line, f"the item has no response processing; it is {fallback}",
                          "check the imported key")
            return "match"
        template = rp.get("template") or rp.get("templateLocation")
        if template:
            name = template.rstrip("/").rsplit("/", 1)[-1]
            name = name[:-4] if name.lower().endswith(".xml") else name
            if name in _MATCH_TEMPLATES:
                return "match"
            if name in _MAP_TEMPLATES:
                return "map"
            self.ctx.warn(rp.line, f"unknown response-processing template {template[:120]!r}; "
                          f"the item is {fallback}", "check the imported key and scoring")
            return "match"
        kind = _custom_kind(rp, resp)
        if kind == "unknown":
            self.ctx.warn(rp.line, f"custom response processing is not one of the standard templates; "
                          f"the item is {fallback}", "check the imported key and scoring")
            return "match"
        return kind

    def key_from_mapping(self, decl: _Decl) -> list[str]:
        if decl.correct:
            return decl.correct
        positive = [(value, key) for key, value, _ in decl.mapping if value > 0]
        if not positive:
            return []
        if decl.cardinality == "single":
            best = max(value for value, _ in positive)
            return [key for value, key in positive if value == best][:1]
        return [key for _, key in positive]

    def answer(self, node: _Node, decl: _Decl, kind: str, rp: _Node | None,
               md: _Markdown) -> dict[str, Any]:
        tag = node.tag
        if tag == "extendedTextInteraction":
            return {"type": "reflection"}
        key = self.key_from_mapping(decl)
        if not key:
            raise self.fail(node, f"the response {decl.identifier!r} has no correct response",
                            "add a correctResponse (or a mapping) to the responseDeclaration")
        if tag in ("choiceInteraction", "inlineChoiceInteraction", "orderInteraction"):
            choice_tag = "inlineChoice" if tag == "inlineChoiceInteraction" else "simpleChoice"
            nodes = node.all(choice_tag)
            ids = _option_ids([n.get("identifier") for n in nodes])
            options = _choices(md, nodes, ids)
            if len(options) < 2:
                raise self.fail(node, f"{self.name(node)} has {len(options)} choice(s); "
                                "at least 2 are needed", "add choices")
            unknown = [k for k in key if k not in ids]
            if unknown:
                raise self.fail(node, f"the correct response names {unknown[0]!r}, which is not a choice",
                                "correct the correctResponse")
            if tag == "orderInteraction":
                if sorted(key) != sorted(ids) or len(set(key)) != len(key):
                    raise self.fail(node, "the correct order does not list every choice exactly once",
                                    "order every choice in the correctResponse")
                return {"type": "ordering", "options": options, "key": tuple(ids[k] for k in key),
                        "shuffle": _shuffle(node, nodes)}
            single = decl.cardinality == "single" and (
                tag == "inlineChoiceInteraction" or node.get("maxChoices", "1") == "1")
            if single:
                return {"type": "single_choice", "options": options, "key": ids[key[0]],
                        "shuffle": _shuffle(node, nodes)}
            scoring = "all_or_nothing"
            if kind == "map" and decl.mapping:
                scoring = "partial"
                self.check_weights(node, decl, set(key), list(ids))
            keyed = set(key)
            return {"type": "multiple_choice", "options": options, "scoring": scoring,
                    "key": tuple(ids[k] for k in ids if k in keyed), "shuffle": _shuffle(node, nodes)}
        if tag == "matchInteraction":
            return self.match(node, decl, key, kind, md)
        if tag == "textEntryInteraction":
            return self.text_entry(node, decl, key, rp)
        raise self.fail(node, f"{self.name(node)} is not supported", "leave the item out")  # pragma: no cover

    def check_weights(self, node: _Node, decl: _Decl, keyed: set[str], all_ids: list[str]) -> None:
        values = {k: v for k, v, _ in decl.mapping}
        right = {values.get(k, decl.default) for k in keyed}
        wrong = {values.get(k, decl.default) for k in all_ids if k not in keyed}
        if len(right) == 1 and right.pop() > 0 and (wrong <= {-1.0 * v for v in values.values()
                                                             if v > 0} or not wrong):
            return
        self.ctx.warn(node.line, "the mapping's weights are approximated: partial credit gives one point "
                      "per right option chosen minus one per wrong one, at least 0",
                      "check the item's scoring")

    def match(self, node: _Node, decl: _Decl, key: list[str], kind: str, md: _Markdown) -> dict[str, Any]:
        sets = node.all("simpleMatchSet")
        if len(sets) != 2:
            raise self.fail(node, f"{self.name(node)} needs two simpleMatchSets, found {len(sets)}",
                            "use two match sets")
        src_nodes = sets[0].all("simpleAssociableChoice")
        tgt_nodes = sets[1].all("simpleAssociableChoice")
        src_ids = _option_ids([n.get("identifier") for n in src_nodes])
        tgt_ids = _option_ids([n.get("identifier") for n in tgt_nodes])
        pairs: dict[str, str] = {}
        for value in key:
            parts = value.split()
            if len(parts) != 2:
                raise self.fail(node, f"the correct response {value!r} is not a pair",
                                "write 'source target'")
            first, second = parts
            if first in tgt_ids and second in src_ids and not (first in src_ids and second in tgt_ids):
                first, second = second, first
            if first not in src_ids or second not in tgt_ids:
                raise self.fail(node, f"the correct pair {value!r} does not pair a source with a target",
                                "correct the correctResponse")
            if first in pairs:
                raise self.fail(node, f"source {first!r} is matched to several targets; a Thetapath "
                                "matching item matches each source to one target",
                                "give each source one right target")
            pairs[first] = second
        missing = [s for s in src_ids if s not in pairs]
        if missing:
            raise self.fail(node, f"source(s) {', '.join(missing)} have no right target; a Thetapath "
                            "matching item matches every source", "give every source its target")
        sources = _choices(md, src_nodes, src_ids)
        targets = _choices(md, tgt_nodes, tgt_ids)
        if len(sources) < 2 or len(targets) < 2:
            raise self.fail(node, "a matching item needs at least 2 sources and 2 targets", "add choices")
        scoring = "all_or_nothing"
        if kind == "map" and decl.mapping:
            scoring = "partial"
            values = {v for _, v, _ in decl.mapping if v > 0}
            if len(values) > 1:
                self.ctx.warn(node.line, "the mapping's weights are approximated: partial credit gives "
                              "one point per right pair", "check the item's scoring")
        return {"type": "matching", "sources": sources, "targets": targets, "scoring": scoring,
                "key": tuple((src_ids[s], tgt_ids[pairs[s]]) for s in src_ids),
                "shuffle": _shuffle(node, src_nodes + tgt_nodes)}

    def text_entry(self, node: _Node, decl: _Decl, key: list[str], rp: _Node | None) -> dict[str, Any]:
        if decl.base_type in ("float", "integer"):
            value = _num(key[0], math.nan)
            if not math.isfinite(value):
                raise self.fail(node, f"the correct response {key[0]!r} is not a number",
                                "correct the correctResponse")
            tolerance, note = _tolerance(rp, decl.identifier, value)
            if note:
                self.ctx.warn(node.line, note, "check the tolerance")
            return {"type": "numeric", "key": value, "tolerance": tolerance}
        if decl.cardinality != "single":
            raise self.fail(node, f"a textEntryInteraction with {decl.cardinality} cardinality is not "
                            "supported", "use single cardinality")
        best = max((v for _, v, _ in decl.mapping), default=0.0)
        accepted: list[str] = []
        sensitive: list[bool] = []
        default_cs = not self.v3
        for answer in decl.correct:
            accepted.append(answer)
            entry = next((e for e in decl.mapping if e[0] == answer), None)
            sensitive.append(default_cs if entry is None or entry[2] is None else entry[2])
        for map_key, mapped, cs in decl.mapping:
            if mapped >= best and mapped > 0:
                if map_key not in accepted:
                    accepted.append(map_key)
                    sensitive.append(default_cs if cs is None else cs)
            elif mapped > 0 and map_key not in accepted and not (
                    not (default_cs if cs is None else cs)
                    and map_key.casefold() in {a.casefold() for a in accepted}):
                self.ctx.warn(node.line, f"the answer {map_key!r} scores {mapped:g} of {best:g} in QTI; "
                              "Thetapath scores short text 0/1, so it is not accepted",
                              "add it to 'accepted' if it deserves full credit")
        accepted = [a.strip() for a in accepted if a.strip()]
        if not accepted:
            raise self.fail(node, "the text entry has no accepted answer", "add a correctResponse")
        case_sensitive = any(sensitive)
        seen: set[str] = set()
        unique: list[str] = []
        for answer in accepted:
            norm = " ".join(answer.split())
            norm_key = norm if case_sensitive else norm.casefold()
            if norm_key not in seen:
                seen.add(norm_key)
                unique.append(norm)
        out: dict[str, Any] = {"type": "short_text", "accepted": tuple(unique)}
        if case_sensitive:
            out["case_sensitive"] = True
        return out

    def feedback(self, rp: _Node | None, resp: str, md: _Markdown, fields: dict[str, Any]) -> Feedback:
        """Feedback shown for a right or wrong answer or a chosen option; a warning for any other."""
        blocks = [n for n in self.root.iter() if n.tag in ("modalFeedback", "feedbackBlock", "feedbackInline")
                  and (n.itertext().strip() or any(c.tag in ("img", "object") for c in n.iter()))]
        if not blocks:
            return Feedback()
        triggers = _feedback_triggers(rp, resp, {n.get("outcomeIdentifier") for n in blocks})
        option_ids = {c.id for c in fields.get("options", ())}
        raw_ids = _option_ids([n.get("identifier") for n in self.root.iter()
                               if n.tag in ("simpleChoice", "inlineChoice")])
        texts: dict[str, list[str]] = {}
        plain = _Markdown(self.image)
        for block in blocks:
            outcome, ident = block.get("outcomeIdentifier"), block.get("identifier")
            category = triggers.get((outcome, ident))
            if category is None and (outcome, _ECHO) in triggers:
                category = f"option:{ident}"
            if category is not None and category.startswith("option:") and \
                    raw_ids.get(category[7:]) not in option_ids:
                category = None
            if category is None or block.get("showHide", "show") != "show":
                when = "is not" if block.get("showHide", "show") != "show" else "is"
                self.ctx.warn(block.line, f"{self.name(block)} {ident!r} is left out: it shows when "
                              f"{outcome} {when} set to {ident!r}, which Thetapath can't map; it shows "
                              "feedback only for a right or a wrong answer or a chosen option",
                              "add its text to the item's feedback by hand if learners need it")
                continue
            content = block.first("contentBody") or block
            text = "\n\n".join(plain.blocks(content)).strip()
            if text:
                texts.setdefault(category, []).append(text)
        options: list[tuple[str, str]] = []
        for category, values in texts.items():
            option = raw_ids.get(category[7:]) if category.startswith("option:") else None
            if option is not None:
                options.append((option, "\n\n".join(values)))
        order = [c.id for c in fields.get("options", ())]
        options.sort(key=lambda pair: order.index(pair[0]))
        correct = "\n\n".join(texts["correct"]) if "correct" in texts else None
        incorrect = "\n\n".join(texts["incorrect"]) if "incorrect" in texts else None
        return Feedback(correct, incorrect, tuple(options))


def _read_item(ctx: _Context, data: bytes, *, quiet: bool) -> tuple[Item, str, dict[str, Asset]] | None:
    """Convert one file; None on failure, with an error (a warning when ``quiet`` and it isn't an item)."""
    root = _parse_xml(data)
    if isinstance(root, _Refused):
        ctx.issues.append(PackIssue(ctx.path, root.line, root.column, ERROR, f"the file {root.message}",
                                    root.hint))
        return None
    v3 = root.ns == _V3_NS
    if root.tag != "assessmentItem" or not (v3 or _V2_NS.match(root.ns)):
        hint = ("QTI 1.2 is not read: export the items as QTI 2.1 or 3.0" if root.tag == "questestinterop"
                else "the items are read, not the test: list them in imsmanifest.xml or put their files "
                     "in the folder" if root.tag == "assessmentTest"
                else "give a QTI assessmentItem, or a content package with imsmanifest.xml")
        ctx.issues.append(PackIssue(
            ctx.path, root.line, None, WARNING if quiet else ERROR,
            f"not a QTI 2.x or 3.0 item (root <{root.raw}> in namespace {root.ns or 'none'!r})"
            + ("; skipped" if quiet else ""), hint))
        return None
    reader = _ItemReader(ctx, root, v3)
    n_issues = len(ctx.issues)
    try:
        item = reader.read()
    except _ItemFailed as exc:
        del ctx.issues[n_issues:]  # warnings about an item that is skipped anyway
        ctx.issues.append(PackIssue(ctx.path, exc.line, None, ERROR, exc.message, exc.hint))
        return None
    return item, root.get("identifier"), reader.item_assets


def read_qti(source: QtiSource, limits: Limits = DEFAULT_LIMITS, *, competency: str = "imported",
             item_file: str = "items/qti.yaml", level: str = "medium") -> QtiImport:
    """Read QTI 3.0 / 2.1 items: one item file, a package (folder or zip with imsmanifest.xml), or a
    folder of item files.

    Items measure ``competency`` and live in ``item_file`` (their image paths are relative to it).

    Raises
    ------
    PackUnreadable
        No such path, or a path that is neither an XML file, a folder nor a zip archive.
    """
    files, item_paths, read_issues = _load_source(source, limits)
    issues = list(read_issues)
    title = None
    quiet = item_paths is None
    if item_paths is None:
        item_paths, title = _manifest_items(files, issues)
        quiet = not any(p.endswith("imsmanifest.xml") for p in files.files)
    items: list[Item] = []
    assets: dict[str, Asset] = {}
    identifiers: list[tuple[str, str, str]] = []
    used: dict[str, str] = {}
    for path in item_paths:
        data = files.get(path)
        if data is None:
            continue
        ctx = _Context(path, files, limits, item_file, issues, assets, competency, level)
        result = _read_item(ctx, data, quiet=quiet)
        if result is None:
            continue
        item, identifier, item_assets = result
        base, n = item.id, 2
        while item.id in used:
            item = replace(item, id=f"{base[:60]}-{n}")
            n += 1
        if item.id != base:
            issues.append(PackIssue(path, None, None, WARNING,
                                    f"identifier {identifier!r} becomes {base!r}, like {used[base]!r}; "
                                    f"imported as {item.id!r}", "give the items distinct identifiers"))
        used[item.id] = identifier
        items.append(item)
        assets.update(item_assets)
        identifiers.append((path, identifier, item.id))
    if not items and not any(issue.is_error for issue in issues):
        issues.append(PackIssue(".", None, None, ERROR, "no QTI item found",
                                "give an item file, or a package with imsmanifest.xml"))
    return QtiImport(tuple(items), tuple(sorted(assets.values(), key=lambda a: a.path)),
                     tuple(issues), tuple(identifiers), title)


# ---------------------------------------------------------------------------------------- packs
@dataclass(frozen=True, slots=True)
class _Shell:
    """Everything of the generated pack but its items and images."""

    pack_id: str
    title: str
    competency: Competency
    module_id: str
    module_title: str
    lesson: Lesson
    item_file: str
    language: str
    licence: str
    version: str

    def pack(self, items: list[Item], assets: list[Asset]) -> ContentPack:
        module = Module(id=self.module_id, title=self.module_title,
                        competencies=(self.competency.id,), lessons=(self.lesson,),
                        item_files=(self.item_file,))
        return ContentPack(id=self.pack_id, title=self.title, version=self.version,
                           language=self.language, licence=self.licence,
                           competencies=(self.competency,), modules=(module,), items=tuple(items),
                           assets=tuple(assets))


def _assets_of(items: list[Item], assets: list[Asset], item_file: str) -> list[Asset]:
    """The images these items show (their texts refer to them relative to the item file)."""
    texts = "\n".join(f"{i.stem}\n{i.feedback}\n{i.options}{i.sources}{i.targets}" for i in items)
    base = posixpath.dirname(item_file) or "."
    return [a for a in assets if posixpath.relpath(a.path, base) in texts]


def _validate(draft: ContentPack, limits: Limits) -> tuple[ContentPack | None, tuple[PackIssue, ...]]:
    return check_files(PackFiles(canonical_files(draft)), limits)


def pack_from_qti(source: QtiSource, *, pack_id: str, title: str, competency_id: str,
                  competency_title: str, module_title: str | None = None, level: str = "medium",
                  language: str = "en", licence: str = "NOASSERTION", version: str = "1.0.0",
                  limits: Limits = DEFAULT_LIMITS) -> tuple[ContentPack, tuple[PackIssue, ...]]:
    """Import QTI items into a minimal valid pack; return it and every issue (errors: skipped items).

    The pack has one competency, one module (``<competency_id>-items``) with a lesson stub that says
    where the items came from, and one item file. It is the pack that validating its canonical files
    gives, so ``load_pack(export_pack(pack, out))`` equals it.

    Raises
    ------
    PackUnreadable
        The source can't be read at all.
    PackInvalid
        No item could be imported, or the pack itself is invalid (a bad ``pack_id``, say); ``issues``
        holds every problem.
    """
    module_id = f"{competency_id}-items"[:64]
    if module_id == competency_id:  # pragma: no cover - only when competency_id is 64 characters
        module_id = f"{competency_id[:57]}-module"
    item_file = f"items/{module_id}.yaml"
    imported = read_qti(source, limits, competency=competency_id, item_file=item_file, level=level)
    issues = list(imported.issues)
    if not imported.items:
        issues.append(PackIssue(".", None, None, ERROR, "no item could be imported",
                                "see the other issues"))
        raise PackInvalid(issues)
    source_name = Path(source).name if not isinstance(source, bytes) else "an upload"
    files = sorted({path for path, _, _ in imported.identifiers})
    listing = "\n".join(f"- `{f.replace('`', '')}`" for f in files[:200])
    markdown = (f"# About these items\n\nThese {len(imported.items)} items were imported from the QTI "
                f"source {_esc(source_name)}{' (' + _esc(imported.title) + ')' if imported.title else ''}"
                f" with `thetapath pack from-qti`. They are pilot items: they are calibrated as "
                f"learners answer them.\n\nFiles:\n\n{listing}\n")
    lesson_path = f"lessons/{module_id}/01-about.md"
    lesson = Lesson(lesson_path, "About these items", markdown, "")
    competency = Competency(competency_id, competency_title)
    shell = _Shell(pack_id, title, competency, module_id, module_title or title, lesson, item_file,
                   language, licence, version)
    items = list(imported.items)
    assets = list(imported.assets)
    pack, checked = _validate(shell.pack(items, assets), limits)
    if pack is None:
        # Find the items the pack format refuses (one at a time, with their images), report them,
        # and retry without them.
        by_id = {item_id: (path, identifier) for path, identifier, item_id in imported.identifiers}
        kept: list[Item] = []
        for item in items:
            alone, item_issues = _validate(shell.pack([item], _assets_of([item], assets, item_file)),
                                           limits)
            errors = [i for i in item_issues if i.is_error and i.path != "."]
            if alone is None and errors:
                path, identifier = by_id[item.id]
                issues.extend(PackIssue(path, None, None, ERROR,
                                        f"item {identifier!r} breaks a pack rule: {e.path}: {e.message}",
                                        e.hint) for e in errors)
            else:
                kept.append(item)
        if not kept:
            issues.append(PackIssue(".", None, None, ERROR, "no item could be imported",
                                    "see the other issues"))
            raise PackInvalid(issues)
        pack, checked = _validate(shell.pack(kept, _assets_of(kept, assets, item_file)), limits)
        if pack is None:
            raise PackInvalid(issues + list(checked))
    return pack, tuple(issues) + checked
