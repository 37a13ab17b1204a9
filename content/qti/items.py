"""One parsed ``assessmentItem`` to one Thetapath :class:`~content.model.Item`, or :class:`_ItemFailed`.

:class:`_ItemReader` checks the item (an ``itemBody``, no template, exactly one interaction, of a
supported kind, with a response declaration), turns its body into the stem, reads the interaction into
the item's type, options, key, scoring and shuffle (the mapping is in the :mod:`content.qti` docstring)
and keeps the feedback it can map. A problem that can be worked around is a warning; one that can't
raises :class:`_ItemFailed` (the item is skipped). Ids are normalised here: :func:`_item_id` for the
item, :func:`_option_ids` for its options.
"""

from __future__ import annotations

import math
import re
from pathlib import PurePosixPath
from typing import Any

from ..model import Asset, Choice, Feedback, Item
from .images import _image
from .markdown import _esc, _Markdown
from .package import _Context
from .responses import (
    _ECHO,
    _MAP_TEMPLATES,
    _MATCH_TEMPLATES,
    _custom_kind,
    _Decl,
    _declarations,
    _feedback_triggers,
    _num,
    _tolerance,
)
from .xmlsafe import _Node

_SUPPORTED = {"choiceInteraction", "inlineChoiceInteraction", "textEntryInteraction",
              "orderInteraction", "matchInteraction", "extendedTextInteraction"}
_ID_CHARS = re.compile(r"[^a-z0-9]+")
_OPTION_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


