"""The Open Badges 3.0 ``AchievementCredential`` a met credential rule becomes (before it is signed).

Only terms the OB 3.0.3 and VC 2.0 contexts define are used: a term they do not define would be
dropped by JSON-LD canonicalization, so it would not be signed and could be changed unseen.

- The **achievement** is the pack's credential rule: its title, description and criteria, the
  competencies it asks for as alignments, stacked credentials as related achievements, a result
  description per competency (the achieved level "Mastered"), and the credit it carries
  (``creditsAvailable``, the unit and level as tags), or a ``non-credit`` tag.
- The **subject** is named only by a salted SHA-256 of the learner's e-mail address (an
  ``IdentityObject``), with a result per competency and the credit earned.
- The **evidence** is the measured competency, one entry per competency: the estimate and its SE on
  the pack's scale, the cut, the number of scored questions, the date, the pack version and how it
  was measured (module assessment, test-out, placement, review). Never an answer key or an item
  parameter.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from content import ContentPack, CredentialRule

CONTEXTS = ["https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
SOURCES = {"assessment": "a module assessment after study", "testout": "a test-out (prior learning)",
           "placement": "the placement test", "review": "a review"}
_NAMESPACE = uuid.UUID("6f1d0c5e-6a53-4b8e-9b0f-3a1f0d9c2e71")  # Thetapath's, for stable achievement ids


@dataclass(frozen=True)
class MeasuredCompetency:
    """The evidence behind one competency of a credential: the decision that mastered it."""

    competency: str
    theta: float
    se: float
    cut: float
    items: int
    measured_at: datetime
    source: str


def iso(moment: datetime) -> str:
    """An XML date-time in UTC, to the second (``2026-12-07T10:00:00Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join(parts))}"


def achievement_id(institution: str, pack: ContentPack, rule_id: str) -> str:
    """A stable id for a pack's credential (the same in every version of the pack)."""
    return _urn(institution, pack.id, "credential", rule_id)


def identity(email: str, salt: str) -> dict[str, Any]:
    """The learner as a salted hash of their e-mail address."""
    digest = hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()
    return {"type": "IdentityObject", "hashed": True, "identityHash": f"sha256${digest}",
            "identityType": "emailAddress", "salt": salt}


def _achievement(institution: str, pack: ContentPack, rule: CredentialRule) -> dict[str, Any]:
    titles = {c.id: c for c in pack.competencies}
    parts = [titles[c].title for c in rule.competencies] + \
        [next(r.title for r in pack.credentials if r.id == s) for s in rule.credentials]
    criteria = ("Awarded when every part below is met, each competency by an adaptive assessment "
                "whose decision may be credited (enough scored questions, a precise enough "
                "measurement at the required level and answers that fit a consistent level): "
                + "; ".join(parts) + ".")
    out: dict[str, Any] = {
        "id": achievement_id(institution, pack, rule.id),
        "type": ["Achievement"],
        "achievementType": "MicroCredential",
        "name": rule.title,
        "description": rule.description.strip() or rule.title,
        "criteria": {"narrative": criteria},
        "inLanguage": pack.language,
        "version": pack.version,
        "alignment": [{"type": ["Alignment"], "targetType": "ceasn:Competency",
                       "targetName": titles[c].title,
                       "targetDescription": titles[c].description.strip() or titles[c].title,
                       "targetUrl": _urn(institution, pack.id, "competency", c)}
                      for c in rule.competencies],
        "resultDescription": [{"id": _urn(institution, pack.id, "result", c), "type": ["ResultDescription"],
                               "name": titles[c].title, "resultType": "RubricCriterionLevel",
                               "rubricCriterionLevel": [{"id": _urn(institution, pack.id, "mastered", c),
                                                         "type": ["RubricCriterionLevel"],
                                                         "name": "Mastered"}]}
                              for c in rule.competencies],
    }
    if rule.credentials:
        out["related"] = [{"id": achievement_id(institution, pack, s), "type": ["Related"],
                           "version": pack.version} for s in rule.credentials]
    if rule.credit is not None:
        out["creditsAvailable"] = float(rule.credit.value)
        out["tag"] = [rule.credit.unit, *([rule.credit.level] if rule.credit.level else [])]
    else:
        out["tag"] = ["non-credit"]
    return out


def _evidence(pack: ContentPack, measured: MeasuredCompetency) -> dict[str, Any]:
    title = pack.competency(measured.competency).title
    how = SOURCES.get(measured.source, measured.source)
    narrative = (f"{title} mastered on {measured.measured_at:%Y-%m-%d}, measured by {how} of {pack.title} "
                 f"{pack.version}: an estimate of {measured.theta:.2f} (standard error {measured.se:.2f}) "
                 f"against a required level of {measured.cut:.2f}, from {measured.items} scored "
                 f"question{'' if measured.items == 1 else 's'}, on the pack's ability scale.")
    return {"type": ["Evidence"], "name": f"{title}: adaptive assessment", "narrative": narrative,
            "description": f"Estimate {measured.theta:.2f} ± {measured.se:.2f}; cut {measured.cut:.2f}; "
                           f"{measured.items} items; {how}; {pack.title} {pack.version}",
            "genre": "Adaptive assessment (item response theory)"}


def achievement_credential(
    *, credential_id: str, issuer: dict[str, Any], institution: str, pack: ContentPack,
    rule: CredentialRule, measured: Sequence[MeasuredCompetency], email: str, salt: str,
    issued_at: datetime,
) -> dict[str, Any]:
    """The unsigned credential for ``rule``, met with ``measured`` (one entry per competency)."""
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": [identity(email, salt)],
        "achievement": _achievement(institution, pack, rule),
        "result": [{"type": ["Result"], "resultDescription": _urn(institution, pack.id, "result", c),
                    "achievedLevel": _urn(institution, pack.id, "mastered", c)}
                   for c in rule.competencies],
    }
    if rule.credit is not None:
        subject["creditsEarned"] = float(rule.credit.value)
    out: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": rule.title,
        "description": rule.description.strip() or rule.title,
        "issuer": issuer,
        "validFrom": iso(issued_at),
        "credentialSubject": subject,
        "evidence": [_evidence(pack, m) for m in measured],
    }
    if rule.expires_after_days is not None:
        out["validUntil"] = iso(issued_at + timedelta(days=rule.expires_after_days))
    return out
