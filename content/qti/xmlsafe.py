"""Safe XML loading: one file's bytes to a tree of :class:`_Node` with line numbers, or why not.

XML is parsed with defusedxml (expat underneath). A DOCTYPE that names a DTD or declares anything is
refused before it is read, so no entity is ever expanded and nothing is ever fetched (XInclude is never
processed either: the tree is only read); a bare ``<!DOCTYPE assessmentItem>``, which declares nothing
(rqti writes one), is accepted. A file holds at most ``_MAX_NODES`` elements, nested at most
``_MAX_DEPTH`` deep. An encoding is taken from the XML declaration; an unknown one is refused. Every
refusal (empty, a DTD, too big, malformed at a line and column, an undefined entity, a bad encoding) is
a :class:`_Refused` with a hint, never an exception.

Each :class:`_Node` keeps the line it starts on and its QTI 2.1-style name: ``<qti-choice-interaction
max-choices="1">`` reads as ``choiceInteraction`` with ``maxChoices``, so the rest of the importer reads
QTI 3.0 and 2.x alike (:attr:`_Node.raw` keeps the name as written, for messages).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import DefusedXMLParser

_MAX_NODES = 200_000
_MAX_DEPTH = 200


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
