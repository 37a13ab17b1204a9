"""The item bank: validated, read-only parameter arrays with item ids, tags and pilot flags.

A bank is built once per pack version (or per calibration) and shared by every request, so its arrays
are made read-only. Items of different models may be mixed; the hot paths (information and response
likelihoods) work on one model group at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.special import expit, log_expit

from . import irt
from .errors import InvalidItemParameters
from .types import BoolArray, FloatArray, IntArray

__all__ = ["ItemBank", "ItemParameters"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ItemParameters:
    """One item's parameters, as authored or calibrated.

    Attributes
    ----------
    id : str
        Unique item id within the bank.
    model : str
        One of :data:`adaptive.irt.MODELS`.
    a : float
        Discrimination (> 0).
    b : float
        Difficulty for dichotomous items; ignored (derived as the mean threshold) for polytomous ones.
    c : float
        Lower asymptote, in [0, 1); only the 3PL uses it.
    thresholds : tuple of float
        Step difficulties (GPCM) or ordered boundaries (GRM); empty for dichotomous items.
    tags : mapping of str to str
        For example ``{"competency": "fractions", "content_area": "algebra"}``.
    pilot : bool
        A pilot item is administered to gather data but never scored.
    """

    id: str
    model: str = "2pl"
    a: float = 1.0
    b: float = 0.0
    c: float = 0.0
    thresholds: tuple[float, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    pilot: bool = False

    def validate(self) -> None:
        """Raise :class:`InvalidItemParameters` naming this item and the wrong field."""
        iid = self.id
        if not isinstance(iid, str) or not iid:
            raise InvalidItemParameters(str(iid), "id", "must be a non-empty string")
        if self.model not in irt.MODELS:
            raise InvalidItemParameters(
                iid, "model", f"unknown model {self.model!r}; use one of {', '.join(irt.MODELS)}")
        if not (math.isfinite(self.a) and self.a > 0):
            raise InvalidItemParameters(
                iid, "a", f"discrimination is {self.a}; it must be a finite number > 0")
        if self.model in irt.DICHOTOMOUS:
            if not math.isfinite(self.b):
                raise InvalidItemParameters(iid, "b", f"difficulty is {self.b}; it must be finite")
            if not (math.isfinite(self.c) and 0.0 <= self.c < 1.0):
                raise InvalidItemParameters(
                    iid, "c", f"guessing is {self.c}; it must be in [0, 1)")
            if self.model != "3pl" and self.c != 0.0:
                raise InvalidItemParameters(
                    iid, "c", f"guessing is {self.c} but model {self.model} has none; use 3pl")
            if self.thresholds:
                raise InvalidItemParameters(
                    iid, "thresholds", f"a dichotomous {self.model} item has no thresholds")
            return
        if not self.thresholds:
            raise InvalidItemParameters(
                iid, "thresholds", f"a {self.model} item needs at least one threshold")
        if not all(math.isfinite(t) for t in self.thresholds):
            raise InvalidItemParameters(
                iid, "thresholds", f"thresholds {list(self.thresholds)} must all be finite")
        if self.model == "grm" and any(
            lo >= hi for lo, hi in zip(self.thresholds, self.thresholds[1:], strict=False)
        ):
            raise InvalidItemParameters(
                iid, "thresholds",
                f"GRM thresholds {list(self.thresholds)} must be strictly increasing")

    @property
    def n_categories(self) -> int:
        """Number of score categories (2 for dichotomous items)."""
        return 2 if self.model in irt.DICHOTOMOUS else len(self.thresholds) + 1

    def to_json(self) -> dict[str, Any]:
        """Return the plain-JSON record used in BANK.json."""
        out: dict[str, Any] = {"id": self.id, "model": self.model, "a": self.a}
        if self.model in irt.DICHOTOMOUS:
            out["b"] = self.b
            out["c"] = self.c
        else:
            out["b"] = float(np.mean(self.thresholds))
            out["thresholds"] = list(self.thresholds)
        out.update({k: v for k, v in self.tags.items()})
        if self.pilot:
            out["pilot"] = True
        return out


_KIND_CODES = {"dichotomous": 0, "gpcm": 1, "grm": 2}
_KIND = {"1pl": 0, "2pl": 0, "3pl": 0, "gpcm": 1, "grm": 2}
_POLY_FUNCS = (
    (1, irt.gpcm_information, irt.gpcm_probabilities, irt.gpcm_log_probabilities),
    (2, irt.grm_information, irt.grm_probabilities, irt.grm_log_probabilities),
)

_RESERVED = frozenset({"id", "model", "a", "b", "c", "thresholds", "pilot"})
_TAG_KEYS = ("competency", "content_area")


def _number(item_id: str, name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidItemParameters(item_id, name, f"{value!r} is not a number") from None


def _flag(item_id: str, name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidItemParameters(item_id, name, f"{value!r} is not true or false")


@dataclass(frozen=True, eq=False)
class ItemBank:
    """Validated item parameters as read-only arrays.

    Attributes
    ----------
    ids : tuple of str
        Item ids, in bank order; positions in this tuple are the item indices used everywhere else.
    models : tuple of str
        Model of each item.
    a, b, c : ndarray of shape (n_items,)
        Discrimination, difficulty (mean threshold for polytomous items) and lower asymptote.
    thresholds : ndarray of shape (n_items, K_max)
        Polytomous thresholds, NaN-padded; ``K_max`` is 0 when every item is dichotomous.
    n_categories : ndarray of int, shape (n_items,)
        Score categories per item (2 for dichotomous items).
    pilot : ndarray of bool, shape (n_items,)
        Pilot items are administered but never scored.
    tags : mapping of str to tuple
        Per-item tag values (``None`` where an item has no value), e.g. ``tags["competency"]``.
    """

    ids: tuple[str, ...]
    models: tuple[str, ...]
    a: FloatArray
    b: FloatArray
    c: FloatArray
    thresholds: FloatArray
    n_categories: IntArray
    pilot: BoolArray
    tags: Mapping[str, tuple[str | None, ...]]
    _index: dict[str, int] = field(init=False, repr=False)
    _groups: dict[str, IntArray] = field(init=False, repr=False)
    _kind: npt.NDArray[np.int8] = field(init=False, repr=False)
    _guessing: bool = field(init=False, repr=False)
    _cache: dict[str, Any] = field(init=False, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_items(cls, items: Iterable[ItemParameters]) -> ItemBank:
        """Validate every item and build the bank.

        Raises
        ------
        InvalidItemParameters
            Naming the first invalid item and field, or a duplicate id.
        """
        items = list(items)
        seen: set[str] = set()
        for item in items:
            item.validate()
            if item.id in seen:
                raise InvalidItemParameters(item.id, "id", "duplicate item id")
            seen.add(item.id)
        n = len(items)
        k_max = max((len(it.thresholds) for it in items), default=0)
        thresholds = np.full((n, k_max), np.nan)
        for j, it in enumerate(items):
            thresholds[j, : len(it.thresholds)] = it.thresholds
        b = np.array(
            [it.b if it.model in irt.DICHOTOMOUS else float(np.mean(it.thresholds)) for it in items],
            dtype=np.float64)
        tag_names = sorted({k for it in items for k in it.tags} | set(_TAG_KEYS))
        return cls(
            ids=tuple(it.id for it in items),
            models=tuple(it.model for it in items),
            a=np.array([it.a for it in items], dtype=np.float64),
            b=b,
            c=np.array([it.c for it in items], dtype=np.float64),
            thresholds=thresholds,
            n_categories=np.array([it.n_categories for it in items], dtype=np.intp),
            pilot=np.array([it.pilot for it in items], dtype=bool),
            tags={name: tuple(it.tags.get(name) for it in items) for name in tag_names},
        )

    @classmethod
    def from_arrays(
        cls,
        a: Sequence[float] | FloatArray,
        b: Sequence[float] | FloatArray,
        c: Sequence[float] | FloatArray | None = None,
        *,
        ids: Sequence[str] | None = None,
        tags: Mapping[str, Sequence[str | None]] | None = None,
        pilot: Sequence[bool] | None = None,
    ) -> ItemBank:
        """Build a dichotomous bank (2PL, or 3PL where ``c`` is given) from parameter arrays."""
        a_arr = np.asarray(a, dtype=np.float64)
        b_arr = np.asarray(b, dtype=np.float64)
        n = a_arr.size
        c_arr = np.zeros(n) if c is None else np.asarray(c, dtype=np.float64)
        if b_arr.shape != (n,) or c_arr.shape != (n,):
            msg = f"a, b and c must have the same length, got {n}, {b_arr.size}, {c_arr.size}"
            msg_0 = "<bank>"
            raise InvalidItemParameters(msg_0, "shape", msg)
        ids = list(ids) if ids is not None else [f"i{j:05d}" for j in range(n)]
        if len(ids) != n:
            where = "<bank>"
            msg = f"got {len(ids)} ids for {n} items"
            raise InvalidItemParameters(where, "ids", msg)
        model = "3pl" if c is not None else "2pl"
        items = [
            ItemParameters(
                id=ids[j], model=model, a=float(a_arr[j]), b=float(b_arr[j]), c=float(c_arr[j]),
                tags={k: v[j] for k, v in (tags or {}).items() if v[j] is not None},  # type: ignore[misc]
                pilot=bool(pilot[j]) if pilot is not None else False)
            for j in range(n)
        ]
        return cls.from_items(items)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ItemBank:
        """Build a bank from the BANK.json mapping that ``thetapath calibrate`` writes.

        Each entry of ``data["items"]`` needs ``id`` and ``a``, plus ``b`` (and ``c`` for the 3PL) or
        ``thresholds``; its ``model`` defaults to ``data["model"]``. Keys other than the parameters,
        the standard errors and ``pilot`` are kept as tags.
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
            msg = "<bank>"
            raise InvalidItemParameters(msg, "items", "a bank needs a list under 'items'")
        default_model = str(data.get("model", "2pl")).lower()
        items = []
        for pos, rec in enumerate(data["items"]):
            if not isinstance(rec, Mapping) or "id" not in rec:
                msg = f"#{pos + 1}"
                raise InvalidItemParameters(msg, "id", "every item needs an 'id'")
            iid = str(rec["id"])
            model = str(rec.get("model", default_model)).lower()
            if model not in irt.MODELS:
                msg = f"unknown model {model!r}; use one of {', '.join(irt.MODELS)}"
                raise InvalidItemParameters(iid, "model", msg)
            if "a" not in rec and model != "1pl":
                raise InvalidItemParameters(iid, "a", "missing discrimination 'a'")
            thresholds: tuple[float, ...] = ()
            if model in irt.POLYTOMOUS:
                raw = rec.get("thresholds")
                if not isinstance(raw, list):
                    raise InvalidItemParameters(iid, "thresholds", "must be a list of numbers")
                thresholds = tuple(_number(iid, "thresholds", t) for t in raw)
            elif "b" not in rec:
                raise InvalidItemParameters(iid, "b", "missing difficulty 'b'")
            tags = {str(k): str(v) for k, v in rec.items()
                    if k not in _RESERVED and not str(k).startswith("se_") and v is not None}
            items.append(ItemParameters(
                id=iid, model=model, a=_number(iid, "a", rec.get("a", 1.0)),
                b=_number(iid, "b", rec.get("b", 0.0)) if model in irt.DICHOTOMOUS else 0.0,
                c=_number(iid, "c", rec.get("c", 0.0)) if model in irt.DICHOTOMOUS else 0.0,
                thresholds=thresholds, tags=tags, pilot=_flag(iid, "pilot", rec.get("pilot", False))))
        return cls.from_items(items)

    def __post_init__(self) -> None:
        for name in ("a", "b", "c", "thresholds", "n_categories", "pilot"):
            getattr(self, name).setflags(write=False)
        object.__setattr__(self, "_index", {iid: j for j, iid in enumerate(self.ids)})
        kind = np.array([_KIND[m] for m in self.models], dtype=np.int8)
        kind.setflags(write=False)
        object.__setattr__(self, "_kind", kind)
        groups = {name: np.flatnonzero(kind == code).astype(np.intp)
                  for name, code in _KIND_CODES.items()}
        object.__setattr__(self, "_groups", groups)
        object.__setattr__(self, "_guessing", bool(np.any(self.c > 0)))
        object.__setattr__(self, "_cache", {})

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.ids)

    def index(self, item_id: str) -> int:
        """Position of ``item_id`` in the bank; raises :class:`InvalidItemParameters` if unknown."""
        try:
            return self._index[item_id]
        except KeyError:
            raise InvalidItemParameters(item_id, "id", "no such item in the bank") from None

    def item(self, j: int) -> ItemParameters:
        """The parameters of item ``j`` as a record."""
        k = int(self.n_categories[j]) - 1
        return ItemParameters(
            id=self.ids[j], model=self.models[j], a=float(self.a[j]), b=float(self.b[j]),
            c=float(self.c[j]),
            thresholds=tuple(float(t) for t in self.thresholds[j, :k])
            if self.models[j] in irt.POLYTOMOUS else (),
            tags={k_: v[j] for k_, v in self.tags.items() if v[j] is not None},  # type: ignore[misc]
            pilot=bool(self.pilot[j]))

    @property
    def all_dichotomous(self) -> bool:
        """True when every item is scored 0/1."""
        return self._groups["dichotomous"].size == len(self)

    @property
    def max_score(self) -> IntArray:
        """Highest score of each item, ``(n_items,)``."""
        return self.n_categories - 1

    def subset(self, items: Sequence[int] | IntArray) -> ItemBank:
        """A new bank holding only ``items`` (positions in this bank), in that order."""
        return ItemBank.from_items(self.item(int(j)) for j in items)

    def to_json(self) -> dict[str, Any]:
        """The BANK.json mapping (``from_json`` reads it back)."""
        distinct = sorted(set(self.models))
        model = distinct[0] if len(distinct) == 1 else "mixed"
        return {"model": model, "items": [self.item(j).to_json() for j in range(len(self))]}

    # ------------------------------------------------------------------ model evaluation
    def _dich_c(self, idx: IntArray) -> FloatArray | None:
        return self.c[idx] if self._guessing else None

    def information(self, theta: FloatArray | float, items: IntArray | None = None) -> FloatArray:
        """Fisher information, ``(n_theta, n_selected)``, for ``items`` (all items by default)."""
        sel = np.arange(len(self), dtype=np.intp) if items is None else np.asarray(items, np.intp)
        if self.all_dichotomous:
            return irt.dichotomous_information(theta, self.a[sel], self.b[sel], self._dich_c(sel))
        t = np.atleast_1d(np.asarray(theta, dtype=np.float64))
        out = np.empty((t.size, sel.size))
        kind = self._kind[sel]
        dich = kind == 0
        if dich.any():
            idx = sel[dich]
            out[:, dich] = irt.dichotomous_information(t, self.a[idx], self.b[idx], self._dich_c(idx))
        for code, info_fn, _, _ in _POLY_FUNCS:
            mask = kind == code
            if mask.any():
                idx = sel[mask]
                out[:, mask] = info_fn(t, self.a[idx], self.thresholds[idx])
        return out

    def test_information(self, theta: FloatArray | float, items: IntArray | None = None) -> FloatArray:
        """Sum of item information over ``items``, ``(n_theta,)``."""
        return self.information(theta, items).sum(axis=1)  # type: ignore[no-any-return]

    def max_information(self) -> FloatArray:
        """An upper bound on each item's information over all theta, ``(n_items,)``.

        Exact for dichotomous items (Lord's closed form); for polytomous items the bound
        ``a² K² / 4`` (the largest variance of a score in 0..K) is used.
        """
        out = (self.a * self.a) * (self.max_score.astype(np.float64) ** 2) / 4.0
        d = self._groups["dichotomous"]
        out[d] = irt.dichotomous_max_information(self.a[d], self.c[d])
        return out

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """Return ``build()`` computed once per bank under ``key`` (banks are immutable).

        Derived arrays (the information order, per-tag masks) are built on first use and shared by
        every request that uses the bank.
        """
        try:
            return self._cache[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._cache[key] = build()
            return value

    def information_order(self) -> tuple[IntArray, FloatArray]:
        """Item positions sorted by :meth:`max_information`, descending, and the sorted bounds.

        Computed once per bank: the exact maximum-information search walks this order and stops as
        soon as no remaining item can beat the best one found.
        """
        def build() -> tuple[IntArray, FloatArray]:
            bound = self.max_information()
            order = np.argsort(-bound, kind="stable").astype(np.intp)
            sorted_bound = bound[order]
            order.setflags(write=False)
            sorted_bound.setflags(write=False)
            return order, sorted_bound

        return self.memo("order", build)

    def information_rank(self) -> IntArray:
        """Position of each item in :meth:`information_order` (its inverse permutation)."""
        def build() -> IntArray:
            order, _ = self.information_order()
            rank = np.empty_like(order)
            rank[order] = np.arange(order.size, dtype=np.intp)
            rank.setflags(write=False)
            return rank

        return self.memo("rank", build)

    def information_block(self, theta: float, start: int, stop: int) -> FloatArray:
        """Information at ``theta`` of the items ``information_order()[0][start:stop]``, ``(stop - start,)``.

        For 2PL/1PL banks the parameters are kept in walk order, so a block is a contiguous slice.
        """
        if self.all_dichotomous and not self._guessing:
            def build() -> tuple[FloatArray, FloatArray, FloatArray]:
                order, _ = self.information_order()
                a = np.ascontiguousarray(self.a[order])
                return a, np.ascontiguousarray(self.b[order]), a * a

            ordered = self.memo("ordered_ab", build)
            a, b, a2 = ordered
            s = expit(a[start:stop] * (theta - b[start:stop]))
            return a2[start:stop] * s * (1.0 - s)  # type: ignore[no-any-return]
        order, _ = self.information_order()
        return self.information(theta, order[start:stop])[0]  # type: ignore[no-any-return]

    def category_probabilities(
        self, theta: FloatArray | float, items: IntArray | None = None
    ) -> FloatArray:
        """Category probabilities ``(n_theta, n_selected, max categories)``, 0 beyond an item's K."""
        sel = np.arange(len(self), dtype=np.intp) if items is None else np.asarray(items, np.intp)
        t = np.atleast_1d(np.asarray(theta, dtype=np.float64))
        width = int(self.n_categories[sel].max()) if sel.size else 2
        out = np.zeros((t.size, sel.size, width))
        kind = self._kind[sel]
        dich = kind == 0
        if dich.any():
            idx = sel[dich]
            p = irt.dichotomous_probability(t, self.a[idx], self.b[idx], self._dich_c(idx))
            out[:, dich, 0] = 1.0 - p
            out[:, dich, 1] = p
        for code, _, prob_fn, _ in _POLY_FUNCS:
            mask = kind == code
            if mask.any():
                idx = sel[mask]
                p = prob_fn(t, self.a[idx], self.thresholds[idx])  # zero beyond each item's K
                out[:, mask, :] = p[:, :, :width]
        return out

    def expected_score(self, theta: FloatArray | float, items: IntArray | None = None) -> FloatArray:
        """Expected score of each selected item, ``(n_theta, n_selected)``."""
        p = self.category_probabilities(theta, items)
        return p @ np.arange(p.shape[2], dtype=np.float64)

    def item_log_likelihood(self, theta: FloatArray, item: int, score: int) -> FloatArray:
        """Log-probability of ``score`` on one item at each theta, ``(n_theta,)`` (the EAP update)."""
        if self._kind[item] == 0 and not self._guessing:
            z = float(self.a[item]) * (theta - float(self.b[item]))
            return log_expit(z if score else -z)  # type: ignore[no-any-return]
        return self.log_likelihood(theta, (item,), (score,))

    def log_likelihood(
        self, theta: FloatArray | float, items: IntArray | Sequence[int],
        scores: IntArray | Sequence[int],
    ) -> FloatArray:
        """Log-likelihood of the responses ``scores`` to ``items`` at each theta, ``(n_theta,)``.

        Parameters
        ----------
        theta : ndarray of shape (n_theta,)
            Abilities (typically a quadrature grid).
        items, scores : sequences of int of equal length
            Item positions and the integer scores obtained on them.
        """
        idx = np.asarray(items, dtype=np.intp)
        x = np.asarray(scores, dtype=np.intp)
        t = np.atleast_1d(np.asarray(theta, dtype=np.float64))
        total = np.zeros(t.size)
        if idx.size == 0:
            return total
        kind = self._kind[idx]
        dich = kind == 0
        if dich.any():
            d = idx[dich]
            log_p, log_q = irt.dichotomous_log_probability(t, self.a[d], self.b[d], self._dich_c(d))
            total += np.where(x[dich][None, :] == 1, log_p, log_q).sum(axis=1)
        for code, _, _, log_fn in _POLY_FUNCS:
            mask = kind == code
            if mask.any():
                m = idx[mask]
                logp = log_fn(t, self.a[m], self.thresholds[m])
                total += np.take_along_axis(
                    logp, np.broadcast_to(x[mask][None, :, None], (t.size, m.size, 1)), axis=2
                )[:, :, 0].sum(axis=1)
        return total
