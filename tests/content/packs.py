"""A rich, valid content pack written as text, plus helpers to break it one rule at a time.

Every test of a validation rule starts from :func:`base_files`, replaces one snippet and asserts the
issue's path and line, found by searching the changed text, so the fixtures stay readable.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

# A 1x1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")

SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<rect width="10" height="10" fill="#369"/></svg>')

PACK_YAML = """\
id: sample-pack
title: Sample pack
version: 1.2.0
language: en
licence: CC-BY-4.0
authors:
  - name: Ada Author
    email: ada@example.org
  - name: Bob Writer
description: |
  A small pack for the tests: every item type, every field.
assessment:
  model: 2pl
  cut: 0.0
  se_target: 0.4
  min_items: 1
  max_items: 2
  exposure_target: 0.3
  pilot_rate: 0.1
  mastery_method: sprt
competencies:
  - id: basics
    title: Basics
    description: The basics.
    prerequisites: []
    level: 2
  - id: advanced
    title: Advanced
    prerequisites: [basics]
    assessment: {cut: 0.5, max_items: 3}
modules:
  - id: intro
    title: Introduction
    summary: Start here.
    competencies: [basics]
    outcomes:
      - Say what a basic is.
    lessons:
      - lessons/intro/01-welcome.md
    items: [items/intro.yaml]
    minutes: 30
  - id: deeper
    title: Going deeper
    competencies: [advanced]
    lessons: [lessons/deeper/01-more.md]
    items: [items/deeper.yaml]
credentials:
  - id: starter
    title: Starter
    description: For the basics.
    criteria:
      competencies: [basics]
    credit: {value: 1, unit: ECTS, level: "EQF 5"}
    expires_after_days: 365
  - id: expert
    title: Expert
    criteria:
      competencies: [advanced]
      credentials: [starter]
    credit: none
"""

INTRO_YAML = """\
items:
  - id: intro-001
    type: single_choice
    competency: basics
    content_area: counting
    stem: |
      How many sides has a **triangle**? $n = ?$
    options:
      - {id: a, text: "2"}
      - {id: b, text: "3"}
      - {id: c, text: "4"}
    key: b
    feedback:
      correct: Right.
      incorrect: Count the corners.
      options: {a: "Two sides do not close a shape."}
    irt: {model: 2pl, a: 1.2, b: -0.4}
  - id: intro-002
    type: multiple_choice
    competency: basics
    stem: Which are even?
    options:
      - {id: a, text: "2"}
      - {id: b, text: "3"}
      - {id: c, text: "4"}
    key: [a, c]
    scoring: partial
    irt: {model: gpcm, a: 0.9, thresholds: [-0.5, 0.5]}
  - id: intro-003
    type: numeric
    competency: basics
    stem: What is 7 / 2?
    key: 3.5
    tolerance: 0.01
    irt: {model: 1pl, a: 1.0, b: 0.2}
  - id: intro-004
    type: short_text
    competency: basics
    stem: Name the shape with four equal sides.
    accepted: [square]
    pattern: "squares?"
    level: easy
  - id: intro-005
    type: reflection
    competency: basics
    stem: What did you find hard?
"""

DEEPER_YAML = """\
items:
  - id: deeper-001
    type: ordering
    competency: advanced
    stem: Order from small to large.
    options:
      - {id: a, text: "1"}
      - {id: b, text: "10"}
      - {id: c, text: "100"}
    key: [a, b, c]
    scoring: partial
    irt: {model: grm, a: 1.1, thresholds: [-0.3, 0.7]}
  - id: deeper-002
    type: matching
    competency: advanced
    content_area: pairs
    stem: Match the numbers to their names.
    sources:
      - {id: s1, text: "1"}
      - {id: s2, text: "2"}
    targets:
      - {id: one, text: one}
      - {id: two, text: two}
    key: {s1: one, s2: two}
    irt: {model: 3pl, a: 1.3, b: 0.1, c: 0.2}
  - id: deeper-003
    type: short_text
    competency: advanced
    stem: Spell the number 3.
    accepted: [three, Three]
    case_sensitive: true
    irt: {model: 2pl, a: 0.8, b: 1.1}
  - id: deeper-004
    type: single_choice
    competency: advanced
    stem: Pick one.
    options:
      - {id: x, text: "yes"}
      - {id: y, text: "no"}
    key: x
    level: hard
