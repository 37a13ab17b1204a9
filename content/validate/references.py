"""Checks across the pack once everything is read: references, cycles, reachability, credentials, pools.

Every prerequisite, taught competency and measured competency must exist, and every credential a
credential requires; prerequisites and stacked credentials must not form a cycle (:func:`find_cycles`);
every module must be reachable by a learner; each item's competency must be taught by a module that
lists its file; every credential must be possible to earn; only formative modules may show the right
answers immediately; and each competency should have as many calibrated items as its adaptive test may
give (a warning).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..parse import Located
from .context import Context, RawCompetency, RawCredential, RawItem, RawModule

__all__ = ["cross_checks", "find_cycles"]


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Return each distinct cycle of a directed graph once, as ``[a, b, c, a]`` starting at its least node.

    Iterative depth-first search, so a long chain cannot exhaust the stack.
    """
    colour: dict[str, int] = {}
    cycles: dict[tuple[str, ...], list[str]] = {}
    for start in sorted(graph):
        if colour.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(set(graph.get(start, ()))))]
        path = [start]
        colour[start] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                stack.pop()
                path.pop()
                colour[node] = 2
                continue
            nxt = todo.pop(0)
            state = colour.get(nxt, 0)
            if state == 1:
                cycle = path[path.index(nxt):]
                pivot = cycle.index(min(cycle))
                rotated = cycle[pivot:] + cycle[:pivot]
                cycles.setdefault(tuple(rotated), [*rotated, rotated[0]])
            elif state == 0 and nxt in graph:
                colour[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(set(graph.get(nxt, ())))))
    return [cycles[key] for key in sorted(cycles)]


def cross_checks(ctx: Context, items: list[RawItem]) -> None:
    """Check references, graphs, reachability, credentials, item placement and pool sizes.

    ``items`` are the items kept (:meth:`~content.validate.context.Context.items`).
    """
    chk = ctx.chk
    competencies = {c.value.id: c for c in ctx.competencies}
    credentials = {c.value.id: c for c in ctx.credentials}
    broken = False
    for comp in ctx.competencies:
        for prerequisite in comp.value.prerequisites:
            if prerequisite not in competencies:
                broken = True
                _unknown(ctx, comp.prerequisite_nodes.get(prerequisite, comp.node), "prerequisite",
                         prerequisite, competencies)
    for module in ctx.modules:
        for ident in module.value.competencies:
            if ident not in competencies:
                broken = True
                _unknown(ctx, module.competency_nodes.get(ident, module.node), "competency", ident,
                         competencies)
    for raw in items:
        if raw.value.competency not in competencies:
            _unknown(ctx, raw.node.child("competency"), "competency", raw.value.competency, competencies)
    graph = {c.value.id: c.value.prerequisites for c in ctx.competencies}
    cycles = find_cycles(graph)
    for cycle in cycles:
        first = competencies[cycle[0]]
        chk.error(first.prerequisite_nodes.get(cycle[1], first.node),
                  f"prerequisites form a cycle: {' -> '.join(cycle)}",
                  "remove one of these prerequisites so that the competencies can be learnt in order")
    if not broken and not cycles:
        _reachability(ctx, competencies)
    _item_placement(ctx, items, competencies)
    _credential_checks(ctx, competencies, credentials, items)
    _immediate_feedback(ctx)
    _pool_sizes(ctx, items)


def _unknown(ctx: Context, node: Located, what: str, ident: str, known: Mapping[str, Any]) -> None:
    """Report a reference to an id that does not exist."""
    close = ctx.chk.suggest(ident, known)
    ctx.chk.error(node, f"unknown {what} '{ident}'",
                  f"did you mean '{close}'?" if close else f"define a competency '{ident}' first")


def _reachability(ctx: Context, competencies: Mapping[str, RawCompetency]) -> None:
    """Report modules no learner can reach: a competency they teach needs one no module teaches."""
    # A worklist (Kahn's algorithm over modules) keeps this linear in the size of the pack.
    attainable: set[str] = set()
    reachable: set[str] = set()
    waiting: dict[str, list[RawModule]] = {}
    missing_count: dict[str, int] = {}
    ready: list[RawModule] = []
    for module in ctx.modules:
        own = set(module.value.competencies)
        needs = {p for c in own for p in competencies[c].value.prerequisites} - own
        missing_count[module.value.id] = len(needs)
        for prerequisite in needs:
            waiting.setdefault(prerequisite, []).append(module)
        if not needs:
            ready.append(module)
    while ready:
        module = ready.pop()
        reachable.add(module.value.id)
        for comp in module.value.competencies:
            if comp in attainable:
                continue
            attainable.add(comp)
            for other in waiting.get(comp, ()):
                missing_count[other.value.id] -= 1
                if missing_count[other.value.id] == 0:
                    ready.append(other)
    for module in ctx.modules:
        if module.value.id in reachable:
            continue
        for comp in module.value.competencies:
            missing = [p for p in competencies[comp].value.prerequisites
                       if p not in attainable and p not in module.value.competencies]
            if missing:
                ctx.chk.error(
                    module.node, f"module '{module.value.id}' can never be reached: it teaches "
                    f"'{comp}', which needs '{missing[0]}', and no reachable module teaches "
                    f"'{missing[0]}'",
                    f"add a module that teaches '{missing[0]}', or remove it from the "
                    f"prerequisites of '{comp}'")
                break


