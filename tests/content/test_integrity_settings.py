"""Pack settings for trustworthy evidence (issue 9): ``evidence:``, ``retakes:`` and module ``feedback:``."""

from __future__ import annotations

import pytest

from adaptive.integrity import EvidenceRules, RetakePolicy
from content import canonical_files, check_pack, load_pack

from .packs import base_files, edit, line_of, zip_bytes

ANCHOR = "  mastery_method: sprt\n"
"""The last line of the base pack's ``assessment:``; new top-level sections go after it."""

EVERY_FIELD = """\
evidence:
  min_items: 12
  max_se: 0.5
  fit_threshold: -2.0
retakes:
  wait_days: 0.5
  backoff: 3
  max_wait_days: 14
  max_per_period: 2
  period_days: 10
  exclude_days: 60
"""

# the module 'deeper' teaches 'advanced'; without it in credential 'expert' it is formative practice
FORMATIVE = [("pack.yaml", "      competencies: [advanced]\n      credentials: [starter]\n",
              "      credentials: [starter]\n"),
             ("pack.yaml", "    items: [items/deeper.yaml]\n",
              "    items: [items/deeper.yaml]\n    feedback: immediate\n")]


def with_sections(text: str) -> dict[str, bytes]:
    return edit(base_files(), "pack.yaml", ANCHOR, ANCHOR + text)


def apply(edits: list[tuple[str, str, str]]) -> dict[str, bytes]:
    files = base_files()
    for path, old, new in edits:
        files = edit(files, path, old, new)
    return files


def test_defaults_when_the_sections_are_absent() -> None:
    pack = load_pack(zip_bytes(base_files()))
    assert pack.evidence == EvidenceRules() and pack.retakes == RetakePolicy()
    assert all(module.feedback == "end" for module in pack.modules)
    exported = canonical_files(pack)["pack.yaml"]
    assert b"evidence" not in exported and b"retakes" not in exported and b"feedback" not in exported


def test_every_field_is_read() -> None:
    pack = load_pack(zip_bytes(with_sections(EVERY_FIELD)))
    assert pack.evidence == EvidenceRules(min_items=12, max_se=0.5, fit_threshold=-2.0)
    assert pack.retakes == RetakePolicy(wait_days=0.5, backoff=3.0, max_wait_days=14.0, max_per_period=2,
                                        period_days=10.0, exclude_days=60.0)


def test_a_pack_setting_every_field_round_trips_and_changes_the_hash() -> None:
    files = apply(FORMATIVE)
    files = edit(files, "pack.yaml", ANCHOR, ANCHOR + EVERY_FIELD)
    result = check_pack(zip_bytes(files))
    assert result.errors == ()
    pack = result.pack
    assert pack is not None and pack.modules[1].feedback == "immediate"
    exported = canonical_files(pack)
    again = load_pack(zip_bytes(exported))
    assert again == pack and again.content_hash == pack.content_hash
    assert canonical_files(again) == exported
    assert exported["pack.yaml"].count(b"feedback: immediate") == 1
    base = load_pack(zip_bytes(base_files()))
    assert pack.content_hash != base.content_hash
    for changed in ("evidence:\n  max_se: 0.5\n", "retakes:\n  exclude_days: 60\n"):
        assert load_pack(zip_bytes(with_sections(changed))).content_hash != base.content_hash


def test_writing_the_defaults_keeps_the_hash_and_exports_nothing() -> None:
    explicit = with_sections("evidence: {min_items: 10, max_se: 0.6, fit_threshold: -1.645}\n"
                             "retakes: {wait_days: 1, backoff: 2, max_per_period: 3}\n")
    explicit = edit(explicit, "pack.yaml", "    minutes: 30\n", "    minutes: 30\n    feedback: end\n")
    pack = load_pack(zip_bytes(explicit))
    assert pack.content_hash == load_pack(zip_bytes(base_files())).content_hash
    exported = canonical_files(pack)["pack.yaml"]
    assert b"evidence" not in exported and b"retakes" not in exported and b"feedback" not in exported


def test_only_changed_fields_are_exported() -> None:
    pack = load_pack(zip_bytes(with_sections("retakes:\n  max_per_period: 5\n")))
    assert b"retakes:\n  max_per_period: 5\n" in canonical_files(pack)["pack.yaml"]