"""

WELCOME_MD = """\
# Welcome

Some text with math $a^2 + b^2 = c^2$ and a table:

| x | y |
|--:|---|
| 1 | 2 |

![A picture](../../images/pic.png)
"""

MORE_MD = """\
# More

![A diagram](../../images/diagram.svg)

$$\\sum_i x_i$$
"""


def base_files() -> dict[str, bytes]:
    """Return the files of the valid base pack."""
    return {
        "pack.yaml": PACK_YAML.encode(),
        "items/intro.yaml": INTRO_YAML.encode(),
        "items/deeper.yaml": DEEPER_YAML.encode(),
        "lessons/intro/01-welcome.md": WELCOME_MD.encode(),
        "lessons/deeper/01-more.md": MORE_MD.encode(),
        "images/pic.png": PNG,
        "images/diagram.svg": SVG,
        "README.md": b"# Sample pack\n\nFor humans.\n",
    }


def edit(files: dict[str, bytes], path: str, old: str, new: str) -> dict[str, bytes]:
    """Return a copy of ``files`` with ``old`` replaced by ``new`` once in ``path``."""
    text = files[path].decode()
    assert old in text, f"{old!r} not in {path}"
    return {**files, path: text.replace(old, new, 1).encode()}


def line_of(files: dict[str, bytes], path: str, needle: str) -> int:
    """Return the 1-based line of the first occurrence of ``needle`` in ``path``."""
    text = files[path].decode()
    assert needle in text, f"{needle!r} not in {path}"
    return text[: text.index(needle)].count("\n") + 1


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` under ``root`` and return it."""
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def zip_bytes(files: dict[str, bytes], prefix: str = "") -> bytes:
    """Return a zip archive of ``files`` (each under ``prefix``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(prefix + path, data)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------- generated packs
TRICKY = ["yes", "no", "null", "1.0", "0o17", "- dash", ": colon", "#hash", "Größe ≤ 5 — naïve",
          "emoji 😀", "quote \" and '", "tab\there", "  leading", "trailing  ", "[brackets]",
          "{braces}", "*star", "&amp", "!bang", "%percent", "@at", "`tick`", "~"]


def generated_files(n_modules: int = 4, items_per_module: int = 40, seed: int = 7) -> dict[str, bytes]:
    """Return a valid pack with every item type, tricky strings and the given size (deterministic)."""
    import random

    import yaml

    rng = random.Random(seed)

    def text(prefix: str) -> str:
        return f"{prefix} {rng.choice(TRICKY)}"

    competencies = []
    modules = []
    files: dict[str, bytes] = {"images/dot.png": PNG, "images/box.svg": SVG}
    for m in range(n_modules):
        comp = f"comp-{m}"
        competencies.append({
            "id": comp, "title": text(f"Competency {m}"), "description": text("About"),
            "prerequisites": [f"comp-{m - 1}"] if m else [], "level": 1 + m % 8,
            **({"assessment": {"max_items": 3, "cut": 0.25 * m}} if m % 2 else {}),
        })
        lesson = f"lessons/m{m}/01-start.md"
        files[lesson] = (f"# Lesson {m}\n\n{text('Body')} with $x_{m}^2$ and **bold**.  \n"
                         f"Second line.\n\n| a | b |\n|---|--:|\n| {m} | 2 |\n\n"
                         f"![dot](../../images/dot.png) ![box](../../images/box.svg)\n").encode()
        items = []
        for j in range(items_per_module):
            kind = j % 7
            base: dict[str, object] = {"id": f"m{m}-{j:04d}", "competency": comp,
                                       "content_area": f"area-{j % 3}",
                                       "stem": text(f"Question {j}") + ("\nSecond line.\n" if j % 2 else "")}
            calibrated = j % 5 != 0
            options = [{"id": chr(97 + k), "text": text(f"option {k}")} for k in range(4)]
            if kind == 0:
                item = {**base, "type": "single_choice", "options": options, "key": "c",
                        "feedback": {"correct": text("Yes"), "options": {"a": text("Not a")}}}
                irt = {"model": "2pl", "a": round(rng.uniform(0.5, 2), 3), "b": round(rng.gauss(0, 1), 3)}
            elif kind == 1:
                partial = j % 2 == 0
                item = {**base, "type": "multiple_choice", "options": options, "key": ["a", "d"],
                        **({"scoring": "partial"} if partial else {})}
                irt = ({"model": "gpcm", "a": 1.1, "thresholds": [-0.5, round(rng.gauss(0.5, 0.1), 3)]}
                       if partial else {"model": "3pl", "a": 1.0, "b": 0.3, "c": 0.2})
            elif kind == 2:
                item = {**base, "type": "numeric", "key": round(rng.uniform(-100, 100), 4), "tolerance": 0.5}
                irt = {"model": "1pl", "a": 1.0, "b": round(rng.gauss(0, 1), 3)}
            elif kind == 3:
                item = {**base, "type": "short_text", "accepted": [text("answer"), "42"],
                        "pattern": r"\d+ (apples|pears)", "case_sensitive": j % 2 == 0}
                irt = {"model": "2pl", "a": 0.9, "b": -0.2}
            elif kind == 4:
                item = {**base, "type": "ordering", "options": options[:3], "key": ["c", "a", "b"],
                        "scoring": "partial"}
                irt = {"model": "grm", "a": 1.3, "thresholds": [-1.0, 0.5]}
            elif kind == 5:
                item = {**base, "type": "matching",
                        "sources": [{"id": f"s{k}", "text": text("source")} for k in range(3)],
                        "targets": [{"id": f"t{k}", "text": text("target")} for k in range(3)],
                        "key": {"s0": "t2", "s1": "t0", "s2": "t1"}}
                irt = {"model": "2pl", "a": 1.4, "b": 0.8}
            else:
                item = {**base, "type": "reflection"}
                irt = {}
                calibrated = False
            if calibrated and irt:
                item["irt"] = irt
            elif kind != 6:
                item["level"] = ("easy", "medium", "hard")[j % 3]
            items.append(item)
        item_file = f"items/m{m}.yaml"
        files[item_file] = yaml.safe_dump({"items": items}, allow_unicode=True, sort_keys=False).encode()
        modules.append({"id": f"module-{m}", "title": text(f"Module {m}"), "summary": text("Summary"),
                        "competencies": [comp], "outcomes": [text("Outcome")], "lessons": [lesson],
                        "items": [item_file], "minutes": 10 + m})
    pack = {
        "id": "generated-pack", "title": "Generated pack", "version": "2.0.0-rc.1+build.5",
        "language": "pt-BR", "licence": "CC-BY-SA-4.0",
        "authors": [{"name": "Zoë Ünicode", "email": "zoe@example.org"}],
        "description": "Generated for round trips.\n\nTwo paragraphs.\n",
        "assessment": {"model": "2pl", "se_target": 0.3, "min_items": 2, "max_items": 3},
        "competencies": competencies, "modules": modules,
        "credentials": [
            {"id": "first", "title": "First", "criteria": {"competencies": ["comp-0"]},
             "credit": {"value": 0.5, "unit": "ECTS"}},
            {"id": "all", "title": "All", "description": text("Everything"),
             "criteria": {"competencies": [c["id"] for c in competencies], "credentials": ["first"]},
             "credit": "none", "expires_after_days": 30},
        ],
    }
    files["pack.yaml"] = yaml.safe_dump(pack, allow_unicode=True, sort_keys=False).encode()
    files["README.md"] = "# Generated\n\nÜnïcode README.\n".encode()
    return files
