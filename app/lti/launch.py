"""An LTI 1.3 launch: the platform's third-party login, the id_token it posts back, and who that is here.

1. **Login** (``/lti/login``, OIDC third-party initiated login): the platform names itself (``iss``,
   and ``client_id`` when it has several registrations), the user (``login_hint``) and where to go
   (``target_link_uri``, which must be on this site). The tool keeps a login on the server, with a
   fresh ``state`` and ``nonce``, and sends the browser to the platform's authentication URL. Nothing
   depends on a cookie, so a launch in an iframe whose third-party cookies are blocked still works:
   the ``state`` the platform posts back finds the login.
2. **Launch** (``/lti/launch``): the id_token is checked before anything is written, in this order:
   the login it answers (known, not used, not expired); a JWS signed RS256 (never ``none`` nor HS*)
   with a key of the platform's JWKS, found by ``kid`` (the JWKS is cached and fetched again for an
   unknown kid); ``iss`` the registered issuer, ``aud`` holding the tool's client id, ``azp`` that
   client id when there are several audiences, ``exp`` and ``iat`` within a small leeway and not older
   than a login may be; the login's ``nonce``; a registered ``deployment_id``; message type, version
   and required claims; a ``target_link_uri`` on this site. Then, in one transaction, the login is
   marked used (a replayed launch finds it used: rejected, even racing), the platform user is mapped to
   their account (made on the first launch; the same ``sub`` always maps to the same account), and
   their membership in the platform's institution gets the role the launch names.

Every rejection is a :class:`LaunchRejected` with a message saying what is wrong, rendered by the app's
one error page with a 4xx status, and writes nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from flask import current_app, url_for
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from app.accounts.services import create_passwordless_user
from app.db import utcnow
from app.errors import ServiceError
from app.jobs.services import enqueue
from app.models import (
    LtiAccount,
    LtiContext,
    LtiGradeLink,
    LtiLogin,
    LtiPlatform,
    Membership,
    ModuleRow,
    Role,
    User,
)

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DEEP_LINKING = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
ROSTER = "lti-roster"  # the job kind of app.lti.roster
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
# where a launch may lead (besides the tool's launch URL, which opens the catalogue): the catalogue, a
# module, a pack's standing, the wallet, a credential's page, the home page
TARGETS = {"learn.catalogue", "learn.module", "learn.standing", "credentials.wallet",
           "issuer.credential_page", "home.index"}
_RANK = {Role.LEARNER: 0, Role.INSTRUCTOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Accepted:
    """A launch that passed every check: its user (provisioned), the platform's institution, the path
    to open, and, for a deep-linking request, what the platform asked for."""

    user: User
    institution_id: int
    path: str
    platform_id: int
    deployment_id: str
    deep_linking: dict[str, Any] | None = None


class LaunchRejected(ServiceError):
    """A login or launch that cannot be accepted; the message says why and what to do."""

    status = 400


def _target(uri: str, host: str) -> tuple[str, int | None]:
    """The path on this site that ``uri`` names, if it is one a launch may lead to, and the module it
    opens (if it is a module's page)."""
    parts = urlsplit(uri)
    base = current_app.config.get("BASE_URL")
    ours = urlsplit(str(base)).netloc if base else host
    if parts.scheme not in ("https", "http") or parts.netloc != ours:
        msg = (f"The launch's target_link_uri {uri!r} is not on this site ({ours}): the platform's link "
               "must point to Thetapath.")
        raise LaunchRejected(msg)
    if parts.path == url_for("lti.launch"):  # the tool's own launch URL: the catalogue
        return url_for("learn.catalogue"), None
    try:
        endpoint, args = current_app.url_map.bind(ours).match(parts.path, "GET")
    except (HTTPException, RequestRedirect):
        endpoint, args = None, {}
    if endpoint not in TARGETS:
        msg = (f"The launch's target_link_uri {uri!r} is not a page a launch can open (the catalogue, a "
               "module, a pack's standing, the wallet or a credential).")
        raise LaunchRejected(msg)
    module_id = args.get("module_id") if endpoint == "learn.module" else None
    return parts.path + (f"?{parts.query}" if parts.query else ""), module_id


# ------------------------------------------------------------------------------------------------ login
def start_login(session: Session, params: Mapping[str, str], *, redirect_uri: str, host: str) -> str:
    """Keep a login for the platform's request (one commit); the URL to send the browser to."""
    issuer, hint, target = params.get("iss"), params.get("login_hint"), params.get("target_link_uri")
    missing = [n for n, v in (("iss", issuer), ("login_hint", hint), ("target_link_uri", target)) if not v]
    if missing:
        msg = (f"The platform's login request lacks {', '.join(missing)}: start the launch from the "
               "platform's link.")
        raise LaunchRejected(msg)
    assert issuer is not None and target is not None
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if params.get("client_id"):
        query = query.where(LtiPlatform.client_id == params["client_id"])
    platforms = list(session.scalars(query))
    if not platforms:
        msg = (f"No platform {issuer!r}" + (f" with client id {params['client_id']!r}"
                                            if params.get("client_id") else "") +
               " is registered here: an admin of the institution registers it first.")
        raise LaunchRejected(msg)
    if len(platforms) > 1:
        msg = f"The platform {issuer!r} has several registrations here, and its login names no client_id."
        raise LaunchRejected(msg)
    platform = platforms[0]
    deployment = params.get("lti_deployment_id")
    if deployment and deployment not in {d.deployment_id for d in platform.deployments}:
        msg = f"The deployment {deployment!r} of {issuer} is not registered here."
        raise LaunchRejected(msg)
    _target(target, host)  # refused now, before the platform is asked anything
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    # logins that never came back are kept a day, for the record, then forgotten
    session.execute(delete(LtiLogin).where(LtiLogin.created_at < utcnow() - timedelta(days=1)))
    session.add(LtiLogin(state=state, nonce=nonce, platform_id=platform.id, target_link_uri=target))
    session.commit()
    query_string = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
                    "prompt": "none", "client_id": platform.client_id, "redirect_uri": redirect_uri,
                    "login_hint": hint, "state": state, "nonce": nonce}
    if params.get("lti_message_hint"):
        query_string["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if urlsplit(platform.auth_login_url).query else "?"
    return f"{platform.auth_login_url}{separator}{urlencode(query_string)}"


# ------------------------------------------------------------------------------------------------ launch
@cache
def _keyset(url: str, lifespan: int, cooldown: int) -> jwt.PyJWKClient:
    """The platform's JWKS, cached for ``lifespan`` s and fetched again for an unknown kid at most once
    per ``cooldown`` s (one client per keyset URL and settings)."""
    return jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=max(lifespan, 1), timeout=10,
                           cooldown_duration=cooldown)


