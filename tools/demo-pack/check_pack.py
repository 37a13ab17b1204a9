"""Self-check of the demo pack against docs/pack-format.md (a quick stand-in, not the validator).

Checks: strict YAML (safe loader, duplicate keys rejected), only the documented keys (``x-`` keys
allowed), id syntax and uniqueness across kinds, an acyclic prerequisite graph and credential stacking,
every referenced lesson, item file and image present, answer keys among the options, IRT parameters valid
for the engine with one GPCM threshold per score step, single-choice items as 3PL with c in [0, 0.5) and
other 0/1 items as 2PL, x-gen generating values of the right shape, at least 20 calibrated items per
competency, a pilot share near 10 %, lesson lengths, and plain SVG figures.

Usage (from the repository root)::

    .venv/bin/python tools/demo-pack/check_pack.py

Prints a summary and exits with status 1 if anything is wrong.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from adaptive import InvalidItemParameters, ItemParameters

PACK = Path(__file__).resolve().parents[2] / "content" / "packs" / "data-literacy"
ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
PACK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
LESSON = re.compile(r"^lessons/(?P<module>[a-z0-9-]+)/\d\d-[a-z0-9-]+\.md$")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

PACK_KEYS = {"id", "title", "version", "language", "licence", "authors", "description", "assessment",
             "competencies", "modules", "credentials"}
AUTHOR_KEYS = {"name", "email"}
ASSESSMENT_KEYS = {"model", "cut", "se_target", "min_items", "max_items", "exposure_target",
                   "pilot_rate", "mastery_method"}
COMPETENCY_KEYS = {"id", "title", "description", "prerequisites", "level", "assessment"}
MODULE_KEYS = {"id", "title", "summary", "competencies", "outcomes", "lessons", "items", "minutes"}
CREDENTIAL_KEYS = {"id", "title", "description", "criteria", "credit", "expires_after_days"}
CREDIT_KEYS = {"value", "unit", "level"}
COMMON_ITEM_KEYS = {"id", "type", "competency", "content_area", "stem", "feedback", "irt", "level"}
TYPE_KEYS = {
    "single_choice": {"options", "key", "shuffle"},
    "multiple_choice": {"options", "key", "scoring", "shuffle"},
    "numeric": {"key", "tolerance"},
    "short_text": {"accepted", "pattern", "case_sensitive"},
    "ordering": {"options", "key", "scoring", "shuffle"},
    "matching": {"sources", "targets", "key", "scoring", "shuffle"},
    "reflection": set(),
}
FEEDBACK_KEYS = {"correct", "incorrect", "options"}
IRT_KEYS = {"model", "a", "b", "c", "thresholds"}
C_MAX = 0.5
"""A lower asymptote at or above this is not guessing among the options (1/n is 0.25 for four)."""


class UniqueKeyLoader(yaml.SafeLoader):
    """Safe loader that rejects a mapping key given twice (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            msg = f"duplicate key {key!r}"
            raise yaml.constructor.ConstructorError(None, None, msg, key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class Report:
    """Collects problems as ``path: message`` lines."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def __call__(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")


def load(path: Path, report: Report) -> Any:
    """Parse one YAML file strictly; None (and a problem) if it does not parse."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except (OSError, yaml.YAMLError) as exc:
        report(str(path.relative_to(PACK)), f"does not parse: {exc}")
        return None


def keys(where: str, mapping: Any, allowed: set[str], report: Report,
         required: set[str] | frozenset[str] = frozenset()) -> None:
    """Report unknown (non-``x-``) keys and missing required keys of a mapping."""
    if not isinstance(mapping, dict):
        report(where, "expected a mapping")
        return
    for k in mapping:
        if not (isinstance(k, str) and (k in allowed or k.startswith("x-"))):
            report(where, f"unknown key {k!r}")
    for k in sorted(required - set(mapping)):
        report(where, f"missing key {k!r}")


def strings(where: str, value: Any, report: Report) -> None:
    """Report control characters (a sign of a backslash escape gone wrong in a quoted string)."""
    if isinstance(value, str) and CONTROL.search(value):
        report(where, f"control character in {value[:40]!r}")
    elif isinstance(value, dict):
        for v in value.values():
            strings(where, v, report)
    elif isinstance(value, list):
        for v in value:
            strings(where, v, report)


def acyclic(graph: dict[str, list[str]]) -> list[str]:
    """Nodes on a cycle of ``graph`` (empty if it is a DAG)."""
    state: dict[str, int] = {}
    bad: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                bad.append(nxt)
            elif nxt not in state:
                visit(nxt)
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return bad


def check_pack(pack: dict[str, Any], report: Report) -> tuple[dict[str, list[str]], set[str]]:
    """pack.yaml itself; returns the prerequisite graph and every id it defines."""
    keys("pack.yaml", pack, PACK_KEYS, report, {"id", "title", "version", "language", "licence"})
    if not PACK_ID.match(str(pack.get("id", ""))):
        report("pack.yaml", f"bad pack id {pack.get('id')!r}")
    if not SEMVER.match(str(pack.get("version", ""))):
        report("pack.yaml", f"version {pack.get('version')!r} is not MAJOR.MINOR.PATCH")
    for a in pack.get("authors", []):
        keys("pack.yaml authors", a, AUTHOR_KEYS, report, {"name"})
    keys("pack.yaml assessment", pack.get("assessment", {}), ASSESSMENT_KEYS, report)
    ids: Counter[str] = Counter()
    graph: dict[str, list[str]] = {}
    comps = pack.get("competencies", [])
    for c in comps:
        where = f"competency {c.get('id')}"
        keys(where, c, COMPETENCY_KEYS, report, {"id", "title", "description", "prerequisites"})
        keys(where + " assessment", c.get("assessment", {}), ASSESSMENT_KEYS, report)
        ids[c["id"]] += 1
        graph[c["id"]] = list(c.get("prerequisites", []))
        if not 1 <= int(c.get("level", 1)) <= 8:
            report(where, "level must be 1..8")
    for cid, pre in graph.items():
        for p in pre:
            if p not in graph:
                report(f"competency {cid}", f"unknown prerequisite {p!r}")
    if acyclic(graph):
        report("pack.yaml", f"prerequisite cycle through {acyclic(graph)}")
    for m in pack.get("modules", []):
        where = f"module {m.get('id')}"
        keys(where, m, MODULE_KEYS, report, MODULE_KEYS)
        ids[m["id"]] += 1
        for c in m.get("competencies", []):
            if c not in graph:
                report(where, f"unknown competency {c!r}")
        if not 2 <= len(m.get("outcomes", [])) <= 4:
            report(where, "expected 2-4 outcomes")
        if not 2 <= len(m.get("lessons", [])) <= 4:
            report(where, "expected 2-4 lessons")
        for rel in m.get("lessons", []):
            match = LESSON.match(rel)
            if not match or match["module"] != m["id"]:
                report(where, f"lesson path {rel!r} is not lessons/{m['id']}/NN-slug.md")
            if not (PACK / rel).is_file():
                report(where, f"missing lesson {rel}")
        for rel in m.get("items", []):
            if not (PACK / rel).is_file():
                report(where, f"missing item file {rel}")
    creds: dict[str, list[str]] = {}
    for cr in pack.get("credentials", []):
        where = f"credential {cr.get('id')}"
        keys(where, cr, CREDENTIAL_KEYS, report, {"id", "title", "description", "criteria", "credit"})
        keys(where + " criteria", cr.get("criteria", {}), {"competencies", "credentials"}, report)
        ids[cr["id"]] += 1
        creds[cr["id"]] = list(cr.get("criteria", {}).get("credentials", []))
        for c in cr.get("criteria", {}).get("competencies", []):
            if c not in graph:
                report(where, f"unknown competency {c!r}")
        credit = cr.get("credit")
        if credit != "none":
            keys(where + " credit", credit, CREDIT_KEYS, report, CREDIT_KEYS)
    for cid, needed in creds.items():
        for other in needed:
            if other not in creds:
                report(f"credential {cid}", f"unknown credential {other!r}")
    if acyclic(creds):
        report("pack.yaml", f"credential stacking cycle through {acyclic(creds)}")
    for i, n in ids.items():
        if not ID.match(i):
            report("pack.yaml", f"bad id {i!r}")
        if n > 1:
            report("pack.yaml", f"id {i!r} used {n} times")
    return graph, set(ids)


def max_score(item: dict[str, Any]) -> int:
    """Highest score of a partial-credit item under the pack's scoring convention (README.md)."""
    if item["type"] == "multiple_choice":
        return len(item["key"])  # one point per keyed option chosen, minus wrong choices, floor 0
    if item["type"] == "matching":
        return len(item["sources"])  # one point per correctly matched source
    return len(item["options"]) - 1  # ordering: one point per adjacent pair in the right order


def check_item(where: str, it: dict[str, Any], competencies: set[str], report: Report) -> None:
    """One item: keys for its type, its answer key, its parameters."""
    t = it.get("type")
    if t not in TYPE_KEYS:
        report(where, f"unknown type {t!r}")
        return
    keys(where, it, COMMON_ITEM_KEYS | TYPE_KEYS[t], report,
         {"id", "type", "competency", "content_area", "stem"} | TYPE_KEYS[t] - {
             "tolerance", "scoring", "pattern", "case_sensitive", "accepted", "shuffle"})
    if "shuffle" in it and not isinstance(it["shuffle"], bool):
        report(where, "shuffle must be true or false")
    strings(where, it, report)
    if it.get("competency") not in competencies:
        report(where, f"unknown competency {it.get('competency')!r}")
    if not ID.match(str(it.get("id"))):
        report(where, "bad id")
    opts = [o["id"] for o in it.get("options", [])]
    if len(set(opts)) != len(opts):
        report(where, "duplicate option ids")
    for o in it.get("options", []):
        keys(where + " option", o, {"id", "text"}, report, {"id", "text"})
    key = it.get("key")
    if t == "single_choice" and key not in opts:
        report(where, f"key {key!r} is not an option")
    if t == "multiple_choice" and (not key or not set(key) <= set(opts)):
        report(where, f"key {key!r} is not a non-empty subset of the options")
    if t == "ordering" and sorted(key or []) != sorted(opts):
        report(where, "key must list every option once")
    if t in ("multiple_choice", "ordering", "matching") and it.get("scoring", "all_or_nothing") not in (
            "all_or_nothing", "partial"):
        report(where, f"unknown scoring {it.get('scoring')!r}")
    if t == "numeric" and not isinstance(key, int | float):
        report(where, "numeric key must be a number")
    if t == "short_text" and not (it.get("accepted") or it.get("pattern")):
        report(where, "short_text needs accepted and/or pattern")
    if t == "matching":
        src = {s["id"] for s in it["sources"]}
        tgt = {s["id"] for s in it["targets"]}
        if not isinstance(key, dict) or set(key) != src or not set(key.values()) <= tgt:
            report(where, "matching key must map every source to a target")
    fb = it.get("feedback", {})
    keys(where + " feedback", fb, FEEDBACK_KEYS, report)
    for o in fb.get("options", {}):
        if o not in opts:
            report(where, f"feedback for unknown option {o!r}")
    irt = it.get("irt")
    partial = it.get("scoring") == "partial"
    if t == "reflection":
        if irt or "level" in it or "x-gen" in it:
            report(where, "a reflection item is never scored; no irt, level or x-gen")
        return
    if irt is None:
        if it.get("level") not in ("easy", "medium", "hard"):
            report(where, "a pilot item needs level: easy | medium | hard")
        return
    if "level" in it:
        report(where, "level is only for pilot items")
    keys(where + " irt", irt, IRT_KEYS, report, {"model", "a"})
    try:
        ItemParameters(id=it["id"], model=irt["model"], a=float(irt["a"]), b=float(irt.get("b", 0.0)),
                       c=float(irt.get("c", 0.0)),
                       thresholds=tuple(float(x) for x in irt.get("thresholds", ()))).validate()
    except (InvalidItemParameters, KeyError, TypeError, ValueError) as exc:
        report(where, f"invalid irt: {exc}")
        return
    if partial != (irt["model"] in ("gpcm", "grm")):
        report(where, "partial scoring needs gpcm/grm parameters, 0/1 scoring a dichotomous model")
    if partial and len(irt["thresholds"]) != max_score(it):
        report(where, f"{len(irt['thresholds'])} thresholds for {max_score(it)} score steps")
    guessable = t == "single_choice"
    if not partial and guessable != (irt["model"] == "3pl"):
        report(where, "single-choice items are 3pl (a learner can guess), other 0/1 items 2pl "
                      "(see README.md, guessing-aware scoring)")
    if irt["model"] == "3pl" and not 0.0 <= float(irt.get("c", 0.0)) < C_MAX:
        report(where, f"guessing c = {irt.get('c')} is outside [0, {C_MAX:g})")
    gen = it.get("x-gen")
    if gen is None:
        report(where, "calibrated item without its x-gen generating values")
        return
    gen_keys = {"a", "thresholds"} if partial else {"a", "b", "c"} if guessable else {"a", "b"}
    keys(where + " x-gen", gen, gen_keys, report, gen_keys)
    gen_c = gen.get("c") if isinstance(gen, dict) else None
    if gen_c is not None and not (isinstance(gen_c, int | float) and 0.0 <= gen_c < C_MAX):
        report(where, f"x-gen guessing c = {gen_c!r} is outside [0, {C_MAX:g})")


def check_lessons(pack: dict[str, Any], report: Report) -> tuple[int, set[str]]:
    """Lesson lengths and images; returns the total word count and the images used."""
    words = 0
    used: set[str] = set()
    for m in pack["modules"]:
        for rel in m["lessons"]:
            path = PACK / rel
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            n = len(text.split())
            words += n
            if not 300 <= n <= 750:
                report(rel, f"{n} words; aim for 300-700")
            for ref in IMAGE.findall(text):
                target = (path.parent / ref).resolve()
                if PACK not in target.parents or not target.is_file():
                    report(rel, f"image {ref} missing or outside the pack")
                else:
                    used.add(str(target.relative_to(PACK)))
    return words, used


def check_svg(path: Path, report: Report) -> None:
    """A plain SVG: well-formed, no script, handlers, DOCTYPE, entities or external references."""
    rel = str(path.relative_to(PACK))
    text = path.read_text(encoding="utf-8")
    if re.search(r"<!DOCTYPE|<!ENTITY|<script|javascript:|<foreignObject", text, re.IGNORECASE):
        report(rel, "DOCTYPE, entity, script or foreignObject")
    if re.search(r"\son\w+\s*=", text) or re.search(r"(xlink:)?href\s*=\s*\"(?!#)", text):
        report(rel, "event handler or external reference")
    try:
        root = ET.fromstring(text)  # our own files; DOCTYPE and entities are rejected above
    except ET.ParseError as exc:
        report(rel, f"not well-formed: {exc}")
        return
    if root.tag != "{http://www.w3.org/2000/svg}svg":
        report(rel, "root element is not svg")
    if root.find("{http://www.w3.org/2000/svg}title") is None:
        report(rel, "no <title> for screen readers")


def main() -> int:
    """Run every check and print a summary."""
    report = Report()
    pack = load(PACK / "pack.yaml", report)
    if pack is None:
        print("\n".join(report.problems))
        return 1
    graph, pack_ids = check_pack(pack, report)
    competencies = set(graph)
    seen: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    calibrated: Counter[str] = Counter()
    pilots: Counter[str] = Counter()
    reflections = 0
    for m in pack["modules"]:
        for rel in m["items"]:
            data = load(PACK / rel, report)
            if data is None:
                continue
            keys(rel, data, {"items"}, report, {"items"})
            for it in data.get("items", []):
                where = f"{rel} {it.get('id')}"
                seen[it["id"]] += 1
                check_item(where, it, competencies, report)
                if it.get("competency") not in m["competencies"]:
                    report(where, f"competency {it.get('competency')} is not taught by module {m['id']}")
                kind = it["type"] + (f" ({it['scoring']})" if "scoring" in it else "")
                by_type[kind] += 1
                if it["type"] == "reflection":
                    reflections += 1
                elif "irt" in it:
                    calibrated[it["competency"]] += 1
                else:
                    pilots[it["competency"]] += 1
    for i, n in seen.items():
        if n > 1:
            report("items", f"item id {i!r} used {n} times")
        if i in pack_ids:
            report("items", f"item id {i!r} is also a competency, module or credential id")
    for c in sorted(competencies):
        if calibrated[c] < 20:
            report(f"competency {c}", f"only {calibrated[c]} calibrated items; needs >= 20")
    scored = sum(calibrated.values()) + sum(pilots.values())
    share = sum(pilots.values()) / max(scored, 1)
    if not 0.07 <= share <= 0.13:
        report("items", f"pilot share {share:.1%}; aim for about 10 %")
    words, used = check_lessons(pack, report)
    svgs = sorted((PACK / "images").glob("*.svg"))
    for svg in svgs:
        check_svg(svg, report)
        if str(svg.relative_to(PACK)) not in used:
            report(str(svg.relative_to(PACK)), "not referenced by any lesson")

    total = sum(by_type.values())
    print(f"pack {pack['id']} {pack['version']}: {len(competencies)} competencies, "
          f"{len(pack['modules'])} modules, {len(pack.get('credentials', []))} credentials")
    print(f"lessons: {sum(len(m['lessons']) for m in pack['modules'])} ({words} words); "
          f"figures: {len(svgs)}")
    print(f"items: {total} ({scored} scored: {sum(calibrated.values())} calibrated, "
          f"{sum(pilots.values())} pilot = {share:.1%}; {reflections} reflection)")
    for kind, n in sorted(by_type.items()):
        print(f"  {kind:32} {n}")
    for c in sorted(competencies, key=list(graph).index):
        print(f"  {c:24} calibrated {calibrated[c]:3}  pilot {pilots[c]:2}")
    if report.problems:
        print(f"\n{len(report.problems)} problem(s):")
        print("\n".join(report.problems))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
