"""The item field ``shuffle`` (issue 9): read, checked, exported, hashed and mapped from QTI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from content import canonical_files, check_pack, content_hash, load_pack, read_qti
from content.model import Item, _jsonable

from .packs import base_files, edit, line_of, zip_bytes
from .test_qti import CHOICE_DECL, QTI3, QTI21, needs_fixtures, qti3_item

BASE_HASH = "65ba33afb074846ba0f1074580ede45fd657d1c8212ece492341199b5d09e450"
"""The base pack's content hash from before the field existed: packs that don't set it keep their hash."""

# (file, the item's last line before the flag, its id)
PINNABLE = [
    ("items/intro.yaml", "    key: b\n", "intro-001"),                   # single_choice
    ("items/intro.yaml", "    key: [a, c]\n", "intro-002"),              # multiple_choice
    ("items/deeper.yaml", "    key: [a, b, c]\n", "deeper-001"),         # ordering
    ("items/deeper.yaml", "    key: {s1: one, s2: two}\n", "deeper-002"),  # matching
]


def pinned(path: str, anchor: str, value: str = "false") -> dict[str, bytes]:
    return edit(base_files(), path, anchor, f"{anchor}    shuffle: {value}\n")


def item_of(files: dict[str, bytes], item_id: str) -> Item:
    return next(item for item in load_pack(zip_bytes(files)).items if item.id == item_id)


def test_items_shuffle_by_default() -> None:
    assert all(item.shuffle for item in load_pack(zip_bytes(base_files())).items)


@pytest.mark.parametrize(("path", "anchor", "item_id"), PINNABLE, ids=[p[2] for p in PINNABLE])
def test_shuffle_false_pins_an_item_of_each_option_type(path: str, anchor: str, item_id: str) -> None:
    files = pinned(path, anchor)
    issues = [i.message for i in check_pack(zip_bytes(files)).issues]
    # deeper-001's options are authored in the right order: pinned, it shows its answer (a warning)
    assert issues == (["the options are authored in the right order and 'shuffle: false' presents them "
                       "so: the item shows its own answer"] if item_id == "deeper-001" else [])
    assert item_of(files, item_id).shuffle is False
    assert item_of(pinned(path, anchor, "true"), item_id).shuffle is True


@pytest.mark.parametrize("value", ["sometimes", '"false"', "0", "[a]"])
def test_a_non_boolean_shuffle_is_an_error_with_its_line(value: str) -> None:
    files = pinned("items/intro.yaml", "    key: b\n", value)
    result = check_pack(zip_bytes(files))
    assert result.pack is None
    [issue] = result.errors
    assert (issue.path, issue.line) == ("items/intro.yaml", line_of(files, "items/intro.yaml", "shuffle:"))
    assert issue.message.startswith("shuffle must be true or false, not ")
    assert "'shuffle: false'" in issue.hint


def test_types_without_options_have_no_shuffle() -> None:
    files = edit(base_files(), "items/intro.yaml", "    tolerance: 0.01\n",
                 "    tolerance: 0.01\n    shuffle: false\n")
    [issue] = check_pack(zip_bytes(files)).errors
    assert issue.message == "unknown key 'shuffle' in an item"
    assert issue.line == line_of(files, "items/intro.yaml", "shuffle:")


def test_export_writes_the_flag_only_when_false() -> None:
    pack = load_pack(zip_bytes(base_files()))
    assert not any(b"shuffle" in data for data in canonical_files(pack).values())
    files = pinned("items/deeper.yaml", "    key: {s1: one, s2: two}\n")
    pinned_pack = load_pack(zip_bytes(files))
    exported = canonical_files(pinned_pack)
    assert exported["items/deeper.yaml"].count(b"shuffle: false") == 1
    again = load_pack(zip_bytes(exported))
    assert again == pinned_pack and again.content_hash == pinned_pack.content_hash


def test_the_hashed_form_holds_shuffle_only_when_false() -> None:
    pack = load_pack(zip_bytes(base_files()))
    assert "shuffle" not in json.dumps(_jsonable(pack))
    explicit = load_pack(zip_bytes(pinned("items/intro.yaml", "    key: b\n", "true")))
    assert explicit.content_hash == pack.content_hash  # writing the default changes nothing
    items = tuple(replace(item, shuffle=False) if item.id == "intro-001" else item for item in pack.items)
    pinned_pack = replace(pack, items=items)
    assert json.dumps(_jsonable(pinned_pack)).count('"shuffle": false') == 1
    assert content_hash(pinned_pack) != pack.content_hash


def test_a_pack_without_the_flag_keeps_its_content_hash() -> None:
    # A regression value: the hash the base pack had before the field existed. The web app refuses
    # to re-import a version whose hash changed, so a model field that changes it breaks re-imports
    # (add such fields to content.model._LATER_FIELDS).
    assert load_pack(zip_bytes(base_files())).content_hash == BASE_HASH


# ---------------------------------------------------------------------------------------- QTI
def qti_choice(attributes: str, fixed: str = "") -> Item:
    body = (f'<p>Pick one.</p><qti-choice-interaction response-identifier="RESPONSE" max-choices="1" '
            f'{attributes}><qti-simple-choice identifier="A" {fixed}>a</qti-simple-choice>'
            '<qti-simple-choice identifier="B">b</qti-simple-choice></qti-choice-interaction>')
    result = read_qti(qti3_item(body, declarations=CHOICE_DECL).encode())
    assert not result.issues, [str(i) for i in result.issues]
    [item] = result.items
    return item


@pytest.mark.parametrize(("attributes", "fixed", "expected"), [
    ('shuffle="true"', "", True),
    ("", "", False),                                   # QTI's default is false
    ('shuffle="false"', "", False),
    ('shuffle="true"', 'fixed="true"', False),         # one fixed choice pins the item
    ('shuffle="true"', 'fixed="false"', True),
])
def test_qti_choice_shuffle_follows_qti(attributes: str, fixed: str, expected: bool) -> None:
    assert qti_choice(attributes, fixed).shuffle is expected


@needs_fixtures
@pytest.mark.parametrize(("path", "expected"), [
    (QTI21 / "ims-examples" / "choice.xml", False),           # shuffle="false"
    (QTI21 / "ims-examples" / "choice_multiple.xml", True),   # shuffle="true", fixed="false"
    (QTI21 / "ims-examples" / "inline_choice.xml", False),
    (QTI21 / "ims-examples" / "match.xml", True),
    (QTI21 / "ims-examples" / "order.xml", False),            # shuffle="true", one choice fixed
    (QTI3 / "items" / "order.xml", False),
])
def test_qti_samples_map_their_shuffle(path: Path, expected: bool) -> None:
    [item] = read_qti(path).items
    assert item.shuffle is expected