def _signing_key(token: str, platform: LtiPlatform) -> Any:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        msg = "The launch's id_token is not a JWT."
        raise LaunchRejected(msg) from None
    if header.get("alg") != "RS256":
        msg = f"The launch's id_token is signed with {header.get('alg')!r}; only RS256 is accepted."
        raise LaunchRejected(msg, status=401)
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        msg = "The launch's id_token names no key (kid)."
        raise LaunchRejected(msg, status=401)
    config = current_app.config
    client = _keyset(platform.keyset_url, int(config["LTI_JWKS_CACHE_SECONDS"]),
                     int(config["LTI_JWKS_COOLDOWN_SECONDS"]))
    try:
        return client.get_signing_key(kid).key
    except jwt.PyJWKClientConnectionError:
        msg = (f"The platform's keys could not be fetched from {platform.keyset_url}: try again; if it "
               "persists, the registration's keyset URL may be wrong.")
        raise LaunchRejected(msg, status=502) from None
    except jwt.PyJWKClientError:
        msg = (f"The launch's id_token is signed with a key ({kid}) that the platform's keyset "
               f"({platform.keyset_url}) does not list.")
        raise LaunchRejected(msg, status=401) from None


def _claims(token: str, platform: LtiPlatform) -> dict[str, Any]:
    """The id_token's claims, once its signature, issuer, audience and times hold."""
    key = _signing_key(token, platform)
    leeway = int(current_app.config["LTI_LEEWAY_SECONDS"])
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=["RS256"], audience=platform.client_id, issuer=platform.issuer,
            leeway=leeway, options={"require": ["iss", "aud", "exp", "iat", "nonce"]})
    except jwt.InvalidSignatureError:
        msg = "The launch's id_token signature does not match: it was changed, or not signed by the platform."
        raise LaunchRejected(msg, status=401) from None
    except jwt.ExpiredSignatureError:
        msg = "The launch's id_token has expired: start the launch again from the platform."
        raise LaunchRejected(msg, status=401) from None
    except jwt.InvalidAudienceError:
        msg = (f"The launch's id_token is not for this tool: its aud does not hold the client id "
               f"{platform.client_id!r}.")
        raise LaunchRejected(msg, status=401) from None
    except jwt.InvalidIssuerError:
        msg = f"The launch's id_token was not issued by the registered platform {platform.issuer!r}."
        raise LaunchRejected(msg, status=401) from None
    except jwt.MissingRequiredClaimError as err:
        msg = f"The launch's id_token lacks the claim {err.claim!r}."
        raise LaunchRejected(msg) from None
    except (jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError):
        msg = "The launch's id_token is dated in the future: the platform's clock or the token is wrong."
        raise LaunchRejected(msg, status=401) from None
    except jwt.PyJWTError as err:
        msg = f"The launch's id_token cannot be accepted: {err}."
        raise LaunchRejected(msg, status=401) from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != platform.client_id:
        msg = "The launch's id_token names several audiences, and its azp is not this tool's client id."
        raise LaunchRejected(msg, status=401)
    age = (utcnow().timestamp() - float(claims["iat"]))
    if age > int(current_app.config["LTI_LOGIN_SECONDS"]) + leeway:
        msg = "The launch's id_token was issued too long ago: start the launch again from the platform."
        raise LaunchRejected(msg, status=401)
    return claims


