"""Grade passback (Assignment and Grade Services 2.0) through the app's one job queue, which is the outbox.

When a learner who was launched into a module from a platform (an :class:`LtiGradeLink`) completes that
module's assessment, an ``lti-score`` job is asked for in the same transaction: it is stored with the
attempt, so a score is never lost, and its key (link and attempt) makes asking twice one job. The job
gets an access token from the platform (OAuth 2 client credentials with a JWT assertion signed by the
tool's key), finds or makes the line item when the launch named none, and posts the score:

- ``scoreGiven`` the learner's estimated competency on the 0–100 scale they were shown, out of
  ``scoreMaximum`` 100, ``activityProgress`` Completed, ``gradingProgress`` FullyGraded, the attempt's
  end as ``timestamp``, and a comment saying whether they mastered it.

A platform that is down or answers an error fails the try; the queue retries with exponential backoff
(``app.jobs``), and the job row keeps every try's count, the last error and, once sent, the platform's
answer: the audit log an admin reads at ``/admin/lti/grades``, where a failed score can be sent again.
A retry first reads the learner's result on the line item when the platform lets the tool read
results: a score whose comment names the attempt was delivered by a try whose worker died after sending
it, and is not sent again. (A platform that does not offer results gets the same score with the same
timestamp again, which leaves its result as it was.)
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scipy.stats import norm
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assess.services import attempt_completed
from app.authz import Principal
from app.errors import NotFound
from app.jobs.services import JobContext, JobError, enqueue, job_kind
from app.lti.launch import SCORE_SCOPE
from app.lti.tool import PlatformError, access_token, call_platform
from app.models import Attempt, AttemptStatus, Job, LtiGradeLink, LtiPlatform, ModuleRow, User

SCORES = "lti-score"
SCORE_MAXIMUM = 100
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
RESULTS_TYPE = "application/vnd.ims.lis.v2.resultcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"


@attempt_completed.connect
def _completed(session: Session, *, attempt: Attempt, **_extra: Any) -> None:
    request_scores(session, attempt)


def request_scores(session: Session, attempt: Attempt) -> list[Job]:
    """Ask for the attempt's score to be sent to every platform line item it counts for (in the
    caller's transaction): a completed module assessment of a learner launched into that module."""
    if attempt.kind != "assessment" or attempt.module_id is None or \
            attempt.status is not AttemptStatus.COMPLETED:
        return []
    links = session.scalars(select(LtiGradeLink).where(LtiGradeLink.user_id == attempt.user_id,
                                                       LtiGradeLink.module_id == attempt.module_id))
    return [enqueue(session, SCORES, {"link_id": link.id, "attempt_id": attempt.id},
                    key=f"{SCORES}:{link.id}:{attempt.id}", institution_id=attempt.institution_id)
            for link in links]


def score_of(attempt: Attempt) -> dict[str, Any]:
    """The score sent for a completed attempt (without the platform's userId)."""
    assert attempt.theta is not None and attempt.finished_at is not None
    given = round(100 * float(norm.cdf(attempt.theta)))
    mastered = {"mastered": "Mastered", "not_mastered": "Not mastered yet"}.get(
        attempt.mastery or "", "Not decided yet")
    return {"scoreGiven": given, "scoreMaximum": SCORE_MAXIMUM, "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": attempt.finished_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "comment": f"{mastered}: an estimated competency of {given} on a 0-100 scale "
                       f"{_marker(attempt)}."}


def _marker(attempt: Attempt) -> str:
    """What makes a score recognisable on the platform: the attempt it is the score of."""
    return f"(Thetapath attempt {attempt.id})"


def _delivered(link: LtiGradeLink, lineitem: str, token: str, marker: str) -> bool:
    """Whether the platform already holds this score (a try that died after sending it): the
    learner's result on the line item carries the attempt's marker."""
    _status, text = call_platform("GET", _service_url(lineitem, "results", user_id=link.sub), token=token,
                                  accept=RESULTS_TYPE)
    try:
        found = json.loads(text or "[]")
    except ValueError:
        return False
    return any(isinstance(r, dict) and r.get("userId") == link.sub and marker in str(r.get("comment", ""))
               for r in (found if isinstance(found, list) else []))