def _item_placement(ctx: Context, items: list[RawItem], competencies: Mapping[str, RawCompetency]) -> None:
    """Report items whose competency no module listing their file teaches."""
    taught_by_file: dict[str, set[str]] = {}
    for module in ctx.modules:
        for path in module.value.item_files:
            taught_by_file.setdefault(path, set()).update(module.value.competencies)
    for raw in items:
        comp = raw.value.competency
        if comp in competencies and comp not in taught_by_file.get(raw.value.file, set()):
            ctx.chk.error(raw.node.child("competency"),
                          f"item '{raw.value.id}' measures '{comp}', which no module listing "
                          f"{raw.value.file} teaches",
                          f"add '{comp}' to the competencies of such a module, or move the item")


def _credential_checks(ctx: Context, competencies: Mapping[str, RawCompetency],
                       credentials: Mapping[str, RawCredential], items: list[RawItem]) -> None:
    """Report credentials naming unknown things, stacking in a cycle, or impossible to earn."""
    chk = ctx.chk
    taught = {c for m in ctx.modules for c in m.value.competencies}
    measured = {raw.value.competency for raw in items}
    impossible: dict[str, str] = {}
    for cred in ctx.credentials:
        for comp in cred.value.competencies:
            if comp not in competencies:
                _unknown(ctx, cred.competency_nodes.get(comp, cred.node), "competency", comp,
                         competencies)
                impossible[cred.value.id] = "unknown"
            elif comp not in taught and comp not in measured:
                chk.error(cred.competency_nodes.get(comp, cred.node),
                          f"credential '{cred.value.id}' can never be earned: no module teaches "
                          f"'{comp}' and no item measures it",
                          f"add a module and items for '{comp}', or remove it from the criteria")
                impossible[cred.value.id] = comp
        for other in cred.value.credentials:
            if other not in credentials:
                close = chk.suggest(other, credentials)
                chk.error(cred.credential_nodes.get(other, cred.node), f"unknown credential '{other}'",
                          f"did you mean '{close}'?" if close else "define the credential first")
                impossible[cred.value.id] = "unknown"
    graph = {c.value.id: c.value.credentials for c in ctx.credentials}
    for cycle in find_cycles(graph):
        first = credentials[cycle[0]]
        chk.error(first.credential_nodes.get(cycle[1], first.node),
                  f"credentials stack in a cycle: {' -> '.join(cycle)}",
                  "a credential cannot require itself; remove one of these requirements")
        impossible.update(dict.fromkeys(cycle[:-1], "cycle"))
    dependents: dict[str, list[RawCredential]] = {}
    for cred in ctx.credentials:
        for other in cred.value.credentials:
            dependents.setdefault(other, []).append(cred)
    todo = list(impossible)
    while todo:
        other = todo.pop()
        for cred in dependents.get(other, ()):
            if cred.value.id in impossible:
                continue
            chk.error(cred.credential_nodes.get(other, cred.node),
                      f"credential '{cred.value.id}' can never be earned: it requires "
                      f"'{other}', which can never be earned",
                      f"fix '{other}' first, or remove it from the criteria")
            impossible[cred.value.id] = other
            todo.append(cred.value.id)


def _immediate_feedback(ctx: Context) -> None:
    """Refuse ``feedback: immediate`` on a module teaching a competency a credential requires.

    Showing the right answers after each answer lets a learner collect them across attempts, so
    only formative practice (no competency counting towards a credential) may do it.
    """
    for module in ctx.modules:
        if module.value.feedback != "immediate" or module.feedback_node is None:
            continue
        for comp in module.value.competencies:
            cred = next((c for c in ctx.credentials if comp in c.value.competencies), None)
            if cred is not None:
                ctx.chk.error(
                    module.feedback_node, f"module '{module.value.id}' shows right answers "
                    f"immediately, but its competency '{comp}' counts towards credential "
                    f"'{cred.value.id}'",
                    f"use feedback: end, or remove '{comp}' from credential '{cred.value.id}'")
                break


def _pool_sizes(ctx: Context, items: list[RawItem]) -> None:
    """Warn when a competency has fewer calibrated items than its adaptive test may give."""
    calibrated: dict[str, int] = {}
    for raw in items:
        if raw.value.irt is not None:
            calibrated[raw.value.competency] = calibrated.get(raw.value.competency, 0) + 1
    for comp in ctx.competencies:
        have = calibrated.get(comp.value.id, 0)
        need = comp.value.assessment.max_items
        if have < need:
            ctx.chk.warn(comp.node, f"competency '{comp.value.id}' has {have} calibrated item(s) "
                         f"for a test of up to {need} (max_items)",
                         "add or calibrate items, or lower max_items for this competency")
