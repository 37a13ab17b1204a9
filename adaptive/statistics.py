r"""Classical and IRT item statistics on sparse responses and an item bank.

Everything here works on long-form :class:`~adaptive.responses.ResponseData` (one row per response)
without building a learners × items matrix, except :func:`sx2_item_fit`, which is defined on complete
data only. Results are frozen dataclasses of read-only arrays, one entry per item, with ``to_json()``
(non-finite numbers become ``null``).

Classical statistics (:func:`item_statistics`)
    Number of responses, mean score, proportion correct :math:`p_j = \bar x_j / K_j` (the mean score
    over the item's maximum score) and the item-rest point-biserial correlation.

Residual fit (:func:`item_fit`)
    Infit and outfit mean-squares (Wright & Masters 1982) with their Wilson–Hilferty standardised
    :math:`t` values, given each learner's ability.

Summed-score fit (:func:`sx2_item_fit`)
    Orlando & Thissen's (2000) :math:`S\text{-}X^2` for dichotomous items, built on the Lord–Wingersky
    recursion (:func:`summed_score_likelihood`).

Reliability
    :func:`marginal_reliability` (from test information under a normal prior) and
    :func:`empirical_reliability` (from ability estimates and their standard errors).

Information (:func:`information_curves`)
    Item and test information and the test's standard-error curve on a theta grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from . import irt
from .bank import ItemBank
from .errors import AdaptiveError, InvalidResponses
from .quadrature import normal_grid
from .responses import ResponseData
from .types import FloatArray, IntArray

__all__ = [
    "DEFAULT_THETA_GRID",
    "InformationCurves",
    "ItemFit",
    "ItemStatistics",
    "SX2Fit",
    "empirical_reliability",
    "information_curves",
    "item_fit",
    "item_statistics",
    "marginal_reliability",
    "summed_score_likelihood",
    "sx2_item_fit",
]

DEFAULT_THETA_GRID = np.linspace(-4.0, 4.0, 81)
"""Theta grid of :func:`information_curves` when none is given: -4..4 in steps of 0.1."""
DEFAULT_THETA_GRID.setflags(write=False)

_N_PARAMETERS = {"1pl": 1, "2pl": 2, "3pl": 3}


# ---------------------------------------------------------------------------------------- helpers
def _json_floats(values: FloatArray) -> list[float | None]:
    """Plain floats, with NaN and ±inf (not representable in JSON) as ``None``."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=np.float64)]


