"""Test-out: a learner proves prior learning of a competency and skips its module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..cat import PolicySettings
from ..errors import AdaptiveError
from ..integrity import EvidenceRules
from ..jsonsettings import JsonSettings as _JsonSettings

__all__ = ["TestOutSettings"]


@dataclass(frozen=True, slots=True)
class TestOutSettings(_JsonSettings):
    """Test-out of a competency (recognition of prior learning).

    How many items a credited decision needs, and its SE bound, come from the pack's
    :class:`~adaptive.integrity.EvidenceRules`; how often a learner may try again from its
    :class:`~adaptive.integrity.RetakePolicy`.

    Attributes
    ----------
    mastery_method : str
        ``"ci"`` (stop when the 95 % interval excludes the cut) or ``"sprt"``.
    error_rate, sprt_delta : float
        The classification's error rate and SPRT indifference half-width.
    max_items : int
        A test that reaches ``max_items`` undecided is not passed.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class

    mastery_method: str = "ci"
    error_rate: float = 0.05
    sprt_delta: float = 0.3
    max_items: int = 20

    def __post_init__(self) -> None:
        if self.mastery_method not in ("ci", "sprt"):
            msg = f"unknown test-out mastery method {self.mastery_method!r}; use ci or sprt"
            raise AdaptiveError(msg)

    def policy_settings(self, cut: float, competency: str | None = None, tag: str = "competency",
                        rules: EvidenceRules = EvidenceRules()) -> PolicySettings:
        """The CAT settings: N(0, 1) prior, maximum information, stop on classification at ``cut``.

        The test runs at least ``rules.min_items`` items and stops on *mastered* only once the SE is
        within ``rules.max_se`` too, so it never ends on a mastery that could not be credited.
        With ``competency``, only items whose ``tag`` is that competency are given (so the test can run
        on a whole pack's bank); without it, on every item of the bank it runs on.
        """
        return PolicySettings(
            estimator="eap", selection="mfi", se_target=None,
            min_items=min(rules.min_items, self.max_items), max_items=self.max_items,
            cut=float(cut), mastery_method=self.mastery_method, mastery_stop=True,
            sprt_delta=self.sprt_delta, error_rate=self.error_rate, mastery_max_se=rules.max_se,
            content_tag=None if competency is None else tag,
            content_targets={} if competency is None else {competency: 1.0})

    _what: ClassVar[str] = "test-out setting"
