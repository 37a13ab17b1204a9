"""xAPI 1.0.3 statements: what a learner did, for a learning record store (LRS) and for export.

Four verbs: from ADL's vocabulary *answered* (each scored answer, with the score and the estimate
after it), *completed* (a finished module assessment, with its estimate) and *mastered* (a competency
credited by an attempt); and *earned* (a credential issued, with its id; the verb of the xAPI
registry's TinCan vocabulary). Statements are written in the same transaction as what they report,
so one exists exactly when the event does.

- **Actor**: an ``account`` on the site (``homePage``: ``XAPI_BASE_IRI``) whose ``name`` is a
  pseudonym, an HMAC of the account number under the app's secret key: an LRS can follow a learner
  across statements without learning who they are, and no e-mail address leaves Thetapath.
- **Ids** are UUIDv5 of what the statement reports (the attempt and the answer's position, ...), so
  the same event always gets the same id and an LRS ignores a resend.
- **Activity ids** are IRIs under ``XAPI_BASE_IRI``: ``…/xapi/activities/<pack>/<version>/items/<id>``,
  ``…/modules/<id>``, ``…/competencies/<id>``.
- **Extensions** carry the estimate: ``…/xapi/extensions/theta`` and ``…/se`` (logits).

With ``XAPI_LRS_URL`` set (and ``XAPI_LRS_USERNAME``/``XAPI_LRS_PASSWORD`` for Basic auth), every
answer also asks for a delivery job (``xapi-send``, on the app's job queue) that posts the
institution's unsent statements to ``<XAPI_LRS_URL>/statements`` and marks them sent; an LRS that is
down or refuses is retried with backoff, and nothing is lost.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.jobs.services import JobContext, enqueue, job_kind
from app.models import Attempt, PackVersion, XapiStatement

NAMESPACE = uuid.UUID("6f1d5a8e-2a3b-5c41-9d7e-7468657461a7")
VERBS = {
    "answered": "http://adlnet.gov/expapi/verbs/answered",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "mastered": "http://adlnet.gov/expapi/verbs/mastered",
    "earned": "http://id.tincanapi.com/verb/earned",
}
INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
ASSESSMENT = "http://adlnet.gov/expapi/activities/assessment"
OBJECTIVE = "http://adlnet.gov/expapi/activities/objective"
BADGE = "http://activitystrea.ms/schema/1.0/badge"


def base_iri() -> str:
    """The IRI statements are rooted at: ``XAPI_BASE_IRI``, else ``BASE_URL``, else a reserved name."""
    config = current_app.config
    base = config.get("XAPI_BASE_IRI") or config.get("BASE_URL") or "https://thetapath.invalid"
    return str(base).rstrip("/")


def pseudonym(user_id: int) -> str:
    """A learner's stable pseudonym for statements (an HMAC under the secret key)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"xapi-actor:{user_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _activity(path: str, kind: str, name: str) -> dict[str, Any]:
    return {"objectType": "Activity", "id": f"{base_iri()}/xapi/activities/{path}",
            "definition": {"type": kind, "name": {"en": name}}}


def _extensions(theta: float, se: float) -> dict[str, float]:
    return {f"{base_iri()}/xapi/extensions/theta": round(theta, 4),
            f"{base_iri()}/xapi/extensions/se": round(se, 4)}


class Recorder:
    """Statements of one attempt, added to the caller's session (no commit)."""

    def __init__(self, session: Session, attempt: Attempt, version: PackVersion, module_key: str | None,
                 module_title: str) -> None:
        self.session, self.attempt, self.version = session, attempt, version
        self.root = f"{version.pack.slug}/{version.version}"
        self.parent = (_activity(f"{self.root}/modules/{module_key}", ASSESSMENT, module_title)
                       if module_key else _activity(f"{self.root}/placement", ASSESSMENT, module_title))

    def _add(self, key: str, verb: str, obj: dict[str, Any], result: dict[str, Any]) -> None:
        context: dict[str, Any] = {
            "registration": str(uuid.uuid5(NAMESPACE, f"{base_iri()}/attempt/{self.attempt.id}")),
            "platform": "Thetapath"}
        if obj is not self.parent:  # an answer or a competency belongs to the assessment
            context["contextActivities"] = {"parent": [self.parent]}
        _add(self.session, key, self.attempt.user_id, self.attempt.institution_id, self.version.id, verb,
             obj, result, context)

    def answered(self, position: int, item_id: str, score: int, max_score: int, theta: float,
                 se: float) -> None:
        """A scored answer, with the estimate after it."""
        self._add(f"attempt/{self.attempt.id}/answer/{position}", "answered",
                  _activity(f"{self.root}/items/{item_id}", INTERACTION, item_id),
                  {"score": {"raw": score, "min": 0, "max": max_score,
                             "scaled": round(score / max_score, 4) if max_score else 0},
                   "success": score == max_score, "completion": True,
                   "extensions": _extensions(theta, se)})

    def completed(self, theta: float, se: float, mastery: str | None) -> None:
        """The attempt finished."""
        result: dict[str, Any] = {"completion": True, "extensions": _extensions(theta, se)}
        if mastery in ("mastered", "not_mastered"):
            result["success"] = mastery == "mastered"
        self._add(f"attempt/{self.attempt.id}/completed", "completed", self.parent, result)

    def mastered(self, competency: str, title: str, theta: float, se: float) -> None:
        """A competency credited by this attempt."""
        self._add(f"attempt/{self.attempt.id}/mastered/{competency}", "mastered",
                  _activity(f"{self.root}/competencies/{competency}", OBJECTIVE, title),
                  {"success": True, "completion": True, "extensions": _extensions(theta, se)})


