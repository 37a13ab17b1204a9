"""QTI 3.0 / 2.2 / 2.1 import (content.qti) on QTI files of the project's own, in ``tests/content/qti``.

Those files were written for these tests (basic statistics; see the README there) and cover every
interaction and feature the importer supports, and every way it refuses or warns: a plain clone runs all
of this. The official 1EdTech/IMS samples in ``../shared/fixtures/qti`` are an extra, tested in
``test_qti_samples.py`` when that folder is there.
"""

from __future__ import annotations

import io
import os
import shutil
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.cli_pack import pack as pack_cli
from content import (
    Feedback,
    Item,
    PackInvalid,
    PackUnreadable,
    QtiImport,
    check_pack,
    export_pack,
    load_pack,
    pack_from_qti,
    read_qti,
    render_markdown,
    score,
)
from content.archive import Limits
from content.qti import xmlsafe

from .packs import PNG

OWN = Path(__file__).resolve().parent / "qti"
"""The project's own QTI files: items by version, two packages, items that warn, files that are refused."""
V3, V2P1, V2P2 = OWN / "v3", OWN / "v2p1", OWN / "v2p2"
PACKAGE, PACKAGE21 = OWN / "package", OWN / "package-v2p1"
WARNINGS, REFUSED = OWN / "warnings", OWN / "refused"

QTI = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "qti"
"""The official samples (an optional extra, see test_qti_samples.py)."""
QTI3 = QTI / "qti3"
QTI21 = QTI / "qti21"

needs_fixtures = pytest.mark.skipif(
    not QTI.is_dir(),
    reason=f"optional extra: the official QTI samples are not at {QTI} (a plain clone has no ../shared); "
           "the project's own QTI files in tests/content/qti are tested anyway")


# ---------------------------------------------------------------------------------------- helpers
def by_id(result: QtiImport) -> dict[str, Item]:
    return {item.id: item for item in result.items}


def wrong_answer(item: Item) -> Any:
    """An answer that is not fully right, of the right shape."""
    if item.type == "single_choice":
        return next(o.id for o in item.options if o.id != item.key)
    if item.type == "multiple_choice":
        assert isinstance(item.key, tuple)
        return [o.id for o in item.options if o.id not in item.key][:1]
    if item.type == "ordering":
        assert isinstance(item.key, tuple)
        return list(reversed(item.key))
    if item.type == "matching":
        targets = [t.id for t in item.targets]
        assert isinstance(item.key, tuple)
        return {s: targets[(targets.index(t) + 1) % len(targets)] for s, t in item.key}
    if item.type == "numeric":
        assert isinstance(item.key, float)
        return str(item.key + 1000)
    if item.type == "short_text":
        return "certainly not this"
    raise AssertionError(item.type)


def right_answer(item: Item) -> Any:
    if item.type == "matching":
        assert isinstance(item.key, tuple)
        return dict(item.key)
    if item.type in ("multiple_choice", "ordering"):
        assert isinstance(item.key, tuple)
        return list(item.key)
    if item.type == "short_text":
        return item.accepted[0]
    return item.key


def assert_scores(item: Item) -> None:
    if item.type == "reflection":
        assert item.max_score == 0
        return
    assert score(item, right_answer(item)) == item.max_score >= 1
    assert score(item, wrong_answer(item)) < item.max_score


def qti3_item(body: str, *, identifier: str = "item-1", declarations: str = "",
              processing: str = '<qti-response-processing template="https://purl.imsglobal.org/spec/'
                                'qti/v3p0/rptemplates/match_correct.xml"/>', extra: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" '
            f'identifier="{identifier}" title="T" adaptive="false" time-dependent="false">\n'
            f'{declarations}\n<qti-item-body>\n{body}\n</qti-item-body>\n{processing}\n{extra}\n'
            f'</qti-assessment-item>\n')


CHOICE_DECL = ('<qti-response-declaration identifier="RESPONSE" cardinality="single" '
               'base-type="identifier"><qti-correct-response><qti-value>B</qti-value>'
               '</qti-correct-response></qti-response-declaration>')


def choice_body(stem: str = "<p>Pick one.</p>") -> str:
    return (f'{stem}<qti-choice-interaction response-identifier="RESPONSE" max-choices="1">'
            '<qti-simple-choice identifier="A">a</qti-simple-choice>'
            '<qti-simple-choice identifier="B">b</qti-simple-choice></qti-choice-interaction>')


