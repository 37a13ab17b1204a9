"""Calibration by marginal maximum likelihood: score ranges, starting values, the EM run, the
resulting bank and its warnings (implausible estimates, excluded items)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.special import expit

from .. import irt
from ..bank import ItemBank, ItemParameters
from ..errors import CalibrationError, InvalidResponses
from ..responses import ResponseData
from ..types import BoolArray, FloatArray, IntArray
from .constants import (
    A_BOUNDS,
    PLAUSIBLE_A_MAX,
    PLAUSIBLE_SE_A_MAX,
    PLAUSIBLE_SE_B_MAX,
    SUGGESTED_A_PRIOR,
    SUGGESTED_B_PRIOR,
)
from .em import _EM, _EStep, _Layout, _run_em
from .mstep import _Dichotomous, _Family, _Polytomous
from .results import CalibrationResult, ConvergenceReport, Priors
from .stderr import _Covariance, _covariances, _safe_sqrt


def _item_stats(data: ResponseData) -> tuple[IntArray, IntArray, IntArray]:
    n = data.n_items
    count = np.bincount(data.item, minlength=n).astype(np.intp)
    lo = np.full(n, np.iinfo(np.intp).max, dtype=np.intp)
    hi = np.full(n, -1, dtype=np.intp)
    np.minimum.at(lo, data.item, data.score)
    np.maximum.at(hi, data.item, data.score)
    return count, lo, hi


def _nothing_varies(data: ResponseData, count: IntArray, lo: IntArray) -> CalibrationError:
    """The error when no item has responses with two different scores: it names the first items
    with their one score and says what calibration needs."""
    answered = np.flatnonzero(count > 0).tolist()
    shown = "; ".join(
        f"{data.items[j]!r}: " + (f"its one response is {int(lo[j])}" if count[j] == 1 else
                                  f"all {int(count[j])} responses are {int(lo[j])}")
        for j in answered[:3])
    more = f"; and {len(answered) - 3} more items" if len(answered) > 3 else ""
    msg = (f"no item has varied responses: every item was answered with a single score ({shown}"
           f"{more}); an item needs responses with at least two different scores to be "
           "calibrated: collect more responses")
    return CalibrationError(msg)


def _start_values(model: str, data_item: IntArray, score: IntArray, n_items: int, kmax: int,
                  tmask: BoolArray | None, priors: Priors) -> FloatArray:
    """Moment-based starting values on the N(0, 1) scale (a = 1)."""
    shrink = math.sqrt(1.0 + math.pi / 8.0)  # logistic-normal approximation
    if model in irt.DICHOTOMOUS:
        n = np.bincount(data_item, minlength=n_items).astype(np.float64)
        right = np.bincount(data_item, weights=score.astype(np.float64), minlength=n_items)
        p = (right + 0.5) / (n + 1.0)
        eta = np.zeros((n_items, 3 if model == "3pl" else 2))
        eta[:, 0] = 1.0
        if model == "3pl":
            c0 = 0.15
            if priors.c_beta is not None:
                al, be = priors.c_beta
                c0 = (al - 1.0) / (al + be - 2.0) if al + be > 2.0 else 0.15
            c0 = min(max(c0, 0.01), 0.4)
            p = np.clip((p - c0) / (1.0 - c0), 0.05, 0.95)
            eta[:, 2] = math.log(c0 / (1.0 - c0))
        eta[:, 1] = shrink * np.log(p / (1.0 - p))
        return eta
    assert tmask is not None
    counts = np.zeros((n_items, kmax + 1))
    np.add.at(counts, (data_item, score), 1.0)
    counts = np.where(np.concatenate([np.ones((n_items, 1), bool), tmask], axis=1),
                      counts + 0.5, 0.0)
    eta = np.zeros((n_items, kmax + 1))
    eta[:, 0] = 1.0
    if model == "grm":
        tail = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]  # n(X >= k)
        total = tail[:, :1]
        pk = np.clip(tail[:, 1:] / total, 1e-4, 1 - 1e-4)
        thr = np.clip(-shrink * np.log(pk / (1.0 - pk)), -8.0, 8.0)
        for k in range(1, kmax):  # keep them strictly increasing (empty categories tie at 8)
            thr[:, k] = np.maximum(thr[:, k], thr[:, k - 1] + 0.05)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            thr = np.clip(np.nan_to_num(shrink * np.log(counts[:, :-1] / counts[:, 1:])), -8.0, 8.0)
    eta[:, 1:] = np.where(tmask, thr, 0.0)
    return eta


def _n_categories(value: object, item_id: str | None) -> int:
    """Check one declared number of score categories (an int >= 2)."""
    where = f" of item {item_id!r}" if item_id is not None else ""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 2:
        msg = (f"the number of score categories{where} must be a whole number >= 2 (3 for scores "
               f"0..2), got {value!r}")
        raise CalibrationError(msg)
    return int(value)


def _max_scores(
    data: ResponseData, model: str, categories: Mapping[str, int] | int | None,
    anchors: ItemBank | None,
) -> tuple[IntArray, BoolArray]:
    """Highest allowed score of every item of ``data``, and which of them were inferred.

    The range comes from ``categories``, else from an anchor, else (polytomous models only) from
    the highest observed score. Every response is then checked against it.

    Raises
    ------
    CalibrationError
        Invalid ``categories``, or ``categories`` contradicting the model or an anchor.
    InvalidResponses
        The first response (in data order) whose score is above its item's range.
    """
    n = data.n_items
    declared = np.full(n, -1, dtype=np.intp)
    if isinstance(categories, Mapping):
        for iid, value in categories.items():
            try:
                j = data.item_index(iid)
            except KeyError:
                msg = (f"categories names item {iid!r}, which has no responses in the data; "
                       "check the item id")
                raise CalibrationError(msg) from None
            declared[j] = _n_categories(value, iid) - 1
    elif categories is not None:
        declared[:] = _n_categories(categories, None) - 1
    if model in irt.DICHOTOMOUS:
        wrong = np.flatnonzero((declared >= 0) & (declared != 1))
        if wrong.size:
            j = int(wrong[0])
            msg = (f"model {model} has 2 score categories (0/1), but {int(declared[j]) + 1} "
                   f"are declared for item {data.items[j]!r}; use gpcm or grm for partial credit")
            raise CalibrationError(msg)
        declared[:] = 1
    from_anchor = np.zeros(n, dtype=bool)
    if anchors is not None:
        for j, iid in enumerate(data.items):
            if iid not in anchors.ids:
                continue
            pos = anchors.index(iid)
            if anchors.models[pos] != model:
                msg = (f"anchor item {iid!r} uses model {anchors.models[pos]} but the "
                       f"calibration model is {model}; anchors must use the same model")
                raise CalibrationError(msg)
            k = int(anchors.max_score[pos])
            if declared[j] >= 0 and declared[j] != k:
                msg = (f"{int(declared[j]) + 1} score categories are declared for item {iid!r} "
                       f"but the anchor bank gives it {k + 1} (scores 0..{k})")
                raise CalibrationError(msg)
            declared[j] = k
            from_anchor[j] = True
    inferred = declared < 0
    limit = np.where(inferred, np.iinfo(np.intp).max, declared)
    bad = data.score > limit[data.item]
    if bad.any():
        r = int(np.argmax(bad))
        j = int(data.item[r])
        iid, score, k = data.items[j], int(data.score[r]), int(declared[j])
        more = int(bad.sum()) - 1
        also = f" ({more} more score(s) are out of range too)" if more else ""
        who = f"learner {data.learners[data.person[r]]!r}"
        if model in irt.DICHOTOMOUS:
            msg = (f"item {iid!r} has score {score} ({who}) but model {model} takes scores 0/1 "
                   f"(0 = wrong, 1 = right){also}; use gpcm or grm for partial credit")
        else:
            origin = "in the anchor bank" if from_anchor[j] else "as declared"
            msg = (f"item {iid!r} has score {score} ({who}) but takes scores 0..{k} "
                   f"({k + 1} categories {origin}){also}; correct the score or declare more "
                   "categories")
        raise InvalidResponses(msg, source=data.source, line=data.line_of(r))
    if inferred.any():
        _, _, hi = _item_stats(data)
        declared = np.where(inferred, np.maximum(hi, 1), declared)
    return declared, inferred


def _calibrate_mml(
    data: ResponseData, model: str, z: FloatArray, w: FloatArray, anchors: ItemBank | None,
    priors: Priors, max_iter: int, tol: float, accelerate: bool, standard_errors: bool,
    max_scores: IntArray, inferred: BoolArray,
) -> CalibrationResult:
    notes: list[str] = []
    count, lo, hi = _item_stats(data)
    # -- anchors (their model and score range were checked by _max_scores) ----------------------
    anchor_pos = np.full(data.n_items, -1, dtype=np.intp)
    if anchors is not None:
        for j, iid in enumerate(data.items):
            if iid in anchors.ids and count[j] > 0:
                anchor_pos[j] = anchors.index(iid)
        if not (anchor_pos >= 0).any():
            notes.append("none of the anchor items appear in the data; the calibration is not "
                          "linked to the anchors' scale")
    is_anchor = anchor_pos >= 0
    # -- items that cannot be calibrated -------------------------------------------------------
    excluded: list[str] = []
    for j in np.flatnonzero(~is_anchor & ((count == 0) | (lo == hi))).tolist():
        iid = data.items[j]
        excluded.append(iid)
        if count[j] == 0:
            notes.append(f"item {iid!r} has no responses; it is left out of the bank")
        else:
            what = (f"its one response is {int(lo[j])}" if count[j] == 1 else
                    f"all {int(count[j])} responses are {int(lo[j])}")
            notes.append(f"item {iid!r}: {what}, so its parameters cannot be estimated; it is "
                         "left out of the bank")
    kept = np.flatnonzero(is_anchor | ((count > 0) & (lo != hi)))
    if kept.size == 0:
        raise _nothing_varies(data, count, lo)
    guessed = [data.items[j] for j in kept if inferred[j]]
    if model in irt.POLYTOMOUS and guessed:
        shown = ", ".join(repr(iid) for iid in guessed[:5]) + (
            f" and {len(guessed) - 5} more" if len(guessed) > 5 else "")
        notes.append(f"the number of score categories of {len(guessed)} item(s) ({shown}) was "
                     "inferred from the highest score observed; one stray score would add "
                     "phantom categories: declare them (categories=..., or thetapath calibrate "
                     "--categories N)")
    n = int(kept.size)
    new_index = np.full(data.n_items, -1, dtype=np.intp)
    new_index[kept] = np.arange(n)
    sel = new_index[data.item] >= 0
    item = new_index[data.item[sel]]
    score = data.score[sel].astype(np.intp)
    anchored = is_anchor[kept]
    apos = anchor_pos[kept]
    # -- model structure -------------------------------------------------------------------------
    tmask: BoolArray | None = None
    empty_note: dict[int, int] = {}  # item row -> its note on empty score categories
    poor_thr: BoolArray | None = None
    poor_b: BoolArray | None = None
    family: _Family
    if model in irt.DICHOTOMOUS:
        family = _Dichotomous(model, n, priors)
        kmax = 1
    else:
        k_item = max_scores[kept].copy()
        kmax = int(k_item.max())
        tmask = np.arange(kmax)[None, :] < k_item[:, None]
        family = _Polytomous(model, tmask, priors)
        seen = np.zeros((n, kmax + 1), dtype=bool)
        seen[item, score] = True
        unseen = np.arange(kmax + 1)[None, :] <= k_item[:, None]
        unseen &= ~seen & ~anchored[:, None]
        # threshold t (0-based) separates categories t and t + 1
        poor_thr = unseen[:, :-1] | unseen[:, 1:]
        # an empty lowest or highest category sends a threshold to its bound, and b with it
        poor_b = unseen[:, 0] | unseen[np.arange(n), k_item]
        for jj in np.flatnonzero(unseen.any(axis=1)).tolist():
            empty = [int(c) for c in np.flatnonzero(unseen[jj])]
            empty_note[jj] = len(notes)
            notes.append(f"item {data.items[kept[jj]]!r}: no responses in score categories "
                         f"{empty} (of 0..{int(k_item[jj])}); the thresholds next to them cannot "
                         "be estimated and have no SEs (check the declared categories, or "
                         "collect more responses)")
    eta0 = _start_values(model, item, score, n, kmax, tmask, priors)
    shared_a = model == "1pl"
    if anchors is not None and anchored.any():
        ap = apos[anchored]
        a_fix = anchors.a[ap]
        if model in irt.DICHOTOMOUS:
            eta0[anchored, 0] = a_fix
            eta0[anchored, 1] = -a_fix * anchors.b[ap]
            if model == "3pl":
                c_fix = anchors.c[ap]
                eta0[anchored, 2] = np.log(c_fix) - np.log1p(-c_fix)
        else:
            eta0[anchored, 0] = a_fix
            eta0[anchored, 1:] = np.nan_to_num(anchors.thresholds[ap][:, :kmax])
        if shared_a:
            if not np.allclose(a_fix, a_fix[0], rtol=1e-9, atol=0.0):
                msg = "1PL anchors must share one discrimination; found several values of a"
                raise CalibrationError(msg)
            eta0[:, 0] = a_fix[0]
            shared_a = False  # the common a is the anchors': fixed
    free_rows = np.flatnonzero(~anchored).astype(np.intp)
    free_cols = ~family.subset(free_rows).frozen()
    if model == "1pl" and not shared_a:
        free_cols[:, 0] = False
    latent = bool(anchored.any())
    layout = _Layout.build(data.person[sel], item, score, n, family.n_cat)
    em = _EM(family, layout, z, np.log(w), eta0, free_rows, free_cols, shared_a=shared_a,
             latent=latent)
    x0 = em.pack(eta0, 0.0, 1.0)
    x, report = _run_em(em, x0, max_iter=max_iter, tol=tol, accelerate=accelerate)
    eta, mu, sigma = em.unpack(x)
    final = em.estep(eta, mu, sigma, keep_post=standard_errors)
    if not report.converged:
        notes.append(f"the EM did not converge in {report.iterations} iterations (last change "
                     f"{report.max_change:.3g} > tol {tol:g}); raise max_iter")
    covariance = _Covariance.none(n, family.k)
    if standard_errors and final.post is not None and free_rows.size:
        covariance = _covariances(em, eta, mu, sigma, final.post)
        notes.extend(_undetermined(data, kept, covariance, poor_thr, layout.n_persons, priors))
    for jj, at in empty_note.items():  # b, the mean of all the thresholds, may go with them
        if covariance.method != "none" and poor_b is not None and (
                poor_b[jj] or not np.isfinite(covariance.var_b[jj])):
            notes[at] = notes[at].replace("have no SEs (", "have no SEs, and neither has b, "
                                          "their mean (")
    return _assemble(data, model, kept, anchored, apos, anchors, eta, covariance, tmask, final,
                     report, notes, excluded, mu, sigma, z.size, free_rows, priors, poor_thr,
                     poor_b)


def _undetermined(
    data: ResponseData, kept: IntArray, covariance: _Covariance, poor_thr: BoolArray | None,
    n_learners: int, priors: Priors,
) -> list[str]:
    """A warning naming the items with parameters the information does not determine (they get no
    SEs), beyond the thresholds next to an empty category (already named), and what to do."""
    unexplained = covariance.undetermined.copy()
    if poor_thr is not None:
        unexplained[:, 1:] &= ~poor_thr
    rows = np.flatnonzero(unexplained.any(axis=1))
    if rows.size == 0:
        return []
    names = [data.items[kept[jj]] for jj in rows.tolist()]
    shown = ", ".join(repr(iid) for iid in names[:5]) + (
        f" and {len(names) - 5} more" if len(names) > 5 else "")
    n_par = covariance.n_parameters
    if n_learners < n_par:
        why = (f"the responses of {n_learners} learners determine at most {n_learners} "
               f"directions of the {n_par} parameters estimated (the rank of the cross-product "
               "information)")
    else:
        why = ("the responses leave them free (no information about them, or the same "
               "information as about others), as for a discrimination at its bound")
    suggested = (("a_lognormal", "--a-prior lognormal", SUGGESTED_A_PRIOR),
                 ("b_normal", "--b-prior normal", SUGGESTED_B_PRIOR))
    wanted = [(name, flag, m, sd) for name, flag, (m, sd) in suggested
              if getattr(priors, name) is None]
    advice = "collect responses from more learners"
    if wanted:
        python = ", ".join(f"{name}=({m:g}, {sd:g})" for name, _, m, sd in wanted)
        cli = " ".join(f"{flag}:{m:g},{sd:g}" for _, flag, m, sd in wanted)
        advice += f", or add priors: priors=Priors({python}), or thetapath calibrate {cli}"
    count = int(unexplained.sum())
    return [f"{count} parameter(s) of {len(names)} item(s) ({shown}) have no standard errors: "
            f"{why}; {advice}"]


def _assemble(
    data: ResponseData, model: str, kept: IntArray, anchored: BoolArray, apos: IntArray,
    anchors: ItemBank | None, eta: FloatArray, covariance: _Covariance,
    tmask: BoolArray | None, final: _EStep, report: ConvergenceReport, notes: list[str],
    excluded: list[str], mu: float, sigma: float, n_quadrature: int, free_rows: IntArray,
    priors: Priors, poor_thr: BoolArray | None, poor_b: BoolArray | None,
) -> CalibrationResult:
    n = int(kept.size)
    cov = covariance.cov
    se_b = _safe_sqrt(covariance.var_b)
    kmax = 0 if tmask is None else int(tmask.shape[1])
    se_a = _safe_sqrt(cov[:, 0, 0])
    se_c = np.full(n, np.nan)
    se_thr = np.full((n, kmax), np.nan)
    items: list[ItemParameters] = []
    if model in irt.DICHOTOMOUS:
        a, d = eta[:, 0], eta[:, 1]
        b = -d / a
        c = expit(eta[:, 2]) if model == "3pl" else np.zeros(n)
        if model == "3pl":
            se_c = c * (1.0 - c) * _safe_sqrt(cov[:, 2, 2])
        for jj in range(n):
            iid = data.items[kept[jj]]
            if anchored[jj] and anchors is not None:
                items.append(anchors.item(int(apos[jj])))
                continue
            items.append(ItemParameters(id=iid, model=model, a=float(a[jj]), b=float(b[jj]),
                                        c=float(c[jj]) if model == "3pl" else 0.0))
    else:
        assert tmask is not None
        k_item = tmask.sum(axis=1)
        var_thr = np.diagonal(cov[:, 1:, 1:], axis1=1, axis2=2)
        se_thr = np.where(tmask, _safe_sqrt(var_thr), np.nan)
        if poor_thr is not None and poor_b is not None:
            # a threshold next to an empty category is not identified (it runs off to its bound,
            # or meets its neighbour): its "SE" is an artefact, tiny or huge, so none is reported.
            # The mean threshold b stays identified unless the lowest or highest category is empty.
            se_thr = np.where(poor_thr, np.nan, se_thr)
            se_b = np.where(poor_b, np.nan, se_b)
        for jj in range(n):
            iid = data.items[kept[jj]]
            if anchored[jj] and anchors is not None:
                items.append(anchors.item(int(apos[jj])))
                continue
            thr = tuple(float(t) for t in eta[jj, 1:1 + int(k_item[jj])])
            items.append(ItemParameters(id=iid, model=model, a=float(eta[jj, 0]),
                                        b=float(np.mean(thr)), thresholds=thr))
    bank = ItemBank.from_items(items)
    free = np.zeros(n, dtype=bool)
    free[free_rows] = True
    notes.extend(_implausible(bank, se_a, se_b, free, data, kept, priors, model == "1pl"))
    for arr in (se_a, se_b, se_c, se_thr):
        arr.setflags(write=False)
    return CalibrationResult(
        model=model, engine="mml", bank=bank, se_a=se_a, se_b=se_b, se_c=se_c,
        se_thresholds=se_thr, log_likelihood=final.log_likelihood, convergence=report,
        warnings=tuple(notes), excluded=tuple(excluded),
        anchors=tuple(bank.ids[j] for j in np.flatnonzero(anchored)),
        population_mean=float(mu), population_sd=float(sigma), n_quadrature=n_quadrature,
        se_method=covariance.method)


def _implausible(
    bank: ItemBank, se_a: FloatArray, se_b: FloatArray, free: BoolArray, data: ResponseData,
    kept: IntArray, priors: Priors, common_a: bool, engine: str = "mml",
) -> list[str]:
    """Warnings for estimated items whose ``a`` is at a bound or implausible, or whose SEs are large.

    ``bank`` rows correspond to ``data.items[kept]``; only ``free`` rows (not anchors) are checked
    against :data:`PLAUSIBLE_A_MAX`, :data:`PLAUSIBLE_SE_A_MAX` and :data:`PLAUSIBLE_SE_B_MAX`.
    Each warning names the item, says how few responses it rests on and suggests a prior.
    """
    notes: list[str] = []
    count = np.bincount(data.item, minlength=data.n_items)
    right = np.bincount(data.item, weights=(data.score > 0).astype(np.float64),
                        minlength=data.n_items)
    first = int(np.argmax(free)) if free.any() else -1
    for jj in np.flatnonzero(free).tolist():
        iid = bank.ids[jj]
        a, sa, sb = float(bank.a[jj]), float(se_a[jj]), float(se_b[jj])
        check_a = not common_a or jj == first
        if check_a and a < 1.5 * A_BOUNDS[0]:
            notes.append(f"item {iid!r}: discrimination {a:.3g} is at its lower bound; the item "
                         "may discriminate negatively or not at all (check its key)")
            continue
        what = "the common discrimination" if common_a else "discrimination"
        a_problems = []
        if check_a and a > PLAUSIBLE_A_MAX:
            at = " (at its upper bound)" if a > 0.98 * A_BOUNDS[1] else ""
            a_problems.append(f"{what} a = {a:.3g}{at} is implausibly large "
                              f"(> {PLAUSIBLE_A_MAX:g})")
        if check_a and sa > PLAUSIBLE_SE_A_MAX:
            a_problems.append(f"SE(a) = {sa:.3g} > {PLAUSIBLE_SE_A_MAX:g}")
        b_problem = ([f"SE(b) = {sb:.3g} > {PLAUSIBLE_SE_B_MAX:g}"]
                     if sb > PLAUSIBLE_SE_B_MAX else [])
        if not a_problems and not b_problem:
            continue
        j = int(kept[jj])
        n_all, n_up = int(count[j]), int(right[j])
        if bank.models[jj] in irt.DICHOTOMOUS:
            few, label = min(n_up, n_all - n_up), ("0" if n_all - n_up <= n_up else "1")
            basis = f"only {few} of its {n_all} responses are {label}"
        else:
            basis = f"it has {n_all} responses, {n_all - n_up} of them 0"
        if a_problems and priors.a_lognormal is None:
            m, sd = SUGGESTED_A_PRIOR
            mml = " the mml engine with" if engine != "mml" else ""
            advice = (f"{mml} a lognormal prior on a bounds it: priors=Priors(a_lognormal=({m:g}, "
                      f"{sd:g})), or thetapath calibrate --a-prior lognormal:{m:g},{sd:g}").strip()
        elif not a_problems and priors.b_normal is None:
            m, sd = SUGGESTED_B_PRIOR
            advice = (f"a normal prior on b bounds it: priors=Priors(b_normal=({m:g}, {sd:g})), "
                      f"or thetapath calibrate --b-prior normal:{m:g},{sd:g}")
        else:
            which = "a" if a_problems else "b"
            advice = (f"the prior on {which} leaves it this uncertain: review the item, tighten the "
                      "prior, or leave the item out until it has more responses")
        notes.append(f"item {iid!r}: {'; '.join(a_problems + b_problem)}: the estimate is poorly "
                     f"determined ({basis}); {advice}")
    return notes