def earned(session: Session, user_id: int, version: PackVersion, rule: str, title: str,
           credential_url: str) -> None:
    """A credential issued to a learner (added to the caller's session, no commit)."""
    obj = _activity(f"{version.pack.slug}/{version.version}/credentials/{rule}", BADGE, title)
    _add(session, f"credential/{credential_url}/earned", user_id, version.institution_id, version.id,
         "earned", obj, {"success": True, "completion": True, "response": credential_url},
         {"platform": "Thetapath"})
    ask_delivery(session, version.institution_id, f"credential:{credential_url}")


def _add(session: Session, key: str, user_id: int, institution_id: int, version_id: int, verb: str,
         obj: dict[str, Any], result: dict[str, Any], context: dict[str, Any]) -> None:
    statement_id = str(uuid.uuid5(NAMESPACE, f"{base_iri()}/{key}"))
    statement = {
        "id": statement_id,
        "actor": {"objectType": "Agent", "account": {"homePage": base_iri(), "name": pseudonym(user_id)}},
        "verb": {"id": VERBS[verb], "display": {"en": verb}},
        "object": obj,
        "result": result,
        "context": context,
        "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
        "version": "1.0.3",
    }
    session.add(XapiStatement(id=statement_id, institution_id=institution_id, pack_version_id=version_id,
                              statement=statement))


# --- delivery to a learning record store ---------------------------------------------------------------

SEND = "xapi-send"
BATCH = 200


class LrsRefused(RuntimeError):
    """The LRS answered with an error or could not be reached; the job is retried."""


def lrs_configured() -> bool:
    """Whether statements are sent anywhere (``XAPI_LRS_URL``)."""
    return bool(current_app.config.get("XAPI_LRS_URL"))


def ask_delivery(session: Session, institution_id: int, key: str) -> None:
    """Ask for the institution's unsent statements to be sent (in the caller's transaction)."""
    if lrs_configured():
        enqueue(session, SEND, {"institution_id": institution_id}, key=f"{SEND}:{key}",
                institution_id=institution_id)


def _post(statements: list[dict[str, Any]]) -> None:
    config = current_app.config
    url = str(config["XAPI_LRS_URL"]).rstrip("/") + "/statements"
    request = urllib.request.Request(url, data=json.dumps(statements).encode(), method="POST", headers={
        "Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"})
    if config.get("XAPI_LRS_USERNAME"):
        token = f"{config['XAPI_LRS_USERNAME']}:{config.get('XAPI_LRS_PASSWORD') or ''}"
        request.add_header("Authorization", "Basic " + base64.b64encode(token.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=float(config.get("XAPI_LRS_TIMEOUT", 10))) as answer:
            answer.read()
    except urllib.error.HTTPError as err:
        body = err.read()[:300].decode(errors="replace")
        msg = f"the LRS at {url} answered {err.code}: {body}"
        raise LrsRefused(msg) from None
    except (urllib.error.URLError, OSError) as err:
        msg = f"the LRS at {url} could not be reached: {err}"
        raise LrsRefused(msg) from None


@job_kind(SEND, "Sending xAPI statements", max_attempts=8)
def _send(ctx: JobContext) -> dict[str, Any]:
    """Send every unsent statement of the institution, in batches; each batch is marked sent once the
    LRS took it. Statement ids are stable, so a batch sent twice (a crash between sending and
    marking) is ignored by the LRS."""
    institution_id = int(ctx.payload["institution_id"])
    rows = list(ctx.session.execute(
        select(XapiStatement.id, XapiStatement.statement).where(
            XapiStatement.institution_id == institution_id, XapiStatement.sent_at.is_(None))
        .order_by(XapiStatement.created_at, XapiStatement.id)))
    sent: list[str] = []
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        _post([statement for _id, statement in batch])
        sent += [statement_id for statement_id, _s in batch]
        ctx.progress(100 * len(sent) / len(rows), f"{len(sent)} of {len(rows)} statements sent")

    def mark(session: Session) -> None:
        if sent:
            session.execute(update(XapiStatement).where(XapiStatement.id.in_(sent))
                            .values(sent_at=utcnow()))

    ctx.then(mark)
    return {"sent": len(sent)}
