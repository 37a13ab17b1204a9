"""The normalised content pack: frozen dataclasses, valid by construction once validation passed.

A :class:`ContentPack` is what every consumer sees (the CLI, the web app's import, the demo loader, the
tests); nothing here knows about files, YAML or line numbers. Lists are tuples and mappings are tuples
of pairs, so that two packs compare equal exactly when their content is equal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from adaptive import ItemParameters
from adaptive.integrity import EvidenceRules, RetakePolicy
from adaptive.irt import DICHOTOMOUS

__all__ = [
    "LEVEL_DIFFICULTY",
    "AssessmentSettings",
    "Asset",
    "Author",
    "Choice",
    "Competency",
    "ContentPack",
    "CredentialRule",
    "Credit",
    "Feedback",
    "IrtParameters",
    "Item",
    "Key",
    "Lesson",
    "Module",
    "content_hash",
]

LEVEL_DIFFICULTY: dict[str, float] = {"easy": -1.0, "medium": 0.0, "hard": 1.0}
"""Provisional difficulty of a pilot item by its authored level (discrimination 1)."""

Key = str | float | tuple[str, ...] | tuple[tuple[str, str], ...] | None
"""An item's answer key: an option id, a number, option ids (a set or an order), source→target pairs."""


@dataclass(frozen=True, slots=True)
class Author:
    """One author of a pack."""

    name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class AssessmentSettings:
    """How the adaptive test of a competency runs (pack defaults, optionally overridden)."""

    model: str = "2pl"
    cut: float = 0.0
    se_target: float = 0.35
    min_items: int = 5
    max_items: int = 20
    exposure_target: float | None = None
    pilot_rate: float = 0.1
    mastery_method: str = "sprt"


@dataclass(frozen=True, slots=True)
class Competency:
    """Something a learner can master; ``assessment`` is the effective (merged) setting."""

    id: str
    title: str
    description: str = ""
    prerequisites: tuple[str, ...] = ()
    level: int | None = None
    assessment: AssessmentSettings = field(default_factory=AssessmentSettings)


@dataclass(frozen=True, slots=True)
class Lesson:
    """One Markdown lesson; ``html`` is its sanitised rendering, ``images`` the pack paths it shows."""

    path: str
    title: str
    markdown: str
    html: str
    images: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Module:
    """A unit of study: lessons in order, the competencies it teaches and its item files."""

    id: str
    title: str
    summary: str = ""
    competencies: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    lessons: tuple[Lesson, ...] = ()
    item_files: tuple[str, ...] = ()
    minutes: int | None = None
    feedback: str = "end"
    """``"end"`` (right answers only once an attempt is over) or ``"immediate"`` (formative practice:
    allowed only for a module whose competencies count towards no credential)."""


