"""Tests of :mod:`adaptive.bank`: validation, JSON round trips and model evaluation."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive import irt
from adaptive.bank import ItemBank, ItemParameters
from adaptive.errors import InvalidItemParameters

THETA = np.linspace(-4.0, 4.0, 17)


def mixed_items() -> list[ItemParameters]:
    """Every model, interleaved, with tags and a pilot item."""
    return [
        ItemParameters("d1", "2pl", a=1.2, b=-0.5, tags={"competency": "fractions"}),
        ItemParameters("p1", "gpcm", a=0.9, thresholds=(-1.0, 0.3, 0.1)),
        ItemParameters("d2", "3pl", a=1.6, b=0.4, c=0.2, tags={"content_area": "algebra"}),
        ItemParameters("g1", "grm", a=1.4, thresholds=(-0.8, 0.9), pilot=True),
        ItemParameters("d3", "1pl", a=1.0, b=1.1),
        ItemParameters("p2", "gpcm", a=1.7, thresholds=(0.5,)),
        ItemParameters("g2", "grm", a=0.7, thresholds=(-1.5, -0.2, 0.6, 1.8),
                       tags={"competency": "ratios", "content_area": "number"}),
        ItemParameters("d4", "2pl", a=0.6, b=2.0, pilot=True),
    ]


@pytest.fixture
def mixed() -> ItemBank:
    return ItemBank.from_items(mixed_items())


# ------------------------------------------------------------------------------ validation
INVALID: list[tuple[dict[str, Any], str]] = [
    ({"a": 0.0}, "a"),
    ({"a": -1.0}, "a"),
    ({"a": math.nan}, "a"),
    ({"a": math.inf}, "a"),
    ({"b": math.inf}, "b"),
    ({"b": -math.inf}, "b"),
    ({"b": math.nan}, "b"),
    ({"model": "3pl", "c": 1.0}, "c"),
    ({"model": "3pl", "c": -0.1}, "c"),
    ({"model": "3pl", "c": 1.5}, "c"),
    ({"model": "3pl", "c": math.nan}, "c"),
    ({"model": "2pl", "c": 0.2}, "c"),
    ({"model": "1pl", "c": 0.1}, "c"),
    ({"model": "2pl", "thresholds": (0.0, 1.0)}, "thresholds"),
    ({"model": "grm", "thresholds": (0.5, -0.5)}, "thresholds"),
    ({"model": "grm", "thresholds": (0.0, 0.0)}, "thresholds"),
    ({"model": "grm", "thresholds": (-1.0, 0.4, 0.4, 2.0)}, "thresholds"),
    ({"model": "grm", "thresholds": ()}, "thresholds"),
    ({"model": "gpcm", "thresholds": ()}, "thresholds"),
    ({"model": "gpcm", "thresholds": (0.0, math.nan)}, "thresholds"),
    ({"model": "gpcm", "a": 0.0, "thresholds": (0.0,)}, "a"),
    ({"model": "4pl"}, "model"),
    ({"model": "rasch"}, "model"),
]


@pytest.mark.parametrize(("change", "field"), INVALID)
def test_invalid_parameters_name_the_item_and_field(change: dict[str, Any], field: str) -> None:
    bad = ItemParameters(id="bad-item", **change)
    good = ItemParameters(id="ok", a=1.0, b=0.0)
    with pytest.raises(InvalidItemParameters) as info:
        ItemBank.from_items([good, bad])
    assert info.value.item_id == "bad-item"
    assert info.value.field == field
    assert "'bad-item'" in str(info.value)
    assert field in str(info.value)


def test_valid_edge_values_are_accepted() -> None:
    bank = ItemBank.from_items([
        ItemParameters("c0", "3pl", a=1e-6, b=-50.0, c=0.0),
        ItemParameters("c1", "3pl", a=30.0, b=50.0, c=0.999),
        ItemParameters("gp", "gpcm", a=1.0, thresholds=(1.0, 1.0, -2.0)),  # GPCM may be disordered
        ItemParameters("gr", "grm", a=1.0, thresholds=(-1.0, -0.999)),
    ])
    assert len(bank) == 4
    np.testing.assert_array_equal(bank.n_categories, [2, 2, 4, 3])


def test_empty_id_is_rejected() -> None:
    with pytest.raises(InvalidItemParameters) as info:
        ItemBank.from_items([ItemParameters("")])
    assert info.value.field == "id"


def test_duplicate_ids_are_rejected() -> None:
    items = [ItemParameters("x1"), ItemParameters("x2", b=1.0), ItemParameters("x1", b=2.0)]
    with pytest.raises(InvalidItemParameters, match="duplicate") as info:
        ItemBank.from_items(items)
    assert (info.value.item_id, info.value.field) == ("x1", "id")


def test_from_arrays_rejects_mismatched_lengths() -> None:
    with pytest.raises(InvalidItemParameters) as info:
        ItemBank.from_arrays([1.0, 1.2], [0.0])
    assert info.value.field == "shape"


def test_from_arrays_rejects_ids_of_the_wrong_length() -> None:
    """Too few ids currently raise a bare IndexError; too many are silently dropped."""
    with pytest.raises(InvalidItemParameters):
        ItemBank.from_arrays([1.0, 1.2], [0.0, 1.0], ids=["only-one"])
    with pytest.raises(InvalidItemParameters):
        ItemBank.from_arrays([1.0, 1.2], [0.0, 1.0], ids=["x", "y", "z"])


def test_from_arrays_builds_2pl_or_3pl() -> None:
    b2 = ItemBank.from_arrays([1.0, 1.5], [0.0, 0.5], ids=["u", "v"], pilot=[False, True],
                              tags={"competency": ["f", None]})
    assert b2.models == ("2pl", "2pl")
    assert b2.ids == ("u", "v")
    np.testing.assert_array_equal(b2.pilot, [False, True])
    assert b2.tags["competency"] == ("f", None)
    b3 = ItemBank.from_arrays([1.0, 1.5], [0.0, 0.5], [0.1, 0.2])
    assert b3.models == ("3pl", "3pl")
    np.testing.assert_array_equal(b3.c, [0.1, 0.2])
    assert b3.ids == ("i00000", "i00001")
    with pytest.raises(InvalidItemParameters) as info:
        ItemBank.from_arrays([1.0, -1.0], [0.0, 0.5], ids=["u", "v"])
    assert (info.value.item_id, info.value.field) == ("v", "a")


# ------------------------------------------------------------------------------ from_json
def _bank_json(*records: dict[str, Any], model: str = "2pl") -> dict[str, Any]:
    return {"model": model, "items": list(records)}


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"id": "q", "a": "steep", "b": 0.0}, "a"),
        ({"id": "q", "a": None, "b": 0.0}, "a"),
        ({"id": "q", "a": [1.0], "b": 0.0}, "a"),
        ({"id": "q", "a": 1.0, "b": "hard"}, "b"),
        ({"id": "q", "a": 1.0, "b": None}, "b"),
        ({"id": "q", "model": "3pl", "a": 1.0, "b": 0.0, "c": "lucky"}, "c"),
        ({"id": "q", "model": "gpcm", "a": 1.0, "thresholds": [0.0, "x"]}, "thresholds"),
        ({"id": "q", "model": "gpcm", "a": 1.0, "thresholds": "0 1"}, "thresholds"),
        ({"id": "q", "model": "grm", "a": 1.0}, "thresholds"),
        ({"id": "q", "model": "grm", "a": 1.0, "thresholds": []}, "thresholds"),
        ({"id": "q", "model": "grm", "a": 1.0, "thresholds": [1.0, 0.0]}, "thresholds"),
        ({"id": "q", "b": 0.0}, "a"),
        ({"id": "q", "a": 1.0}, "b"),
        ({"id": "q", "a": 0.0, "b": 0.0}, "a"),
        ({"id": "q", "model": "3pl", "a": 1.0, "b": 0.0, "c": 1.0}, "c"),
        ({"id": "q", "model": "4PL", "a": 1.0, "b": 0.0}, "model"),
    ],
)
def test_from_json_rejects_bad_values_naming_item_and_field(
    record: dict[str, Any], field: str
) -> None:
    data = _bank_json({"id": "fine", "a": 1.0, "b": 0.0}, record)
    with pytest.raises(InvalidItemParameters) as info:
        ItemBank.from_json(data)
    assert (info.value.item_id, info.value.field) == ("q", field)


def test_from_json_reports_an_unknown_model_before_missing_parameters() -> None:
    """An unknown model with no 'b' is reported as a missing 'b', which misleads the author."""
    with pytest.raises(InvalidItemParameters) as info:
        ItemBank.from_json(_bank_json({"id": "q", "model": "nominal", "a": 1.0}))
    assert info.value.field == "model"


def test_from_json_rejects_guessing_on_a_2pl_item() -> None:
    """A 2PL record carrying c = 0.25 must not silently lose its lower asymptote."""
    with pytest.raises(InvalidItemParameters) as info:
        ItemBank.from_json(_bank_json({"id": "q", "a": 1.0, "b": 0.0, "c": 0.25}))
    assert (info.value.item_id, info.value.field) == ("q", "c")


@pytest.mark.parametrize(
    "data",
    [None, [], {}, {"items": {"id": "x"}}, {"items": "x"}],
)
def test_from_json_rejects_a_malformed_container(data: Any) -> None:
    with pytest.raises(InvalidItemParameters) as info:
        ItemBank.from_json(data)
    assert info.value.field == "items"


def test_from_json_requires_ids() -> None:
    with pytest.raises(InvalidItemParameters) as info:
        ItemBank.from_json(_bank_json({"id": "x", "a": 1, "b": 0}, {"a": 1, "b": 0}))
    assert (info.value.item_id, info.value.field) == ("#2", "id")


def test_from_json_reads_defaults_tags_and_skips_standard_errors() -> None:
    data = {
        "model": "3PL",
        "items": [
            {"id": "a1", "a": 1.1, "b": 0.2, "c": 0.15, "se_a": 0.1, "se_b": 0.05,
             "competency": "fractions", "difficulty_label": "easy", "pilot": True},
            {"id": 7, "model": "grm", "a": "1.3", "thresholds": [-1, "0.5"]},
            {"id": "a3", "model": "1pl", "b": -0.4},
        ],
    }
    bank = ItemBank.from_json(data)
    assert bank.ids == ("a1", "7", "a3")
    assert bank.models == ("3pl", "grm", "1pl")
    np.testing.assert_allclose(bank.a, [1.1, 1.3, 1.0])
    np.testing.assert_allclose(bank.b, [0.2, -0.25, -0.4])
    np.testing.assert_allclose(bank.c, [0.15, 0.0, 0.0])
    np.testing.assert_allclose(bank.thresholds[1], [-1.0, 0.5])
    assert np.all(np.isnan(bank.thresholds[[0, 2]]))
    np.testing.assert_array_equal(bank.pilot, [True, False, False])
    assert bank.tags["competency"] == ("fractions", None, None)
    assert bank.tags["difficulty_label"] == ("easy", None, None)
    assert not any(name.startswith("se_") for name in bank.tags)


# ---------------------------------------------------------------------------- round trips
def _records(bank: ItemBank) -> list[ItemParameters]:
    return [bank.item(j) for j in range(len(bank))]


@pytest.mark.parametrize(
    "items",
    [
        pytest.param([ItemParameters("x", a=1.3, b=-0.2), ItemParameters("y", a=0.7, b=1.5)],
                     id="2pl"),
        pytest.param([ItemParameters("x", "1pl", a=1.0, b=-0.2),
                      ItemParameters("y", "1pl", a=1.0, b=0.9)], id="1pl"),
        pytest.param([ItemParameters("x", "3pl", a=1.3, b=-0.2, c=0.2),
                      ItemParameters("y", "3pl", a=0.7, b=1.5, c=0.0, pilot=True)], id="3pl"),
        pytest.param(mixed_items(), id="mixed"),
    ],
)
def test_json_round_trip(items: list[ItemParameters]) -> None:
    bank = ItemBank.from_items(items)
    text = json.dumps(bank.to_json())  # plain JSON, no numpy scalars
    again = ItemBank.from_json(json.loads(text))
    assert _records(again) == _records(bank)
    assert again.ids == bank.ids
    assert again.models == bank.models
    for name in ("a", "b", "c", "n_categories", "pilot"):
        np.testing.assert_array_equal(getattr(again, name), getattr(bank, name))
    np.testing.assert_array_equal(again.thresholds, bank.thresholds)  # NaN padding compares equal
    assert dict(again.tags) == dict(bank.tags)
    # The records also survive an item -> JSON -> item trip one at a time.
    assert _records(bank) == [
        ItemBank.from_json({"items": [it.to_json()]}).item(0) for it in _records(bank)]


def test_to_json_shape_of_mixed_bank(mixed: ItemBank) -> None:
    data = mixed.to_json()
    assert data["model"] == "mixed"
    by_id = {rec["id"]: rec for rec in data["items"]}
    assert by_id["p1"]["thresholds"] == [-1.0, 0.3, 0.1]
    assert by_id["p1"]["b"] == pytest.approx(np.mean([-1.0, 0.3, 0.1]))
    assert by_id["d2"]["c"] == 0.2
    assert by_id["g1"]["pilot"] is True
    assert "pilot" not in by_id["d1"]
    assert by_id["g2"]["competency"] == "ratios"
    assert ItemBank.from_items(mixed_items()[:1]).to_json()["model"] == "2pl"


# ---------------------------------------------------------------------------- bank arrays
def test_arrays_are_read_only(mixed: ItemBank) -> None:
    for name in ("a", "b", "c", "thresholds", "n_categories", "pilot"):
        arr = getattr(mixed, name)
        assert not arr.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = arr[0]
    with pytest.raises(AttributeError):
        mixed.ids = ("z",)  # type: ignore[misc]


def test_layout_of_mixed_bank(mixed: ItemBank) -> None:
    assert mixed.ids == ("d1", "p1", "d2", "g1", "d3", "p2", "g2", "d4")
    np.testing.assert_array_equal(mixed.n_categories, [2, 4, 2, 3, 2, 2, 2 + 3, 2])
    np.testing.assert_array_equal(mixed.max_score, mixed.n_categories - 1)
    assert mixed.thresholds.shape == (8, 4)
    expected_b = np.array([np.mean([-1.0, 0.3, 0.1]), 0.05, np.mean([-1.5, -0.2, 0.6, 1.8])])
    np.testing.assert_allclose(mixed.b[[1, 3, 6]], expected_b)
    assert not mixed.all_dichotomous
    assert ItemBank.from_arrays([1.0], [0.0]).all_dichotomous
    assert mixed.index("g1") == 3
    with pytest.raises(InvalidItemParameters) as info:
        mixed.index("nope")
    assert (info.value.item_id, info.value.field) == ("nope", "id")
    # A polytomous record's b is derived: the mean of its thresholds.
    assert mixed.item(3) == replace(mixed_items()[3], b=float(np.mean([-0.8, 0.9])))
    assert mixed.item(3).b == pytest.approx(0.05)


def test_subset_keeps_order_and_parameters(mixed: ItemBank) -> None:
    order = [6, 0, 3, 5]
    sub = mixed.subset(order)
    assert sub.ids == tuple(mixed.ids[j] for j in order)
    assert _records(sub) == [mixed.item(j) for j in order]
    np.testing.assert_array_equal(sub.a, mixed.a[order])
    np.testing.assert_array_equal(sub.b, mixed.b[order])
    np.testing.assert_array_equal(sub.c, mixed.c[order])
    np.testing.assert_array_equal(sub.pilot, mixed.pilot[order])
    np.testing.assert_allclose(sub.information(THETA), mixed.information(THETA, np.array(order)))
    np.testing.assert_allclose(sub.category_probabilities(THETA),
                               mixed.category_probabilities(THETA, np.array(order)))
    assert sub.tags["competency"] == ("ratios", "fractions", None, None)


# ----------------------------------------------------------------------- model evaluation
def _per_model_information(bank: ItemBank, theta: np.ndarray) -> np.ndarray:
    """Information computed item by item with the plain irt functions."""
    out = np.empty((theta.size, len(bank)))
    for j, model in enumerate(bank.models):
        a = bank.a[j : j + 1]
        k = int(bank.max_score[j])
        if model in irt.DICHOTOMOUS:
            c = bank.c[j : j + 1] if model == "3pl" else None
            out[:, j] = irt.dichotomous_information(theta, a, bank.b[j : j + 1], c)[:, 0]
        else:
            thr = bank.thresholds[j : j + 1, :k]
            fn = irt.gpcm_information if model == "gpcm" else irt.grm_information
            out[:, j] = fn(theta, a, thr)[:, 0]
    return out


def _per_model_probabilities(bank: ItemBank, theta: np.ndarray) -> list[np.ndarray]:
    """Each item's category probabilities ``(n_theta, K_j + 1)`` from irt.category_probabilities."""
    out = []
    for j, model in enumerate(bank.models):
        k = int(bank.max_score[j])
        p = irt.category_probabilities(
            model, theta, bank.a[j : j + 1], bank.b[j : j + 1],
            bank.c[j : j + 1] if model == "3pl" else None,
            bank.thresholds[j : j + 1, :k] if model in irt.POLYTOMOUS else None)
        out.append(p[:, 0, :])
    return out


