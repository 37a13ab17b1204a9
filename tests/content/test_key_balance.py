"""Key-balance warnings of ``pack validate`` (issue 9): one failing pack per rule, and a balanced one.

Each pack is the base pack plus ``items/balance.yaml``. The base pack's own items count too: intro-001
(single choice, 3 options, key b), deeper-004 (single choice, "yes"/"no", the key "yes" clearly the
longest), intro-002 (multiple choice, key a, c) and deeper-002 (matching, 2 sources, key in place).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from content import check_pack, load_pack
from content.validate import (
    KEY_POSITION_MIN_ITEMS,
    MATCHING_IN_PLACE_MIN_SOURCES,
    MULTIPLE_KEY_MIN_ITEMS,
)

from .packs import base_files, edit, line_of, zip_bytes

Files = dict[str, bytes]
BALANCE = "items/balance.yaml"
SAME_LENGTH = ("one", "two", "six", "ten")


def letter(position: int) -> str:
    return chr(ord("a") + position)


def with_items(*items: str) -> Files:
    """The base pack plus an item file ``items/balance.yaml`` (competency ``basics``) holding ``items``."""
    files = edit(base_files(), "pack.yaml", "items: [items/intro.yaml]",
                 f"items: [items/intro.yaml, {BALANCE}]")
    return {**files, BALANCE: ("items:\n" + "".join(items)).encode()}


def options_yaml(texts: Sequence[str], name: str = "options", prefix: str = "") -> str:
    entries = "".join(f'      - {{id: {prefix}{letter(j) if not prefix else j}, text: "{text}"}}\n'
                      for j, text in enumerate(texts))
    return f"    {name}:\n{entries}"


def single(ident: str, key: int, texts: Sequence[str] = SAME_LENGTH) -> str:
    return (f"  - id: {ident}\n    type: single_choice\n    competency: basics\n    stem: Pick one.\n"
            f"{options_yaml(texts)}    key: {letter(key)}\n")


def multiple(ident: str, keys: Sequence[int], n: int = 4) -> str:
    texts = [f"choice {j}" for j in range(n)]
    return (f"  - id: {ident}\n    type: multiple_choice\n    competency: basics\n    stem: Pick some.\n"
            f"{options_yaml(texts)}    key: [{', '.join(letter(k) for k in keys)}]\n")


def matching(ident: str, targets_of_sources: Sequence[int], n_targets: int | None = None) -> str:
    n_targets = n_targets or len(targets_of_sources)
    key = ", ".join(f"s{j}: t{t}" for j, t in enumerate(targets_of_sources))
    return (f"  - id: {ident}\n    type: matching\n    competency: basics\n    stem: Match them.\n"
            f"{options_yaml([f'source {j}' for j in range(len(targets_of_sources))], 'sources', 's')}"
            f"{options_yaml([f'target {j}' for j in range(n_targets)], 'targets', 't')}"
            f"    key: {{{key}}}\n")


def ordering(ident: str, key: Sequence[int], *, shuffle: bool | None = None) -> str:
    flag = "" if shuffle is None else f"    shuffle: {str(shuffle).lower()}\n"
    return (f"  - id: {ident}\n    type: ordering\n    competency: basics\n    stem: Put in order.\n"
            f"{options_yaml([f'step {j}' for j in range(len(key))])}"
            f"    key: [{', '.join(letter(k) for k in key)}]\n{flag}")


def line_in_item(files: Files, item_id: str, needle: str) -> int:
    """Return the line of the first ``needle`` after the item ``item_id`` starts in the balance file."""
    text = files[BALANCE].decode()
    start = text.index(f"- id: {item_id}\n")
    return text[: text.index(needle, start)].count("\n") + 1


def key_warnings(files: Files) -> list[str]:
    result = check_pack(zip_bytes(files))
    assert result.errors == (), [str(i) for i in result.errors]
    assert load_pack(zip_bytes(files)) is not None  # warnings never block an import
    return [str(issue) for issue in result.warnings]


def assert_only(files: Files, expected: list[tuple[str, str]]) -> None:
    """Exactly the expected warnings: (item id, needle for the line) and the text after ``warning:``."""
    warnings = key_warnings(files)
    wanted = [f"{BALANCE}:{line_in_item(files, item, needle)}: warning: {rest}"
              for (item, needle), rest in ((e[0].split("|"), e[1]) for e in expected)]
    assert warnings == wanted


POSITION_HINT = ("(hint: reorder options so that every position holds about as many keys (exports, "
                 "print-outs and pinned items show the authored order))")


def test_single_choice_keys_leaning_on_a_position() -> None:
    files = with_items(*(single(f"pos-{j:03d}", 1) for j in range(12)))
    assert_only(files, [(
        "pos-000|key: b",
        "the keys of the 12 single-choice items with 4 options lean on a position: keys by position: "
        f"a 0, b 12, c 0, d 0; this item is one of the 12 keyed at b {POSITION_HINT}")])


def test_key_positions_are_tested_per_number_of_options() -> None:
    mixed = [single(f"pos-{j:03d}", j % 4) for j in range(8)]  # even over 4 options
    mixed += [single(f"three-{j:03d}", 2, ("one", "two", "six")) for j in range(9)]
    files = with_items(*mixed)
    assert_only(files, [(
        "three-000|key: c",
        "the keys of the 10 single-choice items with 3 options lean on a position: keys by position: "
        f"a 0, b 1, c 9; this item is one of the 9 keyed at c {POSITION_HINT}")])


def test_too_few_items_are_not_tested_for_key_positions() -> None:
    files = with_items(*(single(f"pos-{j:03d}", 1) for j in range(KEY_POSITION_MIN_ITEMS - 1)))
    assert key_warnings(files) == []


def test_a_position_that_leans_only_by_chance_is_fine() -> None:
    positions = [0, 1, 2, 3, 0, 1, 2, 3, 1, 1, 2, 0]  # a 3, b 4, c 3, d 2: p = 0.9
    files = with_items(*(single(f"pos-{j:03d}", p) for j, p in enumerate(positions)))
    assert key_warnings(files) == []


def test_keys_that_are_the_longest_option() -> None:
    items = []
    for j in range(10):
        texts = ["short"] * 4
        texts[j % 4] = "the much longer, careful answer"
        items.append(single(f"long-{j:03d}", j % 4, texts))
    files = with_items(*items)
    assert_only(files, [(
        "long-000|the much longer",
        "the key is clearly the longest option in 11 of the 11 single-choice items that have a clearly "
        "longest option (about 3 by chance); this item's key is one of them (hint: make the distractors "
        "as long and as specific as the key (a guessing learner picks the longest option))")])


@pytest.mark.parametrize(("extra", "warned"), [(2, True), (1, False)])
def test_a_longest_option_needs_a_clear_margin(extra: int, warned: bool) -> None:
    items = []
    for j in range(12):
        texts = ["x" * 20] * 4
        texts[j % 4] = "x" * (20 + extra)  # 10 % longer is the margin: 22 of 20 is, 21 is not
        items.append(single(f"long-{j:03d}", j % 4, texts))
    warnings = key_warnings(with_items(*items))
    assert any("clearly the longest option in 13 of the 13" in w for w in warnings) is warned
    assert len(warnings) == warned


MC_HINT = "(hint: vary which options are keyed (reorder the options of some items))"


def test_multiple_choice_keys_that_repeat_one_pattern() -> None:
    keys = [[0, 2], [1, 3], [0, 2], [0, 2], [1, 2]]  # (a, c) in 3 of the 5 items with the base's one
    files = with_items(*(multiple(f"mc-{j:03d}", k) for j, k in enumerate(keys)))
    # the base pack's intro-002 is keyed [a, c] too: 4 of 6
    line = line_of(files, "items/intro.yaml", "key: [a, c]")
    assert key_warnings(files) == [
        f"items/intro.yaml:{line}: warning: 4 of the 6 multiple-choice items have their keys at the same "
        f"positions (a, c), this item too {MC_HINT}"]


def test_multiple_choice_keys_that_are_always_the_first_options() -> None:
    keys = [[0], [0, 1], [0, 1, 2], [0, 1, 2, 3], [0]]
    files = edit(base_files(), "items/intro.yaml", "key: [a, c]", "key: [a, b]")
    files = {**with_items(*(multiple(f"mc-{j:03d}", k, n=5) for j, k in enumerate(keys))),
             "items/intro.yaml": files["items/intro.yaml"]}
    # 2 of the 6 keyed (a) and 2 keyed (a, b): no one pattern above 40 %, but all of them first options
    line = line_of(files, "items/intro.yaml", "key: [a, b]")
    assert key_warnings(files) == [
        f"items/intro.yaml:{line}: warning: the keys of all 6 multiple-choice items are their first "
        f"options (a, or a and b, or a, b and c, ...) {MC_HINT}"]


def test_few_multiple_choice_items_are_not_compared() -> None:
    keys = [[0, 2]] * (MULTIPLE_KEY_MIN_ITEMS - 2)  # with the base pack's item: one too few
    assert key_warnings(with_items(*(multiple(f"mc-{j:03d}", k) for j, k in enumerate(keys)))) == []


def test_matching_keys_in_place_in_too_many_items() -> None:
    # with the base pack's deeper-002 (2 sources, in place): 3 of 5 in place
    files = with_items(matching("m-000", [1, 0]), matching("m-001", [0, 1]),
                       matching("m-002", [0, 1]), matching("m-003", [2, 0, 1]))
    assert_only(files, [(
        "m-001|key:",
        "3 of the 5 matching items pair every source with the target in the same position (1st with "
        "1st, 2nd with 2nd, ...), this item too (hint: reorder the targets of some items)")])


def test_a_matching_item_with_its_key_in_place() -> None:
    files = with_items(matching("m-000", list(range(MATCHING_IN_PLACE_MIN_SOURCES)), n_targets=4))
    assert_only(files, [(
        "m-000|key:",
        "the key pairs each of the 3 sources with the target in the same position (1st with 1st, 2nd "
        "with 2nd, ...) (hint: reorder the targets so that the authored order is not the answer)")])


def test_a_pinned_ordering_item_that_shows_its_answer() -> None:
    files = with_items(ordering("o-000", [0, 1, 2], shuffle=False))
    assert_only(files, [(
        "o-000|shuffle: false",
        "the options are authored in the right order and 'shuffle: false' presents them so: the item "
        "shows its own answer (hint: author the options in another order, or remove 'shuffle: false')")])


@pytest.mark.parametrize("item", [ordering("o-000", [0, 1, 2]), ordering("o-000", [0, 1, 2], shuffle=True),
                                  ordering("o-000", [2, 0, 1], shuffle=False)])
def test_ordering_items_that_hide_their_answer_are_fine(item: str) -> None:
    assert key_warnings(with_items(item)) == []


def balanced_items() -> list[str]:
    """Items that use every position and pattern about evenly: no key-balance warning."""
    items = []
    for j in range(16):
        texts = ["short"] * 4
        # a clearly longest option in every item; it is the key in 4 of 16 (chance: 1 in 4)
        longest = j % 4 if j >= 12 else (j + 1) % 4
        texts[longest] = "a much longer option"
        items.append(single(f"sc-{j:03d}", j % 4, texts))
    items += [single(f"same-{j:03d}", j % 4) for j in range(8)]
    items += [multiple(f"mc-{j:03d}", k) for j, k in enumerate([[1, 3], [0, 1, 3], [2], [1, 2]])]
    items += [matching("m-000", [1, 0]), matching("m-001", [2, 0, 1]), matching("m-002", [1, 2, 0])]
    items += [ordering("o-000", [2, 0, 1], shuffle=False), ordering("o-001", [0, 1, 2])]
    return items


def test_a_balanced_pack_gets_no_key_balance_warning() -> None:
    result = check_pack(zip_bytes(with_items(*balanced_items())))
    assert result.issues == (), [str(i) for i in result.issues]