@dataclass(frozen=True, slots=True)
class Choice:
    """An option of a choice or ordering item, or a source/target of a matching item (Markdown)."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a learner sees after answering (Markdown)."""

    correct: str | None = None
    incorrect: str | None = None
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class IrtParameters:
    """Calibrated parameters as authored; the same rules as :meth:`adaptive.ItemParameters.validate`."""

    model: str = "2pl"
    a: float = 1.0
    b: float = 0.0
    c: float = 0.0
    thresholds: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Item:
    """One assessment item; the fields used depend on :attr:`type` (see :mod:`content.itemtypes`).

    Attributes
    ----------
    file : str
        The item file that holds it (a module's ``items`` entry).
    irt : IrtParameters or None
        Calibrated parameters; ``None`` makes a pilot item whose provisional difficulty comes from
        :attr:`level`.
    shuffle : bool
        Whether the app presents the options (or a matching item's sources and targets) in a
        per-attempt shuffled order (:func:`content.presentation.option_order`); ``False`` pins the
        authored order ("all of the above", a natural scale). Only choice, ordering and matching
        items carry the field; for other types it stays ``True`` and means nothing.
    """

    id: str
    type: str
    competency: str
    file: str
    stem: str
    content_area: str | None = None
    options: tuple[Choice, ...] = ()
    sources: tuple[Choice, ...] = ()
    targets: tuple[Choice, ...] = ()
    key: Key = None
    scoring: str = "all_or_nothing"
    tolerance: float = 0.0
    accepted: tuple[str, ...] = ()
    pattern: str | None = None
    case_sensitive: bool = False
    feedback: Feedback = field(default_factory=Feedback)
    irt: IrtParameters | None = None
    level: str = "medium"
    shuffle: bool = True

    @property
    def pilot(self) -> bool:
        """True for a scored item without calibrated parameters: administered, not yet scored."""
        return self.irt is None and self.max_score > 0

    @property
    def max_score(self) -> int:
        """Highest score the item's scorer can give (0 for unscored types).

        It follows from the item's own data (its type, scoring and key), so it lives here rather than
        in the item-type registry, which reads and scores answers and imports this module.
        """
        if self.type == "reflection":
            return 0
        if self.scoring != "partial":
            return 1
        if self.type == "multiple_choice":  # one point per keyed option
            return len(self.key) if isinstance(self.key, tuple) else 1
        if self.type == "ordering":  # one point per neighbouring pair of the key
            return len(self.options) - 1
        if self.type == "matching":  # one point per source
            return len(self.sources)
        return 1

    def parameters(self) -> ItemParameters:
        """Return engine parameters: the calibrated ones, or the provisional ones of a pilot item.

        A pilot item gets ``a = 1`` and ``b`` from its level (easy -1, medium 0, hard +1); a pilot
        item scored with partial credit gets GPCM thresholds spread evenly over ``b ± 1``.

        Raises
        ------
        ValueError
            For an unscored item (a reflection), which never enters an item bank.
        """
        tags = {"competency": self.competency}
        if self.content_area is not None:
            tags["content_area"] = self.content_area
        if self.irt is not None:
            return ItemParameters(
                id=self.id, model=self.irt.model, a=self.irt.a,
                b=self.irt.b if self.irt.model in DICHOTOMOUS else 0.0,
                c=self.irt.c, thresholds=self.irt.thresholds, tags=tags)
        b = LEVEL_DIFFICULTY[self.level]
        k = self.max_score
        if k == 0:
            msg = f"item {self.id!r} is a {self.type} item: it is never scored and has no parameters"
            raise ValueError(msg)
        if k == 1:
            return ItemParameters(id=self.id, model="2pl", a=1.0, b=b, tags=tags, pilot=True)
        thresholds = tuple(b - 1.0 + 2.0 * j / (k - 1) for j in range(k))
        return ItemParameters(id=self.id, model="gpcm", a=1.0, thresholds=thresholds, tags=tags,
                              pilot=True)


@dataclass(frozen=True, slots=True)
class Credit:
    """Academic credit a credential carries (``credit: none`` is ``None`` on the rule)."""

    value: float
    unit: str
    level: str | None = None


@dataclass(frozen=True, slots=True)
class CredentialRule:
    """A credential and what earns it: every named competency mastered (each decision's standard error
    at most ``max_se`` when the rule sets one) and every named credential earned."""

    id: str
    title: str
    description: str = ""
    competencies: tuple[str, ...] = ()
    credentials: tuple[str, ...] = ()
    credit: Credit | None = None
    expires_after_days: int | None = None
    max_se: float | None = None

    def counts(self, competency: str, mastered: Mapping[str, float]) -> bool:
        """Whether ``competency`` is mastered precisely enough for this rule (``mastered``: the
        mastered competencies and the standard error of each decision)."""
        return competency in mastered and (self.max_se is None or mastered[competency] <= self.max_se)