def _check_message(claims: Mapping[str, Any], platform: LtiPlatform) -> None:
    deployment = claims.get(CLAIM + "deployment_id")
    if deployment not in {d.deployment_id for d in platform.deployments}:
        msg = f"The launch comes from a deployment ({deployment!r}) that is not registered here."
        raise LaunchRejected(msg, status=403)
    message_type = claims.get(CLAIM + "message_type")
    if message_type not in (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST):
        msg = (f"The launch's message type {message_type!r} is not one this tool accepts "
               f"({RESOURCE_LINK_REQUEST} or {DEEP_LINKING_REQUEST}).")
        raise LaunchRejected(msg)
    if claims.get(CLAIM + "version") != "1.3.0":
        msg = f"The launch's LTI version is {claims.get(CLAIM + 'version')!r}; this tool speaks 1.3.0."
        raise LaunchRejected(msg)
    link, settings = claims.get(CLAIM + "resource_link"), claims.get(DEEP_LINKING)
    required = [("sub", isinstance(claims.get("sub"), str) and claims["sub"]),
                ("roles", isinstance(claims.get(CLAIM + "roles"), list)),
                ("target_link_uri", isinstance(claims.get(CLAIM + "target_link_uri"), str))]
    if message_type == RESOURCE_LINK_REQUEST:
        required.append(("resource_link.id", isinstance(link, dict) and isinstance(link.get("id"), str)
                         and link["id"]))
    else:
        required.append(("deep_linking_settings.deep_link_return_url", isinstance(settings, dict) and
                         isinstance(settings.get("deep_link_return_url"), str)))
    missing = [name for name, ok in required if not ok]
    if missing:
        msg = f"The launch lacks the claim{'s' * (len(missing) > 1)} {', '.join(missing)}."
        raise LaunchRejected(msg)
    if message_type == DEEP_LINKING_REQUEST:
        assert isinstance(settings, dict)
        if urlsplit(settings["deep_link_return_url"]).scheme not in ("https", "http"):
            msg = "The deep-linking request's return URL is not a web address."
            raise LaunchRejected(msg)
        if "ltiResourceLink" not in (settings.get("accept_types") or []):
            msg = ("The platform accepts no LTI resource links here (accept_types), which is what "
                   "Thetapath places in a course.")
            raise LaunchRejected(msg)
        if _RANK[role_of(list(claims[CLAIM + "roles"]))] < _RANK[Role.INSTRUCTOR]:
            msg = "Only an instructor (or an admin) can place Thetapath activities in a course."
            raise LaunchRejected(msg, status=403)


