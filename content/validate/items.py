"""Item files and their items: common fields, each type's answer fields, feedback, IRT parameters.

An item file is parsed once, however many modules list it. Each item is checked field by field: an id
unique across the pack, a known type (whose answer fields :data:`content.itemtypes.ITEM_TYPES`
checks), the competency it measures, stem, level, and feedback for options the item has; its texts are
inspected by :mod:`content.validate.media`. Calibrated parameters must pass the engine's own
:class:`adaptive.ItemParameters` checks and fit the item's scoring (one point or partial credit). An
item with an error is not kept, so the checks across the pack skip it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adaptive import InvalidItemParameters, ItemParameters
from adaptive.irt import DICHOTOMOUS, MODELS, POLYTOMOUS

from ..errors import PackIssue
from ..itemtypes import ITEM_TYPES
from ..model import LEVEL_DIFFICULTY, Choice, Feedback, IrtParameters, Item
from ..parse import Located, YamlDoc, describe, load_yaml
from .context import Context, RawItem
from .media import inspect_text

__all__ = ["read_item_file"]

_ITEM_COMMON = ("id", "type", "competency", "content_area", "stem", "feedback", "irt", "level")
_ALL_TYPE_FIELDS = tuple(sorted({f for t in ITEM_TYPES.values() for f in t.fields}))
_IRT_HINT = "recalibrate the item or remove its parameters"


def read_item_file(ctx: Context, path: str) -> None:
    """Parse one item file (once) and check each of its items."""
    if path in ctx.item_files:
        return
    ctx.item_files[path] = None
    doc = load_yaml(path, ctx.files[path], ctx.limits)
    if isinstance(doc, PackIssue):
        ctx.chk.issues.append(doc)
        return
    root = Located(doc, (), doc.data)
    fields = ctx.chk.mapping(root, "an item file", required=("items",))
    if fields is None or "items" not in fields:
        return
    items: list[RawItem] = []
    for node in ctx.chk.seq(fields["items"], "items") or []:
        item = _read_item(ctx, doc, node, path)
        if item is not None:
            items.append(item)
    ctx.item_files[path] = items


def _read_item(ctx: Context, doc: YamlDoc, node: Located, path: str) -> RawItem | None:
    """Check one item: common fields, its type's answer fields, feedback and IRT parameters."""
    chk = ctx.chk
    if not isinstance(node.value, dict):
        chk.error(node, f"an item must be a mapping, not {describe(node.value)}",
                  "write each item as a '- id: ...' block")
        return None
    errors_before = chk.n_errors
    type_name = node.value.get("type")
    item_type = ITEM_TYPES.get(type_name) if isinstance(type_name, str) else None
    allowed = _ITEM_COMMON + (item_type.fields if item_type else _ALL_TYPE_FIELDS)
    fields = chk.mapping(node, "an item", required=("id", "type", "competency", "stem"),
                         optional=tuple(k for k in allowed if k not in (
                             "id", "type", "competency", "stem")))
    if fields is None:
        return None
    ident = chk.ident(fields["id"], "item id") if "id" in fields else None
    if ident is not None:
        if ident in ctx.item_ids:
            first = ctx.item_ids[ident]
            chk.error(fields["id"], f"duplicate item id '{ident}' (first at "
                      f"{first.doc.path}:{first.position()[0]})", "give every item its own id")
        else:
            ctx.item_ids[ident] = fields["id"]
    if item_type is None and "type" in fields and fields["type"].value is not None:
        close = chk.suggest(str(type_name), ITEM_TYPES)
        chk.error(fields["type"], f"unknown item type {type_name!r}",
                  f"did you mean '{close}'?" if close else
                  f"use one of {', '.join(sorted(ITEM_TYPES))}")
    competency = chk.ident(fields["competency"], "competency") if "competency" in fields else None
    content_area = None
    if "content_area" in fields and fields["content_area"].value is not None:
        content_area = chk.text(fields["content_area"], "content_area", allow_number=True)
    stem = chk.text(fields["stem"], "stem", allow_number=True) if "stem" in fields else None
    if stem is not None:
        inspect_text(ctx, path, stem, fields["stem"])
    level = "medium"
    if "level" in fields and fields["level"].value is not None:
        level = chk.choice(fields["level"], "level", tuple(LEVEL_DIFFICULTY)) or "medium"
    answer: dict[str, Any] = {}
    if item_type is not None:
        answer = item_type.read(fields, chk, node, ctx.limits)
    for choice in (*answer.get("options", ()), *answer.get("sources", ()), *answer.get("targets", ())):
        if isinstance(choice, Choice):
            inspect_text(ctx, path, choice.text, node)
    feedback = _read_feedback(ctx, fields.get("feedback"), answer, path)
    if ident is None or item_type is None or competency is None or stem is None:
        return None
    if chk.n_errors > errors_before:
        return None
    item = Item(id=ident, type=item_type.name, competency=competency, file=path, stem=stem,
                content_area=content_area, feedback=feedback, level=level, **answer)
    if "irt" in fields and fields["irt"].value is not None:
        irt = _read_irt(ctx, fields["irt"], item)
        if irt is None:
            return None
        item = replace(item, irt=irt)
    return RawItem(item, node)


