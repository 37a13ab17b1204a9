"""MathML (presentation) to TeX, for the Markdown of an item: ``$...$`` inline, ``$$...$$`` as a block.

A TeX ``annotation`` wins when the MathML has one. Otherwise tokens (``mi``, ``mn``, ``mo``, ``ms``,
``mtext``), ``mfrac``, ``msup`` / ``msub`` / ``msubsup``, ``msqrt`` / ``mroot``, ``mfenced`` and
``mover`` / ``munder`` / ``munderover`` (accents such as x-bar, the limits of sums and other big
operators, stacks) are converted; any other element gives its arguments side by side.
"""

from __future__ import annotations

import re

from .xmlsafe import _Node

_ACCENTS = {"\u00af": r"\bar", "\u203e": r"\bar", "_": r"\bar", "^": r"\hat", "\u02c6": r"\hat",
            "~": r"\tilde", "\u02dc": r"\tilde", "\u2192": r"\vec", "\u02d9": r"\dot", "\u00a8": r"\ddot"}
_BIG_OPERATORS = {"\u2211": r"\sum", "\u220f": r"\prod", "\u222b": r"\int", "\u22c3": r"\bigcup",
                  "\u22c2": r"\bigcap", "lim": r"\lim", "max": r"\max", "min": r"\min"}


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
