"""Competencies, modules and credentials as pack.yaml declares them, each field checked where it stands.

Competency, module and credential ids share one namespace. A module's lessons and item files are
paths that must stay inside the pack and exist; each is then read by :mod:`content.validate.media` or
:mod:`content.validate.items`. What the declarations refer to (prerequisites, taught competencies,
required credentials) is checked once everything is read, by :mod:`content.validate.references`.
"""

from __future__ import annotations

from ..archive import pack_relative
from ..model import Competency, CredentialRule, Credit, Module
from ..parse import Located
from .context import Context, RawCompetency, RawCredential, RawModule
from .items import read_item_file
from .media import read_lesson
from .settings import read_settings

__all__ = ["read_competency", "read_credential", "read_module"]

_FEEDBACK = ("end", "immediate")


def read_competency(ctx: Context, node: Located) -> None:
    """Check one competency; record it in ``ctx.competencies`` when its id is usable."""
    fields = ctx.chk.mapping(node, "a competency", required=("id", "title"),
                             optional=("description", "prerequisites", "level", "assessment"))
    if fields is None or "id" not in fields:
        return
    ident = ctx.chk.ident(fields["id"], "competency id")
    title = ctx.chk.text(node.child("title"), "competency title") if "title" in fields else None
    if ident is None or not _claim_id(ctx, ident, "competency", fields["id"]):
        return
    description = ctx.chk.text(node.child("description"), "description", required=False) or ""
    prerequisites = ctx.chk.ident_list(node.child("prerequisites"), "prerequisites") or ()
    prerequisite_nodes = {}
    if isinstance(node.child("prerequisites").value, list):
        for j, value in enumerate(node.child("prerequisites").value):
            prerequisite_nodes[str(value)] = node.child("prerequisites").child(j)
    level = None
    if "level" in fields and fields["level"].value is not None:
        level = ctx.chk.integer(fields["level"], "level", low=1, high=8)
    settings = read_settings(ctx, node.child("assessment"), ctx.defaults, "competency assessment")
    ctx.competencies.append(RawCompetency(
        Competency(ident, title or ident, description, prerequisites, level, settings),
        fields["id"], prerequisite_nodes))


def read_module(ctx: Context, node: Located) -> None:
    """Check one module, its lessons and its item files; record it in ``ctx.modules``."""
    fields = ctx.chk.mapping(
        node, "a module", required=("id", "title", "competencies"),
        optional=("summary", "outcomes", "lessons", "items", "minutes", "feedback"))
    if fields is None or "id" not in fields:
        return
    ident = ctx.chk.ident(fields["id"], "module id")
    title = ctx.chk.text(node.child("title"), "module title") if "title" in fields else None
    if ident is None or not _claim_id(ctx, ident, "module", fields["id"]):
        return
    summary = ctx.chk.text(node.child("summary"), "summary", required=False) or ""
    competencies = ctx.chk.ident_list(node.child("competencies"), "competencies") or ()
    if "competencies" in fields and not competencies and isinstance(fields["competencies"].value, list):
        ctx.chk.error(fields["competencies"], "the module teaches no competency",
                      "list at least one competency id")
    competency_nodes = {}
    if isinstance(node.child("competencies").value, list):
        for j, value in enumerate(node.child("competencies").value):
            competency_nodes[str(value)] = node.child("competencies").child(j)
    outcomes = []
    for element in ctx.chk.seq(node.child("outcomes"), "outcomes") or []:
        text = ctx.chk.text(element, "an outcome")
        if text is not None:
            outcomes.append(text)
    lessons = []
    for element in ctx.chk.seq(node.child("lessons"), "lessons") or []:
        path = _pack_path(ctx, element, "lesson", (".md",))
        if path is not None:
            lesson = read_lesson(ctx, path)
            if lesson is not None:
                lessons.append(lesson)
    item_files = []
    for element in ctx.chk.seq(node.child("items"), "items") or []:
        path = _pack_path(ctx, element, "item file", (".yaml", ".yml"))
        if path is not None:
            if path in item_files:
                ctx.chk.error(element, f"item file {path} is listed twice", "list it once")
                continue
            item_files.append(path)
            read_item_file(ctx, path)
    minutes = None
    if "minutes" in fields and fields["minutes"].value is not None:
        minutes = ctx.chk.integer(fields["minutes"], "minutes", low=1, high=100_000)
    feedback = "end"
    feedback_node = fields.get("feedback")
    if feedback_node is not None and feedback_node.value is not None:
        feedback = ctx.chk.choice(feedback_node, "feedback", _FEEDBACK) or "end"
    ctx.modules.append(RawModule(
        Module(ident, title or ident, summary, competencies, tuple(outcomes), tuple(lessons),
               tuple(item_files), minutes, feedback), fields["id"], competency_nodes,
        feedback_node))