class _ItemFailed(Exception):
    """One item can't be converted; carries the message, hint and line."""

    def __init__(self, message: str, hint: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.line = line


def _item_id(identifier: str) -> str:
    ident = _ID_CHARS.sub("-", identifier.lower()).strip("-")[:64].strip("-")
    return ident or "item"


def _option_ids(raw: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    used: set[str] = set()
    for ident in raw:
        if ident in out:
            continue
        base = _OPTION_BAD.sub("_", ident)
        if not base or not base[0].isalnum() or not base[0].isascii():
            base = "o" + base
        base = base[:60]
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base}-{n}", n + 1
        used.add(candidate)
        out[ident] = candidate
    return out


def _true(value: str) -> bool:
    return value.strip() in ("true", "1")


def _shuffle(interaction: _Node, choices: list[_Node]) -> bool:
    """QTI's ``shuffle`` (absent means false); a choice with ``fixed="true"`` pins the whole item."""
    return _true(interaction.get("shuffle", "false")) and not any(_true(c.get("fixed", "false"))
                                                                  for c in choices)


def _choices(md: _Markdown, nodes: list[_Node], ids: dict[str, str]) -> tuple[Choice, ...]:
    out: list[Choice] = []
    for node in nodes:
        text = "\n\n".join(md.blocks(node)) or node.get("identifier")
        out.append(Choice(ids[node.get("identifier")], text))
    return tuple(out)


class _ItemReader:
    """Convert one parsed assessmentItem into an Item (or raise _ItemFailed)."""

    def __init__(self, ctx: _Context, root: _Node, v3: bool) -> None:
        self.ctx = ctx
        self.root = root
        self.v3 = v3
        self.item_assets: dict[str, Asset] = {}

    def name(self, node: _Node) -> str:
        return f"{node.tag} (<{node.raw}>)" if self.v3 else node.tag

    def image(self, src: str, alt: str, line: int) -> str | None:
        return _image(self.ctx, self.item_assets, src, alt, line)

    def fail(self, node: _Node | None, message: str, hint: str) -> _ItemFailed:
        return _ItemFailed(message, hint, node.line if node is not None else self.root.line)

    def read(self) -> Item:
        root = self.root
        body = root.first("itemBody")
        if body is None:
            raise self.fail(root, "the item has no itemBody", "add the item's content")
        if root.first("templateDeclaration") is not None or root.first("templateProcessing") is not None:
            raise self.fail(root.first("templateDeclaration") or root.first("templateProcessing"),
                            "template (cloned) items are not supported",
                            "export the item with fixed values")
        interactions = [n for n in body.iter() if n.tag.endswith("Interaction")]
        if not interactions:
            raise self.fail(body, "the item has no interaction",
                            "add an interaction, or import it as a lesson")
        unsupported = [n for n in interactions if n.tag not in _SUPPORTED]
        if unsupported:
            node = unsupported[0]
            raise self.fail(node, f"{self.name(node)} is not supported",
                            "supported: choice, inlineChoice, textEntry, order, match and extendedText "
                            "interactions; rebuild the item with one of them or leave it out")
        if len(interactions) > 1:
            names = ", ".join(self.name(n) for n in interactions)
            raise self.fail(interactions[1], f"the item has {len(interactions)} interactions ({names}); "
                            "a Thetapath item has one", "split the item into one item per interaction")
        interaction = interactions[0]
        resp = interaction.get("responseIdentifier")
        decl = _declarations(root).get(resp)
        if decl is None:
            raise self.fail(interaction, f"no responseDeclaration for {resp!r}",
                            "declare the interaction's response")
        md = _Markdown(self.image, interaction)
        stem = "\n\n".join(md.blocks(body)).strip() or _esc(root.get("title")).strip() or "(no text)"
        rp = root.first("responseProcessing")
        kind = self.rp_kind(rp, resp, interaction)
        fields = self.answer(interaction, decl, kind, rp, md)
        feedback = self.feedback(rp, resp, md, fields)
        return Item(id=_item_id(root.get("identifier") or PurePosixPath(self.ctx.path).stem),
                    competency=self.ctx.competency, file=self.ctx.item_file, stem=stem,
                    feedback=feedback, level=self.ctx.level, **fields)

    def rp_kind(self, rp: _Node | None, resp: str, interaction: _Node) -> str:
        if interaction.tag == "extendedTextInteraction":
            return "none"
        fallback = "scored all-or-nothing against the correct response"
        if rp is None:
            self.ctx.warn(interaction.line, f"the item has no response processing; it is {fallback}",
                          "check the imported key")
            return "match"
        template = rp.get("template") or rp.get("templateLocation")
        if template:
            name = template.rstrip("/").rsplit("/", 1)[-1]
            name = name[:-4] if name.lower().endswith(".xml") else name
            if name in _MATCH_TEMPLATES:
                return "match"
            if name in _MAP_TEMPLATES:
                return "map"
            self.ctx.warn(rp.line, f"unknown response-processing template {template[:120]!r}; "
                          f"the item is {fallback}", "check the imported key and scoring")
            return "match"
        kind = _custom_kind(rp, resp)
        if kind == "unknown":
            self.ctx.warn(rp.line, f"custom response processing is not one of the standard templates; "
                          f"the item is {fallback}", "check the imported key and scoring")
            return "match"
        return kind

    def key_from_mapping(self, decl: _Decl) -> list[str]:
        if decl.correct:
            return decl.correct
        positive = [(value, key) for key, value, _ in decl.mapping if value > 0]
        if not positive:
            return []
        if decl.cardinality == "single":
            best = max(value for value, _ in positive)
            return [key for value, key in positive if value == best][:1]
        return [key for _, key in positive]

    def answer(self, node: _Node, decl: _Decl, kind: str, rp: _Node | None,
               md: _Markdown) -> dict[str, Any]:
        tag = node.tag
        if tag == "extendedTextInteraction":
            return {"type": "reflection"}
        key = self.key_from_mapping(decl)
        if not key:
            raise self.fail(node, f"the response {decl.identifier!r} has no correct response",
                            "add a correctResponse (or a mapping) to the responseDeclaration")
        if tag in ("choiceInteraction", "inlineChoiceInteraction", "orderInteraction"):
            choice_tag = "inlineChoice" if tag == "inlineChoiceInteraction" else "simpleChoice"
            nodes = node.all(choice_tag)
            ids = _option_ids([n.get("identifier") for n in nodes])
            options = _choices(md, nodes, ids)
            if len(options) < 2:
                raise self.fail(node, f"{self.name(node)} has {len(options)} choice(s); "
                                "at least 2 are needed", "add choices")
            unknown = [k for k in key if k not in ids]
            if unknown:
                raise self.fail(node, f"the correct response names {unknown[0]!r}, which is not a choice",
                                "correct the correctResponse")
            if tag == "orderInteraction":
                if sorted(key) != sorted(ids) or len(set(key)) != len(key):
                    raise self.fail(node, "the correct order does not list every choice exactly once",
                                    "order every choice in the correctResponse")
                return {"type": "ordering", "options": options, "key": tuple(ids[k] for k in key),
                        "shuffle": _shuffle(node, nodes)}
            single = decl.cardinality == "single" and (
                tag == "inlineChoiceInteraction" or node.get("maxChoices", "1") == "1")
            if single:
                return {"type": "single_choice", "options": options, "key": ids[key[0]],
                        "shuffle": _shuffle(node, nodes)}
            scoring = "all_or_nothing"
            if kind == "map" and decl.mapping:
                scoring = "partial"
                self.check_weights(node, decl, set(key), list(ids))
            keyed = set(key)
            return {"type": "multiple_choice", "options": options, "scoring": scoring,
                    "key": tuple(ids[k] for k in ids if k in keyed), "shuffle": _shuffle(node, nodes)}
        if tag == "matchInteraction":
            return self.match(node, decl, key, kind, md)
        if tag == "textEntryInteraction":
            return self.text_entry(node, decl, key, rp)
        raise self.fail(node, f"{self.name(node)} is not supported", "leave the item out")  # pragma: no cover

    def check_weights(self, node: _Node, decl: _Decl, keyed: set[str], all_ids: list[str]) -> None:
        values = {k: v for k, v, _ in decl.mapping}
        right = {values.get(k, decl.default) for k in keyed}
        wrong = {values.get(k, decl.default) for k in all_ids if k not in keyed}
        if len(right) == 1 and right.pop() > 0 and (wrong <= {-1.0 * v for v in values.values()
                                                             if v > 0} or not wrong):
            return
        self.ctx.warn(node.line, "the mapping's weights are approximated: partial credit gives one point "
                      "per right option chosen minus one per wrong one, at least 0",
                      "check the item's scoring")

    def match(self, node: _Node, decl: _Decl, key: list[str], kind: str, md: _Markdown) -> dict[str, Any]:
        sets = node.all("simpleMatchSet")
        if len(sets) != 2:
            raise self.fail(node, f"{self.name(node)} needs two simpleMatchSets, found {len(sets)}",
                            "use two match sets")
        src_nodes = sets[0].all("simpleAssociableChoice")
        tgt_nodes = sets[1].all("simpleAssociableChoice")
        src_ids = _option_ids([n.get("identifier") for n in src_nodes])
        tgt_ids = _option_ids([n.get("identifier") for n in tgt_nodes])
        pairs: dict[str, str] = {}
        for value in key:
            parts = value.split()
            if len(parts) != 2:
                raise self.fail(node, f"the correct response {value!r} is not a pair",
                                "write 'source target'")
            first, second = parts
            if first in tgt_ids and second in src_ids and not (first in src_ids and second in tgt_ids):
                first, second = second, first
            if first not in src_ids or second not in tgt_ids:
                raise self.fail(node, f"the correct pair {value!r} does not pair a source with a target",
                                "correct the correctResponse")
            if first in pairs:
                raise self.fail(node, f"source {first!r} is matched to several targets; a Thetapath "
                                "matching item matches each source to one target",
                                "give each source one right target")
            pairs[first] = second
        missing = [s for s in src_ids if s not in pairs]
        if missing:
            raise self.fail(node, f"source(s) {', '.join(missing)} have no right target; a Thetapath "
                            "matching item matches every source", "give every source its target")
        sources = _choices(md, src_nodes, src_ids)
        targets = _choices(md, tgt_nodes, tgt_ids)
        if len(sources) < 2 or len(targets) < 2:
            raise self.fail(node, "a matching item needs at least 2 sources and 2 targets", "add choices")
        scoring = "all_or_nothing"
        if kind == "map" and decl.mapping:
            scoring = "partial"
            values = {v for _, v, _ in decl.mapping if v > 0}
            if len(values) > 1:
                self.ctx.warn(node.line, "the mapping's weights are approximated: partial credit gives "
                              "one point per right pair", "check the item's scoring")
        return {"type": "matching", "sources": sources, "targets": targets, "scoring": scoring,
                "key": tuple((src_ids[s], tgt_ids[pairs[s]]) for s in src_ids),
                "shuffle": _shuffle(node, src_nodes + tgt_nodes)}

    def text_entry(self, node: _Node, decl: _Decl, key: list[str], rp: _Node | None) -> dict[str, Any]:
        if decl.base_type in ("float", "integer"):
            value = _num(key[0], math.nan)
            if not math.isfinite(value):
                raise self.fail(node, f"the correct response {key[0]!r} is not a number",
                                "correct the correctResponse")
            tolerance, note = _tolerance(rp, decl.identifier, value)
            if note:
                self.ctx.warn(node.line, note, "check the tolerance")
            return {"type": "numeric", "key": value, "tolerance": tolerance}
        if decl.cardinality != "single":
            raise self.fail(node, f"a textEntryInteraction with {decl.cardinality} cardinality is not "
                            "supported", "use single cardinality")
        best = max((v for _, v, _ in decl.mapping), default=0.0)
        accepted: list[str] = []
        sensitive: list[bool] = []
        default_cs = not self.v3
        for answer in decl.correct:
            accepted.append(answer)
            entry = next((e for e in decl.mapping if e[0] == answer), None)
            sensitive.append(default_cs if entry is None or entry[2] is None else entry[2])
        for map_key, mapped, cs in decl.mapping:
            if mapped >= best and mapped > 0:
                if map_key not in accepted:
                    accepted.append(map_key)
                    sensitive.append(default_cs if cs is None else cs)
            elif mapped > 0 and map_key not in accepted and not (
                    not (default_cs if cs is None else cs)
                    and map_key.casefold() in {a.casefold() for a in accepted}):
                self.ctx.warn(node.line, f"the answer {map_key!r} scores {mapped:g} of {best:g} in QTI; "
                              "Thetapath scores short text 0/1, so it is not accepted",
                              "add it to 'accepted' if it deserves full credit")
        accepted = [a.strip() for a in accepted if a.strip()]
        if not accepted:
            raise self.fail(node, "the text entry has no accepted answer", "add a correctResponse")
        case_sensitive = any(sensitive)
        seen: set[str] = set()
        unique: list[str] = []
        for answer in accepted:
            norm = " ".join(answer.split())
            norm_key = norm if case_sensitive else norm.casefold()
            if norm_key not in seen:
                seen.add(norm_key)
                unique.append(norm)
        out: dict[str, Any] = {"type": "short_text", "accepted": tuple(unique)}
        if case_sensitive:
            out["case_sensitive"] = True
        return out

    def feedback(self, rp: _Node | None, resp: str, md: _Markdown, fields: dict[str, Any]) -> Feedback:
        """Feedback shown for a right or wrong answer or a chosen option; a warning for any other."""
        blocks = [n for n in self.root.iter() if n.tag in ("modalFeedback", "feedbackBlock", "feedbackInline")
                  and (n.itertext().strip() or any(c.tag in ("img", "object") for c in n.iter()))]
        if not blocks:
            return Feedback()
        triggers = _feedback_triggers(rp, resp, {n.get("outcomeIdentifier") for n in blocks})
        option_ids = {c.id for c in fields.get("options", ())}
        raw_ids = _option_ids([n.get("identifier") for n in self.root.iter()
                               if n.tag in ("simpleChoice", "inlineChoice")])
        texts: dict[str, list[str]] = {}
        plain = _Markdown(self.image)
        for block in blocks:
            outcome, ident = block.get("outcomeIdentifier"), block.get("identifier")
            category = triggers.get((outcome, ident))
            if category is None and (outcome, _ECHO) in triggers:
                category = f"option:{ident}"
            if category is not None and category.startswith("option:") and \
                    raw_ids.get(category[7:]) not in option_ids:
                category = None
            if category is None or block.get("showHide", "show") != "show":
                when = "is not" if block.get("showHide", "show") != "show" else "is"
                self.ctx.warn(block.line, f"{self.name(block)} {ident!r} is left out: it shows when "
                              f"{outcome} {when} set to {ident!r}, which Thetapath can't map; it shows "
                              "feedback only for a right or a wrong answer or a chosen option",
                              "add its text to the item's feedback by hand if learners need it")
                continue
            content = block.first("contentBody") or block
            text = "\n\n".join(plain.blocks(content)).strip()
            if text:
                texts.setdefault(category, []).append(text)
        options: list[tuple[str, str]] = []
        for category, values in texts.items():
            option = raw_ids.get(category[7:]) if category.startswith("option:") else None
            if option is not None:
                options.append((option, "\n\n".join(values)))
        order = [c.id for c in fields.get("options", ())]
        options.sort(key=lambda pair: order.index(pair[0]))
        correct = "\n\n".join(texts["correct"]) if "correct" in texts else None
        incorrect = "\n\n".join(texts["incorrect"]) if "incorrect" in texts else None
        return Feedback(correct, incorrect, tuple(options))
