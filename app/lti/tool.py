"""The tool's side of an LTI 1.3 registration: its RSA keys and their JWKS, its URLs and configuration,
and the platforms an institution registers.

The tool signs with RS256 (deep-linking responses, service-token assertions) under the newest key not
retired. Its private keys are stored only sealed under ``CREDENTIAL_KEY``
(:func:`app.credentials.keys.seal`). A rotation makes a new key and retires the old one, which the
JWKS keeps publishing for ``LTI_KEY_OVERLAP_DAYS``, so platforms that cached it keep working.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.credentials.keys import seal, unseal
from app.db import utcnow
from app.errors import ServiceError
from app.jobs.services import RetryLater
from app.models import Institution, LtiDeployment, LtiPlatform, LtiToolKey

ROLE_LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
_TIMEOUT = 15  # seconds a platform's service may take to answer
SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
          "https://purl.imsglobal.org/spec/lti-ags/scope/score",
          "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"]


class RegistrationError(ServiceError):
    """A registration that cannot be made as asked; the message says what to change."""


@dataclass(frozen=True)
class ToolKey:
    """The tool's current signing key, opened: its kid and PEM private key."""

    kid: str
    private_pem: bytes


def _new_tool_key(session: Session) -> LtiToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    # the kid is the key's RFC 7638 thumbprint: stable, and the same wherever it is computed
    members = json.dumps({k: public_jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    kid = hashlib.sha256(members.encode()).hexdigest()[:32]
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    row = LtiToolKey(kid=kid, public_jwk={**public_jwk, "kid": kid, "alg": "RS256", "use": "sig"},
                     sealed_private_key=seal(pem))
    session.add(row)
    session.flush()
    return row


def tool_key(session: Session) -> ToolKey:
    """The tool's current signing key (made, in the caller's transaction, when there is none)."""
    row = session.scalar(select(LtiToolKey).where(LtiToolKey.retired_at.is_(None))
                         .order_by(LtiToolKey.id.desc()).limit(1))
    if row is None:
        row = _new_tool_key(session)
    return ToolKey(row.kid, unseal(row.sealed_private_key))


def rotate_tool_key(session: Session) -> str:
    """Retire the tool's signing key and make a new one (one commit); returns the new kid."""
    for row in session.scalars(select(LtiToolKey).where(LtiToolKey.retired_at.is_(None))):
        row.retired_at = utcnow()
    kid = _new_tool_key(session).kid
    session.commit()
    return kid


def jwks(session: Session) -> dict[str, Any]:
    """The tool's public keys: the current one and those retired within the overlap."""
    overlap = timedelta(days=float(current_app.config["LTI_KEY_OVERLAP_DAYS"]))
    since = utcnow() - overlap
    rows = session.scalars(select(LtiToolKey).where(
        (LtiToolKey.retired_at.is_(None)) | (LtiToolKey.retired_at > since)).order_by(LtiToolKey.id.desc()))
    return {"keys": [row.public_jwk for row in rows]}


def base_url() -> str:
    """The site's public address, which platforms call back (``BASE_URL``)."""
    base = current_app.config.get("BASE_URL")
    if not base:
        msg = ("LTI needs the site's public address: set THETAPATH_BASE_URL (for example "
               "https://learn.example.edu), which the platform will call.")
        raise RegistrationError(msg)
    return str(base)


def tool_urls() -> dict[str, str]:
    """What a platform's admin enters for this tool."""
    base = base_url()
    return {"login_url": f"{base}/lti/login", "launch_url": f"{base}/lti/launch",
            "jwks_url": f"{base}/lti/jwks", "deep_link_url": f"{base}/lti/launch",
            "config_url": f"{base}/lti/config.json"}


def tool_configuration() -> dict[str, Any]:
    """A JSON configuration for platforms that import one (Canvas's developer-key format)."""
    urls = tool_urls()
    return {"title": "Thetapath", "description": "Adaptive, self-paced learning for micro-credentials.",
            "oidc_initiation_url": urls["login_url"], "target_link_uri": urls["launch_url"],
            "public_jwk_url": urls["jwks_url"], "scopes": SCOPES, "custom_fields": {},
            "extensions": [{"platform": "canvas.instructure.com", "privacy_level": "public",
                            "domain": urlsplit(urls["launch_url"]).hostname,
                            # a course link that opens the catalogue; modules placed by deep linking
                            "settings": {"placements": [
                                {"placement": "course_navigation", "message_type": "LtiResourceLinkRequest",
                                 "target_link_uri": urls["launch_url"], "text": "Thetapath"},
                                {"placement": "link_selection", "message_type": "LtiDeepLinkingRequest",
                                 "target_link_uri": urls["deep_link_url"]},
                                {"placement": "assignment_selection",
                                 "message_type": "LtiDeepLinkingRequest",
                                 "target_link_uri": urls["deep_link_url"]}]}}]}


def _url(value: str, what: str) -> str:
    parts = urlsplit(value.strip())
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme not in ("https", "http") or not parts.hostname or (parts.scheme == "http" and not local):
        msg = f"{what} {value!r} is not an https:// address (plain http is accepted on this machine only)"
        raise RegistrationError(msg)
    return value.strip()


def register_platform(session: Session, institution: Institution, *, issuer: str, client_id: str,
                      deployment_ids: list[str], auth_login_url: str, auth_token_url: str,
                      keyset_url: str) -> LtiPlatform:
    """Register a platform for ``institution`` (one commit), or add deployments to the same
    registration; the tool's key is made now if it has none."""
    issuer, client_id = _url(issuer, "The issuer"), client_id.strip()
    if not client_id or not deployment_ids or not all(d.strip() for d in deployment_ids):
        msg = "A registration needs the client id and at least one deployment id the platform gave."
        raise RegistrationError(msg)
    platform = session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == issuer,
                                                        LtiPlatform.client_id == client_id))
    if platform is not None and platform.institution_id != institution.id:
        msg = (f"The platform {issuer} with client id {client_id} is registered by another institution; "
               "ask the platform for a client id of your own.")
        raise RegistrationError(msg)
    if platform is None:
        platform = LtiPlatform(institution_id=institution.id, issuer=issuer, client_id=client_id,
                               auth_login_url="", auth_token_url="", keyset_url="")
        session.add(platform)
    platform.auth_login_url = _url(auth_login_url, "The authentication URL")
    platform.auth_token_url = _url(auth_token_url, "The access-token URL")
    platform.keyset_url = _url(keyset_url, "The keyset URL")
    session.flush()
    known = {d.deployment_id for d in platform.deployments}
    for deployment_id in dict.fromkeys(d.strip() for d in deployment_ids):
        if deployment_id not in known:
            platform.deployments.append(LtiDeployment(deployment_id=deployment_id))
    tool_key(session)
    session.commit()
    return platform


