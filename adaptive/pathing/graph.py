"""The prerequisite graph: competencies and what each builds on, validated as a directed acyclic graph."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import AdaptiveError

__all__ = ["CompetencyGraph"]


@dataclass(frozen=True, eq=False)
class CompetencyGraph:
    """Competencies and their prerequisites, validated as a directed acyclic graph.

    Build it with :meth:`from_pairs`. ``order`` is a topological order (prerequisites first); among
    competencies that are free at the same time the one declared first comes first.

    Attributes
    ----------
    prerequisites : mapping of str to tuple of str
        Direct prerequisites of each competency, in declaration order.
    order : tuple of str
        Topological order.
    """

    prerequisites: Mapping[str, tuple[str, ...]]
    order: tuple[str, ...] = field(init=False)
    _rank: dict[str, int] = field(init=False, repr=False)
    _dependants: dict[str, tuple[str, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        prereq = {str(c): tuple(str(p) for p in ps) for c, ps in self.prerequisites.items()}
        for c, ps in prereq.items():
            for p in ps:
                if p not in prereq:
                    msg = f"competency {c!r} has the unknown prerequisite {p!r}"
                    raise AdaptiveError(msg)
            if len(set(ps)) != len(ps):
                msg = f"competency {c!r} lists a prerequisite twice: {list(ps)}"
                raise AdaptiveError(msg)
        cycle = _find_cycle(prereq)
        if cycle:
            msg = f"prerequisites form a cycle: {' -> '.join(cycle)} (each needs the next)"
            raise AdaptiveError(msg)
        declared = {c: k for k, c in enumerate(prereq)}
        dependants: dict[str, list[str]] = {c: [] for c in prereq}
        for c, ps in prereq.items():
            for p in ps:
                dependants[p].append(c)
        # Kahn's algorithm, the earliest-declared free competency first
        waiting = {c: len(ps) for c, ps in prereq.items()}
        free = sorted((c for c, n in waiting.items() if n == 0), key=declared.__getitem__)
        order: list[str] = []
        while free:
            c = free.pop(0)
            order.append(c)
            for d in dependants[c]:
                waiting[d] -= 1
                if waiting[d] == 0:
                    free.append(d)
            free.sort(key=declared.__getitem__)
        object.__setattr__(self, "prerequisites", prereq)
        object.__setattr__(self, "order", tuple(order))
        object.__setattr__(self, "_rank", {c: k for k, c in enumerate(order)})
        object.__setattr__(self, "_dependants", {c: tuple(ds) for c, ds in dependants.items()})

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, Sequence[str]]]) -> CompetencyGraph:
        """Build from ``(competency id, prerequisite ids)`` pairs, in declaration order.

        Raises
        ------
        AdaptiveError
            For a duplicate competency, an unknown prerequisite, or a cycle (named in the message).
        """
        prereq: dict[str, tuple[str, ...]] = {}
        for cid, ps in pairs:
            if cid in prereq:
                msg = f"competency {cid!r} is declared twice"
                raise AdaptiveError(msg)
            prereq[cid] = tuple(ps)
        return cls(prereq)

    def __contains__(self, competency: object) -> bool:
        return competency in self.prerequisites

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CompetencyGraph) and self.prerequisites == other.prerequisites

    def __hash__(self) -> int:
        return hash(tuple(self.prerequisites.items()))

    def rank(self, competency: str) -> int:
        """Position of ``competency`` in :attr:`order`."""
        try:
            return self._rank[competency]
        except KeyError:
            msg = f"unknown competency {competency!r}"
            raise AdaptiveError(msg) from None

    def dependants(self, competency: str) -> tuple[str, ...]:
        """Competencies that list ``competency`` as a direct prerequisite."""
        self.rank(competency)
        return self._dependants[competency]

    def ancestors(self, competency: str) -> tuple[str, ...]:
        """Every competency ``competency`` builds on, transitively, in topological order."""
        return self._closure(competency, self.prerequisites)

    def descendants(self, competency: str) -> tuple[str, ...]:
        """Every competency that builds on ``competency``, transitively, in topological order."""
        return self._closure(competency, self._dependants)

    def _closure(self, competency: str, edges: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
        self.rank(competency)
        seen: set[str] = set()
        stack = list(edges[competency])
        while stack:
            c = stack.pop()
            if c not in seen:
                seen.add(c)
                stack.extend(edges[c])
        return tuple(sorted(seen, key=self._rank.__getitem__))

    def to_json(self) -> list[dict[str, Any]]:
        """``[{"id": ..., "prerequisites": [...]}, ...]`` in declaration order."""
        return [{"id": c, "prerequisites": list(ps)} for c, ps in self.prerequisites.items()]

    @classmethod
    def from_json(cls, data: Sequence[Mapping[str, Any]]) -> CompetencyGraph:
        """Rebuild from :meth:`to_json`."""
        return cls.from_pairs((str(d["id"]), tuple(d.get("prerequisites", ()))) for d in data)


def _find_cycle(prereq: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The first cycle met by a depth-first search in declaration order (``[a, b, a]``), or []."""
    colour: dict[str, int] = dict.fromkeys(prereq, 0)  # 0 new, 1 on the stack, 2 done
    for root in prereq:
        if colour[root]:
            continue
        path = [root]
        iters = [iter(prereq[root])]
        colour[root] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                colour[path.pop()] = 2
                iters.pop()
            elif colour[nxt] == 1:
                return [*path[path.index(nxt):], nxt]
            elif colour[nxt] == 0:
                colour[nxt] = 1
                path.append(nxt)
                iters.append(iter(prereq[nxt]))
    return []