def test_mixed_bank_information_equals_per_model_functions(mixed: ItemBank) -> None:
    expected = _per_model_information(mixed, THETA)
    np.testing.assert_allclose(mixed.information(THETA), expected, rtol=1e-12)
    np.testing.assert_allclose(mixed.test_information(THETA), expected.sum(axis=1), rtol=1e-12)
    sel = np.array([7, 1, 2])
    np.testing.assert_allclose(mixed.information(THETA, sel), expected[:, sel], rtol=1e-12)
    np.testing.assert_allclose(mixed.test_information(0.4, sel),
                               _per_model_information(mixed, np.array([0.4]))[:, sel].sum(axis=1))


def test_mixed_bank_category_probabilities_and_expected_score(mixed: ItemBank) -> None:
    p = mixed.category_probabilities(THETA)
    assert p.shape == (THETA.size, len(mixed), 5)
    for j, pj in enumerate(_per_model_probabilities(mixed, THETA)):
        np.testing.assert_allclose(p[:, j, : pj.shape[1]], pj, rtol=1e-12)
        assert np.all(p[:, j, pj.shape[1]:] == 0.0)
    np.testing.assert_allclose(p.sum(axis=2), 1.0, atol=1e-12)
    np.testing.assert_allclose(mixed.expected_score(THETA), p @ np.arange(5), rtol=1e-12)