def _read_feedback(ctx: Context, node: Located | None, answer: dict[str, Any], path: str) -> Feedback:
    """Check an item's feedback: correct, incorrect, and per-option texts for known options."""
    if node is None or node.value is None:
        return Feedback()
    fields = ctx.chk.mapping(node, "feedback", optional=("correct", "incorrect", "options"))
    if fields is None:
        return Feedback()
    texts: dict[str, str | None] = {}
    for key in ("correct", "incorrect"):
        if key in fields and fields[key].value is not None:
            texts[key] = ctx.chk.text(fields[key], f"feedback {key}", allow_number=True)
            if texts[key]:
                inspect_text(ctx, path, texts[key] or "", fields[key])
    options: list[tuple[str, str]] = []
    option_node = fields.get("options")
    if option_node is not None and option_node.value is not None:
        known = [c.id for c in answer.get("options", ())]
        if not isinstance(option_node.value, dict):
            ctx.chk.error(option_node, "feedback options must map option ids to texts",
                          "write 'options: {a: text, b: text}'")
        else:
            for option_id in option_node.value:
                child = option_node.child(option_id)
                if option_id not in known:
                    ctx.chk.error(child, f"feedback for unknown option '{option_id}'",
                                  f"use one of the item's option ids ({', '.join(known) or 'none'})",
                                  key=True)
                    continue
                text = ctx.chk.text(child, "option feedback", allow_number=True)
                if text is not None:
                    inspect_text(ctx, path, text, child)
                    options.append((option_id, text))
    order = {c.id: j for j, c in enumerate(answer.get("options", ()))}
    options.sort(key=lambda pair: order.get(pair[0], 0))
    return Feedback(texts.get("correct"), texts.get("incorrect"), tuple(options))


def _read_irt(ctx: Context, node: Located, item: Item) -> IrtParameters | None:
    """Check calibrated parameters with the engine's own rules and against the item's scoring."""
    chk = ctx.chk
    fields = chk.mapping(node, "irt", optional=("model", "a", "b", "c", "thresholds"))
    if fields is None:
        return None
    max_score = item.max_score
    if max_score == 0:
        chk.error(node, f"a {item.type} item is never scored, so it has no IRT parameters",
                  "remove 'irt'")
        return None
    default = ctx.defaults.model if max_score == 1 else "gpcm"
    model = default
    if "model" in fields and fields["model"].value is not None:
        model = chk.choice(fields["model"], "irt model", MODELS) or ""
        if not model:
            return None
    numbers: dict[str, float] = {}
    for key in ("a", "b", "c"):
        if key in fields and fields[key].value is not None:
            value = fields[key].value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                chk.error(fields[key], f"{key} must be a number, not {describe(value)}",
                          _IRT_HINT)
                return None
            numbers[key] = float(value)
    thresholds: tuple[float, ...] = ()
    if "thresholds" in fields and fields["thresholds"].value is not None:
        elements = chk.seq(fields["thresholds"], "thresholds")
        if elements is None:
            return None
        values = [e.value for e in elements]
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
            chk.error(fields["thresholds"], "thresholds must be numbers", _IRT_HINT)
            return None
        thresholds = tuple(float(v) for v in values)
    if "a" not in numbers:
        chk.error(node, "irt has no discrimination 'a'", "add 'a:' or remove the parameters")
        return None
    if model in DICHOTOMOUS and "b" not in numbers:
        chk.error(node, "irt has no difficulty 'b'", "add 'b:' or remove the parameters")
        return None
    params = IrtParameters(model=model, a=numbers["a"], b=numbers.get("b", 0.0),
                           c=numbers.get("c", 0.0), thresholds=thresholds)
    try:
        ItemParameters(id=item.id, model=model, a=params.a, b=params.b, c=params.c,
                       thresholds=thresholds).validate()
    except InvalidItemParameters as exc:
        message = str(exc).split(f": {exc.field}: ", 1)[-1]
        message = message.replace("; it must be a finite number > 0", "; it must be > 0")
        target = fields.get(exc.field, node)
        chk.error(target, message, _IRT_HINT)
        return None
    if model in POLYTOMOUS and "b" in numbers:
        chk.error(fields["b"], f"a {model} item has thresholds, not a difficulty 'b'",
                  "remove 'b'")
        return None
    if max_score == 1 and model in POLYTOMOUS:
        chk.error(fields.get("model", node), f"a {model} model needs partial-credit scoring",
                  f"use a {'/'.join(DICHOTOMOUS)} model, or set 'scoring: partial'")
        return None
    if max_score > 1 and model in DICHOTOMOUS:
        chk.error(fields.get("model", node), f"a partial-credit item scored 0..{max_score} needs "
                  "a gpcm or grm model", "use model gpcm or grm with thresholds")
        return None
    if max_score > 1 and len(thresholds) != max_score:
        chk.error(fields.get("thresholds", node), f"the item is scored 0..{max_score}, so it needs "
                  f"{max_score} thresholds, not {len(thresholds)}", _IRT_HINT)
        return None
    return params