def role_of(roles: list[Any]) -> Role:
    """The role here for an LTI launch's roles: Administrator (institution, system or course) admin,
    Instructor (or content developer, teaching assistant) instructor, anyone else learner."""
    names = {str(r).rsplit("#", 1)[-1] for r in roles} | {str(r).rsplit("/", 1)[-1] for r in roles}
    if "Administrator" in names:
        return Role.ADMIN
    if names & {"Instructor", "ContentDeveloper", "TeachingAssistant", "Faculty"}:
        return Role.INSTRUCTOR
    return Role.LEARNER


def provision(session: Session, platform: LtiPlatform, claims: Mapping[str, Any]) -> User:
    """The launch's user: their account (made on their first launch) with a membership in the
    platform's institution, raised (never lowered) to the role the launch names."""
    sub = str(claims["sub"])
    account = session.scalar(select(LtiAccount).where(LtiAccount.platform_id == platform.id,
                                                      LtiAccount.sub == sub))
    if account is not None:
        user = session.get(User, account.user_id)
        assert user is not None  # the account's foreign key
    else:
        name = str(claims.get("name") or " ".join(
            str(claims[k]) for k in ("given_name", "family_name") if claims.get(k)) or "Learner")
        digest = hashlib.sha256(f"{platform.id}\0{sub}".encode()).hexdigest()[:32]
        user = create_passwordless_user(session, name=name, email=f"lti-{digest}@lti.invalid")
        session.add(LtiAccount(platform_id=platform.id, sub=sub, user_id=user.id))
    role = role_of(list(claims.get(CLAIM + "roles", [])))
    membership = session.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.institution_id == platform.institution_id))
    if membership is None:
        session.add(Membership(user_id=user.id, institution_id=platform.institution_id, role=role))
    elif _RANK[role] > _RANK[membership.role]:
        membership.role = role
    session.flush()
    return user