@dataclass(frozen=True, slots=True)
class Asset:
    """An image shipped with the pack (SVG already sanitised)."""

    path: str
    media_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ContentPack:
    """A validated content pack: one version of one pack id.

    ``items`` holds every item of every item file, in file order; :meth:`items_for` selects a
    competency's pool. :attr:`content_hash` identifies the content independently of formatting.
    """

    id: str
    title: str
    version: str
    language: str
    licence: str
    authors: tuple[Author, ...] = ()
    description: str = ""
    assessment: AssessmentSettings = field(default_factory=AssessmentSettings)
    competencies: tuple[Competency, ...] = ()
    modules: tuple[Module, ...] = ()
    credentials: tuple[CredentialRule, ...] = ()
    items: tuple[Item, ...] = ()
    assets: tuple[Asset, ...] = ()
    readme: str | None = None
    evidence: EvidenceRules = field(default_factory=EvidenceRules)
    retakes: RetakePolicy = field(default_factory=RetakePolicy)

    @property
    def content_hash(self) -> str:
        """Return the sha256 (hex) of the pack's canonical form; equal content, equal hash."""
        return content_hash(self)

    def competency(self, competency_id: str) -> Competency:
        """Return the competency with this id (``KeyError`` if there is none)."""
        for competency in self.competencies:
            if competency.id == competency_id:
                return competency
        raise KeyError(competency_id)

    def earned_credentials(self, mastered: Mapping[str, float]) -> tuple[str, ...]:
        """The credentials (ids, in pack order, parts before what stacks them) whose rules the
        ``mastered`` competencies (each with its decision's standard error) meet: every competency
        mastered within the rule's SE bound and every stacked credential earned."""
        rules = {r.id: r for r in self.credentials}
        earned: dict[str, bool] = {}

        def met(rule_id: str) -> bool:
            if rule_id not in earned:
                rule = rules[rule_id]
                earned[rule_id] = (all(rule.counts(c, mastered) for c in rule.competencies)
                                   and all(met(r) for r in rule.credentials))
            return earned[rule_id]

        met_rules = [r.id for r in self.credentials if met(r.id)]
        done: list[str] = []

        def place(rule_id: str) -> None:  # the parts first, so a stack can refer to what they issued
            if rule_id not in done:
                for part in rules[rule_id].credentials:
                    place(part)
                done.append(rule_id)

        for rule_id in met_rules:
            place(rule_id)
        return tuple(done)

    def module(self, module_id: str) -> Module:
        """Return the module with this id (``KeyError`` if there is none)."""
        for module in self.modules:
            if module.id == module_id:
                return module
        raise KeyError(module_id)

    def items_for(self, competency_id: str) -> tuple[Item, ...]:
        """Return the items that measure one competency, in pack order."""
        return tuple(item for item in self.items if item.competency == competency_id)


# ---------------------------------------------------------------------------------------- identity
_HASH_VERSION = "thetapath-pack-1"
_LATER_FIELDS = frozenset({"Item.shuffle", "Module.feedback", "ContentPack.evidence", "CredentialRule.max_se",
                           "ContentPack.retakes"})
"""Model fields (``Class.field``) added after the hash format was fixed: left out of the hash while
they hold their dataclass default, so that a pack that does not use them keeps the hash it always had.
A field added to the model later belongs here too."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "__slots__") and hasattr(value, "__dataclass_fields__"):
        return {spec.name: _jsonable(getattr(value, spec.name)) for spec in fields(value)
                if spec.name != "html" and not _at_later_default(value, spec.name)}
    return value


def _at_later_default(value: Any, name: str) -> bool:
    if f"{type(value).__name__}.{name}" not in _LATER_FIELDS:
        return False
    spec = value.__dataclass_fields__[name]
    default = spec.default_factory() if spec.default_factory is not MISSING else spec.default
    return bool(getattr(value, name) == default)


def content_hash(pack: ContentPack) -> str:
    """Return the sha256 (hex) of the pack's content: equal packs have equal hashes, whatever the layout.

    Rendered lesson HTML is left out (it is derived from the Markdown), so upgrading the renderer does
    not change a pack's identity; so are fields added to the model later (:data:`_LATER_FIELDS`) while
    they hold their default (``shuffle: true``, ``feedback: end``, the default ``evidence`` and
    ``retakes``), so a pack that does not use them keeps its hash. It is the model's own identity
    (walking these dataclasses), so it lives beside them; :mod:`content.io` writes the canonical files.
    """
    canonical = json.dumps([_HASH_VERSION, _jsonable(pack)], sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
