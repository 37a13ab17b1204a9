"""Fuzzing the QTI importer: every mutation of our own QTI files ends in items or issues, never a crash.

The mutations are those real exports get wrong: odd attribute values, missing attributes or elements,
odd correct responses, repeated lines. ``pack_from_qti`` must then give a pack or :class:`PackInvalid`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from content import PackInvalid, pack_from_qti, read_qti

OWN = Path(__file__).resolve().parent / "qti"
FILES = sorted(p for p in OWN.rglob("*.xml") if p.parent.name != "refused" and p.name != "imsmanifest.xml")

# THETAPATH_FUZZ_EXAMPLES=5000 runs a longer campaign locally.
FUZZ = settings(max_examples=int(os.environ.get("THETAPATH_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

ODD_VALUES = st.sampled_from(["", "0", "-1", "x", "1e309", "nan", " ", "A B C", "true", "false", "many",
                              "../x", "1 2", "MEAN MEAN", "inf", "\u00e9"])
_ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')
_EMPTY_ELEMENT = re.compile(r"<[\w:-]+[^<>]*/>")
_VALUE = re.compile(r"<(?:qti-)?value>([^<]*)</")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """One of our files with one to four mutations."""
    text = draw(st.sampled_from(FILES)).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["attribute", "drop-attribute", "drop-element", "value", "repeat"]))
        attributes = list(_ATTRIBUTE.finditer(text))
        if kind == "attribute" and attributes:
            match = draw(st.sampled_from(attributes))
            text = text[: match.start(2)] + draw(ODD_VALUES) + text[match.end(2):]
        elif kind == "drop-attribute" and attributes:
            match = draw(st.sampled_from(attributes))
            text = text[: match.start()] + text[match.end():]
        elif kind == "drop-element" and (elements := list(_EMPTY_ELEMENT.finditer(text))):
            match = draw(st.sampled_from(elements))
            text = text[: match.start()] + text[match.end():]
        elif kind == "value" and (values := list(_VALUE.finditer(text))):
            match = draw(st.sampled_from(values))
            text = text[: match.start(1)] + draw(ODD_VALUES) + text[match.end(1):]
        else:
            lines = text.split("\n")
            at = draw(st.integers(0, len(lines) - 1))
            lines.insert(at, lines[at])
            text = "\n".join(lines)
    return text.encode("utf-8")


@FUZZ
@given(mutated())
def test_a_mutated_item_imports_or_is_reported(data: bytes) -> None:
    result = read_qti(data)
    assert result.items or result.errors
    assert all(issue.path == "item.xml" and issue.message and issue.hint for issue in result.issues)
    try:
        pack, _ = pack_from_qti(data, pack_id="fuzz", title="Fuzz", competency_id="c", competency_title="C")
    except PackInvalid as exc:
        assert exc.errors
    else:
        assert 0 < len(pack.items) <= len(result.items)  # items the pack format refuses are left out
