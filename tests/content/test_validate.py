"""Every validation rule: a small failing pack made from the valid base pack, with path and line."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from content import Limits, PackInvalid, PackIssue, check_pack, load_pack
from content.validate import find_cycles

from .packs import PNG, base_files, edit, line_of, zip_bytes

Files = dict[str, bytes]


@dataclass(frozen=True)
class Expect:
    """One expected issue: its file, the text its line is found by (None: no line), severity, message."""

    path: str
    needle: str | None
    severity: str
    fragment: str
    hint: str | None = None


def issues_of(files: Files, limits: Limits | None = None) -> tuple[PackIssue, ...]:
    result = check_pack(zip_bytes(files), limits or Limits())
    return result.issues


def assert_issue(files: Files, issues: tuple[PackIssue, ...], expect: Expect) -> None:
    line = line_of(files, expect.path, expect.needle) if expect.needle is not None else None
    matches = [i for i in issues if i.path == expect.path and i.severity == expect.severity
               and expect.fragment in i.message]
    assert matches, f"no {expect.severity} {expect.fragment!r} in {expect.path}; got:\n" + "\n".join(
        map(str, issues))
    assert any(i.line == line for i in matches), f"expected line {line}, got {[str(i) for i in matches]}"
    if expect.hint is not None:
        assert any(expect.hint in i.hint for i in matches), [i.hint for i in matches]


def test_the_base_pack_is_valid_without_any_issue() -> None:
    result = check_pack(zip_bytes(base_files()))
    assert result.issues == ()
    pack = result.pack
    assert pack is not None
    assert (pack.id, pack.version, pack.language, pack.licence) == ("sample-pack", "1.2.0", "en",
                                                                    "CC-BY-4.0")
    assert [c.id for c in pack.competencies] == ["basics", "advanced"]
    assert pack.competency("advanced").assessment.cut == 0.5
    assert pack.competency("advanced").assessment.max_items == 3
    assert pack.competency("advanced").assessment.se_target == 0.4  # inherited from the pack
    assert [m.id for m in pack.modules] == ["intro", "deeper"]
    assert pack.module("intro").lessons[0].title == "Welcome"
    assert [i.id for i in pack.items][:3] == ["intro-001", "intro-002", "intro-003"]
    assert {i.type for i in pack.items} == {"single_choice", "multiple_choice", "numeric", "short_text",
                                            "reflection", "ordering", "matching"}
    assert [a.path for a in pack.assets] == ["images/diagram.svg", "images/pic.png"]
    assert pack.credentials[0].credit is not None and pack.credentials[0].credit.unit == "ECTS"
    assert pack.credentials[1].credit is None
    assert pack.readme is not None


def test_a_rules_se_bound_decides_which_mastered_competencies_count() -> None:
    files = edit(base_files(), "pack.yaml", "      competencies: [basics]\n    credit",
                 "      competencies: [basics]\n      max_se: 0.3\n    credit")
    pack = load_pack(zip_bytes(files))
    starter = pack.credentials[0]
    assert starter.max_se == 0.3 and pack.credentials[1].max_se is None
    assert pack.earned_credentials({"basics": 0.29}) == ("starter",)
    assert pack.earned_credentials({"basics": 0.31}) == ()  # mastered, but too imprecise for this rule
    assert pack.earned_credentials({"basics": 0.31, "advanced": 0.9}) == ()  # nor what stacks on it
    assert pack.earned_credentials({"basics": 0.3, "advanced": 0.9}) == ("starter", "expert")
    assert load_pack(zip_bytes(base_files())).content_hash != pack.content_hash
    again = load_pack(zip_bytes(edit(files, "pack.yaml", "max_se: 0.3", "max_se: 0.30")))
    assert again.content_hash == pack.content_hash


def test_pilot_items_get_provisional_parameters_from_their_level() -> None:
    pack = load_pack(zip_bytes(base_files()))
    pilot = {item.id: item for item in pack.items if item.pilot}
    assert set(pilot) == {"intro-004", "deeper-004"}
    reflection = next(i for i in pack.items if i.id == "intro-005")
    assert not reflection.pilot and reflection.max_score == 0
    with pytest.raises(ValueError, match="never scored"):
        reflection.parameters()
    easy = pilot["intro-004"].parameters()
    assert (easy.model, easy.a, easy.b, easy.pilot) == ("2pl", 1.0, -1.0, True)
    hard = pilot["deeper-004"].parameters()
    assert (hard.a, hard.b) == (1.0, 1.0)
    calibrated = next(i for i in pack.items if i.id == "intro-001").parameters()
    assert (calibrated.a, calibrated.b, calibrated.pilot) == (1.2, -0.4, False)
    assert calibrated.tags == {"competency": "basics", "content_area": "counting"}
    calibrated.validate()


# (name, edits [(path, old, new)], expected issues)
CASES: list[tuple[str, list[tuple[str, str, str]], list[Expect]]] = [
    ("yaml syntax", [("pack.yaml", "title: Sample pack", "title: [Sample pack")],
     [Expect("pack.yaml", "version:", "error", "YAML syntax error")]),
    ("duplicate yaml key", [("pack.yaml", "language: en\n", "language: en\nlanguage: de\n")],
     [Expect("pack.yaml", "language: de", "error", "duplicate key 'language'")]),
    ("unknown key with suggestion", [("pack.yaml", "licence: CC", "license: CC")],
     [Expect("pack.yaml", "license:", "error", "unknown key 'license' in pack.yaml",
             "did you mean 'licence'?"),
      Expect("pack.yaml", "id: sample-pack", "error", "pack.yaml has no 'licence'")]),
    ("missing required key", [("pack.yaml", "title: Sample pack\n", "")],
     [Expect("pack.yaml", "id: sample-pack", "error", "pack.yaml has no 'title'")]),
    ("bad pack id", [("pack.yaml", "id: sample-pack", "id: Sample_Pack")],
     [Expect("pack.yaml", "Sample_Pack", "error", "pack id 'Sample_Pack' is not a valid id")]),
    ("bad version", [("pack.yaml", "version: 1.2.0", "version: 1.2")],
     [Expect("pack.yaml", "version:", "error", "version '1.2' is not a semantic version")]),
    ("bad language", [("pack.yaml", "language: en", "language: english please")],
     [Expect("pack.yaml", "language:", "error", "language 'english please' is not valid")]),
    ("bad e-mail", [("pack.yaml", "ada@example.org", "ada-at-example")],
     [Expect("pack.yaml", "ada-at-example", "error", "is not an e-mail address")]),
    ("setting out of range", [("pack.yaml", "se_target: 0.4", "se_target: -1")],
     [Expect("pack.yaml", "se_target:", "error", "se_target is -1; it must be a finite number > 0")]),
    ("min above max", [("pack.yaml", "min_items: 1", "min_items: 5")],
     [Expect("pack.yaml", "min_items:", "error", "min_items (5) is larger than max_items (2)")]),
    ("wrong type", [("pack.yaml", "minutes: 30", "minutes: half an hour")],
     [Expect("pack.yaml", "minutes:", "error", "minutes must be a whole number, not text")]),
    ("duplicate id across kinds", [("pack.yaml", "  - id: deeper", "  - id: advanced")],
     [Expect("pack.yaml", "  - id: advanced\n    title: Going", "error",
             "duplicate id 'advanced': already used by a competency (pack.yaml:27)")]),
    ("unknown prerequisite", [("pack.yaml", "prerequisites: [basics]", "prerequisites: [basic]")],
     [Expect("pack.yaml", "prerequisites: [basic]", "error", "unknown prerequisite 'basic'",
             "did you mean 'basics'?")]),
    ("prerequisite cycle", [("pack.yaml", "prerequisites: []", "prerequisites: [advanced]")],
     [Expect("pack.yaml", "prerequisites: [basics]", "error",
             "prerequisites form a cycle: advanced -> basics -> advanced")]),
    ("unknown module competency", [("pack.yaml", "competencies: [advanced]\n    lessons",
                                    "competencies: [advance]\n    lessons")],
     [Expect("pack.yaml", "[advance]", "error", "unknown competency 'advance'")]),
    ("missing lesson", [("pack.yaml", "lessons/deeper/01-more.md", "lessons/deeper/02-more.md")],
     [Expect("pack.yaml", "02-more.md", "error", "missing file: lessons/deeper/02-more.md",
             "did you mean 'lessons/deeper/01-more.md'?")]),
    ("missing item file", [("pack.yaml", "items: [items/deeper.yaml]", "items: [items/deep.yaml]")],
     [Expect("pack.yaml", "items/deep.yaml", "error", "missing file: items/deep.yaml")]),
    ("path leaves the pack", [("pack.yaml", "items: [items/intro.yaml]", "items: [../intro.yaml]")],
     [Expect("pack.yaml", "../intro.yaml", "error", "item file '../intro.yaml' leaves the pack")]),
    ("lesson is not markdown", [("pack.yaml", "lessons/deeper/01-more.md", "images/pic.png")],
     [Expect("pack.yaml", "images/pic.png", "error", "must end with .md")]),
    ("unreachable module",
     [("pack.yaml", "prerequisites: [basics]", "prerequisites: [basics, extra]"),
      ("pack.yaml", "modules:\n", "  - id: extra\n    title: Extra\n    assessment: {max_items: 1}\n"
       "modules:\n")],
     [Expect("pack.yaml", "  - id: deeper", "error",
             "module 'deeper' can never be reached: it teaches 'advanced', which needs 'extra', and "
             "no reachable module teaches 'extra'")]),
    ("credential names an unknown competency",
     [("pack.yaml", "      competencies: [basics]\n    credit", "      competencies: [basix]\n    credit")],
     [Expect("pack.yaml", "[basix]", "error", "unknown competency 'basix'")]),
    ("credential can never be met",
     [("pack.yaml", "      competencies: [advanced]\n", "      competencies: [advanced, orphan]\n"),
      ("pack.yaml", "modules:\n", "  - id: orphan\n    title: Orphan\n    assessment: {max_items: 1}\n"
       "modules:\n")],
     [Expect("pack.yaml", "[advanced, orphan]", "error",
             "credential 'expert' can never be earned: no module teaches 'orphan' and no item "
             "measures it")]),
    ("credential needs an impossible credential",
     [("pack.yaml", "      competencies: [basics]\n    credit", "      competencies: [orphan]\n    credit"),
      ("pack.yaml", "modules:\n", "  - id: orphan\n    title: Orphan\n    assessment: {max_items: 1}\n"
       "modules:\n")],
     [Expect("pack.yaml", "credentials: [starter]", "error",
             "credential 'expert' can never be earned: it requires 'starter'")]),
    ("credential stacking cycle",
     [("pack.yaml", "      competencies: [basics]\n    credit",
       "      competencies: [basics]\n      credentials: [expert]\n    credit")],
     [Expect("pack.yaml", "credentials: [starter]", "error",
             "credentials stack in a cycle: expert -> starter -> expert")]),
    ("unknown credential", [("pack.yaml", "credentials: [starter]", "credentials: [starer]")],
     [Expect("pack.yaml", "[starer]", "error", "unknown credential 'starer'", "did you mean 'starter'?")]),
    ("empty criteria", [("pack.yaml", "      competencies: [basics]\n    credit",
                         "      competencies: []\n    credit")],
     [Expect("pack.yaml", "competencies: []\n    credit", "error",
             "the criteria name no competency and no credential")]),
    ("SE bound out of range", [("pack.yaml", "      competencies: [basics]\n    credit",
                                "      competencies: [basics]\n      max_se: 5\n    credit")],
     [Expect("pack.yaml", "max_se: 5", "error", "max_se is 5; it must be a finite number >= 0.05 and <= 2",
             "write the largest standard error a decision may have, e.g. 0.35")]),
    ("SE bound without a competency",
     [("pack.yaml", "      competencies: [advanced]\n      credentials: [starter]\n",
       "      credentials: [starter]\n      max_se: 0.3\n")],
     [Expect("pack.yaml", "max_se: 0.3", "error", "max_se bounds the standard errors of the competencies' "
             "mastery decisions, but the criteria name no competency")]),
    ("item without a key", [("items/intro.yaml", "    key: b\n", "")],
     [Expect("items/intro.yaml", "  - id: intro-001", "error", "the item has no key")]),
    ("key not among the options", [("items/intro.yaml", "key: b", "key: z")],
     [Expect("items/intro.yaml", "key: z", "error", "key 'z' is not among the options (a, b, c)")]),
    ("multiple choice key not among the options", [("items/intro.yaml", "key: [a, c]", "key: [a, d]")],
     [Expect("items/intro.yaml", "key: [a, d]", "error", "key 'd' is not among the options")]),
    ("duplicate option id", [("items/intro.yaml", '{id: c, text: "4"}', '{id: a, text: "4"}')],
     [Expect("items/intro.yaml", '{id: a, text: "4"}', "error", "options id 'a' is used twice")]),
    ("unquoted yes is not text", [("items/deeper.yaml", '{id: x, text: "yes"}', "{id: x, text: yes}")],
     [Expect("items/deeper.yaml", "text: yes", "error", "options text must be text, not true or false",
             "put the value in quotes")]),
    ("negative discrimination", [("items/intro.yaml", "a: 1.2, b: -0.4", "a: -0.4, b: -0.4")],
     [Expect("items/intro.yaml", "a: -0.4", "error", "discrimination is -0.4; it must be > 0",
             "recalibrate the item or remove its parameters")]),
    ("guessing out of range", [("items/deeper.yaml", "c: 0.2", "c: 1.5")],
     [Expect("items/deeper.yaml", "c: 1.5", "error", "guessing is 1.5; it must be in [0, 1)")]),
    ("guessing without 3pl", [("items/intro.yaml", "a: 1.2, b: -0.4", "a: 1.2, b: -0.4, c: 0.2")],
     [Expect("items/intro.yaml", "c: 0.2", "error", "guessing is 0.2 but model 2pl has none")]),
    ("grm thresholds not increasing", [("items/deeper.yaml", "[-0.3, 0.7]", "[0.7, -0.3]")],
     [Expect("items/deeper.yaml", "[0.7, -0.3]", "error", "must be strictly increasing")]),
    ("threshold count", [("items/intro.yaml", "[-0.5, 0.5]", "[-0.5, 0.0, 0.5]")],
     [Expect("items/intro.yaml", "[-0.5, 0.0, 0.5]", "error",
             "the item is scored 0..2, so it needs 2 thresholds, not 3")]),
    ("dichotomous model on a partial item",
     [("items/intro.yaml", "model: gpcm, a: 0.9, thresholds: [-0.5, 0.5]", "model: 2pl, a: 0.9, b: 0.1")],
     [Expect("items/intro.yaml", "model: 2pl, a: 0.9", "error", "needs a gpcm or grm model")]),
    ("non-numeric parameter", [("items/intro.yaml", "b: 0.2", "b: high")],
     [Expect("items/intro.yaml", "b: high", "error", "b must be a number")]),
    ("unknown irt key", [("items/intro.yaml", "b: 0.2", "b: 0.2, d: 1")],
     [Expect("items/intro.yaml", "d: 1", "error", "unknown key 'd' in irt")]),
    ("reflection with parameters", [("items/intro.yaml", "What did you find hard?\n",
                                     "What did you find hard?\n    irt: {a: 1, b: 0}\n")],
     [Expect("items/intro.yaml", "irt: {a: 1, b: 0}", "error", "is never scored, so it has no IRT")]),
    ("unknown item type", [("items/intro.yaml", "type: single_choice", "type: single_choise")],
     [Expect("items/intro.yaml", "single_choise", "error", "unknown item type 'single_choise'",
             "did you mean 'single_choice'?")]),
    ("unknown item field", [("items/intro.yaml", "tolerance: 0.01", "tolerence: 0.01")],
     [Expect("items/intro.yaml", "tolerence", "error", "unknown key 'tolerence' in an item",
             "did you mean 'tolerance'?")]),
    ("negative tolerance", [("items/intro.yaml", "tolerance: 0.01", "tolerance: -1")],
     [Expect("items/intro.yaml", "tolerance: -1", "error", "tolerance is -1")]),
    ("duplicate item id across files", [("items/deeper.yaml", "id: deeper-003", "id: intro-001")],
     [Expect("items/deeper.yaml", "id: intro-001", "error",
             "duplicate item id 'intro-001' (first at items/intro.yaml:2)")]),
    ("item competency unknown", [("items/deeper.yaml", "competency: advanced\n    content_area",
                                  "competency: advnced\n    content_area")],
     [Expect("items/deeper.yaml", "advnced", "error", "unknown competency 'advnced'")]),
    ("item competency not taught where it is listed",
     [("items/intro.yaml", "competency: basics\n    stem: What is",
       "competency: advanced\n    stem: What is")],
     [Expect("items/intro.yaml", "competency: advanced", "error",
             "item 'intro-003' measures 'advanced', which no module listing items/intro.yaml teaches")]),
    ("short text without answers",
     [("items/intro.yaml", "    accepted: [square]\n    pattern: \"squares?\"\n", "")],
     [Expect("items/intro.yaml", "  - id: intro-004", "error",
             "neither 'accepted' answers nor a 'pattern'")]),
    ("catastrophic pattern", [("items/intro.yaml", 'pattern: "squares?"', 'pattern: "(a+)+$"')],
     [Expect("items/intro.yaml", "pattern:", "error", "nests a repetition inside another repetition")]),
    ("invalid pattern", [("items/intro.yaml", 'pattern: "squares?"', 'pattern: "squares(?"')],
     [Expect("items/intro.yaml", "pattern:", "error", "is not a valid regular expression")]),
    ("ordering key misses an option", [("items/deeper.yaml", "key: [a, b, c]", "key: [a, b]")],
     [Expect("items/deeper.yaml", "key: [a, b]", "error", "the key must order every option; missing c")]),
    ("matching key with an unknown target", [("items/deeper.yaml", "s2: two", "s2: three")],
     [Expect("items/deeper.yaml", "{s1: one, s2: three}", "error", "key target 'three' is not among")]),
    ("matching key misses a source", [("items/deeper.yaml", "{s1: one, s2: two}", "{s1: one}")],
     [Expect("items/deeper.yaml", "key: {s1: one}", "error", "the key does not match source(s) s2")]),
    ("feedback for an unknown option", [("items/intro.yaml", "options: {a: ", "options: {q: ")],
     [Expect("items/intro.yaml", "{q: ", "error", "feedback for unknown option 'q'")]),
    ("bad level", [("items/intro.yaml", "level: easy", "level: trivial")],
     [Expect("items/intro.yaml", "level: trivial", "error", "level is 'trivial'; it must be one of easy")]),
    ("item file without items", [("items/deeper.yaml", "items:\n", "item:\n")],
     [Expect("items/deeper.yaml", "item:", "error", "unknown key 'item' in an item file")]),
    ("missing image", [("lessons/intro/01-welcome.md", "images/pic.png", "images/nope.png")],
     [Expect("lessons/intro/01-welcome.md", "![A picture]", "error", "missing file: images/nope.png")]),
    ("image outside the pack", [("lessons/intro/01-welcome.md", "../../images/pic.png",
                                 "https://example.org/pic.png")],
     [Expect("lessons/intro/01-welcome.md", "![A picture]", "error", "is not a file inside the pack")]),
    ("image path leaves the pack", [("lessons/intro/01-welcome.md", "../../images/pic.png",
                                     "../../../pic.png")],
     [Expect("lessons/intro/01-welcome.md", "![A picture]", "error", "leaves the pack")]),
    ("image of a disallowed format", [("lessons/intro/01-welcome.md", "images/pic.png", "images/pic.bmp")],
     [Expect("lessons/intro/01-welcome.md", "![A picture]", "error", "is not a PNG, JPEG, GIF or SVG")]),
    ("disallowed HTML in a lesson (a warning)",
     [("lessons/intro/01-welcome.md", "| x | y |", "<script>alert(1)</script>\n\n| x | y |")],
     [Expect("lessons/intro/01-welcome.md", "<script>", "warning", "disallowed HTML removed: <script>")]),
    ("event handler in a stem (a warning)",
     [("items/intro.yaml", "stem: Which are even?", "stem: Which are <b onclick='x()'>even</b>?")],
     [Expect("items/intro.yaml", "Which are <b", "warning",
             "disallowed HTML removed: the 'onclick' attribute of <b>")]),
    ("too few calibrated items (a warning)", [("pack.yaml", "max_items: 3", "max_items: 10")],
     [Expect("pack.yaml", "  - id: advanced", "warning",
             "competency 'advanced' has 3 calibrated item(s) for a test of up to 10 (max_items)")]),
]


@pytest.mark.parametrize(("name", "edits", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_reports_its_file_and_line(name: str, edits: list[tuple[str, str, str]],
                                             expected: list[Expect]) -> None:
    files = base_files()
    for path, old, new in edits:
        files = edit(files, path, old, new)
    issues = issues_of(files)
    for expect in expected:
        assert_issue(files, issues, expect)
    has_errors = any(e.severity == "error" for e in expected)
    if has_errors:
        with pytest.raises(PackInvalid) as info:
            load_pack(zip_bytes(files))
        assert info.value.errors
    else:
        assert load_pack(zip_bytes(files)) is not None  # warnings alone do not block


def test_every_problem_is_reported_not_just_the_first() -> None:
    files = edit(base_files(), "items/intro.yaml", "a: 1.2, b: -0.4", "a: -0.4, b: -0.4")
    files = edit(files, "items/intro.yaml", "key: [a, c]", "key: [a, z]")
    files = edit(files, "pack.yaml", "version: 1.2.0", "version: one")
    files = edit(files, "pack.yaml", "lessons/deeper/01-more.md", "lessons/deeper/02-more.md")
    files = edit(files, "items/deeper.yaml", "s2: two", "s2: three")
    with pytest.raises(PackInvalid) as info:
        load_pack(zip_bytes(files))
    messages = [str(issue) for issue in info.value.errors]
    assert len(messages) == 5, messages
    assert info.value.issues == tuple(sorted(info.value.issues, key=PackIssue.sort_key))


def test_issue_format_matches_the_documented_line() -> None:
    files = edit(base_files(), "items/intro.yaml", "a: 1.2, b: -0.4", "a: -0.4, b: -0.4")
    issue = next(i for i in issues_of(files) if "discrimination" in i.message)
    assert str(issue) == (
        "items/intro.yaml:17: error: discrimination is -0.4; it must be > 0 "
        "(hint: recalibrate the item or remove its parameters)")
    assert issue.column == 26
    assert set(issue.to_json()) == {"path", "line", "column", "severity", "message", "hint"}


def test_missing_pack_yaml() -> None:
    files = {k: v for k, v in base_files().items() if k != "pack.yaml"}
    issues = issues_of(files)
    assert any(i.path == "pack.yaml" and i.line is None and "missing file: pack.yaml" in i.message
               for i in issues)


def test_oversized_image() -> None:
    issues = issues_of(base_files(), Limits(max_image_bytes=40))
    assert any(i.path == "images/pic.png" and i.severity == "error" and "the limit is 40" in i.message
               for i in issues)


def test_image_content_must_match_its_name() -> None:
    files = {**base_files(), "images/pic.png": b"GIF89a" + PNG}
    issues = issues_of(files)
    assert any(i.path == "images/pic.png" and "not a PNG image" in i.message for i in issues)


def test_svg_with_a_dtd_is_an_error() -> None:
    svg = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]>'
           b'<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>')
    issues = issues_of({**base_files(), "images/diagram.svg": svg})
    assert any(i.path == "images/diagram.svg" and i.severity == "error" and "DTD" in i.message
               for i in issues)


def test_svg_scripts_are_removed_with_a_warning() -> None:
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="steal()">'
           b'<script>steal()</script><a href="https://evil.example/"><rect width="1"/></a></svg>')
    result = check_pack(zip_bytes({**base_files(), "images/diagram.svg": svg}))
    warnings = [i.message for i in result.warnings if i.path == "images/diagram.svg"]
    assert "SVG content removed: <script>" in warnings
    assert any("'onload'" in w for w in warnings) and any("'href'" in w for w in warnings)
    assert result.pack is not None
    data = next(a.data for a in result.pack.assets if a.path == "images/diagram.svg")
    assert b"script" not in data and b"onload" not in data and b"evil" not in data


def test_non_utf8_text_is_an_error() -> None:
    files = {**base_files(), "lessons/deeper/01-more.md": b"# More\n\ncaf\xe9\n"}
    issues = issues_of(files)
    assert any(i.path == "lessons/deeper/01-more.md" and i.line == 3 and "not UTF-8" in i.message
               for i in issues)


def test_unused_files_are_a_warning() -> None:
    files = {**base_files(), "notes/todo.txt": b"later"}
    result = check_pack(zip_bytes(files))
    assert result.pack is not None
    assert [str(i) for i in result.issues] == [
        "notes/todo.txt: warning: the file is not used by the pack and is not imported "
        "(hint: refer to it from pack.yaml, a lesson or an item, or delete it)"]


def test_lesson_html_is_sanitised() -> None:
    files = edit(base_files(), "lessons/intro/01-welcome.md", "| x | y |",
                 "<script>alert(1)</script>\n\n<a href=\"javascript:alert(2)\">x</a>\n\n| x | y |")
    pack = load_pack(zip_bytes(files))
    html = pack.module("intro").lessons[0].html
    assert "<script" not in html and "javascript:" not in html and "alert" not in html
    assert '<span class="math inline">a^2 + b^2 = c^2</span>' in html
    # alignment is a class, not an inline style (the pages' CSP blocks inline styles)
    assert '<th class="align-right">x</th>' in html and "style=" not in html


def test_find_cycles_names_each_cycle_once() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["d"], "e": ["a"]}
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["d", "d"]]
    long_chain = {str(i): [str(i + 1)] for i in range(50_000)}
    assert find_cycles(long_chain) == []


def test_a_three_step_prerequisite_cycle_is_named_in_order() -> None:
    files = edit(base_files(), "pack.yaml", "prerequisites: []", "prerequisites: [third]")
    files = edit(files, "pack.yaml", "modules:\n",
                 "  - id: third\n    title: Third\n    prerequisites: [advanced]\nmodules:\n")
    errors = [i.message for i in issues_of(files) if i.is_error]
    assert "prerequisites form a cycle: advanced -> basics -> third -> advanced" in errors


def test_an_issue_without_a_line_prints_the_path_alone() -> None:
    issue = PackIssue("images/x.png", None, None, "error", "image is too large", "compress it")
    assert str(issue) == "images/x.png: error: image is too large (hint: compress it)"
    assert issue.to_json()["line"] is None


MORE_CASES: list[tuple[str, list[tuple[str, str, str]], list[Expect]]] = [
    ("complex key", [("pack.yaml", "language: en\n", "language: en\n? [a, b]\n: c\n")],
     [Expect("pack.yaml", "[a, b]", "error", "a mapping key must be a plain value")]),
    ("several documents", [("pack.yaml", "language: en\n", "language: en\n---\nx: 1\n")],
     [Expect("pack.yaml", "---", "error", "the file holds more than one YAML document")]),
    ("unknown alias", [("pack.yaml", "title: Sample pack", "title: *nothing")],
     [Expect("pack.yaml", "*nothing", "error", "unknown alias *nothing")]),
    ("aliases are plain values", [("pack.yaml", "title: Sample pack", "title: &t Sample pack"),
                                  ("pack.yaml", "title: Basics", "title: *t")],
     []),
    ("too many aliases", [("pack.yaml", "description: |", "x-list: [" + ", ".join(["*t"] * 1001) + "]\n"
                           "description: |"), ("pack.yaml", "title: Sample pack", "title: &t Sample pack")],
     [Expect("pack.yaml", "x-list", "error", "more than 1,000 aliases")]),
    ("bad scalar", [("pack.yaml", "cut: 0.0", "cut: " + "9" * 5000)],
     [Expect("pack.yaml", "cut:", "error", "is not a valid int")]),
    ("empty title", [("pack.yaml", "title: Sample pack", 'title: "  "')],
     [Expect("pack.yaml", "title:", "error", "title is empty")]),
    ("bad licence", [("pack.yaml", "licence: CC-BY-4.0", "licence: my licence!")],
     [Expect("pack.yaml", "licence:", "error", "licence 'my licence!' is not valid")]),
    ("level out of range", [("pack.yaml", "level: 2", "level: 9")],
     [Expect("pack.yaml", "level: 9", "error", "level is 9; it must be in 1..8")]),
    ("listed twice", [("pack.yaml", "prerequisites: [basics]", "prerequisites: [basics, basics]")],
     [Expect("pack.yaml", "prerequisites: [basics, basics]", "error",
             "'basics' appears twice in prerequisites")]),
    ("module teaches nothing",
     [("pack.yaml", "competencies: [advanced]\n    lessons", "competencies: []\n    lessons")],
     [Expect("pack.yaml", "competencies: []\n    lessons", "error", "the module teaches no competency")]),
    ("absolute path", [("pack.yaml", "items: [items/intro.yaml]", "items: [/etc/items.yaml]")],
     [Expect("pack.yaml", "/etc/items.yaml", "error", "item file '/etc/items.yaml' is not a relative path")]),
    ("item file listed twice",
     [("pack.yaml", "items: [items/intro.yaml]", "items: [items/intro.yaml, items/intro.yaml]")],
     [Expect("pack.yaml", "items: [items/intro.yaml, ", "error",
             "item file items/intro.yaml is listed twice")]),
    ("an item that is not a mapping", [("items/intro.yaml", "items:\n", "items:\n  - just text\n")],
     [Expect("items/intro.yaml", "just text", "error", "an item must be a mapping, not text")]),
    ("too few options", [("items/deeper.yaml", '      - {id: y, text: "no"}\n', "")],
     [Expect("items/deeper.yaml", '{id: x, text: "yes"}', "error",
             "options needs at least 2 entries, found 1")]),
    ("list key on single choice", [("items/intro.yaml", "key: b", "key: [b]")],
     [Expect("items/intro.yaml", "key: [b]", "error", "a single_choice item has one key, not a list")]),
    ("key repeats an option", [("items/intro.yaml", "key: [a, c]", "key: [a, a]")],
     [Expect("items/intro.yaml", "key: [a, a]", "error", "key 'a' appears twice")]),
    ("missing difficulty", [("items/intro.yaml", "a: 1.2, b: -0.4", "a: 1.2")],
     [Expect("items/intro.yaml", "irt: {model: 2pl, a: 1.2}", "error", "irt has no difficulty 'b'")]),
    ("difficulty on a polytomous item",
     [("items/intro.yaml", "a: 0.9, thresholds", "a: 0.9, b: 1, thresholds")],
     [Expect("items/intro.yaml", "b: 1, thresholds", "error",
             "a gpcm item has thresholds, not a difficulty 'b'")]),
    ("polytomous model on a 0/1 item", [("items/deeper.yaml", "model: 3pl, a: 1.3, b: 0.1, c: 0.2",
                                         "model: gpcm, a: 1.3, thresholds: [0.1]")],
     [Expect("items/deeper.yaml", "model: gpcm, a: 1.3", "error",
             "a gpcm model needs partial-credit scoring")]),
    ("infinite difficulty", [("items/intro.yaml", "b: 0.2", "b: .inf")],
     [Expect("items/intro.yaml", "b: .inf", "error", "difficulty is inf; it must be finite")]),
    ("a nul character", [("pack.yaml", "title: Sample pack", "title: Sample\x00pack")],
     [Expect("pack.yaml", "title:", "error", "contains a NUL character")]),
]


@pytest.mark.parametrize(("name", "edits", "expected"), MORE_CASES, ids=[c[0] for c in MORE_CASES])
def test_more_rules_report_their_file_and_line(name: str, edits: list[tuple[str, str, str]],
                                               expected: list[Expect]) -> None:
    test_each_rule_reports_its_file_and_line(name, edits, expected)


def test_broken_svg_is_an_error() -> None:
    for data, fragment in ((b"<svg", "is not well-formed XML"),
                           (b"<html xmlns='http://www.w3.org/1999/xhtml'/>", "is not an SVG image")):
        issues = issues_of({**base_files(), "images/diagram.svg": data})
        assert any(i.path == "images/diagram.svg" and fragment in i.message for i in issues), issues