# ------------------------------------------------------------------- calling the platform's services
class PlatformError(RetryLater):
    """The platform could not be reached or refused a request (retried by the queue, its answer kept)."""


def call_platform(method: str, url: str, *, token: str | None = None, body: bytes | None = None,
                  content_type: str | None = None, accept: str | None = None,
                  headers: dict[str, str] | None = None) -> tuple[int, str]:
    """One request to a platform's service: its status and text (and, into ``headers`` when given, the
    answer's headers); PlatformError when it cannot be reached or answers an error (the job queue
    retries it). Answers are read up to 1 MB."""
    sent = {k: v for k, v in (("Authorization", f"Bearer {token}" if token else None),
                              ("Content-Type", content_type), ("Accept", accept)) if v}
    request = urllib.request.Request(url, data=body, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as answer:
            if headers is not None:
                headers.update(answer.headers.items())
            return answer.status, answer.read(1_048_576).decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        text = err.read(2048).decode("utf-8", "replace")
        msg = f"{method} {url} answered {err.code}: {text[:300]}"
        raise PlatformError(msg) from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        msg = f"{method} {url} could not be reached: {getattr(err, 'reason', err)}"
        raise PlatformError(msg) from None


def access_token(session: Session, platform: LtiPlatform, scopes: list[str]) -> str:
    """An access token from the platform for ``scopes`` (client credentials, JWT assertion)."""
    key = tool_key(session)
    now = int(time.time())
    claims = {"iss": platform.client_id, "sub": platform.client_id, "aud": platform.auth_token_url,
              "iat": now, "exp": now + 300, "jti": secrets.token_urlsafe(16)}
    assertion = jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion, "scope": " ".join(scopes)}).encode()
    _status, text = call_platform("POST", platform.auth_token_url, body=form,
                                  content_type="application/x-www-form-urlencoded", accept="application/json")
    try:
        token = json.loads(text)["access_token"]
    except (ValueError, KeyError, TypeError):
        msg = f"the platform's token endpoint answered without an access token: {text[:200]}"
        raise PlatformError(msg) from None
    return str(token)