# (name, section text, the text of the line at fault, message, hint fragment)
ERRORS = [
    ("unknown evidence key", "evidence:\n  min_item: 3\n", "min_item:",
     "unknown key 'min_item' in evidence", "did you mean 'min_items'?"),
    ("unknown retakes key", "retakes:\n  waitdays: 2\n", "waitdays:",
     "unknown key 'waitdays' in retakes", "did you mean 'wait_days'?"),
    ("evidence not a mapping", "evidence: strict\n", "evidence:",
     "evidence must be a mapping, not text", "'key: value'"),
    ("min_items not whole", "evidence:\n  min_items: 7.5\n", "min_items: 7.5",
     "evidence min_items must be a whole number, not a number", "whole number"),
    ("min_items zero", "evidence:\n  min_items: 0\n", "min_items: 0",
     "evidence min_items is 0; it must be in 1..200", "1..200"),
    ("min_items too large", "evidence:\n  min_items: 500\n", "min_items: 500",
     "evidence min_items is 500; it must be in 1..200", "1..200"),
    ("max_se zero", "evidence:\n  max_se: 0\n", "max_se:",
     "evidence max_se is 0; it must be a finite number > 0", "> 0"),
    ("max_se text", "evidence:\n  max_se: small\n", "max_se:",
     "evidence max_se must be a number, not text", "number"),
    ("fit_threshold infinite", "evidence:\n  fit_threshold: -.inf\n", "fit_threshold:",
     "evidence fit_threshold is -inf; it must be a finite number", "finite"),
    ("negative wait", "retakes:\n  wait_days: -1\n", "wait_days:",
     "retakes wait_days is -1; it must be a finite number >= 0", ">= 0"),
    ("backoff below one", "retakes:\n  backoff: 0.5\n", "backoff:",
     "retakes backoff is 0.5; it must be a finite number >= 1", ">= 1"),
    ("max_per_period zero", "retakes:\n  max_per_period: 0\n", "max_per_period:",
     "retakes max_per_period is 0; it must be in 1..inf", "1..inf"),
    ("max_per_period boolean", "retakes:\n  max_per_period: true\n", "max_per_period:",
     "retakes max_per_period must be a whole number, not true or false", "whole number"),
    ("negative period", "retakes:\n  period_days: -7\n", "period_days:",
     "retakes period_days is -7; it must be a finite number >= 0", ">= 0"),
    ("negative exclusion", "retakes:\n  exclude_days: -1\n", "exclude_days:",
     "retakes exclude_days is -1; it must be a finite number >= 0", ">= 0"),
    ("cap below the wait", "retakes:\n  wait_days: 5\n  max_wait_days: 2\n", "max_wait_days:",
     "retakes max_wait_days (2) is less than wait_days (5)", "raise max_wait_days"),
    ("cap below the default wait", "retakes:\n  max_wait_days: 0.5\n", "max_wait_days:",
     "retakes max_wait_days (0.5) is less than wait_days (1)", "raise max_wait_days"),
]


@pytest.mark.parametrize(("name", "text", "needle", "message", "hint"), ERRORS, ids=[e[0] for e in ERRORS])
def test_each_settings_rule_reports_its_file_and_line(name: str, text: str, needle: str, message: str,
                                                      hint: str) -> None:
    files = with_sections(text)
    result = check_pack(zip_bytes(files))
    assert result.pack is None
    [issue] = result.errors
    assert (issue.path, issue.line, issue.message) == ("pack.yaml", line_of(files, "pack.yaml", needle),
                                                       message)
    assert hint in issue.hint


def test_several_bad_settings_are_all_reported() -> None:
    files = with_sections("evidence:\n  min_items: 0\n  max_se: -1\nretakes:\n  backoff: 0\n")
    result = check_pack(zip_bytes(files))
    assert sorted(i.line for i in result.errors) == [line_of(files, "pack.yaml", key)
                                                     for key in ("min_items: 0", "max_se:", "backoff:")]


@pytest.mark.parametrize(("text", "needle", "message"), [
    ("evidence:\n  min_items: 3\n", "min_items: 3",
     "evidence min_items is 3: a decision on fewer than 5 answers can be reached by guessing"),
    ("evidence:\n  fit_threshold: 0.5\n", "fit_threshold:",
     "evidence fit_threshold is 0.5: above 0 it flags more than half of honest learners' answer "
     "patterns as not fitting"),
], ids=["few items", "positive fit threshold"])
def test_weak_evidence_rules_are_warnings(text: str, needle: str, message: str) -> None:
    files = with_sections(text)
    result = check_pack(zip_bytes(files))
    assert result.pack is not None and result.errors == ()
    [issue] = result.warnings
    assert (issue.path, issue.line, issue.message) == ("pack.yaml", line_of(files, "pack.yaml", needle),
                                                       message)


def test_five_items_and_a_zero_threshold_are_not_warned_about() -> None:
    assert check_pack(zip_bytes(with_sections("evidence: {min_items: 5, fit_threshold: 0}\n"))).issues == ()


def test_immediate_feedback_on_formative_practice_is_allowed() -> None:
    result = check_pack(zip_bytes(apply(FORMATIVE)))
    assert result.issues == ()
    assert result.pack is not None
    assert [m.feedback for m in result.pack.modules] == ["end", "immediate"]


def test_immediate_feedback_on_a_credited_competency_is_an_error_naming_the_credential() -> None:
    files = apply(FORMATIVE[1:])
    result = check_pack(zip_bytes(files))
    assert result.pack is None
    [issue] = result.errors
    assert (issue.path, issue.line) == ("pack.yaml", line_of(files, "pack.yaml", "feedback: immediate"))
    assert issue.message == ("module 'deeper' shows right answers immediately, but its competency "
                             "'advanced' counts towards credential 'expert'")
    assert issue.hint == "use feedback: end, or remove 'advanced' from credential 'expert'"


def test_feedback_must_be_end_or_immediate() -> None:
    files = edit(base_files(), "pack.yaml", "    minutes: 30\n", "    minutes: 30\n    feedback: later\n")
    [issue] = check_pack(zip_bytes(files)).errors
    assert (issue.line, issue.message) == (line_of(files, "pack.yaml", "feedback:"),
                                           "feedback is 'later'; it must be one of end, immediate")