def test_log_likelihood_matches_brute_force_sum(mixed: ItemBank) -> None:
    rng = np.random.default_rng(11)
    probs = _per_model_probabilities(mixed, THETA)
    for _ in range(20):
        items = rng.permutation(len(mixed))[: rng.integers(1, len(mixed) + 1)]
        scores = np.array([rng.integers(0, mixed.n_categories[j]) for j in items])
        brute = np.zeros(THETA.size)
        for j, x in zip(items, scores, strict=True):
            brute += np.log(probs[j][:, x])
        got = mixed.log_likelihood(THETA, items, scores)
        np.testing.assert_allclose(got, brute, rtol=1e-10)
    assert np.all(mixed.log_likelihood(THETA, [], []) == 0.0)


def test_log_likelihood_of_a_2pl_bank_is_the_bernoulli_log_likelihood() -> None:
    bank = ItemBank.from_arrays([0.8, 1.5, 2.2], [-1.0, 0.0, 1.0])
    x = np.array([1, 0, 1])
    p = 1 / (1 + np.exp(-bank.a * (THETA[:, None] - bank.b)))
    brute = (x * np.log(p) + (1 - x) * np.log1p(-p)).sum(axis=1)
    np.testing.assert_allclose(bank.log_likelihood(THETA, [0, 1, 2], x), brute, rtol=1e-12)