def read_credential(ctx: Context, node: Located) -> None:
    """Check one credential rule's fields; record it in ``ctx.credentials``."""
    chk = ctx.chk
    fields = chk.mapping(node, "a credential", required=("id", "title", "criteria"),
                         optional=("description", "credit", "expires_after_days"))
    if fields is None or "id" not in fields:
        return
    ident = chk.ident(fields["id"], "credential id")
    title = chk.text(node.child("title"), "credential title") if "title" in fields else None
    if ident is None or not _claim_id(ctx, ident, "credential", fields["id"]):
        return
    description = chk.text(node.child("description"), "description", required=False) or ""
    competencies: tuple[str, ...] = ()
    credentials: tuple[str, ...] = ()
    competency_nodes: dict[str, Located] = {}
    credential_nodes: dict[str, Located] = {}
    max_se: float | None = None
    criteria = node.child("criteria")
    if criteria.value is not None:
        crit = chk.mapping(criteria, "criteria", optional=("competencies", "credentials", "max_se"))
        if crit is not None:
            competencies = chk.ident_list(criteria.child("competencies"), "criteria competencies") or ()
            credentials = chk.ident_list(criteria.child("credentials"), "criteria credentials") or ()
            if "max_se" in crit and crit["max_se"].value is not None:
                max_se = chk.number(crit["max_se"], "max_se", low=0.05, high=2.0,
                                    hint="write the largest standard error a decision may have, e.g. 0.35")
                if max_se is not None and not competencies:
                    chk.error(crit["max_se"], "max_se bounds the standard errors of the competencies' "
                              "mastery decisions, but the criteria name no competency",
                              "remove max_se, or list the competencies it applies to")
            for key, target in (("competencies", competency_nodes), ("credentials", credential_nodes)):
                values = criteria.child(key).value
                if isinstance(values, list):
                    for j, value in enumerate(values):
                        target[str(value)] = criteria.child(key).child(j)
            if not competencies and not credentials:
                chk.error(criteria, "the criteria name no competency and no credential",
                          "list what a learner must master to earn the credential")
    credit = None
    credit_node = node.child("credit")
    if credit_node.value is not None and credit_node.value != "none":
        cf = chk.mapping(credit_node, "credit", required=("value", "unit"), optional=("level",))
        if cf is not None and "value" in cf and "unit" in cf:
            value = chk.number(cf["value"], "credit value", low=0.0)
            unit = chk.text(cf["unit"], "credit unit")
            level = chk.text(cf["level"], "credit level", required=False,
                             allow_number=True) if "level" in cf else None
            if value is not None and unit is not None:
                credit = Credit(value, unit, level)
    expires = None
    if "expires_after_days" in fields and fields["expires_after_days"].value is not None:
        expires = chk.integer(fields["expires_after_days"], "expires_after_days", low=1)
    ctx.credentials.append(RawCredential(
        CredentialRule(ident, title or ident, description, competencies, credentials, credit,
                       expires, max_se), fields["id"], competency_nodes, credential_nodes))


def _claim_id(ctx: Context, ident: str, kind: str, node: Located) -> bool:
    """Register a competency, module or credential id; report a duplicate."""
    if ident in ctx.ids:
        first_kind, first = ctx.ids[ident]
        line, _ = first.position()
        ctx.chk.error(node, f"duplicate id '{ident}': already used by a {first_kind} "
                      f"({first.doc.path}:{line})",
                      "ids must be unique across competencies, modules and credentials")
        return False
    ctx.ids[ident] = (kind, node)
    return True


def _pack_path(ctx: Context, node: Located, what: str, suffixes: tuple[str, ...]) -> str | None:
    """Read a pack-relative file path and check it stays inside the pack and names a kind of file."""
    raw = ctx.chk.text(node, what)
    if raw is None:
        return None
    if raw.startswith("/") or "\\" in raw:
        ctx.chk.error(node, f"{what} {raw!r} is not a relative path",
                      "write paths relative to the pack folder with '/'")
        return None
    path = pack_relative("pack.yaml", raw)
    if path is None:
        ctx.chk.error(node, f"{what} {raw!r} leaves the pack", "keep every file inside the pack")
        return None
    if not path.lower().endswith(suffixes):
        ctx.chk.error(node, f"{what} {raw!r} must end with {' or '.join(suffixes)}",
                      "rename the file")
        return None
    if path not in ctx.files:
        close = ctx.chk.suggest(path, ctx.files)
        hint = f"did you mean '{close}'?" if close else "add the file or correct the path"
        ctx.chk.error(node, f"missing file: {path}", hint)
        return None
    ctx.used.add(path)
    return path