def _json_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iub":
            return value.tolist()
        if value.ndim > 1:
            return [_json_value(row) for row in value]
        return _json_floats(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


class _Result:
    """Mixin: read-only arrays after construction and a generic ``to_json``."""

    def _freeze(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    def to_json(self) -> dict[str, Any]:
        """Return a plain-JSON mapping of every field; NaN and ±inf become ``None``."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


def _divide(num: npt.NDArray[Any], den: npt.NDArray[Any], ok: Any) -> FloatArray:
    """``num / den`` where ``ok``, NaN elsewhere, without a floating-point warning."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=ok)
    return out


def _bank_positions(responses: ResponseData, bank: ItemBank) -> IntArray:
    """Bank position of each item of ``responses``; every item must be in the bank."""
    index = {iid: j for j, iid in enumerate(bank.ids)}
    missing = [iid for iid in responses.items if iid not in index]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
        msg = f"{len(missing)} item(s) in the responses are not in the bank: {shown}"
        raise InvalidResponses(msg)
    return np.array([index[iid] for iid in responses.items], dtype=np.intp)


def _check_scores(responses: ResponseData, max_score: IntArray) -> None:
    """Raise naming the first response whose score exceeds its item's maximum."""
    bad = np.flatnonzero(responses.score > max_score[responses.item])
    if bad.size:
        r = int(bad[0])
        j = int(responses.item[r])
        msg = (f"learner {responses.learners[responses.person[r]]!r} scored "
               f"{int(responses.score[r])} on item {responses.items[j]!r}, whose scores are "
               f"0..{int(max_score[j])} ({bad.size} such response(s))")
        raise InvalidResponses(msg)


def _learner_theta(responses: ResponseData, theta: FloatArray | Sequence[float]) -> FloatArray:
    t = np.asarray(theta, dtype=np.float64)
    if t.shape != (responses.n_learners,) or not np.all(np.isfinite(t)):
        msg = (f"theta must hold one finite ability per learner, shape ({responses.n_learners},); "
               f"got shape {t.shape}")
        raise InvalidResponses(msg)
    return t


def _response_probabilities(bank: ItemBank, pos: IntArray, theta: FloatArray) -> FloatArray:
    r"""Category probabilities of each response, ``(n_responses, max categories)``.

    ``pos[r]`` is the bank position and ``theta[r]`` the ability of response ``r``. Every model depends
    on :math:`\theta` only through :math:`\theta - b`, so the probabilities at :math:`\theta_r` equal
    those at 0 of an item shifted by :math:`-\theta_r`; this evaluates each (learner, item) pair once
    with the :mod:`adaptive.irt` functions instead of a learners × items grid.
    """
    n = pos.size
    width = int(bank.n_categories[pos].max()) if n else 2
    out = np.zeros((n, width))
    models = np.array(bank.models, dtype=object)[pos]
    dich = np.isin(models, irt.DICHOTOMOUS)
    if dich.any():
        j = pos[dich]
        p = irt.dichotomous_probability(0.0, bank.a[j], bank.b[j] - theta[dich], bank.c[j])[0]
        out[dich, 0] = 1.0 - p
        out[dich, 1] = p
    for name, fn in (("gpcm", irt.gpcm_probabilities), ("grm", irt.grm_probabilities)):
        mask = models == name
        if mask.any():
            j = pos[mask]
            k = int(bank.n_categories[j].max()) - 1
            shifted = bank.thresholds[j, :k] - theta[mask][:, None]
            out[mask, : k + 1] = fn(0.0, bank.a[j], shifted)[0]
    return out


# ---------------------------------------------------------------------------- classical statistics
@dataclass(frozen=True, eq=False)
class ItemStatistics(_Result):
    """Classical statistics per item (see :func:`item_statistics`).

    Attributes
    ----------
    items : tuple of str
        Item ids, in the order of the responses' items.
    n_responses : ndarray of int, shape (n_items,)
        Responses to each item.
    max_score : ndarray of int, shape (n_items,)
        Highest possible score :math:`K_j` (from the bank, else the highest observed, at least 1).
    mean_score : ndarray of shape (n_items,)
        Mean score; NaN for an item without responses.
    proportion_correct : ndarray of shape (n_items,)
        ``mean_score / max_score`` (the classical difficulty, or facility, in [0, 1]).
    point_biserial : ndarray of shape (n_items,)
        Item-rest correlation; NaN where undefined.
    n_rest : ndarray of int, shape (n_items,)
        Responses that entered the point-biserial (their learner answered another item too).
    """

    items: tuple[str, ...]
    n_responses: IntArray
    max_score: IntArray
    mean_score: FloatArray
    proportion_correct: FloatArray
    point_biserial: FloatArray
    n_rest: IntArray

    def __post_init__(self) -> None:
        self._freeze()


def _grouped_correlation(
    group: IntArray, x: FloatArray, y: FloatArray, n_groups: int
) -> tuple[FloatArray, IntArray]:
    """Pearson correlation of ``x`` and ``y`` within each group (two-pass, centred sums)."""
    n = np.bincount(group, minlength=n_groups)
    mean_x = _divide(np.bincount(group, weights=x, minlength=n_groups), n.astype(float), n > 0)
    mean_y = _divide(np.bincount(group, weights=y, minlength=n_groups), n.astype(float), n > 0)
    dx = x - mean_x[group]
    dy = y - mean_y[group]
    sxx = np.bincount(group, weights=dx * dx, minlength=n_groups)
    syy = np.bincount(group, weights=dy * dy, minlength=n_groups)
    sxy = np.bincount(group, weights=dx * dy, minlength=n_groups)
    # A constant variable has an exactly zero centred sum for integer scores; for the rest scores
    # (ratios of sums) round-off of ~1e-16 per value is treated as constant too.
    ok = (n >= 2) & (sxx > 1e-20 * n) & (syy > 1e-20 * n)
    r = _divide(sxy, np.sqrt(sxx * syy), ok)
    return np.clip(r, -1.0, 1.0), n.astype(np.intp)


def item_statistics(responses: ResponseData, bank: ItemBank | None = None) -> ItemStatistics:
    r"""Proportion correct, response counts and item-rest point-biserials from sparse responses.

    Each score is first scaled to :math:`u_{ij} = x_{ij} / K_j` (the proportion of the item's
    maximum). A learner's *rest score* for item :math:`j` is their mean scaled score over the
    :math:`n_i - 1` **other** items they answered,

    .. math:: r_{ij} = \frac{\sum_{l \ne j} u_{il}}{n_i - 1},

    which, unlike a summed rest score, is comparable between learners who answered different
    numbers of items. The point-biserial of item :math:`j` is the Pearson correlation of
    :math:`x_{ij}` with :math:`r_{ij}` over the learners who answered item :math:`j` and at least one
    other item. On complete dichotomous data it equals the classical corrected item-total
    correlation :math:`\operatorname{corr}(x_j, \sum_{l\ne j} x_l)`. It is NaN (without a warning)
    when undefined: fewer than two such learners, a constant item, or a constant rest score.

    Parameters
    ----------
    responses : ResponseData
        Sparse responses.
    bank : ItemBank, optional
        Supplies each item's maximum score :math:`K_j`; without it, the highest observed score (at
        least 1) is used.

    Returns
    -------
    ItemStatistics
        One entry per item of ``responses``, in its order.

    Raises
    ------
    InvalidResponses
        An item missing from ``bank``, or a score above the item's maximum.
    """
    n_items = responses.n_items
    if bank is not None:
        max_score = bank.max_score[_bank_positions(responses, bank)].astype(np.intp)
        _check_scores(responses, max_score)
    else:
        max_score = np.maximum(responses.max_score(), 1).astype(np.intp)
    item = responses.item
    x = responses.score.astype(np.float64)
    n = np.bincount(item, minlength=n_items)
    mean = _divide(np.bincount(item, weights=x, minlength=n_items), n.astype(float), n > 0)

    u = x / max_score[item]
    person = responses.person
    n_per = np.bincount(person, minlength=responses.n_learners)
    total = np.bincount(person, weights=u, minlength=responses.n_learners)
    others = n_per[person] - 1
    keep = others > 0
    rest = (total[person][keep] - u[keep]) / others[keep]
    r, n_rest = _grouped_correlation(item[keep], x[keep], rest, n_items)
    return ItemStatistics(
        items=responses.items, n_responses=n.astype(np.intp), max_score=max_score,
        mean_score=mean, proportion_correct=mean / max_score, point_biserial=r, n_rest=n_rest)


# ------------------------------------------------------------------------------------ residual fit
@dataclass(frozen=True, eq=False)
class ItemFit(_Result):
    """Infit and outfit mean-squares per item (see :func:`item_fit`).

    Attributes
    ----------
    items : tuple of str
        Item ids, in the order of the responses' items.
    n_responses : ndarray of int, shape (n_items,)
        Responses to each item.
    infit, outfit : ndarray of shape (n_items,)
        Information-weighted and unweighted mean-squares; expected value 1 under the model. NaN
        for an item without responses.
    infit_t, outfit_t : ndarray of shape (n_items,)
        Wilson–Hilferty standardised mean-squares, approximately N(0, 1) under the model.
    """

    items: tuple[str, ...]
    n_responses: IntArray
    infit: FloatArray
    outfit: FloatArray
    infit_t: FloatArray
    outfit_t: FloatArray

    def __post_init__(self) -> None:
        self._freeze()


def _wilson_hilferty(ms: FloatArray, q2: FloatArray) -> FloatArray:
    ok = np.isfinite(ms) & (q2 > 0)
    q = np.sqrt(np.where(ok, q2, 1.0))
    t = (np.cbrt(np.where(ok, ms, 1.0)) - 1.0) * (3.0 / q) + q / 3.0
    return np.where(ok, t, np.nan)


def item_fit(
    responses: ResponseData, bank: ItemBank, theta: FloatArray | Sequence[float]
) -> ItemFit:
    r"""Infit and outfit mean-squares of each item given the learners' abilities.

    For response :math:`x_{ij}` with model expectation :math:`E_{ij} = \sum_k k P_{jk}(\theta_i)`,
    variance :math:`W_{ij} = \sum_k (k - E_{ij})^2 P_{jk}` and fourth central moment
    :math:`C_{ij} = \sum_k (k - E_{ij})^4 P_{jk}`:

    .. math::
        \text{outfit}_j = \frac{1}{n_j}\sum_i \frac{(x_{ij} - E_{ij})^2}{W_{ij}},\qquad
        \text{infit}_j = \frac{\sum_i (x_{ij} - E_{ij})^2}{\sum_i W_{ij}},

    summing over the learners who answered item :math:`j`. Both have expectation 1 when the model
    holds; values well above 1 mean noise (unexpected responses), well below 1 overly predictable
    responses. The standardised forms use the Wilson–Hilferty cube-root transform

    .. math::
        t = \left(\text{MS}^{1/3} - 1\right)\frac{3}{q} + \frac{q}{3},\quad
        q^2_\text{out} = \frac{1}{n_j^2}\sum_i \frac{C_{ij}}{W_{ij}^2} - \frac{1}{n_j},\quad
        q^2_\text{in} = \frac{\sum_i (C_{ij} - W_{ij}^2)}{\left(\sum_i W_{ij}\right)^2}.

    Parameters
    ----------
    responses : ResponseData
        Sparse responses; every item must be in ``bank``.
    bank : ItemBank
        Item parameters.
    theta : ndarray of shape (n_learners,)
        Ability of each learner of ``responses`` (true values in a simulation, else estimates; with
        shrunken EAP estimates the mean-squares are slightly below 1 on model-fitting data).

    Returns
    -------
    ItemFit
        One entry per item of ``responses``, in its order.
    """
    pos = _bank_positions(responses, bank)
    _check_scores(responses, bank.max_score[pos].astype(np.intp))
    t = _learner_theta(responses, theta)
    n_items = responses.n_items
    item = responses.item
    p = _response_probabilities(bank, pos[item], t[responses.person])
    k = np.arange(p.shape[1], dtype=np.float64)
    expected = p @ k
    dev = k[None, :] - expected[:, None]
    w = np.maximum((p * dev**2).sum(axis=1), irt.PROB_FLOOR)
    c4 = (p * dev**4).sum(axis=1)
    resid2 = (responses.score - expected) ** 2

    n = np.bincount(item, minlength=n_items).astype(np.float64)
    has = n > 0
    sum_w = np.bincount(item, weights=w, minlength=n_items)
    outfit = _divide(np.bincount(item, weights=resid2 / w, minlength=n_items), n, has)
    infit = _divide(np.bincount(item, weights=resid2, minlength=n_items), sum_w, has)
    q2_out = _divide(np.bincount(item, weights=c4 / (w * w), minlength=n_items), n * n, has)
    q2_out = q2_out - _divide(np.ones(n_items), n, has)
    q2_in = _divide(np.bincount(item, weights=c4 - w * w, minlength=n_items), sum_w**2, has)
    return ItemFit(
        items=responses.items, n_responses=n.astype(np.intp), infit=infit, outfit=outfit,
        infit_t=_wilson_hilferty(infit, q2_in), outfit_t=_wilson_hilferty(outfit, q2_out))


# ---------------------------------------------------------------------------- summed-score fit
def summed_score_likelihood(
    probabilities: FloatArray, max_scores: IntArray | Sequence[int] | None = None
) -> FloatArray:
    r"""Distribution of the summed score given theta, by the Lord–Wingersky (1984) recursion.

    Adding item :math:`j` (scores :math:`0..K_j`) to the items before it,

    .. math:: L_{j}(s \mid \theta) = \sum_{k=0}^{K_j} L_{j-1}(s - k \mid \theta)\, P_{jk}(\theta),
              \qquad L_0(0 \mid \theta) = 1,

    vectorised over every leading axis (quadrature nodes, and any batch axes); the loop runs over
    items and categories only.

    Parameters
    ----------
    probabilities : ndarray of shape (..., n_items, n_categories)
        Category probabilities of each item at each node (for dichotomous items, the last axis is
        ``(1 - P, P)``). An item whose probabilities are ``(1, 0, ...)`` leaves the distribution
        unchanged, which removes it from the sum.
    max_scores : sequence of int, optional
        Highest score of each item; by default ``n_categories - 1`` for all.

    Returns
    -------
    ndarray of shape (..., sum(max_scores) + 1)
        :math:`P(S = s \mid \theta)` for :math:`s = 0..\sum_j K_j`.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim < 2:
        msg = f"probabilities must be (..., n_items, n_categories), got shape {p.shape}"
        raise AdaptiveError(msg)
    *lead, n_items, width = p.shape
    ks = (np.full(n_items, width - 1, dtype=np.intp) if max_scores is None
          else np.asarray(max_scores, dtype=np.intp))
    if ks.shape != (n_items,) or np.any(ks < 0) or np.any(ks >= width):
        msg = f"max_scores must be {n_items} integers in 0..{width - 1}"
        raise AdaptiveError(msg)
    out = np.zeros((*lead, int(ks.sum()) + 1))
    out[..., 0] = 1.0
    top = 0
    for j in range(n_items):
        kj = int(ks[j])
        prev = out[..., : top + 1].copy()
        out[..., : top + 1] = 0.0
        for k in range(kj + 1):
            out[..., k : top + k + 1] += prev * p[..., j, k, None]
        top += kj
    return out


@dataclass(frozen=True, eq=False)
class SX2Fit(_Result):
    r"""Orlando–Thissen :math:`S\text{-}X^2` per item (see :func:`sx2_item_fit`).

    Attributes
    ----------
    items : tuple of str
        Item ids, in the order of the responses' items.
    statistic : ndarray of shape (n_items,)
        :math:`S\text{-}X^2`.
    df : ndarray of int, shape (n_items,)
        Degrees of freedom: score groups after collapsing minus the item's parameter count.
    p_value : ndarray of shape (n_items,)
        Upper tail of :math:`\chi^2_{df}`; NaN when ``df < 1``.
    n_groups : ndarray of int, shape (n_items,)
        Score groups after collapsing.
    """

    items: tuple[str, ...]
    statistic: FloatArray
    df: IntArray
    p_value: FloatArray
    n_groups: IntArray

    def __post_init__(self) -> None:
        self._freeze()


def _collapse(
    n: FloatArray, observed: FloatArray, expected: FloatArray, min_expected: float
) -> tuple[float, int]:
    """Pearson statistic and group count after merging adjacent score groups.

    Groups are merged from the low scores upwards until the merged group has learners and both its
    expected counts (right and wrong) reach ``min_expected``; a short last group joins the one
    before it. Empty groups therefore never count.
    """
    bins: list[tuple[float, float, float]] = []
    acc_n = acc_o = acc_e = 0.0
    for g in range(n.size):
        acc_n += float(n[g])
        acc_o += float(observed[g])
        acc_e += float(expected[g])
        if acc_n > 0 and acc_e >= min_expected and acc_n - acc_e >= min_expected:
            bins.append((acc_n, acc_o, acc_e))
            acc_n = acc_o = acc_e = 0.0
    if acc_n > 0:
        if bins:
            bn, bo, be = bins.pop()
            bins.append((bn + acc_n, bo + acc_o, be + acc_e))
        else:
            bins.append((acc_n, acc_o, acc_e))
    stat = 0.0
    for bn, bo, be in bins:
        if be > 0 and bn - be > 0:
            stat += (bo - be) ** 2 * bn / (be * (bn - be))
    return stat, len(bins)


def sx2_item_fit(
    responses: ResponseData,
    bank: ItemBank,
    *,
    min_expected: float = 1.0,
    parameters_estimated: bool = True,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    n_points: int = 61,
) -> SX2Fit:
    r"""Orlando & Thissen's (2000) summed-score item fit :math:`S\text{-}X^2` for dichotomous items.

    Learners are grouped by their summed score :math:`s = 1..J-1` on the :math:`J` items (scores 0 and
    :math:`J` carry no information). For item :math:`i`, the observed proportion correct in group
    :math:`s` is :math:`O_{is}`; the model-implied one integrates over the ability distribution
    :math:`\varphi` (a normal, on a quadrature grid),

    .. math::
        E_{is} = \frac{\int P_i(\theta)\, L^{(-i)}(s - 1 \mid \theta)\, \varphi(\theta)\, d\theta}
                      {\int L(s \mid \theta)\, \varphi(\theta)\, d\theta},\qquad
        S\text{-}X^2_i = \sum_s N_s \frac{(O_{is} - E_{is})^2}{E_{is}(1 - E_{is})},

    with :math:`L` and :math:`L^{(-i)}` the summed-score distributions of all items and of all items
    but :math:`i` (:func:`summed_score_likelihood`; all :math:`J` leave-one-out distributions are
    computed in one batched recursion). Adjacent groups are merged until both expected counts reach
    ``min_expected``; :math:`df = G - m_i` with :math:`G` groups and :math:`m_i` the item's
    parameters (1, 2, 3 for the 1PL, 2PL, 3PL) when they were estimated from these data.

    Parameters
    ----------
    responses : ResponseData
        Complete data: every learner answered every item.
    bank : ItemBank
        Holds every item of ``responses``; all must be dichotomous.
    min_expected : float
        Smallest expected count (right and wrong) of a score group after merging.
    parameters_estimated : bool
        Subtract the item's parameter count from the degrees of freedom.
    prior_mean, prior_sd : float
        The normal ability distribution.
    n_points : int
        Quadrature nodes over ``prior_mean ± 6 prior_sd``.

    Returns
    -------
    SX2Fit
        One entry per item of ``responses``, in its order.

    Raises
    ------
    InvalidResponses
        Incomplete data, a score other than 0/1, or an item missing from the bank.
    AdaptiveError
        A polytomous item, or fewer than three items.
    """
    pos = _bank_positions(responses, bank)
    n_items = responses.n_items
    poly = [j for j in range(n_items) if bank.models[pos[j]] not in irt.DICHOTOMOUS]
    if poly:
        j = poly[0]
        msg = (f"S-X² is implemented for dichotomous items only; item {responses.items[j]!r} is "
               f"{bank.models[pos[j]]}")
        raise AdaptiveError(msg)
    if n_items < 3:
        msg = f"S-X² needs at least 3 items, got {n_items}"
        raise AdaptiveError(msg)
    answered = np.bincount(responses.person, minlength=responses.n_learners)
    if responses.n_responses != responses.n_learners * n_items or np.any(answered != n_items):
        short = int(np.flatnonzero(answered != n_items)[0]) if np.any(answered != n_items) else 0
        msg = (f"S-X² needs complete data (every learner answers all {n_items} items); learner "
               f"{responses.learners[short]!r} answered {int(answered[short])}")
        raise InvalidResponses(msg)
    _check_scores(responses, np.ones(n_items, dtype=np.intp))
    nodes, weights = normal_grid(n_points, prior_mean, prior_sd)

    x = np.zeros((responses.n_learners, n_items))
    x[responses.person, responses.item] = responses.score
    total = x.sum(axis=1).astype(np.intp)
    n_s = np.bincount(total, minlength=n_items + 1).astype(np.float64)
    right = np.zeros((n_items + 1, n_items))
    np.add.at(right, total, x)  # right[s, i]: learners with summed score s who got item i right

    p = irt.dichotomous_probability(nodes, bank.a[pos], bank.b[pos], bank.c[pos])  # (Q, J)
    cats = np.stack([1.0 - p, p], axis=-1)  # (Q, J, 2)
    full = summed_score_likelihood(cats)  # (Q, J + 1)
    loo_cats = np.broadcast_to(cats, (n_items, *cats.shape)).copy()  # (J, Q, J, 2)
    eye = np.arange(n_items)
    loo_cats[eye, :, eye, 0] = 1.0
    loo_cats[eye, :, eye, 1] = 0.0
    loo = summed_score_likelihood(loo_cats)[..., : n_items]  # (J, Q, J): scores 0..J-1
    groups = np.arange(1, n_items)  # s = 1..J-1
    denom = weights @ full[:, groups]  # (J - 1,)
    numer = np.einsum("q,qi,iqs->is", weights, p, loo[:, :, groups - 1])
    expected = numer / denom[None, :]  # (J, J - 1)

    stat = np.empty(n_items)
    n_groups = np.empty(n_items, dtype=np.intp)
    for i in range(n_items):
        stat[i], n_groups[i] = _collapse(
            n_s[groups], right[groups, i], n_s[groups] * expected[i], min_expected)
    m = np.array([_N_PARAMETERS[bank.models[j]] for j in pos], dtype=np.intp)
    df = n_groups - m if parameters_estimated else n_groups.copy()
    p_value = np.where(df >= 1, chi2.sf(stat, np.maximum(df, 1)), np.nan)
    return SX2Fit(items=responses.items, statistic=stat, df=df.astype(np.intp),
                  p_value=p_value, n_groups=n_groups)


# ------------------------------------------------------------------------------------ reliability
def marginal_reliability(
    bank: ItemBank,
    items: IntArray | Sequence[int] | None = None,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    n_points: int = 61,
) -> float:
    r"""Marginal reliability of a fixed test from its information under a normal prior.

    The error variance of an ability estimate at :math:`\theta` is approximated by the posterior
    variance :math:`1 / (I(\theta) + 1/\sigma^2)`, averaged over the ability distribution
    :math:`N(\mu, \sigma^2)` by quadrature:

    .. math:: \rho = 1 - \frac{1}{\sigma^2}
              \int \frac{\varphi(\theta)}{I(\theta) + 1/\sigma^2}\, d\theta,

    which for the standard normal is :math:`1 - E[1/(I(\theta) + 1)]`. It predicts the squared
    correlation between true abilities and their EAP estimates on the test.

    Parameters
    ----------
    bank : ItemBank
        Item parameters.
    items : sequence of int, optional
        Bank positions forming the test; all items by default.
    prior_mean, prior_sd : float
        The ability distribution.
    n_points : int
        Quadrature nodes over ``prior_mean ± 6 prior_sd``.
    """
    nodes, weights = normal_grid(n_points, prior_mean, prior_sd)
    sel = None if items is None else np.asarray(items, dtype=np.intp)
    info = bank.test_information(nodes, sel)
    var = prior_sd * prior_sd
    return float(1.0 - (weights @ (1.0 / (info + 1.0 / var))) / var)


def empirical_reliability(
    theta: FloatArray | Sequence[float], se: FloatArray | Sequence[float], *, estimator: str = "eap"
) -> float:
    r"""Reliability of a set of ability estimates from their spread and standard errors.

    For EAP estimates (posterior means, ``se`` the posterior SDs) the total variance of the true
    abilities splits into :math:`\operatorname{Var}(\hat\theta) + E[SE^2]`, and

    .. math:: \rho_\text{EAP} = \frac{\operatorname{Var}(\hat\theta)}
                                     {\operatorname{Var}(\hat\theta) + \overline{SE^2}}.

    For ML-type estimates (``estimator="ml"``, also for MAP/WLE read as unbiased), the estimates carry
    the error on top of the true variance, :math:`\operatorname{Var}(\hat\theta) = \operatorname{Var}
    (\theta) + E[SE^2]`, and

    .. math:: \rho_\text{ML} = 1 - \frac{\overline{SE^2}}{\operatorname{Var}(\hat\theta)}.

    Applying the ML form to shrunken EAP estimates underestimates the reliability.

    Parameters
    ----------
    theta, se : ndarray of shape (n_learners,)
        Estimates and standard errors; at least two learners.
    estimator : {"eap", "ml"}
        Which decomposition applies.
    """
    t = np.asarray(theta, dtype=np.float64)
    s = np.asarray(se, dtype=np.float64)
    if t.ndim != 1 or t.shape != s.shape or t.size < 2:
        msg = f"theta and se must be 1-D of equal length >= 2, got {t.shape} and {s.shape}"
        raise AdaptiveError(msg)
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(s)) and np.all(s >= 0)):
        msg = "theta and se must be finite, with se >= 0"
        raise AdaptiveError(msg)
    var = float(np.var(t))
    err = float(np.mean(s * s))
    if estimator == "eap":
        return var / (var + err) if var + err > 0 else float("nan")
    if estimator == "ml":
        return 1.0 - err / var if var > 0 else float("nan")
    msg = f"estimator must be 'eap' or 'ml', got {estimator!r}"
    raise AdaptiveError(msg)


# ------------------------------------------------------------------------------------ information
@dataclass(frozen=True, eq=False)
class InformationCurves(_Result):
    r"""Item and test information on a theta grid (see :func:`information_curves`).

    Attributes
    ----------
    theta : ndarray of shape (n_theta,)
        The grid.
    items : tuple of str
        Ids of the items, in column order.
    item_information : ndarray of shape (n_theta, n_items)
        :math:`I_j(\theta)`.
    test_information : ndarray of shape (n_theta,)
        :math:`I(\theta) = \sum_j I_j(\theta)`.
    standard_error : ndarray of shape (n_theta,)
        :math:`1/\sqrt{I(\theta)}`; inf where the information is 0.
    """

    theta: FloatArray
    items: tuple[str, ...]
    item_information: FloatArray
    test_information: FloatArray
    standard_error: FloatArray

    def __post_init__(self) -> None:
        self._freeze()


def information_curves(
    bank: ItemBank,
    theta: FloatArray | Sequence[float] | float | None = None,
    items: IntArray | Sequence[int] | None = None,
) -> InformationCurves:
    r"""Item information, test information and the standard-error curve on a grid.

    .. math:: I(\theta) = \sum_j I_j(\theta),\qquad SE(\theta) = \frac{1}{\sqrt{I(\theta)}}

    Parameters
    ----------
    bank : ItemBank
        Item parameters.
    theta : ndarray of shape (n_theta,) or float, optional
        The grid; :data:`DEFAULT_THETA_GRID` (-4..4 by 0.1) by default.
    items : sequence of int, optional
        Bank positions; all items by default.
    """
    grid = DEFAULT_THETA_GRID.copy() if theta is None else np.atleast_1d(
        np.asarray(theta, dtype=np.float64)).copy()
    if grid.ndim != 1 or not np.all(np.isfinite(grid)):
        msg = "theta must be a 1-D array of finite values"
        raise AdaptiveError(msg)
    sel = (np.arange(len(bank), dtype=np.intp) if items is None
           else np.asarray(items, dtype=np.intp))
    info = bank.information(grid, sel)
    test = info.sum(axis=1)
    se = np.full(test.shape, np.inf)
    np.divide(1.0, np.sqrt(test), out=se, where=test > 0)
    return InformationCurves(theta=grid, items=tuple(bank.ids[int(j)] for j in sel),
                             item_information=info, test_information=test, standard_error=se)
