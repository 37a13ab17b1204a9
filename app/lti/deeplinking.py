"""Deep Linking 2.0: an instructor picks Thetapath modules from the catalogue and places them in a course.

The platform's deep-linking launch is checked like any launch (:mod:`app.lti.launch`); what it asked
for (its return URL, whether several items may come back, its opaque ``data``) then travels with the
instructor's picking page in a signed token made for them alone, valid for an hour. The answer is an
``LtiDeepLinkingResponse`` JWT signed RS256 with the tool's key (``iss`` the client id, ``aud`` the
platform, a fresh nonce, the deployment, ``data`` echoed unchanged) holding one ``ltiResourceLink``
per module, each with a line item (``scoreMaximum`` 100, its label, a ``resourceId`` naming the
module), so the platform makes a gradebook column for it. The browser posts it back to the platform.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt
from sqlalchemy.orm import Session

from app.accounts.tokens import TokenExpired, TokenInvalid, make_token, read_token
from app.authz import Principal
from app.lti.launch import CLAIM, Accepted, LaunchRejected
from app.lti.tool import tool_key
from app.models import LtiPlatform, ModuleRow, PackVersion
from app.packstore import latest_versions

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
PURPOSE = "lti-deep-link"
MAX_AGE = 3600
SCORE_MAXIMUM = 100


def request_token(accepted: Accepted) -> str:
    """The signed token that carries a deep-linking request to the instructor's picking page."""
    return make_token(PURPOSE, {"u": accepted.user.id, "p": accepted.platform_id,
                                "d": accepted.deployment_id, "s": accepted.deep_linking})


def read_request(session: Session, token: str, who: Principal) -> dict[str, Any]:
    """The deep-linking request in ``token``, if it was made for ``who`` within the hour, from a platform
    of the institution they act in (what they place comes from that institution)."""
    try:
        request = read_token(PURPOSE, token, MAX_AGE)
    except (TokenExpired, TokenInvalid):
        msg = ("This page to place activities has expired or is not valid: open the tool again from "
               "the course.")
        raise LaunchRejected(msg) from None
    if request.get("u") != who.user_id:
        msg = "This page to place activities was opened for someone else."
        raise LaunchRejected(msg, status=403)
    platform = session.get(LtiPlatform, request.get("p"))
    if platform is None or platform.institution_id != who.institution_id:
        msg = ("This course belongs to another of your institutions: switch to it (at the top of the page) "
               "to place its activities.")
        raise LaunchRejected(msg, status=403)
    return request


def placeable(session: Session, who: Principal) -> list[tuple[PackVersion, list[ModuleRow]]]:
    """What an instructor can place: the modules of their institution's published packs."""
    return [(version, list(version.modules)) for version in latest_versions(session, who.institution_id)]


def response_jwt(session: Session, request: dict[str, Any], modules: list[ModuleRow], site: str) -> str:
    """The signed LtiDeepLinkingResponse placing ``modules`` (``site``: this site's address)."""
    platform = session.get(LtiPlatform, request["p"])
    if platform is None:
        msg = "The platform that asked for these activities is no longer registered here."
        raise LaunchRejected(msg)
    settings = request.get("s") or {}
    items = [{"type": "ltiResourceLink", "title": m.title, "url": f"{site}/learn/modules/{m.id}",
              "lineItem": {"scoreMaximum": SCORE_MAXIMUM, "label": m.title,
                           "resourceId": f"thetapath-module-{m.id}", "tag": "mastery"}}
             for m in modules]
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": platform.client_id, "aud": platform.issuer, "iat": now, "exp": now + 600,
        "nonce": secrets.token_urlsafe(24),
        CLAIM + "deployment_id": request["d"], CLAIM + "message_type": "LtiDeepLinkingResponse",
        CLAIM + "version": "1.3.0", DL + "content_items": items,
        DL + "msg": f"Placed {len(items)} Thetapath activit{'y' if len(items) == 1 else 'ies'}."}
    if "data" in settings:
        claims[DL + "data"] = settings["data"]
    key = tool_key(session)
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


def picked(session: Session, who: Principal, values: list[str], request: dict[str, Any]) -> list[ModuleRow]:
    """The modules a submitted picking form names, in its order (ids that are not the institution's
    to place are ignored), and only the first when the platform takes one item."""
    allowed = {m.id: m for _v, modules in placeable(session, who) for m in modules}
    chosen = [allowed[int(v)] for v in dict.fromkeys(values) if v.isdigit() and int(v) in allowed]
    return chosen if (request.get("s") or {}).get("accept_multiple", True) else chosen[:1]