def accept_launch(session: Session, form: Mapping[str, str], *, host: str) -> Accepted:
    """Check a launch and provision its user (flushed, for the caller's sign-in to commit)."""
    state, token = form.get("state"), form.get("id_token")
    if not state or not token:
        msg = "The launch lacks its state or id_token: start it again from the platform."
        raise LaunchRejected(msg)
    login = session.get(LtiLogin, state)
    if login is None:
        msg = ("This launch was not started here, or its login was forgotten: start it again from the "
               "platform.")
        raise LaunchRejected(msg)
    if login.used_at is not None:
        msg = "This launch was already used; a launch works once. Start it again from the platform."
        raise LaunchRejected(msg, status=409)
    if login.created_at < utcnow() - timedelta(seconds=int(current_app.config["LTI_LOGIN_SECONDS"])):
        msg = "This launch took too long to come back from the platform: start it again."
        raise LaunchRejected(msg)
    platform = session.get(LtiPlatform, login.platform_id)
    assert platform is not None  # the login's foreign key
    claims = _claims(token, platform)
    if claims["nonce"] != login.nonce:
        msg = "The launch's nonce is not the one its login was given: it belongs to another launch."
        raise LaunchRejected(msg, status=401)
    _check_message(claims, platform)
    path, module_id = _target(claims[CLAIM + "target_link_uri"], host)
    used = session.execute(update(LtiLogin).where(LtiLogin.state == state, LtiLogin.used_at.is_(None))
                           .values(used_at=utcnow()))
    if getattr(used, "rowcount", 0) != 1:
        msg = "This launch was already used; a launch works once. Start it again from the platform."
        raise LaunchRejected(msg, status=409)
    deep_linking = (claims.get(DEEP_LINKING)
                    if claims[CLAIM + "message_type"] == DEEP_LINKING_REQUEST else None)
    user = provision(session, platform, claims)
    if deep_linking is None and module_id is not None:
        _keep_grade_link(session, platform, user, module_id, claims)
    _keep_context(session, platform, claims)
    return Accepted(user, platform.institution_id, path, platform.id, str(claims[CLAIM + "deployment_id"]),
                    deep_linking)


def _keep_context(session: Session, platform: LtiPlatform, claims: Mapping[str, Any]) -> None:
    """The course the launch came from, with its roster service; an instructor's (or admin's) launch
    asks for the roster to be synced (once a day at most)."""
    context = claims.get(CLAIM + "context")
    if not isinstance(context, dict) or not isinstance(context.get("id"), str) or not context["id"]:
        return
    row = session.scalar(select(LtiContext).where(LtiContext.platform_id == platform.id,
                                                  LtiContext.context_id == context["id"]))
    if row is None:
        row = LtiContext(platform_id=platform.id, context_id=context["id"])
        session.add(row)
    row.title = str(context.get("title") or context.get("label") or context["id"])[:255]
    service = claims.get(NRPS)
    if isinstance(service, dict) and isinstance(service.get("context_memberships_url"), str):
        row.memberships_url = service["context_memberships_url"]
    session.flush()
    if row.memberships_url and _RANK[role_of(list(claims[CLAIM + "roles"]))] >= _RANK[Role.INSTRUCTOR]:
        enqueue(session, ROSTER, {"context_id": row.id}, key=f"{ROSTER}:{row.id}:{utcnow():%Y-%m-%d}",
                institution_id=platform.institution_id)


def _keep_grade_link(session: Session, platform: LtiPlatform, user: User, module_id: int,
                     claims: Mapping[str, Any]) -> None:
    """Where the learner's score for the module goes, when the launch offers Assignment and Grade
    Services with a score scope (a module of the platform's institution only)."""
    endpoint = claims.get(AGS)
    if not isinstance(endpoint, dict) or SCORE_SCOPE not in (endpoint.get("scope") or []):
        return
    lineitem, lineitems = endpoint.get("lineitem"), endpoint.get("lineitems")
    if not isinstance(lineitem, str) and not isinstance(lineitems, str):
        return
    module = session.get(ModuleRow, module_id)
    if module is None or module.pack_version.institution_id != platform.institution_id:
        return
    link_id = str(claims[CLAIM + "resource_link"]["id"])
    row = session.scalar(select(LtiGradeLink).where(
        LtiGradeLink.platform_id == platform.id, LtiGradeLink.user_id == user.id,
        LtiGradeLink.resource_link_id == link_id))
    if row is None:
        row = LtiGradeLink(platform_id=platform.id, user_id=user.id, resource_link_id=link_id)
        session.add(row)
    row.module_id, row.sub = module_id, str(claims["sub"])
    row.lineitem_url = lineitem if isinstance(lineitem, str) else row.lineitem_url
    row.lineitems_url = lineitems if isinstance(lineitems, str) else None
    row.scopes = [str(s) for s in endpoint.get("scope") or []]
    session.flush()
