"""Fuzzing pack.yaml and item files: every input ends in a ContentPack or in PackInvalid, nothing else."""

from __future__ import annotations

import os
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from content import ContentPack, PackInvalid, load_pack

from .packs import INTRO_YAML, PACK_YAML, base_files, zip_bytes

# THETAPATH_FUZZ_EXAMPLES=5000 runs a longer campaign locally.
FUZZ = settings(max_examples=int(os.environ.get("THETAPATH_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["id", "basics", "advanced", "single_choice", "2pl", "gpcm", "a", "b", "1.0.0",
                     "items/intro.yaml", "lessons/intro/01-welcome.md", "none", "partial"]))
keys = st.one_of(st.text(max_size=12), st.sampled_from([
    "id", "title", "version", "language", "licence", "competencies", "modules", "credentials", "items",
    "type", "competency", "stem", "options", "key", "irt", "a", "b", "c", "thresholds", "model",
    "prerequisites", "lessons", "criteria", "feedback", "scoring", "assessment", "max_items"]))
documents = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=6)), max_leaves=40)


def outcome(files: dict[str, bytes]) -> None:
    try:
        pack = load_pack(zip_bytes(files))
    except PackInvalid as exc:
        assert exc.errors, "PackInvalid without an error"
        assert all(issue.path and issue.message and issue.hint for issue in exc.issues)
        return
    assert isinstance(pack, ContentPack)


def dump(data: Any) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True).encode()


@FUZZ
@given(documents)
def test_any_yaml_document_as_pack_yaml(data: Any) -> None:
    outcome({**base_files(), "pack.yaml": dump(data)})


@FUZZ
@given(documents)
def test_any_yaml_document_as_an_item_file(data: Any) -> None:
    outcome({**base_files(), "items/intro.yaml": dump(data)})


@FUZZ
@given(st.lists(documents, min_size=1, max_size=4))
def test_any_items_in_an_item_file(items: list[Any]) -> None:
    outcome({**base_files(), "items/intro.yaml": dump({"items": items})})


@FUZZ
@given(st.text(max_size=400), st.text(max_size=400))
def test_any_text(pack_text: str, items_text: str) -> None:
    outcome({**base_files(), "pack.yaml": pack_text.encode(), "items/deeper.yaml": items_text.encode()})


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes(data: bytes) -> None:
    outcome({**base_files(), "pack.yaml": data})


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        j = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "duplicate", "replace", "insert", "indent"]))
        if action == "drop" and len(lines) > 1:
            del lines[j]
        elif action == "duplicate":
            lines.insert(j, lines[j])
        elif action == "replace":
            line = lines[j]
            start = draw(st.integers(0, max(len(line) - 1, 0)))
            lines[j] = line[:start] + draw(st.text(max_size=8)) + line[start + 1:]
        elif action == "insert":
            lines.insert(j, draw(st.text(max_size=30)) + "\n")
        else:
            lines[j] = "  " + lines[j]
    return "".join(lines)


@FUZZ
@given(mutated(PACK_YAML), mutated(INTRO_YAML))
def test_mutations_of_a_valid_pack(pack_text: str, items_text: str) -> None:
    outcome({**base_files(), "pack.yaml": pack_text.encode(), "items/intro.yaml": items_text.encode()})