def _lineitem(link: LtiGradeLink, module: ModuleRow, token: str) -> str:
    """The link's line item: the launch's, or the one found (by resource link and id) or made now."""
    if link.lineitem_url:
        return link.lineitem_url
    assert link.lineitems_url is not None
    resource_id = f"thetapath-module-{module.id}"
    query = urllib.parse.urlencode({"resource_link_id": link.resource_link_id, "resource_id": resource_id})
    separator = "&" if "?" in link.lineitems_url else "?"
    _status, text = call_platform("GET", f"{link.lineitems_url}{separator}{query}", token=token,
                                  accept=LINEITEMS_TYPE)
    for item in json.loads(text or "[]"):
        if isinstance(item, dict) and item.get("resourceId") == resource_id and \
                item.get("resourceLinkId", link.resource_link_id) == link.resource_link_id and item.get("id"):
            return str(item["id"])
    body = json.dumps({"scoreMaximum": SCORE_MAXIMUM, "label": module.title, "resourceId": resource_id,
                       "resourceLinkId": link.resource_link_id, "tag": "mastery"}).encode()
    _status, text = call_platform("POST", link.lineitems_url, token=token, body=body,
                                  content_type=LINEITEM_TYPE, accept=LINEITEM_TYPE)
    made = json.loads(text)
    if not isinstance(made, dict) or not made.get("id"):
        msg = f"the platform made a line item without an id: {text[:200]}"
        raise PlatformError(msg)
    return str(made["id"])


def _service_url(lineitem: str, service: str, **params: str) -> str:
    """A line item's scores or results URL: the service after its path, its own query kept (Moodle's
    line items carry one), ``params`` added."""
    parts = urllib.parse.urlsplit(lineitem)
    query = "&".join(q for q in (parts.query, urllib.parse.urlencode(params)) if q)
    return urllib.parse.urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{service}", query=query))


@job_kind(SCORES, "Grade passback", max_attempts=8)
def _send(ctx: JobContext) -> Mapping[str, Any]:
    link = ctx.session.get(LtiGradeLink, ctx.payload["link_id"])
    attempt = ctx.session.get(Attempt, ctx.payload["attempt_id"])
    if link is None or attempt is None:
        msg = "The course link or the attempt was deleted before its score could be sent."
        raise JobError(msg)
    platform = ctx.session.get(LtiPlatform, link.platform_id)
    module = ctx.session.get(ModuleRow, link.module_id)
    assert platform is not None and module is not None  # foreign keys
    score = {**score_of(attempt), "userId": link.sub}
    # a retry first asks the platform whether an earlier try delivered the score before its worker
    # died, when the platform lets the tool read results: then nothing is sent twice
    check = ctx.attempt > 1 and SCOPE_RESULT in (link.scopes or [])
    scopes = [SCORE_SCOPE] + ([SCOPE_LINEITEM] if not link.lineitem_url else []) + \
        ([SCOPE_RESULT] if check else [])
    token = access_token(ctx.session, platform, scopes)
    lineitem = _lineitem(link, module, token)
    if check and _delivered(link, lineitem, token, _marker(attempt)):
        return {"sent": score, "lineitem": lineitem, "status": 200, "platform": platform.issuer,
                "answer": "already delivered by an earlier try (the platform's result says so)"}
    status, text = call_platform("POST", _service_url(lineitem, "scores"), token=token,
                                 body=json.dumps(score).encode(), content_type=SCORE_TYPE)
    if not link.lineitem_url:
        link_id = link.id

        def remember(s: Session) -> None:
            row = s.get(LtiGradeLink, link_id)
            if row is not None:
                row.lineitem_url = lineitem

        ctx.then(remember)
    return {"sent": score, "lineitem": lineitem, "status": status, "answer": text[:500],
            "platform": platform.issuer}


@dataclass(frozen=True)
class ScoreRecord:
    """One score on its way to a platform, for the admin's audit log: the job is its record."""

    job: Job
    learner: str
    module: str
    platform: str


def audit(session: Session, institution_id: int, limit: int = 200) -> list[ScoreRecord]:
    """The institution's scores sent (or being sent, or given up) to platforms, newest first."""
    out = []
    for job in session.scalars(select(Job).where(Job.kind == SCORES, Job.institution_id == institution_id)
                               .order_by(Job.id.desc()).limit(limit)):
        link = session.get(LtiGradeLink, job.payload.get("link_id"))
        user = session.get(User, link.user_id) if link is not None else None
        module = session.get(ModuleRow, link.module_id) if link is not None else None
        platform = session.get(LtiPlatform, link.platform_id) if link is not None else None
        out.append(ScoreRecord(job, user.name if user else "(deleted)",
                               module.title if module else "(deleted)",
                               platform.issuer if platform else "(deleted)"))
    return out


def resend(session: Session, who: Principal, job_id: int) -> Job:
    """Send a score again (one commit): a new job for the same link and attempt, its own record."""
    job = session.get(Job, job_id)
    if job is None or job.kind != SCORES or job.institution_id != who.institution_id:
        msg = "There is no such score here."
        raise NotFound(msg)
    payload = dict(job.payload)
    again = enqueue(session, SCORES, payload, institution_id=who.institution_id, created_by_id=who.user_id,
                    key=f"{SCORES}:{payload.get('link_id')}:{payload.get('attempt_id')}:"
                        f"again-{secrets.token_hex(4)}")
    session.commit()
    return again
