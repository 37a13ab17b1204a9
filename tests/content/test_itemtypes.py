"""Server-side scorers: every type, right and wrong answers, partial credit, hostile patterns."""

from __future__ import annotations

import time

import pytest

from content import ITEM_TYPES, InvalidAnswer, Item, load_pack, score
from content.itemtypes import MAX_TEXT_ANSWER, check_pattern

from .packs import base_files, zip_bytes


@pytest.fixture(scope="module")
def items() -> dict[str, Item]:
    return {item.id: item for item in load_pack(zip_bytes(base_files())).items}


@pytest.mark.parametrize(("item_id", "answer", "expected"), [
    ("intro-001", "b", 1), ("intro-001", "a", 0), ("intro-001", "zz", 0),
    ("intro-002", ["a", "c"], 2), ("intro-002", ["c"], 1), ("intro-002", ["a", "b", "c"], 1),
    ("intro-002", ["b"], 0), ("intro-002", [], 0), ("intro-002", ["a", "b"], 0),
    ("intro-003", "3.5", 1), ("intro-003", 3.505, 1), ("intro-003", "3,5", 1), ("intro-003", " 3.5 ", 1),
    ("intro-003", "3.6", 0), ("intro-003", "three", 0), ("intro-003", "nan", 0), ("intro-003", "inf", 0),
    ("intro-004", "square", 1), ("intro-004", "  SQUARE ", 1), ("intro-004", "squares", 1),
    ("intro-004", "circle", 0), ("intro-004", "square" * 100, 0),
    ("intro-005", "I found it hard", 0),
    ("deeper-001", ["a", "b", "c"], 2), ("deeper-001", ["b", "a", "c"], 1),
    ("deeper-001", ["c", "b", "a"], 0),
    ("deeper-001", ["a"], 0),
    ("deeper-002", {"s1": "one", "s2": "two"}, 1), ("deeper-002", {"s1": "one", "s2": "one"}, 0),
    ("deeper-002", {}, 0),
    ("deeper-003", "three", 1), ("deeper-003", "Three", 1), ("deeper-003", "THREE", 0),
])
def test_scores(items: dict[str, Item], item_id: str, answer: object, expected: int) -> None:
    item = items[item_id]
    result = score(item, answer)
    assert result == expected
    assert 0 <= result <= item.max_score


def test_max_scores(items: dict[str, Item]) -> None:
    assert {i: items[i].max_score for i in items} == {
        "intro-001": 1, "intro-002": 2, "intro-003": 1, "intro-004": 1, "intro-005": 0,
        "deeper-001": 2, "deeper-002": 1, "deeper-003": 1, "deeper-004": 1}


@pytest.mark.parametrize(("item_id", "answer"), [
    ("intro-001", ["b"]), ("intro-002", 3), ("intro-003", None), ("intro-003", True),
    ("intro-004", ["square"]), ("deeper-001", 1), ("deeper-002", ["s1"]),
])
def test_answers_of_the_wrong_shape_raise(items: dict[str, Item], item_id: str, answer: object) -> None:
    with pytest.raises(InvalidAnswer):
        score(items[item_id], answer)


def test_the_registry_names_every_documented_type() -> None:
    assert set(ITEM_TYPES) == {"single_choice", "multiple_choice", "numeric", "short_text", "ordering",
                               "matching", "reflection"}


@pytest.mark.parametrize("pattern", [
    "(a+)+$", "(a*)*b", "(x+x+)+y", "(a|aa)*c", r"(\w+\s?)+$", r"(a)\1", "a{1,100000}", "(?:a{2,5})+",
])
def test_catastrophic_patterns_are_refused(pattern: str) -> None:
    assert check_pattern(pattern, False) is not None


@pytest.mark.parametrize("pattern", [
    r"squares?", r"\d+ (apples|pears)", r"^\s*-?\d+([.,]\d+)?\s*$", "colou?r", "[a-z]+-[0-9]{2,4}",
])
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert check_pattern(pattern, False) is None


def test_overlong_patterns_are_refused() -> None:
    assert check_pattern("a" * 201, False) == "is 201 characters long; the limit is 200"


def test_scoring_a_hostile_answer_is_fast(items: dict[str, Item]) -> None:
    item = items["intro-004"]
    started = time.perf_counter()
    for ch in "a s!":
        score(item, ch * MAX_TEXT_ANSWER)
        score(item, ch * 100_000)
    assert time.perf_counter() - started < 0.5
