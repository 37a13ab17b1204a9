"""Response data in long (sparse) form: one record per (learner, item, score).

Real response data is sparse: each learner sees a few items of a large bank, so the engine never
builds a dense learners × items matrix unless asked to. :func:`read_responses_csv` parses the
``learner,item,score`` text format from any iterable of lines (the caller opens the file), reports
every problem as ``SOURCE:LINE: what is wrong``, and keeps the line of every response so that later
checks (a score above an item's declared categories) can name it too.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidResponses
from .types import IntArray

__all__ = ["ResponseData", "read_responses_csv"]

REQUIRED_COLUMNS = ("learner", "item", "score")


@dataclass(frozen=True, eq=False)
class ResponseData:
    """Sparse responses.

    Attributes
    ----------
    learners : tuple of str
        Learner ids; ``person`` indexes into it.
    items : tuple of str
        Item ids; ``item`` indexes into it.
    person, item, score : ndarray of int, shape (n_responses,)
        One row per response. Scores are 0/1 for dichotomous items, 0..K for polytomous ones.
    source : str or None
        Where the responses were read from (a file name), for error messages.
    lines : ndarray of int, shape (n_responses,), or None
        1-based line of each response in ``source`` (set by :func:`read_responses_csv`), so that a
        later check (a score out of an item's range, say) can name the line.
    """

    learners: tuple[str, ...]
    items: tuple[str, ...]
    person: IntArray
    item: IntArray
    score: IntArray
    source: str | None = None
    lines: IntArray | None = None
    _item_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = self.person.shape
        if self.item.shape != n or self.score.shape != n or self.person.ndim != 1:
            msg = "person, item and score must be 1-D arrays of the same length"
            raise InvalidResponses(msg)
        if self.lines is not None and self.lines.shape != n:
            msg = "lines must give one line number per response"
            raise InvalidResponses(msg)
        if n[0] and (self.person.min() < 0 or self.person.max() >= len(self.learners)):
            msg_0 = "person index out of range"
            raise InvalidResponses(msg_0)
        if n[0] and (self.item.min() < 0 or self.item.max() >= len(self.items)):
            msg_0 = "item index out of range"
            raise InvalidResponses(msg_0)
        if n[0] and self.score.min() < 0:
            msg_0 = "scores must be >= 0"
            raise InvalidResponses(msg_0)
        for arr in (self.person, self.item, self.score, self.lines):
            if arr is not None:
                arr.setflags(write=False)
        object.__setattr__(self, "_item_index", {iid: j for j, iid in enumerate(self.items)})

    def select_items(self, item_ids: Iterable[str]) -> ResponseData:
        """The responses to ``item_ids`` only, with the learners who gave any of them.

        Learners and items keep their order; ids not in :attr:`items` are ignored.
        """
        chosen = set(item_ids)
        wanted = np.array([iid in chosen for iid in self.items], dtype=bool)
        keep = wanted[self.item]
        items = np.flatnonzero(wanted)
        persons = np.unique(self.person[keep])
        item_map = np.full(len(self.items), -1, dtype=np.intp)
        item_map[items] = np.arange(items.size)
        person_map = np.full(len(self.learners), -1, dtype=np.intp)
        person_map[persons] = np.arange(persons.size)
        return ResponseData(tuple(self.learners[p] for p in persons), tuple(self.items[j] for j in items),
                            person_map[self.person[keep]], item_map[self.item[keep]],
                            self.score[keep].copy(), self.source,
                            None if self.lines is None else self.lines[keep].copy())

    @property
    def n_responses(self) -> int:
        """Number of responses."""
        return int(self.person.size)

    @property
    def n_learners(self) -> int:
        """Number of learners."""
        return len(self.learners)

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.items)

    def item_index(self, item_id: str) -> int:
        """Position of ``item_id`` in :attr:`items`."""
        return self._item_index[item_id]

    def line_of(self, r: int) -> int | None:
        """Line of response ``r`` in :attr:`source`, or None when the data did not come from text."""
        return None if self.lines is None else int(self.lines[r])

    def max_score(self) -> IntArray:
        """Highest score observed on each item, ``(n_items,)``."""
        out = np.zeros(self.n_items, dtype=np.intp)
        np.maximum.at(out, self.item, self.score)
        return out

    @classmethod
    def from_records(cls, records: Iterable[tuple[str, str, int]]) -> ResponseData:
        """Build from ``(learner, item, score)`` triples, keeping first-seen order of ids.

        A repeated (learner, item) pair raises :class:`InvalidResponses`.
        """
        learners: dict[str, int] = {}
        items: dict[str, int] = {}
        person: list[int] = []
        item: list[int] = []
        score: list[int] = []
        for learner_id, item_id, value in records:
            person.append(learners.setdefault(learner_id, len(learners)))
            item.append(items.setdefault(item_id, len(items)))
            score.append(int(value))
        data = cls(tuple(learners), tuple(items), np.asarray(person, dtype=np.intp),
                   np.asarray(item, dtype=np.intp), np.asarray(score, dtype=np.intp))
        _check_duplicates(data, None, None)
        return data

    @classmethod
    def from_dense(
        cls, matrix: Sequence[Sequence[float]] | np.ndarray,
        learners: Sequence[str] | None = None, items: Sequence[str] | None = None,
    ) -> ResponseData:
        """Build from a dense ``(n_learners, n_items)`` matrix; NaN or negative entries are missing."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2:
            msg = "a dense response matrix must be 2-D (learners × items)"
            raise InvalidResponses(msg)
        observed = np.isfinite(m) & (m >= 0)
        if not np.all(m[observed] == np.floor(m[observed])):
            msg = "scores must be whole numbers 0..K (NaN or a negative value marks a missing response)"
            raise InvalidResponses(msg)
        person, item = np.nonzero(observed)
        lids = tuple(learners) if learners is not None else tuple(f"p{i}" for i in range(m.shape[0]))
        iids = tuple(items) if items is not None else tuple(f"i{j}" for j in range(m.shape[1]))
        return cls(lids, iids, person.astype(np.intp), item.astype(np.intp),
                   m[person, item].astype(np.intp))

    def to_dense(self) -> np.ndarray:
        """Dense ``(n_learners, n_items)`` float matrix with NaN for missing responses."""
        out = np.full((self.n_learners, self.n_items), np.nan)
        out[self.person, self.item] = self.score
        return out


def _check_duplicates(data: ResponseData, source: str | None, lines: IntArray | None) -> None:
    key = data.person.astype(np.int64) * max(data.n_items, 1) + data.item
    order = np.argsort(key, kind="stable")
    dup = np.flatnonzero(np.diff(key[order]) == 0)
    if dup.size:
        k = int(order[dup[0] + 1])
        line = int(lines[k]) if lines is not None else None
        msg = (f"learner {data.learners[data.person[k]]!r} has a second response to item "
               f"{data.items[data.item[k]]!r}; keep one response per learner and item")
        raise InvalidResponses(msg, source=source, line=line)


def read_responses_csv(
    lines: Iterable[str], source: str = "<responses>", *, max_score: int | None = None
) -> ResponseData:
    """Parse ``learner,item,score`` CSV text.

    Parameters
    ----------
    lines : iterable of str
        The CSV text, header first (an open text file works). Columns other than the three required
        ones are ignored; a missing (learner, item) pair is simply absent.
    source : str
        Name used in error messages, e.g. the file name.
    max_score : int, optional
        Highest valid score (1 for dichotomous models). Higher scores are rejected with their line.
        Per-item ranges of polytomous items are checked later, by
        :func:`adaptive.calibration.calibrate` with its ``categories``, still naming the line.

    Returns
    -------
    ResponseData
        With ``source`` and the line of every response (``lines``), so that later checks can
        report ``SOURCE:LINE:``.

    Raises
    ------
    InvalidResponses
        With ``SOURCE:LINE:`` for an empty input, a missing column, a blank field, a non-integer or
        out-of-range score, or a duplicated (learner, item) pair.
    """
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        msg = "the file is empty; expected a header line 'learner,item,score'"
        raise InvalidResponses(msg, source=source, line=1) from None
    except csv.Error as exc:
        msg_0 = f"not valid CSV: {exc}"
        raise InvalidResponses(msg_0, source=source, line=1) from None
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    missing = [col for col in REQUIRED_COLUMNS if col not in names]
    if missing:
        msg = (f"missing column(s) {', '.join(missing)}; the header must name at least "
               f"'learner,item,score' (found {','.join(names) or 'nothing'})")
        raise InvalidResponses(msg, source=source, line=1)
    col = {name: names.index(name) for name in REQUIRED_COLUMNS}
    width = max(col.values()) + 1
    learners: dict[str, int] = {}
    items: dict[str, int] = {}
    person: list[int] = []
    item: list[int] = []
    score: list[int] = []
    line_of: list[int] = []
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not f.strip() for f in row):
                continue
            if len(row) < width:
                msg = f"expected at least {width} fields, found {len(row)}"
                raise InvalidResponses(msg, source=source, line=line)
            lid, iid, raw = (row[col[c]].strip() for c in REQUIRED_COLUMNS)
            if not lid or not iid:
                which = "learner" if not lid else "item"
                msg_0 = f"the {which} field is empty"
                raise InvalidResponses(msg_0, source=source, line=line)
            try:
                value = float(raw)
            except ValueError:
                msg = f"score {raw!r} is not a number; scores are whole numbers 0..K"
                raise InvalidResponses(msg, source=source, line=line) from None
            if not value.is_integer() or value < 0:
                msg = f"score {raw!r} is not a whole number >= 0"
                raise InvalidResponses(msg, source=source, line=line)
            if max_score is not None and value > max_score:
                msg = (f"score {raw} is out of range; this model takes scores 0..{max_score}"
                       + (" (0 = wrong, 1 = right)" if max_score == 1 else ""))
                raise InvalidResponses(msg, source=source, line=line)
            person.append(learners.setdefault(lid, len(learners)))
            item.append(items.setdefault(iid, len(items)))
            score.append(int(value))
            line_of.append(line)
    except csv.Error as exc:
        msg_0 = f"not valid CSV: {exc}"
        raise InvalidResponses(msg_0, source=source,
                               line=reader.line_num) from None
    if not person:
        msg = "no responses after the header; add rows 'learner,item,score'"
        raise InvalidResponses(msg, source=source, line=2)
    data = ResponseData(tuple(learners), tuple(items), np.asarray(person, dtype=np.intp),
                        np.asarray(item, dtype=np.intp), np.asarray(score, dtype=np.intp),
                        source=source, lines=np.asarray(line_of, dtype=np.intp))
    _check_duplicates(data, source, data.lines)
    return data
