"""Roster sync (Names and Role Provisioning Services 2.0): who is on a course that launched the tool.

An instructor's launch from a course that offers the service asks for an ``lti-roster`` job (once a
day at most); an admin can ask again at ``/admin/lti``. The job gets a token for the read-only
membership scope, reads the course's members (following ``Link: rel="next"``, at most ``MAX_PAGES``
pages), and, in its finishing transaction, gives every active member their account in the platform's
institution, exactly as their own launch would (the same ``sub``, the same account; the role their
course roles name, never lowered), and records who is on the course. Learners who have not opened
Thetapath yet thus appear in the instructor's learner analytics of the course.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.authz import Principal
from app.db import utcnow
from app.errors import NotFound
from app.jobs.services import JobContext, JobError, enqueue, job_kind
from app.lti.launch import CLAIM, ROSTER, provision, role_of
from app.lti.tool import PlatformError, access_token, call_platform
from app.models import Job, LtiContext, LtiContextMember, LtiPlatform, Role

SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEMBERSHIPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 100
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def request_roster(session: Session, who: Principal, context_id: int) -> Job:
    """Ask for a course's roster to be synced now (one commit), for the admin of its institution."""
    context = session.get(LtiContext, context_id)
    platform = session.get(LtiPlatform, context.platform_id) if context is not None else None
    if context is None or platform is None or platform.institution_id != who.institution_id or \
            not context.memberships_url:
        msg = "There is no such course roster here."
        raise NotFound(msg)
    job = enqueue(session, ROSTER, {"context_id": context.id}, institution_id=who.institution_id,
                  created_by_id=who.user_id)
    session.commit()
    return job


def _members(token: str, url: str) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = []
    for _page in range(MAX_PAGES):
        headers: dict[str, str] = {}
        status, text = call_platform("GET", url, token=token, accept=MEMBERSHIPS_TYPE, headers=headers)
        try:
            page = json.loads(text)
        except ValueError:
            msg = f"the platform's roster is not JSON ({status}): {text[:200]}"
            raise PlatformError(msg) from None
        members += [m for m in page.get("members", []) if isinstance(m, dict)]
        follow = _NEXT.search(headers.get("Link", ""))
        if follow is None:
            return members
        if urlsplit(follow.group(1)).netloc != urlsplit(url).netloc:
            msg = f"the roster's next page is on another host ({follow.group(1)}): not followed"
            raise PlatformError(msg)
        url = follow.group(1)
    return members


@job_kind(ROSTER, "Roster sync")
def _sync(ctx: JobContext) -> Mapping[str, Any]:
    context = ctx.session.get(LtiContext, ctx.payload["context_id"])
    if context is None or not context.memberships_url:
        msg = "The course, or its roster service, is no longer known here."
        raise JobError(msg)
    platform = ctx.session.get(LtiPlatform, context.platform_id)
    assert platform is not None  # the context's foreign key
    token = access_token(ctx.session, platform, [SCOPE])
    active = [m for m in _members(token, context.memberships_url)
              if isinstance(m.get("user_id"), str) and m["user_id"] and m.get("status", "Active") == "Active"]
    context_id, platform_id = context.id, platform.id
    learners = sum(role_of(list(m.get("roles") or [])) is Role.LEARNER for m in active)

    def store(s: Session) -> None:
        row = s.get(LtiPlatform, platform_id)
        course = s.get(LtiContext, context_id)
        assert row is not None and course is not None  # read in this job
        s.execute(delete(LtiContextMember).where(LtiContextMember.context_id == context_id))
        seen: set[int] = set()
        for member in active:
            claims = {"sub": member["user_id"], "name": member.get("name"),
                      "given_name": member.get("given_name"), "family_name": member.get("family_name"),
                      CLAIM + "roles": list(member.get("roles") or [])}
            user = provision(s, row, claims)
            if user.id not in seen:
                seen.add(user.id)
                s.add(LtiContextMember(context_id=context_id, user_id=user.id,
                                       learner=role_of(claims[CLAIM + "roles"]) is Role.LEARNER))
        course.synced_at = utcnow()

    ctx.then(store)
    return {"course": context.title, "members": len(active), "learners": learners}


def courses(session: Session, institution_id: int) -> list[tuple[LtiContext, int]]:
    """The institution's courses that launched the tool, with how many learners their roster lists."""
    out = []
    for context in session.scalars(select(LtiContext).join(LtiPlatform).where(
            LtiPlatform.institution_id == institution_id).order_by(LtiContext.id)):
        count = session.scalar(select(func.count()).select_from(LtiContextMember).where(
            LtiContextMember.context_id == context.id, LtiContextMember.learner.is_(True))) or 0
        out.append((context, count))
    return out