def zip_of(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def messages(result: QtiImport) -> list[str]:
    return [str(issue) for issue in result.issues]


def line_in(path: Path, needle: str) -> int:
    """The 1-based line of the first ``needle`` in the file (so the tests don't hard-code lines)."""
    data = path.read_bytes()
    assert needle.encode() in data, f"{needle!r} not in {path.name}"
    return data[: data.index(needle.encode())].count(b"\n") + 1


def folder_files(folder: Path, prefix: str = "") -> dict[str, bytes | str]:
    """Every file under ``folder`` by its ``/`` path (with ``prefix``), to zip at test time."""
    return {prefix + p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def warnings_of(result: QtiImport) -> list[tuple[str, int | None, str]]:
    return [(w.path, w.line, w.message) for w in result.warnings]


# ---------------------------------------------------------------------------------------- our items
OWN_ITEMS = {
    "v3": [("choice-multiple-weighted.xml", "stats-weighted-03"), ("choice-multiple.xml", "stats-spread-02"),
           ("choice-option-feedback.xml", "stats-mode-04"), ("choice-single.xml", "stats-mean-01"),
           ("extended-text.xml", "stats-explain-12"), ("inline-choice.xml", "stats-median-05"),
           ("markup.xml", "stats-markup-13"), ("match.xml", "stats-match-11"),
           ("numeric-absolute.xml", "stats-mean-decimal-07"), ("numeric-integer.xml", "stats-count-09"),
           ("numeric-relative.xml", "stats-sd-08"), ("order.xml", "stats-test-steps-10"),
           ("text-entry.xml", "stats-variance-06")],
    "v2p1": [("choice-multiple.xml", "stats-spread-02"), ("choice-option-feedback.xml", "stats-mode-04"),
             ("choice-single.xml", "stats-mean-01"), ("extended-text.xml", "stats-explain-12"),
             ("inline-choice.xml", "stats-median-05"), ("markup.xml", "stats-markup-13"),
             ("match.xml", "stats-match-11"), ("numeric-absolute.xml", "stats-mean-decimal-07"),
             ("option-feedback-inline.xml", "stats-outlier-14"), ("order.xml", "stats-test-steps-10"),
             ("rqti-doctype.xml", "id-task-4711"), ("text-entry.xml", "stats-variance-06")],
    "v2p2": [("choice-multiple-all-or-nothing.xml", "stats-categorical-22"),
             ("choice-true-false.xml", "stats-skew-21"), ("match-all-or-nothing.xml", "stats-charts-24"),
             ("text-entry-case-insensitive.xml", "stats-boxplot-23")],
}
OWN_WARNINGS = {
    # version: [(file, where, message)]
    "v3": [("choice-multiple-weighted.xml", "<qti-choice-interaction",
            "the mapping's weights are approximated: partial credit gives one point per right option "
            "chosen minus one per wrong one, at least 0"),
           ("markup.xml", "<qti-feedback-block",
            "feedbackBlock (<qti-feedback-block>) 'HINT' is left out: it shows when FEEDBACK is set to "
            "'HINT', which Thetapath can't map; it shows feedback only for a right or a wrong answer or a "
            "chosen option"),
           ("numeric-relative.xml", "<qti-text-entry-interaction",
            "the tolerance '5 10' differs below and above the key; the smaller (5 %) is used on both sides"),
           ("text-entry.xml", "<qti-text-entry-interaction",
            "the answer 'var' scores 0.5 of 1 in QTI; Thetapath scores short text 0/1, so it is not "
            "accepted")],
    "v2p1": [("markup.xml", "<feedbackBlock",
              "feedbackBlock 'HINT' is left out: it shows when FEEDBACK is set to 'HINT', which Thetapath "
              "can't map; it shows feedback only for a right or a wrong answer or a chosen option"),
             ("text-entry.xml", "<textEntryInteraction",
              "the answer 'var' scores 0.5 of 1 in QTI; Thetapath scores short text 0/1, so it is not "
              "accepted")],
    "v2p2": [],
}


@pytest.mark.parametrize("version", sorted(OWN_ITEMS))
def test_our_items_import_with_exactly_the_expected_warnings(version: str) -> None:
    result = read_qti(OWN / version)
    assert not result.errors, messages(result)
    assert [(path, item_id) for path, _, item_id in result.identifiers] == OWN_ITEMS[version]
    assert [item.id for item in result.items] == [item_id for _, item_id in OWN_ITEMS[version]]
    assert warnings_of(result) == [(path, line_in(OWN / version / path, where), message)
                                   for path, where, message in OWN_WARNINGS[version]]
    for item in result.items:
        assert (item.irt, item.level, item.competency, item.file) == (None, "medium", "imported",
                                                                       "items/qti.yaml")
        assert item.stem.strip()
        assert_scores(item)


def test_the_twins_in_qti_3_and_21_import_to_equal_items() -> None:
    v3, v21 = by_id(read_qti(V3)), by_id(read_qti(V2P1))
    twins = sorted(set(v3) & set(v21))
    assert len(twins) == 10
    for ident in twins:
        other = v21[ident]
        if ident == "stats-variance-06":  # QTI 2.1 map entries default to case-sensitive, QTI 3 ones not
            assert other.case_sensitive and not v3[ident].case_sensitive
            other = replace(other, case_sensitive=False)
        if ident == "stats-markup-13":  # QTI 2.1 has no <ol start>
            other = replace(other, stem=other.stem.replace("1. Subtract", "3. Subtract")
                            .replace("2. Square", "4. Square"))
        assert v3[ident] == other, ident


@pytest.mark.parametrize("folder", [V3, V2P1], ids=["v3", "v2p1"])
def test_single_choice_with_an_image_a_rubric_and_feedback(folder: Path) -> None:
    result = read_qti(folder)
    item = by_id(result)["stats-mean-01"]
    assert (item.type, item.key, item.shuffle) == ("single_choice", "M5", True)
    assert [(o.id, o.text) for o in item.options] == [("M4", "4"), ("M5", "5"), ("M6", "6"), ("M20", "20")]
    # the scorers' rubricBlock is left out; the prompt stays where it was
    assert item.stem == ("Four pupils counted the books they read over the holidays.\n\n"
                         "![Bar chart of books read: 2, 4, 6 and 8](../images/images/books.svg)\n\n"
                         "What is the *mean* number of books read?")
    assert item.feedback == Feedback("Yes: (2 + 4 + 6 + 8) / 4 = 5.",
                                     "Add the four counts, then divide by **how many** pupils there are.")
    [asset] = [a for a in result.assets if a.path == "images/images/books.svg"]
    assert asset.media_type == "image/svg+xml"
    assert asset.data == (folder / "images" / "books.svg").read_bytes()
    assert score(item, "M5") == 1 and score(item, "M20") == 0


@pytest.mark.parametrize("folder", [V3, V2P1], ids=["v3", "v2p1"])
def test_multiple_choice_with_partial_credit_and_a_fixed_choice(folder: Path) -> None:
    item = by_id(read_qti(folder))["stats-spread-02"]
    assert (item.type, item.scoring, item.key) == ("multiple_choice", "partial", ("RANGE", "IQR", "SD"))
    assert [o.text for o in item.options] == ["The range", "The interquartile range",
                                              "The standard deviation", "The mean", "The mode",
                                              "None of these"]
    assert item.shuffle is False  # shuffle="true", but "None of these" is fixed: the item is pinned
    assert item.stem == "Which of these describe how **spread out** a data set is?"
    assert item.max_score == 3
    assert score(item, ["RANGE", "IQR", "SD"]) == 3
    assert score(item, ["RANGE", "IQR"]) == 2
    assert score(item, ["RANGE", "IQR", "MEAN"]) == 1  # +1 +1 -1, as the QTI mapping scores it
    assert score(item, ["MEAN", "NONE"]) == 0


def test_unequal_mapping_weights_are_approximated_with_a_warning() -> None:
    result = read_qti(V3 / "choice-multiple-weighted.xml")
    [item] = result.items
    assert (item.scoring, item.key, item.shuffle) == ("partial", ("MEDIAN", "IQR"), False)
    assert score(item, ["MEDIAN"]) == 1  # QTI gives 2 for it alone; Thetapath one point per option
    [warning] = result.warnings
    assert warning.line == line_in(V3 / "choice-multiple-weighted.xml", "<qti-choice-interaction")
    assert warning.hint == "check the item's scoring"


@pytest.mark.parametrize("folder", [V3, V2P1], ids=["v3", "v2p1"])
def test_feedback_for_the_right_answer_and_each_wrong_option(folder: Path) -> None:
    item = by_id(read_qti(folder))["stats-mode-04"]
    assert (item.key, item.shuffle) == ("B", False)
    assert item.stem == "The data are 3, 7, 7, 9 and 12.\n\nWhat is the mode?"
    assert [o.text for o in item.options] == ["3", "7", r"7\.6", "9"]
    assert render_markdown(item.options[2].text) == "<p>7.6</p>\n"
    assert item.feedback == Feedback(
        "7 appears twice, more often than any other value.", None,
        (("A", "3 is the smallest value, not the most frequent."), ("C", r"7\.6 is the mean."),
         ("D", "9 comes once; look for the value that repeats.")))


def test_feedback_inline_per_option_when_the_response_is_copied_to_the_outcome() -> None:
    # The common QTI 2.1 pattern: FEEDBACK = RESPONSE, and each choice holds a feedbackInline with the
    # choice's identifier. The feedback leaves the option's text and becomes the option's feedback.
    item = by_id(read_qti(V2P1))["stats-outlier-14"]
    assert [(o.id, o.text) for o in item.options] == [("X11", r"1\.1"), ("X40", "40"), ("X14", r"1\.4")]
    assert item.feedback == Feedback(
        "Check a suspected outlier before you remove it.", None,
        (("X11", "It is the smallest, but close to the others."),
         ("X40", "Right: it is far from every other value."),
         ("X14", "It is the largest of the typical values.")))
    assert "outlier before" not in item.stem


@pytest.mark.parametrize("folder", [V3, V2P1], ids=["v3", "v2p1"])
def test_inline_choice_becomes_a_gap_in_the_stem(folder: Path) -> None:
    item = by_id(read_qti(folder))["stats-median-05"]
    assert (item.type, item.key, item.shuffle) == ("single_choice", "MEDIAN", False)
    assert [(o.id, o.text) for o in item.options] == [("MEAN", "mean"), ("MEDIAN", "median"),
                                                      ("MODE", "mode")]
    assert render_markdown(item.stem) == ("<p>Once the values are sorted, the ____ is the value in the "
                                          "middle.</p>\n")


@pytest.mark.parametrize(("folder", "case_sensitive"), [(V3, False), (V2P1, True)], ids=["v3", "v2p1"])
def test_text_entry_accepts_full_credit_answers_with_the_versions_case_rule(folder: Path,
                                                                          case_sensitive: bool) -> None:
    item = by_id(read_qti(folder))["stats-variance-06"]
    assert (item.type, item.accepted, item.case_sensitive) == ("short_text", ("variance", "the variance"),
                                                               case_sensitive)
    assert render_markdown(item.stem) == "<p>The square of the standard deviation is called the ____.</p>\n"
    assert score(item, "variance") == score(item, "the  variance ") == 1
    assert score(item, "Variance") == (0 if case_sensitive else 1)
    assert score(item, "var") == 0  # half credit in QTI: dropped, with a warning


@pytest.mark.parametrize("folder", [V3, V2P1], ids=["v3", "v2p1"])
def test_numeric_entry_with_an_absolute_tolerance(folder: Path) -> None:
    item = by_id(read_qti(folder))["stats-mean-decimal-07"]
    assert (item.type, item.key, item.tolerance) == ("numeric", 2.3, 0.05)
    assert render_markdown(item.stem) == ("<p>Give the mean of 1.2, 2.6 and 3.1 to one decimal place: "
                                          "____</p>\n")
    assert score(item, "2.3") == score(item, "2,34") == 1
    assert score(item, "2.4") == 0


def test_numeric_entry_with_a_relative_tolerance_and_an_integer_one() -> None:
    items = by_id(read_qti(V3))
    relative = items["stats-sd-08"]
    assert (relative.key, relative.tolerance) == (4.0, pytest.approx(0.2))  # the smaller 5 % of 4
    assert score(relative, "4.19") == 1 and score(relative, "4.3") == 0
    integer = items["stats-count-09"]
    assert (integer.type, integer.key, integer.tolerance) == ("numeric", 6.0, 0.0)
    assert score(integer, "6") == 1 and score(integer, "6.5") == 0


@pytest.mark.parametrize("folder", [V3, V2P1], ids=["v3", "v2p1"])
def test_order_interaction(folder: Path) -> None:
    item = by_id(read_qti(folder))["stats-test-steps-10"]
    assert (item.type, item.scoring, item.shuffle) == ("ordering", "all_or_nothing", True)
    assert item.key == ("HYP", "LEVEL", "STAT", "DECIDE")
    assert [o.text for o in item.options] == ["State the null and alternative hypotheses",
                                              "Choose the significance level",
                                              "Compute the test statistic from the sample",
                                              "Compare the p-value with the level and conclude"]
    assert item.stem == "Put the steps of a hypothesis test in order, first step first."
    assert score(item, ["HYP", "LEVEL", "STAT", "DECIDE"]) == 1
    assert score(item, ["LEVEL", "HYP", "STAT", "DECIDE"]) == 0


@pytest.mark.parametrize("folder", [V3, V2P1], ids=["v3", "v2p1"])
def test_match_interaction_with_a_distractor_and_partial_credit(folder: Path) -> None:
    item = by_id(read_qti(folder))["stats-match-11"]
    assert (item.type, item.scoring, item.shuffle) == ("matching", "partial", True)
    assert [(s.id, s.text) for s in item.sources] == [("MEAN", "Mean"), ("MEDIAN", "Median"),
                                                      ("MODE", "Mode")]
    assert [t.id for t in item.targets] == ["OFTEN", "SUM", "WIDTH", "MIDDLE"]
    assert item.targets[2].text == "The largest minus the smallest value"
    assert item.key == (("MEAN", "SUM"), ("MEDIAN", "MIDDLE"), ("MODE", "OFTEN"))
    assert item.max_score == 3
    assert score(item, {"MEAN": "SUM", "MEDIAN": "MIDDLE", "MODE": "OFTEN"}) == 3
    assert score(item, {"MEAN": "SUM", "MEDIAN": "WIDTH", "MODE": "OFTEN"}) == 2


@pytest.mark.parametrize("folder", [V3, V2P1], ids=["v3", "v2p1"])
def test_extended_text_is_a_reflection_with_table_maths_and_code(folder: Path) -> None:
    item = by_id(read_qti(folder))["stats-explain-12"]
    assert (item.type, item.max_score) == ("reflection", 0)
    assert item.stem == (
        "Five flats in one street rent for these amounts a month:\n\n"
        "<table><caption>Monthly rents</caption> <thead><tr><th>Flat</th><th>Rent (EUR)</th></tr> </thead> "
        "<tbody><tr><td>A</td><td>610</td></tr> <tr><td>B</td><td>640</td></tr> "
        '<tr><td>C</td><td colspan="1">655</td></tr> <tr><td>D</td><td>700</td></tr> '
        "<tr><td>E</td><td><b>4200</b></td></tr> </tbody> </table>\n\n"
        "The mean is\n\n"
        r"$$\frac{610 + 640 + 655 + 700 + 4200}{5} = 1361$$" "\n\n"
        "and in R:\n\n"
        "```\nrent <- c(610, 640, 655, 700, 4200)\nmedian(rent)  # 655\n```\n\n"
        "Explain in your own words why the median describes a typical rent better than the mean does here.")
    html = render_markdown(item.stem)
    assert "<caption>Monthly rents</caption>" in html and "<td><b>4200</b></td>" in html
    assert '<div class="math block">' in html
    assert "<pre><code>rent &lt;- c(610, 640, 655, 700, 4200)\nmedian(rent)  # 655\n</code></pre>" in html


MARKUP_STEM = (
    "## Sample variance\n\n"
    "The *sample* variance ${s}^{2}$ of $n$ values divides a **sum of squares** by a number.\\\n"
    "R computes it with ` var(x) `; see [Variance](<https://en.wikipedia.org/wiki/Variance>). "
    "Units: cm<sup>2</sup>, and x<sub>i</sub> is the i-th value.\n\n"
    "3. Subtract the mean from each value.\n"
    r"4. Square and add: $\sum_{i = 1}^{n} {( {x}_{i} − \bar{x} )}^{2}$" "\n\n"
    r"- Standard deviation: $\sqrt{{s}^{2}}$" "\n"
    r"- Cube root, for no reason: $\sqrt[3]{27}$" "\n\n"
    "> Dividing by n - 1 instead of n corrects the bias.\n\n"
    "**Bias**\n\n"
    "A systematic error of an estimator.\n\n"
    "![Dot plot of ten values](../images/images/spread.png)\n\n"
    r"With TeX given: $\sigma$" "\n\n"
    "By which number is the sum of squares divided?")


def test_xhtml_and_mathml_become_markdown_and_tex() -> None:
    result = read_qti(V3 / "markup.xml")
    [item] = result.items
    assert item.stem == MARKUP_STEM  # the feedback block in the body is not part of the question
    assert [o.text for o in item.options] == ["$n$", "$n − 1$", r"$\frac{n}{2}$"]
    assert [(a.path, a.media_type, a.data) for a in result.assets] == [
        ("images/images/spread.png", "image/png", PNG)]  # given as <object type="image/png">
    html = render_markdown(item.stem)
    for fragment in ("<h2>Sample variance</h2>", "<em>sample</em>", "<strong>sum of squares</strong>",
                     "number.<br>", "<code>var(x)</code>", '<a href="https://en.wikipedia.org/wiki/Variance"',
                     "cm<sup>2</sup>", "x<sub>i</sub>", '<ol start="3">', "<blockquote>",
                     r'<span class="math inline">\sum_{i = 1}^{n}',
                     r'<span class="math inline">\sigma</span>'):
        assert fragment in html, fragment


def test_a_bare_doctype_as_rqti_writes_it_is_accepted() -> None:
    # rqti (R) writes <!DOCTYPE assessmentItem> with no DTD and no declarations: nothing to refuse.
    path = V2P1 / "rqti-doctype.xml"
    assert path.read_text().splitlines()[1] == "<!DOCTYPE assessmentItem>"
    result = read_qti(path)
    assert not result.issues, messages(result)
    [item] = result.items
    assert (item.id, item.type, item.key, item.shuffle) == ("id-task-4711", "single_choice", "ChoiceB", True)
    assert item.stem == "Which R function returns the middle value of a numeric vector?"
    assert [o.text for o in item.options] == ["mean()", "median()", "mode()"]
    # Anything more in the DOCTYPE is still refused, at its line.
    for doctype in ('<!DOCTYPE assessmentItem SYSTEM "qti.dtd">',
                    '<!DOCTYPE assessmentItem PUBLIC "-//QTI//EN" "qti.dtd">',
                    '<!DOCTYPE assessmentItem [<!ENTITY who "R">]>'):
        data = path.read_text().replace("<!DOCTYPE assessmentItem>", doctype).encode()
        [issue] = read_qti(data).issues
        assert (issue.path, issue.line, issue.severity) == ("item.xml", 2, "error")
        assert issue.message.startswith("the file has a DOCTYPE that names a DTD or declares entities")


def test_qti22_items() -> None:
    items = by_id(read_qti(V2P2))
    true_false = items["stats-skew-21"]
    assert (true_false.key, true_false.shuffle) == ("TRUE", False)
    assert true_false.feedback == Feedback("The long right tail pulls the mean up.",
                                           "Think about where a few very large values pull the mean.")
    categorical = items["stats-categorical-22"]
    assert (categorical.type, categorical.scoring, categorical.key) == ("multiple_choice", "all_or_nothing",
                                                                        ("EYE", "BLOOD"))
    assert score(categorical, ["EYE", "BLOOD"]) == 1 and score(categorical, ["EYE"]) == 0
    boxplot = items["stats-boxplot-23"]
    # case-insensitive entries: 'Box Plot' is 'box plot'; runs of spaces count as one
    assert (boxplot.accepted, boxplot.case_sensitive) == (("box plot", "boxplot", "box-and-whisker plot"),
                                                          False)
    assert score(boxplot, "BOX PLOT") == 1
    charts = items["stats-charts-24"]  # match_correct named by templateLocation; pairs written target-first
    assert (charts.scoring, charts.shuffle, charts.key) == ("all_or_nothing", False,
                                                            (("CAT", "BAR"), ("NUM", "HIST")))
    assert score(charts, {"CAT": "BAR", "NUM": "HIST"}) == 1
    assert score(charts, {"CAT": "BAR", "NUM": "BAR"}) == 0


def test_item_file_and_level_place_the_items() -> None:
    result = read_qti(V3 / "choice-single.xml", competency="averages", item_file="items/deep/stats.yaml",
                      level="hard")
    [item] = result.items
    assert (item.competency, item.file, item.level) == ("averages", "items/deep/stats.yaml", "hard")
    assert "![Bar chart of books read: 2, 4, 6 and 8](../../images/images/books.svg)" in item.stem


# ---------------------------------------------------------------------------------------- packages
BOXPLOT_DOCTYPE = (b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
                   b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">')


@pytest.mark.parametrize("kind", ["folder", "zip", "zip-with-top-folder"])
def test_a_qti3_package_is_read_through_its_manifest(kind: str) -> None:
    prefix = "describing-data/" if kind == "zip-with-top-folder" else ""
    source: Path | bytes = PACKAGE if kind == "folder" else zip_of(folder_files(PACKAGE, prefix))
    result = read_qti(source)
    assert not result.issues, messages(result)
    assert result.title == "Describing data"
    # manifest order (not the files' names), items only: the test and the images are other resources
    assert [(path, item_id) for path, _, item_id in result.identifiers] == [
        (f"{prefix}items/quartiles.xml", "pkg-quartiles"), (f"{prefix}items/histogram.xml", "pkg-histogram")]
    quartiles, histogram = result.items
    assert (quartiles.type, quartiles.key, quartiles.tolerance) == ("numeric", 12.0, 0.0)
    assert quartiles.stem == (
        "![Box plot: minimum 4, lower quartile 9, median 12, upper quartile 15, maximum 20]"
        f"(../images/{prefix}images/boxplot.svg)\n\nWhat is the median of the data? \\_\\_\\_\\_")
    assert histogram.stem.startswith("![Histogram of waiting times with a long tail to the right]"
                                     f"(../images/{prefix}images/histogram.png)")
    svg = (PACKAGE / "images" / "boxplot.svg").read_bytes()
    assert BOXPLOT_DOCTYPE in svg  # a plain public DOCTYPE, which the pack format doesn't take: dropped
    assert [(a.path, a.media_type, a.data) for a in result.assets] == [
        (f"images/{prefix}images/boxplot.svg", "image/svg+xml", svg.replace(BOXPLOT_DOCTYPE, b"", 1)),
        (f"images/{prefix}images/histogram.png", "image/png", PNG)]


def test_a_qti21_package_with_a_file_only_resource_and_a_gif() -> None:
    result = read_qti(PACKAGE21)
    assert not result.issues, messages(result)
    assert result.title == "Charts and fences"
    assert [item.id for item in result.items] == ["pkg-upper-fence", "pkg-chart-name"]
    fence, chart = result.items
    assert (fence.type, fence.key) == ("numeric", 35.0)
    assert "1.5 × IQR" in fence.stem and fence.stem.startswith("![A fence](../images/media/fence.gif)")
    assert [(a.path, a.media_type) for a in result.assets] == [("images/media/fence.gif", "image/gif")]
    assert (chart.type, chart.accepted, chart.case_sensitive) == ("short_text", ("histogram",), True)


def test_hrefs_and_image_sources_are_decoded_as_urls() -> None:
    files = folder_files(PACKAGE)
    histogram = files.pop("items/histogram.xml")
    files["images/waiting times.png"] = files.pop("images/histogram.png")
    assert isinstance(histogram, bytes)
    files["items/waiting times.xml"] = histogram.replace(b"../images/histogram.png",
                                                         b"../images/waiting%20times.png")
    manifest = files["imsmanifest.xml"]
    assert isinstance(manifest, bytes)
    files["imsmanifest.xml"] = manifest.replace(b'"items/histogram.xml"', b'"items/waiting%20times.xml"')
    result = read_qti(zip_of(files))
    assert not result.issues, messages(result)
    assert [path for path, _, _ in result.identifiers] == ["items/quartiles.xml", "items/waiting times.xml"]
    assert "(<../images/images/waiting times.png>)" in result.items[1].stem
    assert [a.path for a in result.assets] == ["images/images/boxplot.svg", "images/images/waiting times.png"]


def edited_package(path: str, old: str, new: str) -> dict[str, bytes | str]:
    files = folder_files(PACKAGE)
    text = files[path]
    assert isinstance(text, bytes) and old.encode() in text
    files[path] = text.replace(old.encode(), new.encode(), 1)
    return files


def test_a_package_entry_that_leaves_the_package_is_refused_and_the_rest_imports() -> None:
    files = folder_files(PACKAGE)
    files["../evil.xml"] = (V3 / "choice-single.xml").read_bytes()
    result = read_qti(zip_of(files))
    assert [(i.path, i.message) for i in result.issues] == [
        ("../evil.xml", "archive entry leaves the pack ('..')")]
    assert [item.id for item in result.items] == ["pkg-quartiles", "pkg-histogram"]


@pytest.mark.parametrize(("old", "new", "message"), [
    ('href="items/histogram.xml">', 'href="../items/histogram.xml">',
     "resource 'item-histogram' has no usable href ('../items/histogram.xml')"),
    ('href="items/histogram.xml">', 'href="/items/histogram.xml">',
     "resource 'item-histogram' has no usable href ('/items/histogram.xml')"),
    ('href="items/histogram.xml">', 'href="items/histogram-gone.xml">',
     "resource 'item-histogram': items/histogram-gone.xml is missing from the package"),
], ids=["parent", "absolute", "missing"])
def test_manifest_resources_that_leave_the_package_or_are_missing(old: str, new: str, message: str) -> None:
    files = edited_package("imsmanifest.xml", old, new)
    result = read_qti(zip_of(files))
    [issue] = result.issues
    assert (issue.path, issue.severity, issue.message) == ("imsmanifest.xml", "error", message)
    assert issue.line == line_in(PACKAGE / "imsmanifest.xml", '<resource identifier="item-histogram"')
    assert issue.hint
    assert [item.id for item in result.items] == ["pkg-quartiles"]


@pytest.mark.parametrize(("old", "new", "message"), [
    ("<manifest ", '<!DOCTYPE manifest [<!ENTITY x "y">]>\n<manifest ',
     "the manifest has a DOCTYPE that names a DTD or declares entities"),
    ("<organizations/>", "<organizations>", "the manifest is not well-formed XML (mismatched tag"),
], ids=["doctype", "malformed"])
def test_a_manifest_that_cannot_be_parsed_is_an_error_at_its_line(old: str, new: str, message: str) -> None:
    files = edited_package("imsmanifest.xml", old, new)
    result = read_qti(zip_of(files))
    [issue] = result.issues
    assert (issue.path, issue.severity) == ("imsmanifest.xml", "error")
    assert issue.message.startswith(message) and issue.hint and issue.line is not None
    text = files["imsmanifest.xml"]
    assert isinstance(text, bytes)
    marker = "<!DOCTYPE" if "DOCTYPE" in message else "</manifest>"  # <organizations> never closed
    assert issue.line == text.decode()[: text.decode().index(marker)].count("\n") + 1
    assert not result.items


def test_links_in_a_package_folder_are_not_followed(tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(PNG)
    package = tmp_path / "package"
    shutil.copytree(PACKAGE, package)
    (package / "images" / "histogram.png").unlink()
    os.symlink(tmp_path / "secret.png", package / "images" / "histogram.png")
    result = read_qti(package)
    assert [(i.path, i.severity, i.message) for i in result.issues] == [
        ("images/histogram.png", "error", "is a symbolic link; packs may not contain links"),
        ("items/histogram.xml", "warning",
         "image '../images/histogram.png' is missing from the package; its alt text is shown instead")]
    assert [a.path for a in result.assets] == ["images/images/boxplot.svg"]
    # The same when one item file is read from inside the folder.
    alone = read_qti(package / "items" / "histogram.xml")
    assert [i.message for i in alone.issues] == [
        "image '../images/histogram.png' leaves the package; its alt text is shown instead"]
    assert not alone.assets


def test_files_over_the_limits_are_refused_with_their_size() -> None:
    small = Limits(max_file_bytes=1_000)
    size = (PACKAGE / "items" / "histogram.xml").stat().st_size
    [issue] = read_qti(PACKAGE / "items" / "histogram.xml", small).issues
    assert str(issue) == (f"histogram.xml: error: file is {size:,} bytes; the limit is 1,000 "
                          "(hint: split the file)")
    [issue] = read_qti((PACKAGE / "items" / "histogram.xml").read_bytes(), small).issues
    assert (issue.path, issue.message) == ("<upload>", f"file is {size:,} bytes; the limit is 1,000")
    result = read_qti(zip_of(folder_files(PACKAGE)), Limits(max_file_bytes=1_200))
    assert [(i.path, i.message) for i in result.errors] == [
        ("imsmanifest.xml", f"file is {(PACKAGE / 'imsmanifest.xml').stat().st_size:,} bytes; the limit is "
                            "1,200 bytes"),
        ("items/histogram.xml", f"file is {size:,} bytes; the limit is 1,200 bytes")]
    images = read_qti(PACKAGE, Limits(max_image_bytes=100))
    svg_size = (PACKAGE / "images" / "boxplot.svg").stat().st_size
    assert [(i.path, i.message) for i in images.warnings] == [
        ("items/quartiles.xml", f"image '../images/boxplot.svg' is {svg_size:,} bytes; the limit is 100; its "
                                "alt text is shown instead")]
    assert [a.path for a in images.assets] == ["images/images/histogram.png"]


# ---------------------------------------------------------------------------------------- warnings
WARNED = [
    # (file, where, message, hint)
    ("collision-b.xml", None, "identifier 'stats_q1' becomes 'stats-q1', like 'Stats.Q1'; imported as "
                              "'stats-q1-2'", "give the items distinct identifiers"),
    ("custom-processing.xml", "<responseProcessing>",
     "custom response processing is not one of the standard templates; the item is scored all-or-nothing "
     "against the correct response", "check the imported key and scoring"),
    ("feedback-left-out.xml", 'identifier="DONE" showHide="hide"',
     "feedbackBlock 'DONE' is left out: it shows when FEEDBACK is not set to 'DONE', which Thetapath can't "
     "map; it shows feedback only for a right or a wrong answer or a chosen option",
     "add its text to the item's feedback by hand if learners need it"),
    ("feedback-left-out.xml", 'identifier="SECOND"',
     "modalFeedback 'SECOND' is left out: it shows when TRIES is set to 'SECOND', which Thetapath can't "
     "map; it shows feedback only for a right or a wrong answer or a chosen option",
     "add its text to the item's feedback by hand if learners need it"),
    ("images.xml", "images/missing.png",
     "image 'images/missing.png' is missing from the package; its alt text is shown instead",
     "add the image to the package or correct the path"),
    ("images.xml", "https://example.org/chart.png",
     "image 'https://example.org/chart.png' is not a file inside the package; its alt text is shown",
     "add the image to the package and refer to it by a relative path"),
    ("images.xml", "/srv/charts/chart.png",
     "image '/srv/charts/chart.png' is not a file inside the package; its alt text is shown",
     "add the image to the package and refer to it by a relative path"),
    ("images.xml", "../../outside.png",
     "image '../../outside.png' leaves the package; its alt text is shown instead",
     "copy the image into the package and refer to it there"),
    ("images.xml", "images/data.csv",
     "image 'images/data.csv' is not a PNG, JPEG, GIF or SVG image; its alt text is shown instead",
     "convert it to PNG, JPEG, GIF or SVG"),
    ("images.xml", "images/entity.svg",
     "image 'images/entity.svg' can't be used: SVG image declares a DTD or entities (DTDForbidden); its "
     "alt text is shown instead", "export the SVG again as plain SVG, without a DOCTYPE"),
    ("no-processing.xml", "<qti-order-interaction",
     "the item has no response processing; it is scored all-or-nothing against the correct response",
     "check the imported key"),
    ("unknown-template.xml", "<responseProcessing template",
     "unknown response-processing template 'https://example.org/qti/rptemplates/our_own_rules.xml'; the "
     "item is scored all-or-nothing against the correct response", "check the imported key and scoring"),
]


def test_every_warning_names_the_file_line_and_a_fix_and_the_item_still_imports() -> None:
    result = read_qti(WARNINGS)
    assert not result.errors
    assert [(w.path, w.line, w.message, w.hint) for w in result.warnings] == [
        (path, None if where is None else line_in(WARNINGS / path, where), message, hint)
        for path, where, message, hint in WARNED]
    items = by_id(result)
    assert sorted(items) == ["stats-q1", "stats-q1-2", "warn-custom", "warn-feedback", "warn-images",
                             "warn-no-processing", "warn-template"]
    assert [(f, q, i) for f, q, i in result.identifiers if i.startswith("stats")] == [
        ("collision-a.xml", "Stats.Q1", "stats-q1"), ("collision-b.xml", "stats_q1", "stats-q1-2")]
    # each image that can't be used leaves its alt text; the good one is an asset
    assert items["warn-images"].stem == (
        "Kept: ![a dot plot](../images/images/ok.png)\n\nMissing: a pie chart\n\nOn the web: a web chart\n\n"
        "Absolute: a server chart\n\nOutside: an outside chart\n\nNot a picture: a table of data\n\n"
        "SVG with entities: an entity chart\n\nWhich chart suits counts of categories?")
    assert [a.path for a in result.assets] == ["images/images/ok.png"]
    assert items["warn-feedback"].feedback == Feedback()
    # scored against the correct response, whatever the processing said
    assert items["warn-custom"].key == "Q" and items["warn-no-processing"].key == ("MIN", "Q1", "MAX")
    assert items["warn-no-processing"].shuffle is False


# ---------------------------------------------------------------------------------------- refusals
REFUSALS = {
    # file: (where, the message's start, a piece of the hint)
    "assessment-test.xml": ("<qti-assessment-test", "not a QTI 2.x or 3.0 item (root <qti-assessment-test> "
                            "in namespace 'http://www.imsglobal.org/xsd/imsqtiasi_v3p0')",
                            "the items are read, not the test"),
    "associate.xml": ("<qti-associate-interaction",
                      "associateInteraction (<qti-associate-interaction>) is not supported",
                      "supported: choice, inlineChoice, textEntry, order, match and extendedText"),
    "doctype-system.xml": ("<!DOCTYPE", "the file has a DOCTYPE that names a DTD or declares entities; DTDs "
                           "are refused (nothing is fetched or expanded)", "delete the <!DOCTYPE ...>"),
    "empty.xml": (None, "the file is empty", "leave the empty file out"),
    "entity-expansion.xml": ("<!DOCTYPE", "the file has a DOCTYPE that names a DTD or declares entities",
                             "a QTI item needs none"),
    "external-entity.xml": ("<!DOCTYPE", "the file has a DOCTYPE that names a DTD or declares entities",
                            "a QTI item needs none"),
    "gap-match.xml": ("<gapMatchInteraction", "gapMatchInteraction is not supported",
                      "rebuild the item with one of them or leave it out"),
    "hotspot.xml": ("<qti-hotspot-interaction",
                    "hotspotInteraction (<qti-hotspot-interaction>) is not supported",
                    "rebuild the item with one of them or leave it out"),
    "hottext.xml": ("<hottextInteraction", "hottextInteraction is not supported",
                    "rebuild the item with one of them or leave it out"),
    "key-not-a-choice.xml": ("<qti-choice-interaction",
                             "the correct response names 'C', which is not a choice",
                             "correct the correctResponse"),
    "malformed.xml": ("<b>2</p>", "the file is not well-formed XML (mismatched tag, column 37)",
                      "an unclosed or mismatched tag"),
    "match-not-a-pair.xml": ("<qti-match-interaction", "the correct response 'MEAN' is not a pair",
                             "write 'source target'"),
    "match-one-set.xml": ("<qti-match-interaction",
                          "matchInteraction (<qti-match-interaction>) needs two simpleMatchSets, found 1",
                          "use two match sets"),
    "match-same-set.xml": ("<qti-match-interaction",
                           "the correct pair 'MEAN MODE' does not pair a source with a target",
                           "correct the correctResponse"),
    "match-source-missing.xml": ("<qti-match-interaction", "source(s) MODE have no right target",
                                 "give every source its target"),
    "match-source-twice.xml": ("<qti-match-interaction", "source 'MEAN' is matched to several targets",
                               "give each source one right target"),
    "match-too-few.xml": ("<qti-match-interaction", "a matching item needs at least 2 sources and 2 targets",
                          "add choices"),
    "no-correct-response.xml": ("<choiceInteraction", "the response 'RESPONSE' has no correct response",
                                "add a correctResponse (or a mapping)"),
    "no-interaction.xml": ("<qti-item-body", "the item has no interaction", "import it as a lesson"),
    "no-item-body.xml": ("<assessmentItem", "the item has no itemBody", "add the item's content"),
    "no-response-declaration.xml": ("<qti-choice-interaction", "no responseDeclaration for 'RESPONSE'",
                                    "declare the interaction's response"),
    "numeric-not-a-number.xml": ("<qti-text-entry-interaction",
                                 "the correct response 'about 3' is not a number",
                                 "correct the correctResponse"),
    "one-choice.xml": ("<qti-choice-interaction",
                       "choiceInteraction (<qti-choice-interaction>) has 1 choice(s); at least 2 are needed",
                       "add choices"),
    "order-incomplete.xml": ("<orderInteraction", "the correct order does not list every choice exactly once",
                             "order every choice"),
    "qti12.xml": ("<questestinterop",
                  "not a QTI 2.x or 3.0 item (root <questestinterop> in namespace 'none')",
                  "QTI 1.2 is not read"),
    "slider.xml": ("<qti-slider-interaction", "sliderInteraction (<qti-slider-interaction>) is not supported",
                   "rebuild the item with one of them or leave it out"),
    "template-item.xml": ("<templateDeclaration", "template (cloned) items are not supported",
                          "export the item with fixed values"),
    "text-entry-blank.xml": ("<qti-text-entry-interaction", "the text entry has no accepted answer",
                             "add a correctResponse"),
    "text-entry-multiple.xml": ("<textEntryInteraction",
                                "a textEntryInteraction with multiple cardinality is not supported",
                                "use single cardinality"),
    "two-interactions.xml": ('response-identifier="HIGH"', "the item has 2 interactions "
                             "(textEntryInteraction (<qti-text-entry-interaction>), textEntryInteraction "
                             "(<qti-text-entry-interaction>)); a Thetapath item has one",
                             "split the item into one item per interaction"),
    "unknown-encoding.xml": ("<?xml", "the file declares an encoding that is not known (unknown encoding: "
                             "x-thetapath-unknown)", 'declare encoding="UTF-8"'),
    "wrong-encoding.xml": ("<p>Caf", "the file is not well-formed XML (not well-formed (invalid token), "
                           "column 11)", "a character the file's encoding lacks"),
    "undefined-entity.xml": ("&nbsp;", "the file is not well-formed XML (undefined entity &nbsp;, column 12)",
                             "&#160; for &nbsp;"),
}


def test_every_refused_file_is_listed() -> None:
    assert sorted(p.name for p in REFUSED.iterdir()) == sorted(REFUSALS)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_refused_file_is_one_error_with_its_file_line_and_a_fix(name: str) -> None:
    where, message, hint = REFUSALS[name]
    started = time.perf_counter()
    result = read_qti(REFUSED / name)
    assert time.perf_counter() - started < 5  # entity bombs are refused, not expanded
    assert not result.items
    [issue] = result.issues
    line = None if where is None else line_in(REFUSED / name, where)
    assert (issue.path, issue.line, issue.severity) == (name, line, "error")
    assert issue.message.startswith(message), issue.message
    assert hint in issue.hint
    assert str(issue).startswith(f"{name}:{line}: error: " if line else f"{name}: error: ")
    assert "root:" not in issue.message  # nothing of /etc/passwd


def test_a_folder_of_refused_files_reports_each_and_the_other_items_still_import(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(REFUSED, folder)
    shutil.copy(V3 / "order.xml", folder / "order.xml")
    result = read_qti(folder)
    assert [item.id for item in result.items] == ["stats-test-steps-10"]
    # in a folder without a manifest, XML files that are no items are skipped with a warning
    not_items = {"qti12.xml", "assessment-test.xml"}
    assert sorted(i.path for i in result.errors) == sorted(set(REFUSALS) - not_items)
    assert [(w.path, w.message.endswith("; skipped")) for w in result.warnings] == [
        ("assessment-test.xml", True), ("qti12.xml", True)]


@pytest.mark.parametrize("name", [
    "uploadInteraction", "drawingInteraction", "mediaInteraction", "customInteraction",
    "portableCustomInteraction", "graphicOrderInteraction", "graphicAssociateInteraction",
    "graphicGapMatchInteraction", "selectPointInteraction", "positionObjectInteraction",
    "endAttemptInteraction"])
def test_other_unsupported_interactions_are_named(name: str) -> None:
    tag = "qti-" + "".join(f"-{c.lower()}" if c.isupper() else c for c in name)
    body = f'<p>Some text.</p>\n<{tag} response-identifier="RESPONSE"/>'
    [issue] = read_qti(qti3_item(body, declarations=CHOICE_DECL).encode()).issues
    assert (issue.line, issue.message) == (6, f"{name} (<{tag}>) is not supported")


# ---------------------------------------------------------------------------------------- built in the tests
def test_images_in_the_package_become_assets_and_missing_ones_a_warning(tmp_path: Path) -> None:
    body = choice_body('<p>Look <img src="img/a.png" alt="An A"/> and <img src="img/gone.png" alt="gone"/>'
                       ' and <img src="https://example.org/x.png" alt="far"/></p>')
    data = zip_of({"item.xml": qti3_item(body, declarations=CHOICE_DECL), "img/a.png": PNG})
    result = read_qti(data)
    (item,) = result.items
    assert [a.path for a in result.assets] == ["images/img/a.png"]
    assert "![An A](../images/img/a.png)" in item.stem
    assert "gone" in item.stem and "far" in item.stem and "example.org" not in item.stem
    assert sorted(i.message.split("'")[1] for i in result.warnings) == [
        "https://example.org/x.png", "img/gone.png"]
    assert not result.errors


def test_identifiers_are_normalised_and_collisions_reported(tmp_path: Path) -> None:
    files = {f"i{n}.xml": qti3_item(choice_body(), identifier=ident, declarations=CHOICE_DECL)
             for n, ident in enumerate(["Item_One", "item-one", "ITEM.one", "_x_"])}
    result = read_qti(zip_of(files))
    assert [item.id for item in result.items] == ["item-one", "item-one-2", "item-one-3", "x"]
    assert [(f, q) for f, q, _ in result.identifiers] == [
        ("i0.xml", "Item_One"), ("i1.xml", "item-one"), ("i2.xml", "ITEM.one"), ("i3.xml", "_x_")]
    collisions = [i for i in result.warnings if "becomes 'item-one'" in i.message]
    assert [i.path for i in collisions] == ["i1.xml", "i2.xml"]


@pytest.mark.parametrize("template", [
    "http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct",
    "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml",
    "https://www.imsglobal.org/question/qti_v3p0/rptemplates/match_correct.xml",
    "match_correct", "http://www.imsglobal.org/question/qti_v2p1/rptemplates/map_response_point",
    "http://www.imsglobal.org/profile/cc/ccv1p3/qti/CC2_match", "CC2_match_basic.xml", "CC2_map_response"])
def test_templates_are_known_by_their_last_segment(template: str) -> None:
    xml = qti3_item(choice_body(), declarations=CHOICE_DECL,
                    processing=f'<qti-response-processing template="{template}"/>')
    result = read_qti(xml.encode())
    assert not result.issues and result.items[0].key == "B"


def test_unknown_templates_and_custom_processing_warn() -> None:
    unknown = read_qti(qti3_item(choice_body(), declarations=CHOICE_DECL, processing=(
        '<qti-response-processing template="https://example.org/rp/my_rules.xml"/>')).encode())
    assert "unknown response-processing template" in unknown.warnings[0].message
    custom = read_qti(qti3_item(choice_body(), declarations=CHOICE_DECL, processing=(
        '<qti-response-processing><qti-set-outcome-value identifier="SCORE">'
        '<qti-base-value base-type="float">3</qti-base-value></qti-set-outcome-value>'
        '</qti-response-processing>')).encode())
    assert "custom response processing" in custom.warnings[0].message
    assert custom.items[0].key == "B"


def test_a_key_can_come_from_the_mapping_alone() -> None:
    def item(cardinality: str, base_type: str, entries: str, body: str) -> Item:
        decl = (f'<qti-response-declaration identifier="RESPONSE" cardinality="{cardinality}" '
                f'base-type="{base_type}"><qti-mapping default-value="0">{entries}</qti-mapping>'
                '</qti-response-declaration>')
        result = read_qti(qti3_item(body, declarations=decl, processing=(
            '<qti-response-processing template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/'
            'map_response.xml"/>')).encode())
        assert not result.errors, messages(result)
        [converted] = result.items
        return converted

    choices = ('<qti-choice-interaction response-identifier="RESPONSE" max-choices="{n}">'
               '<qti-simple-choice identifier="A">a</qti-simple-choice><qti-simple-choice identifier="B">b'
               '</qti-simple-choice><qti-simple-choice identifier="C">c</qti-simple-choice>'
               '</qti-choice-interaction>')
    entries = ('<qti-map-entry map-key="A" mapped-value="0.5"/><qti-map-entry map-key="B" mapped-value="1"/>'
               '<qti-map-entry map-key="C" mapped-value="-1"/>')
    assert item("single", "identifier", entries, choices.format(n=1)).key == "B"  # the best one
    multiple = item("multiple", "identifier", entries, choices.format(n=3))
    assert (multiple.key, multiple.scoring) == (("A", "B"), "partial")  # every positive one
    text = item("single", "string", '<qti-map-entry map-key="median" mapped-value="1"/>'
                '<qti-map-entry map-key="Median" mapped-value="1" case-sensitive="true"/>',
                '<p>The middle value: <qti-text-entry-interaction response-identifier="RESPONSE"/></p>')
    assert (text.accepted, text.case_sensitive) == (("median", "Median"), True)  # one entry says so


def test_option_identifiers_are_kept_where_they_can_be_and_made_safe_where_not() -> None:
    body = ('<qti-choice-interaction response-identifier="RESPONSE" max-choices="0">'
            + "".join(f'<qti-simple-choice identifier="{ident}">{n}</qti-simple-choice>'
                      for n, ident in enumerate(["_x", "1.5", "a/b", "a_b", "Z"]))
            + "</qti-choice-interaction>")
    decl = ('<qti-response-declaration identifier="RESPONSE" cardinality="multiple" base-type="identifier">'
            "<qti-correct-response><qti-value>a/b</qti-value><qti-value>a_b</qti-value>"
            "<qti-value>_x</qti-value></qti-correct-response></qti-response-declaration>")
    [item] = read_qti(qti3_item(body, declarations=decl).encode()).items
    assert [o.id for o in item.options] == ["o_x", "1.5", "a_b", "a_b-2", "Z"]
    assert item.key == ("o_x", "a_b", "a_b-2")


def test_numeric_text_entry_with_absolute_tolerance() -> None:
    decl = ('<qti-response-declaration identifier="R" cardinality="single" base-type="float">'
            '<qti-correct-response><qti-value>9.81</qti-value></qti-correct-response>'
            '</qti-response-declaration>')
    processing = ('<qti-response-processing><qti-response-condition><qti-response-if>'
                  '<qti-equal tolerance-mode="absolute" tolerance="0.05 0.05">'
                  '<qti-variable identifier="R"/><qti-correct identifier="R"/></qti-equal>'
                  '<qti-set-outcome-value identifier="SCORE"><qti-base-value base-type="float">1'
                  '</qti-base-value></qti-set-outcome-value></qti-response-if></qti-response-condition>'
                  '</qti-response-processing>')
    body = '<p>g = <qti-text-entry-interaction response-identifier="R"/> m/s²</p>'
    result = read_qti(qti3_item(body, declarations=decl, processing=processing).encode())
    assert not result.issues, messages(result)
    (item,) = result.items
    assert (item.type, item.key, item.tolerance) == ("numeric", 9.81, 0.05)
    assert score(item, "9,8") == 1 and score(item, "9.7") == 0
    assert "g = ____ m/s²" in render_markdown(item.stem)


def test_markdown_escapes_and_structure() -> None:
    body = choice_body('<h2>Heads *up*</h2><p>Cost: $5 &amp; [x] 2*3 &lt;tag&gt; <b>bold </b>'
                       '<em>it</em> <code>a`b</code> <a href="https://example.org">link</a>'
                       ' H<sub>2</sub>O</p><ul><li>one</li><li>two</li></ul><p>1. not a list</p>')
    (item,) = read_qti(qti3_item(body, declarations=CHOICE_DECL).encode()).items
    html = render_markdown(item.stem)
    assert "<h2>Heads *up*</h2>" in html
    assert "Cost: $5 &amp; [x] 2*3 &lt;tag&gt; <strong>bold</strong> <em>it</em>" in html
    assert "<code>a`b</code>" in html and '<a href="https://example.org"' in html
    assert "H<sub>2</sub>O" in html
    assert "<li>one</li>" in html and "<p>1. not a list</p>" in html


@pytest.mark.parametrize(("problem", "body"), [
    ("no correct response", choice_body()),
    ("several interactions", choice_body() + choice_body()),
    ("no interaction", "<p>Just text.</p>"),
    ("slider", '<qti-slider-interaction response-identifier="RESPONSE" lower-bound="0" '
               'upper-bound="10"/>'),
])
def test_items_that_cannot_be_converted_are_errors_and_the_rest_imports(problem: str, body: str) -> None:
    decl = CHOICE_DECL if problem != "no correct response" else CHOICE_DECL.replace(
        "<qti-correct-response><qti-value>B</qti-value></qti-correct-response>", "")
    result = read_qti(zip_of({"bad.xml": qti3_item(body, declarations=decl),
                              "good.xml": qti3_item(choice_body(), identifier="good",
                                                    declarations=CHOICE_DECL)}))
    assert [item.id for item in result.items] == ["good"]
    assert [issue.path for issue in result.errors] == ["bad.xml"]
    assert result.errors[0].line is not None


def test_feedback_blocks_for_correct_and_incorrect() -> None:
    decl = CHOICE_DECL + ('<qti-outcome-declaration identifier="FEEDBACK" cardinality="single" '
                          'base-type="identifier"/>')
    processing = ('<qti-response-processing><qti-response-condition><qti-response-if><qti-match>'
                  '<qti-variable identifier="RESPONSE"/><qti-correct identifier="RESPONSE"/></qti-match>'
                  '<qti-set-outcome-value identifier="SCORE"><qti-base-value base-type="float">1'
                  '</qti-base-value></qti-set-outcome-value><qti-set-outcome-value identifier="FEEDBACK">'
                  '<qti-base-value base-type="identifier">fbOk</qti-base-value></qti-set-outcome-value>'
                  '</qti-response-if><qti-response-else><qti-set-outcome-value identifier="FEEDBACK">'
                  '<qti-base-value base-type="identifier">fbNo</qti-base-value></qti-set-outcome-value>'
                  '</qti-response-else></qti-response-condition></qti-response-processing>')
    extra = ('<qti-modal-feedback outcome-identifier="FEEDBACK" identifier="fbOk" show-hide="show">'
             '<qti-content-body><p>Well <b>done</b>.</p></qti-content-body></qti-modal-feedback>'
             '<qti-modal-feedback outcome-identifier="FEEDBACK" identifier="fbNo" show-hide="show">'
             '<qti-content-body>Not quite.</qti-content-body></qti-modal-feedback>')
    body = choice_body('<p>Pick.</p><qti-feedback-block outcome-identifier="FEEDBACK" identifier="x" '
                       'show-hide="show"><p>hidden</p></qti-feedback-block>')
    result = read_qti(qti3_item(body, declarations=decl, processing=processing, extra=extra).encode())
    (item,) = result.items
    assert (item.feedback.correct, item.feedback.incorrect) == ("Well **done**.", "Not quite.")
    assert "hidden" not in item.stem
    # FEEDBACK is never set to 'x': that block is left out, with a warning at its line
    assert [(w.line, w.message.split(":")[0]) for w in result.warnings] == [
        (5, "feedbackBlock (<qti-feedback-block>) 'x' is left out")]


# ---------------------------------------------------------------------------------------- hostile XML
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="x">&lol9;
</qti-assessment-item>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="x">&ext;
</qti-assessment-item>"""
DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE qti-assessment-item SYSTEM "http://example.org/qti.dtd">
<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="x"/>"""
DEEP = (b'<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="x">'
        + b"<div>" * 100_000 + b"</div>" * 100_000 + b"</qti-assessment-item>")


@pytest.mark.parametrize(("data", "expected"), [
    (BILLION_LAUGHS, "DOCTYPE"), (EXTERNAL, "DOCTYPE"), (DOCTYPE, "DOCTYPE"),
    (b"<qti-assessment-item", "not well-formed"), (DEEP, "nests them deeper"),
    (b"<html><body/></html>", "not a QTI 2.x or 3.0 item"),
], ids=["billion-laughs", "external-entity", "doctype", "broken", "deep", "not-qti"])
def test_hostile_xml_is_an_issue_not_a_crash(tmp_path: Path, data: bytes, expected: str) -> None:
    started = time.perf_counter()
    as_file = tmp_path / "evil.xml"
    as_file.write_bytes(data)
    good = qti3_item(choice_body(), identifier="good", declarations=CHOICE_DECL)
    for result in (read_qti(as_file), read_qti(zip_of({"evil.xml": data, "good.xml": good,
                                                        "imsmanifest.xml": MANIFEST}))):
        evil = [i for i in result.errors if i.path == "evil.xml"]
        assert len(evil) == 1 and expected in evil[0].message, messages(result)
        assert "root:" not in evil[0].message  # nothing of /etc/passwd
    assert [i.id for i in result.items] == ["good"]
    assert time.perf_counter() - started < 5


def test_too_many_elements_are_refused_at_the_line_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real cap is 200,000 elements; a lower one keeps the test quick on a loaded machine.
    monkeypatch.setattr(xmlsafe, "_MAX_NODES", 1_000)
    data = qti3_item(choice_body("<p>" + "<br/>\n" * 1_000 + "</p>"), declarations=CHOICE_DECL).encode()
    [issue] = read_qti(data).issues
    assert (issue.path, issue.severity) == ("item.xml", "error")
    assert issue.message == "the file has more than 1,000 elements or nests them deeper than 200"
    # six elements come before the line breaks (item, declaration, correct response, value, body, p): the
    # 995th <br/> is the 1,001st element, one line per <br/>
    first_br = 1 + data.decode().count("\n", 0, data.decode().index("<br/>"))
    assert issue.line == first_br + 994
    assert issue.hint == "split the item or flatten its markup"


MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="m">
  <organizations/>
  <resources>
    <resource identifier="e" type="imsqti_item_xmlv3p0" href="evil.xml"><file href="evil.xml"/></resource>
    <resource identifier="g" type="imsqti_item_xmlv3p0" href="good.xml"><file href="good.xml"/></resource>
  </resources>
</manifest>"""


def test_hostile_manifest_and_unreadable_sources(tmp_path: Path) -> None:
    result = read_qti(zip_of({"imsmanifest.xml": BILLION_LAUGHS}))
    assert [i.path for i in result.errors] == ["imsmanifest.xml"] and not result.items
    with pytest.raises(PackUnreadable):
        read_qti(tmp_path / "nope.zip")
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(PackUnreadable):
        read_qti(tmp_path / "junk.zip")
    empty = read_qti(zip_of({"readme.txt": "hello"}))
    assert [i.message for i in empty.errors] == ["no QTI item found"]


# ---------------------------------------------------------------------------------------- packs
@pytest.mark.parametrize("source", [V3, V2P1, V2P2, PACKAGE, PACKAGE21], ids=lambda p: p.name)
@pytest.mark.parametrize("suffix", ["", ".zip"], ids=["folder", "zip"])
def test_pack_from_qti_round_trips_and_validates(tmp_path: Path, source: Path, suffix: str) -> None:
    content, issues = pack_from_qti(source, pack_id="describing-data", title="Describing data",
                                    competency_id="describing-data", competency_title="Describing data",
                                    module_title="Describing data, imported", level="easy",
                                    language="en-GB", licence="CC-BY-4.0", version="2.1.0")
    imported = read_qti(source)
    assert (content.id, content.title, content.version, content.language, content.licence) == (
        "describing-data", "Describing data", "2.1.0", "en-GB", "CC-BY-4.0")
    [module] = content.modules
    assert (module.id, module.title, module.item_files) == (
        "describing-data-items", "Describing data, imported", ("items/describing-data-items.yaml",))
    lesson = module.lessons[0].markdown
    assert f"These {len(imported.items)} items were imported from the QTI source {source.name}" in lesson
    assert all(f"- `{path}`" in lesson for path, _, _ in imported.identifiers)
    assert [item.id for item in content.items] == [item.id for item in imported.items]
    assert all(item.level == "easy" and item.irt is None and item.competency == "describing-data"
               for item in content.items)
    assert {a.path for a in content.assets} == {a.path for a in imported.assets}
    assert not [i for i in issues if i.is_error]
    out = export_pack(content, tmp_path / f"out{suffix}")
    checked = check_pack(out)
    assert checked.errors == ()
    assert load_pack(out) == content
    assert checked.pack is not None and checked.pack.content_hash == content.content_hash


def test_an_item_the_pack_format_refuses_is_reported_and_left_out() -> None:
    files = folder_files(PACKAGE)
    files["images/histogram.png"] = b"not a PNG at all"  # named .png: the importer takes it, the pack won't
    content, issues = pack_from_qti(zip_of(files), pack_id="p", title="P", competency_id="c",
                                    competency_title="C")
    assert [item.id for item in content.items] == ["pkg-quartiles"]
    [error] = [i for i in issues if i.is_error]
    assert (error.path, error.message) == (
        "items/histogram.xml",
        "item 'Pkg_Histogram' breaks a pack rule: images/images/histogram.png: the file is not a PNG image")
    assert error.hint == "save the image in the format its name says"
    assert [a.path for a in content.assets] == ["images/images/boxplot.svg"]


def test_pack_from_qti_with_nothing_importable_raises() -> None:
    with pytest.raises(PackInvalid) as info:
        pack_from_qti(REFUSED, pack_id="p", title="P", competency_id="c", competency_title="C")
    assert [i.path for i in info.value.errors] == [".", *sorted(set(REFUSALS) - {"qti12.xml",
                                                                                  "assessment-test.xml"})]
    assert info.value.errors[0].message == "no item could be imported"


# ---------------------------------------------------------------------------------------- CLI
def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(pack_cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_from_qti_on_a_package(tmp_path: Path) -> None:
    code, out, err = run("from-qti", str(PACKAGE), str(tmp_path / "a.zip"), "--id", "describing-data",
                         "--title", "Describing data", "--competency", "charts", "--level", "hard")
    assert code == 0, err
    # no import issue; the new pack's own warning (its items are pilot items) is printed as validate would
    assert out.splitlines() == [
        "pack.yaml:15: warning: competency 'charts' has 0 calibrated item(s) for a test of up to 20 "
        "(max_items) (hint: add or calibrate items, or lower max_items for this competency)"]
    assert err.strip().endswith("; 0 error(s), 1 warning(s)") and " 2 items " in err
    written = load_pack(tmp_path / "a.zip")
    assert (written.id, [c.id for c in written.competencies]) == ("describing-data", ["charts"])
    assert [item.level for item in written.items] == ["hard", "hard"]
    code, _, err = run("from-qti", str(PACKAGE), str(tmp_path / "a.zip"), "--id", "x", "--title", "X")
    assert code == 2 and "cannot be written" in err
    code, _, err = run("from-qti", str(tmp_path / "missing"), str(tmp_path / "b"), "--id", "x",
                       "--title", "X")
    assert code == 2 and "no such file" in err


def test_cli_from_qti_prints_each_problem_and_writes_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "items"
    shutil.copytree(V3, source)
    shutil.copy(REFUSED / "hotspot.xml", source / "hotspot.xml")
    code, out, err = run("from-qti", str(source), str(tmp_path / "out"), "--id", "stats", "--title", "Stats")
    assert code == 1
    line = line_in(REFUSED / "hotspot.xml", "<qti-hotspot-interaction")
    assert (f"hotspot.xml:{line}: error: hotspotInteraction (<qti-hotspot-interaction>) is not supported "
            "(hint: supported: choice, inlineChoice, textEntry, order, match and extendedText interactions; "
            "rebuild the item with one of them or leave it out)") in out.splitlines()
    assert "text-entry.xml:" in out  # warnings are printed too
    assert "1 error(s)" in err
    assert len(load_pack(tmp_path / "out").items) == len(OWN_ITEMS["v3"])


def test_cli_from_qti_writes_nothing_when_no_item_imports(tmp_path: Path) -> None:
    code, out, err = run("from-qti", str(REFUSED / "hotspot.xml"), str(tmp_path / "out"), "--id", "x",
                         "--title", "X")
    assert code == 1
    assert "hotspot.xml:" in out and "nothing written" in err
    assert not (tmp_path / "out").exists()


def test_cli_from_qti_takes_one_rqti_item_file(tmp_path: Path) -> None:
    code, _, err = run("from-qti", str(V2P1 / "rqti-doctype.xml"), str(tmp_path / "r"), "--id", "r",
                       "--title", "R items")
    assert code == 0, err
    assert [item.id for item in load_pack(tmp_path / "r").items] == ["id-task-4711"]