def test_max_information_is_an_upper_bound_attained_by_dichotomous_items(mixed: ItemBank) -> None:
    grid = np.linspace(-8, 8, 16_001)
    info_max = mixed.information(grid).max(axis=0)
    bound = mixed.max_information()
    assert np.all(info_max <= bound * (1 + 1e-9))
    dich = np.isin(np.array(mixed.models), irt.DICHOTOMOUS)
    np.testing.assert_allclose(info_max[dich], bound[dich], rtol=1e-6)


@st.composite
def random_bank(draw: st.DrawFn) -> ItemBank:
    items = []
    n = draw(st.integers(min_value=1, max_value=6))
    for j in range(n):
        model = draw(st.sampled_from(irt.MODELS))
        a = draw(st.floats(min_value=0.1, max_value=4.0))
        if model in irt.DICHOTOMOUS:
            b = draw(st.floats(min_value=-4.0, max_value=4.0))
            c = draw(st.floats(min_value=0.0, max_value=0.5)) if model == "3pl" else 0.0
            items.append(ItemParameters(f"i{j}", model, a=a, b=b, c=c))
        else:
            thr = draw(st.lists(st.floats(min_value=-4.0, max_value=4.0), min_size=1,
                                max_size=4, unique=True))
            items.append(ItemParameters(
                f"i{j}", model, a=a, thresholds=tuple(sorted(thr) if model == "grm" else thr)))
    return ItemBank.from_items(items)


