"""The engine policy a pack's settings ask for: one place, used by the app, the benchmarks and tests."""

from __future__ import annotations

from collections.abc import Mapping

from adaptive import PolicySettings
from adaptive.integrity import EvidenceRules

from .model import AssessmentSettings

__all__ = ["assessment_policy"]


def assessment_policy(settings: AssessmentSettings, n_items: int,
                      rules: EvidenceRules = EvidenceRules(),
                      exposure_control: Mapping[str, float] | None = None) -> PolicySettings:
    """The CAT settings of a competency's module assessment.

    Parameters
    ----------
    settings : AssessmentSettings
        The competency's effective assessment settings (pack defaults merged with its own).
    n_items : int
        Operational items available (the test is never longer).
    rules : EvidenceRules
        The pack's evidence rules: the test runs at least ``rules.min_items`` items (as far as the
        bank allows), so that it can end in a decision that may be credited.

    exposure_control : mapping, optional
        Sympson–Hetter parameters derived by simulation for this assessment's bank (a recalibration
        does that for each module whose competency sets an ``exposure_target``).

    Exposure control: with an ``exposure_target`` the next item is drawn among the three most
    informative ones (randomesque), so no single item goes to every learner; with Sympson–Hetter
    parameters too, each drawn item is also given only with its probability ``k``, which keeps every
    item's exposure near the target.
    """
    max_items = max(1, min(int(settings.max_items), n_items))
    selection = "mfi"
    if settings.exposure_target is not None:
        selection = "randomesque" if exposure_control is None else "sympson-hetter"
    return PolicySettings(
        estimator="eap",
        selection=selection,
        randomesque_k=3,
        exposure_control=dict(exposure_control or {}),
        se_target=float(settings.se_target),
        min_items=max(1, min(max(int(settings.min_items), rules.min_items), max_items)),
        max_items=max_items,
        cut=float(settings.cut),
        mastery_method=str(settings.mastery_method),
        pilot_rate=float(settings.pilot_rate),
    )
