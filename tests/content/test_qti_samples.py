"""The official 1EdTech/IMS QTI samples through content.qti: an optional extra.

These tests read the samples in ``../shared/fixtures/qti`` (1EdTech/IMS example material: test data only,
read in place, never copied) and are skipped when that folder is absent, as in a plain clone. The
importer's own tests, on QTI files the project wrote (``tests/content/qti``), are in ``test_qti.py`` and
run everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from content import Item, check_pack, export_pack, load_pack, pack_from_qti, read_qti, render_markdown, score

from .test_qti import QTI3, QTI21, assert_scores, by_id, messages, needs_fixtures, run, zip_of

pytestmark = needs_fixtures

# ---------------------------------------------------------------------------------------- single items
EXPECTED_ITEMS = {
    # file: (item id, type, key, number of options/sources, scoring)
    "choice.xml": ("choice", "single_choice", "ChoiceA", 3, "all_or_nothing"),
    "choice_multiple.xml": ("choicemultiple", "multiple_choice", ("H", "O"), 6, "partial"),
    "text_entry.xml": ("textentry", "short_text", None, 0, "all_or_nothing"),
    "extended_text.xml": ("extendedtext", "reflection", None, 0, "all_or_nothing"),
    "order.xml": ("order", "ordering", ("DriverC", "DriverA", "DriverB"), 3, "all_or_nothing"),
    "order_partial_scoring.xml": ("orderpartialscoring", "ordering", ("DriverC", "DriverA", "DriverB"),
                                  3, "all_or_nothing"),
    "match.xml": ("match", "matching", (("C", "R"), ("D", "M"), ("L", "M"), ("P", "T")), 4, "partial"),
    "inline_choice.xml": ("inlinechoice", "single_choice", "Y", 3, "all_or_nothing"),
}
UNSUPPORTED = {"gap_match.xml": "gapMatchInteraction", "associate.xml": "associateInteraction",
               "hottext.xml": "hottextInteraction"}


@pytest.mark.parametrize("folder", [QTI3 / "items", QTI21 / "ims-examples"], ids=["qti3", "qti21"])
@pytest.mark.parametrize("name", sorted(EXPECTED_ITEMS))
def test_single_items_import_with_type_key_and_scoring(folder: Path, name: str) -> None:
    result = read_qti(folder / name)
    assert not result.errors, messages(result)
    (item,) = result.items
    ident, kind, key, n_choices, scoring = EXPECTED_ITEMS[name]
    assert (item.id, item.type, item.scoring) == (ident, kind, scoring)
    if key is not None:
        assert item.key == key
    assert len(item.options) + len(item.sources) == n_choices
    assert item.irt is None and item.level == "medium" and item.competency == "imported"
    assert item.stem.strip()
    assert_scores(item)
    assert [(path, item_id) for path, _, item_id in result.identifiers] == [(name, item.id)]


@pytest.mark.parametrize("folder", [QTI3 / "items", QTI21 / "ims-examples"], ids=["qti3", "qti21"])
def test_item_details(folder: Path) -> None:
    items = by_id(read_qti(folder))
    choice = items["choice"]
    assert choice.options[0].text == "You must stay with your luggage at all times."
    assert "What does it say?" in choice.stem
    assert "![NEVER LEAVE LUGGAGE UNATTENDED](../images/images/sign.png)" in choice.stem
    inline = items["inlinechoice"]
    assert "sun of ____;" in render_markdown(inline.stem)
    assert [o.text for o in inline.options] == ["Gloucester", "Lancaster", "York"]
    text = items["textentry"]
    assert text.accepted == ("York",)
    assert "____" in render_markdown(text.stem) and "<blockquote>" in render_markdown(text.stem)
    assert score(text, "York") == 1 and score(text, "Lancaster") == 0
    match = items["match"]
    assert [s.text for s in match.sources] == ["Capulet", "Demetrius", "Lysander", "Prospero"]
    assert [t.id for t in match.targets] == ["M", "R", "T"]
    assert score(match, {"C": "R", "D": "M", "L": "M", "P": "R"}) == 3
    multiple = items["choicemultiple"]
    assert score(multiple, ["H", "O", "Cl"]) == 1 and score(multiple, ["H", "O"]) == 2
    reflection = items["extendedtext"]
    assert "Write Sam a postcard" in reflection.stem
    assert "postcard.png" in reflection.stem


def test_case_sensitivity_follows_the_qti_version() -> None:
    # QTI 3 map entries are case-insensitive by default, QTI 2.1 ones case-sensitive.
    v3 = read_qti(QTI3 / "items" / "text_entry.xml").items[0]
    v21 = read_qti(QTI21 / "ims-examples" / "text_entry.xml").items[0]
    assert (v3.case_sensitive, v21.case_sensitive) == (False, True)
    assert score(v3, "york") == 1 and score(v21, "york") == 0
    warnings = messages(read_qti(QTI21 / "ims-examples" / "text_entry.xml"))
    assert any("'york' scores 0.5" in m for m in warnings)


@pytest.mark.parametrize("folder", [QTI3 / "items", QTI21 / "ims-examples"], ids=["qti3", "qti21"])
def test_unsupported_interactions_are_reported_by_file_line_and_name(folder: Path) -> None:
    result = read_qti(folder)
    assert len(result.items) == 8
    errors = {issue.path: issue for issue in result.errors}
    assert set(errors) == set(UNSUPPORTED)
    for path, name in UNSUPPORTED.items():
        issue = errors[path]
        assert issue.line is not None and issue.line > 1
        assert str(issue).startswith(f"{path}:{issue.line}: error: {name}")
        assert "is not supported" in issue.message
    warned = {issue.path for issue in result.warnings}
    assert "order_partial_scoring.xml" in warned  # custom response processing
    assert "choice.xml" not in warned and "order.xml" not in warned  # templates, known by URL


# ---------------------------------------------------------------------------------------- 2.1 <-> 3.0
IDENTICAL_PAIRS = ("choicetruefalse-176040516", "choicemultiple-871212949", "order-913967682",
                   "textentry-883368511", "textentrynumeric-770468849")


def _shape(item: Item) -> tuple[Any, ...]:
    """What must agree between the two versions, with match ids replaced by the targets' texts.

    (The 2.1 Saxony originals use other match ids, and their pictures are not in the fixtures.)
    """
    names = {c.id: c.text for c in item.targets}
    key: Any = item.key
    if item.type == "matching" and isinstance(key, tuple):
        key = sorted(names[pair[1]] for pair in key if isinstance(pair, tuple))
    return (item.type, item.scoring, key, item.tolerance,
            item.accepted, item.case_sensitive, len(item.options), len(item.sources), len(item.targets))


def test_saxony_21_and_30_import_to_equal_items() -> None:
    v3 = read_qti(QTI3 / "interactionMixSaxonyV3")
    v21 = read_qti(QTI21 / "interaction_mix_sachsen")
    items3, items21 = by_id(v3), by_id(v21)
    assert sorted(items3) == sorted(items21)
    assert len(items3) == 9
    for ident in IDENTICAL_PAIRS:
        assert items3[ident] == items21[ident], ident
    for ident, item in items3.items():
        assert _shape(item) == _shape(items21[ident]), ident
        assert item.stem == items21[ident].stem, ident
        assert_scores(item)
        assert_scores(items21[ident])
    # The 2.1 originals differ upstream: other match ids, a missing image folder, one typo.
    assert {i.path for i in v3.errors} == {i.path for i in v21.errors} == {
        "Hotspot_278940407.xml", "Hottext_801974120.xml", "TextEntrynumeric_2040297025.xml",
        "TextEntrysubset_806481421.xml"}


def test_saxony_details() -> None:
    items = by_id(read_qti(QTI3 / "interactionMixSaxonyV3"))
    numeric = items["textentrynumeric-770468849"]
    assert (numeric.type, numeric.key) == ("numeric", 4.136)
    assert numeric.tolerance == pytest.approx(4.136 * 0.05)  # relative 5 %
    assert score(numeric, "4,3") == 1 and score(numeric, "4.4") == 0
    single = items["choicesingle-853928446"]
    assert single.options[0].text == "![](../images/media/c2f541343b9b4bfdba9fc90c7a18403e.jpg)"
    assert single.feedback.correct == "Die sächsischen Landesfarben sind weiß-grün."
    assert dict(single.feedback.options)["choice_1542121788"].endswith("Thüringen.")
    multiple = items["choicemultiple-871212949"]
    assert multiple.scoring == "partial" and multiple.max_score == 3
    assert items["textentry-883368511"].accepted == ("Fichtelberg",)
    assert not items["textentry-883368511"].case_sensitive
    assert "**nicht**" in items["choicemultiple-2014410822"].stem


# ---------------------------------------------------------------------------------------- packages
@pytest.mark.parametrize("source", [QTI3 / "simple-package", QTI3 / "simple-package" / "simple.zip"],
                         ids=["folder", "zip"])
def test_simple_package(source: Path) -> None:
    result = read_qti(source)
    assert not result.issues, messages(result)
    (item,) = result.items
    assert item.type == "single_choice"
    assert [a.path for a in result.assets] == ["images/images/sign.png"]
    assert result.assets[0].data == (QTI3 / "simple-package" / "images" / "sign.png").read_bytes()


@pytest.mark.parametrize("source", [QTI3 / "interactionMixSaxonyV3",
                                    QTI3 / "interactionMixSaxonyV3" / "interactionMixSaxonyV3.zip"],
                         ids=["folder", "zip"])
def test_saxony_package_through_its_manifest(source: Path) -> None:
    result = read_qti(source)
    assert result.title == "Interaction Mix (Sachsen)"
    assert len(result.items) == 9
    assert len(result.assets) == 9  # every picture of the imported items, none of the hotspot's
    errors = sorted((issue.path, issue.message.split(" is ")[0].split(" (")[0]) for issue in result.errors)
    assert errors == [("Hotspot_278940407.xml", "hotspotInteraction"),
                      ("Hottext_801974120.xml", "hottextInteraction"),
                      ("TextEntrynumeric_2040297025.xml", "the item has 2 interactions"),
                      ("TextEntrysubset_806481421.xml", "the item has 3 interactions")]
    types = sorted(item.type for item in result.items)
    assert types == ["matching", "matching", "multiple_choice", "multiple_choice", "numeric",
                     "ordering", "short_text", "single_choice", "single_choice"]


def test_qti21_entry_level_package() -> None:
    result = read_qti(QTI21 / "entry-test-VE_TP_06")
    assert result.title == "QTI 2.1 Entry Level Compliance Test: VE_TP_06"
    assert not result.errors, messages(result)
    items = by_id(result)
    assert [i.type for i in result.items] == ["single_choice", "single_choice", "multiple_choice",
                                              "short_text", "reflection"]
    assert items["ve-ip-01"].key == "true"
    assert items["ve-ip-02"].options[0].text == r"$\frac{1}{6}$"  # MathML as TeX
    assert items["ve-ip-03"].scoring == "partial" and items["ve-ip-03"].key == ("option1", "option2",
                                                                                 "option4")
    assert "<table>" in items["ve-ip-03"].stem and "<td>Red" in render_markdown(items["ve-ip-03"].stem)
    assert set(items["ve-ip-04"].accepted) == {"Lake Michigan", "lake michigan", "lake Michigan",
                                               "Lake michigan"}
    # The SVG declares entities in its DTD: refused, with its alt text shown instead.
    svg = [i for i in result.warnings if "apip_VE_IP_02.svg" in i.message]
    assert svg and "DTD" in svg[0].message
    assert "Figure showing Rectangle ABCD" in items["ve-ip-02"].stem
    assert len(result.assets) == 3
    for item in result.items:
        assert_scores(item)


def test_a_manifest_naming_missing_files_is_reported() -> None:
    manifest = (QTI3 / "items" / "imsmanifest.full-package.xml").read_bytes()
    result = read_qti(zip_of({"imsmanifest.xml": manifest,
                              "choice.xml": (QTI3 / "items" / "choice.xml").read_bytes()}))
    missing = [i for i in result.errors if i.path == "imsmanifest.xml" and "is missing" in i.message]
    assert len(missing) > 10
    assert [item.id for item in result.items] == ["choice"]
    assert any("sign.png" in w.message and "missing" in w.message for w in result.warnings)
    assert "NEVER LEAVE LUGGAGE UNATTENDED" in result.items[0].stem

@pytest.mark.parametrize("source", [
    QTI3 / "interactionMixSaxonyV3" / "interactionMixSaxonyV3.zip", QTI21 / "entry-test-VE_TP_06",
    QTI3 / "items"], ids=["saxony-zip", "ve-tp-06", "qti3-items"])
@pytest.mark.parametrize("suffix", ["", ".zip"], ids=["folder", "zip"])
def test_pack_from_qti_round_trips_and_validates(tmp_path: Path, source: Path, suffix: str) -> None:
    content, issues = pack_from_qti(source, pack_id="qti-demo", title="QTI demo",
                                    competency_id="qti-skills", competency_title="QTI skills",
                                    level="easy")
    assert content.competencies[0].id == "qti-skills"
    assert content.modules[0].item_files == ("items/qti-skills-items.yaml",)
    assert "were imported from the QTI source" in content.modules[0].lessons[0].markdown
    assert all(item.level == "easy" and item.irt is None for item in content.items)
    out = export_pack(content, tmp_path / f"out{suffix}")
    checked = check_pack(out)
    assert checked.errors == ()
    assert load_pack(out) == content
    assert checked.pack is not None and checked.pack.content_hash == content.content_hash
    assert {i.path for i in issues if i.is_error} <= {i.path for i in read_qti(source).errors}

def test_cli_from_qti(tmp_path: Path) -> None:
    code, out, err = run("from-qti", str(QTI3 / "simple-package" / "simple.zip"), str(tmp_path / "a"),
                         "--id", "simple", "--title", "Simple")
    assert code == 0, err
    assert "1 items" in err and load_pack(tmp_path / "a").id == "simple"
    code, out, err = run("from-qti", str(QTI3 / "interactionMixSaxonyV3"), str(tmp_path / "b.zip"),
                         "--id", "saxony", "--title", "Sachsen", "--competency", "sachsen",
                         "--language", "de")
    assert code == 1
    assert "Hotspot_278940407.xml:27: error: hotspotInteraction (<qti-hotspot-interaction>) is not " \
           "supported" in out
    assert load_pack(tmp_path / "b.zip").language == "de" and len(load_pack(tmp_path / "b.zip").items) == 9
    code, _, err = run("from-qti", str(tmp_path / "missing"), str(tmp_path / "c"), "--id", "x",
                       "--title", "X")
    assert code == 2 and "no such file" in err
    code, _, err = run("from-qti", str(QTI3 / "simple-package"), str(tmp_path / "a"), "--id", "simple",
                       "--title", "Simple")
    assert code == 2 and "cannot be written" in err


def test_a_zip_of_the_package_folder_is_read_through_its_manifest() -> None:
    folder = QTI3 / "simple-package"
    data = zip_of({f"simple/{p.relative_to(folder).as_posix()}": p.read_bytes()
                   for p in folder.rglob("*") if p.is_file() and p.suffix != ".zip"})
    result = read_qti(data)
    assert not result.issues, messages(result)
    assert [item.id for item in result.items] == ["choice"]
    assert [a.path for a in result.assets] == ["images/simple/images/sign.png"]


def test_feedback_shown_when_an_option_is_not_chosen_is_left_out_with_a_warning() -> None:
    result = read_qti(QTI3 / "interactionMixSaxonyV3" / "Choicemultiple_871212949.xml")
    left_out = [w for w in result.warnings if " is left out: " in w.message]
    assert len(left_out) == 5 and all(w.line for w in left_out)
    (item,) = result.items
    assert item.feedback.correct and item.feedback.incorrect
