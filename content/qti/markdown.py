"""XHTML to Markdown: an item body (minus its interaction), a choice, a feedback.

Paragraphs, headings, lists, block quotes, emphasis, links (``http``, ``https``, ``mailto``), code and
line breaks become Markdown; tables stay HTML (the renderer's allow-list keeps them); MathML becomes TeX
(:mod:`content.qti.mathml`); ``rubricBlock``, feedback, template elements, styles and scripts are left
out. The interaction leaves its ``prompt`` in its place (a block interaction) or a gap ``____`` (an
inline one). Images go through a callback that makes them pack assets or their alt text
(:mod:`content.qti.images`). Text is escaped so that it renders as written, and a line that would start
a heading, quote or list is escaped too.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .mathml import _tex
from .xmlsafe import _Node

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
_LINE_START = re.compile(r"^(#|>|-|\+|=|~|\d+[.)])")
_ESCAPE = re.compile(r"([\\`*_\[\]<>$&|])")
_SPACE = re.compile(r"\s+")


def _esc(text: str) -> str:
    return _ESCAPE.sub(r"\\\1", _SPACE.sub(" ", text))


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