@settings(max_examples=60, deadline=None)
@given(bank=random_bank())
def test_random_banks_information_bounded_and_probabilities_normalised(bank: ItemBank) -> None:
    grid = np.linspace(-6, 6, 121)
    info = bank.information(grid)
    assert np.all(np.isfinite(info))
    assert np.all(info >= 0)
    assert np.all(info <= bank.max_information()[None, :] * (1 + 1e-9))
    # Padding changes the summation order of a GPCM item's variance; agree to rounding.
    np.testing.assert_allclose(info, _per_model_information(bank, grid), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bank.category_probabilities(grid).sum(axis=2), 1.0, atol=1e-12)


def test_category_probabilities_of_a_subset_with_fewer_categories_than_the_bank() -> None:
    bank = ItemBank.from_items([
        ItemParameters("wide", "gpcm", 1.0, thresholds=(-1.0, 0.0, 1.0)),
        ItemParameters("narrow", "gpcm", 1.2, thresholds=(-0.5, 0.5)),
        ItemParameters("grm", "grm", 0.8, thresholds=(0.3,)),
    ])
    for items in ([1], [2], [1, 2], [2, 0]):
        p = bank.category_probabilities(0.4, np.array(items))
        assert p.shape == (1, len(items), int(bank.n_categories[items].max()))
        assert np.allclose(p.sum(axis=2), 1.0)
        full = bank.category_probabilities(0.4)[0, items]
        assert np.allclose(p[0], full[:, : p.shape[2]])
