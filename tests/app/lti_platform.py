"""A real LTI 1.3 platform on loopback for the tests: OpenLearning's ``lti1p3platform`` (PyPI) behind a
few Flask routes, served on 127.0.0.1 (as in ``../shared/standards-checks/lti_roundtrip_offline.py``).

The platform publishes its JWKS at ``/jwks`` and answers the tool's authentication request at
``/auth`` with what its launch form would post (``{state, id_token, launch_url}``): a resource-link
launch signed RS256 by ``lti1p3platform`` for the user it was told to launch. The tests drive Thetapath
with Flask's test client as the browser: the tool's login redirects to ``/auth``, whose answer the
browser posts to the tool's launch URL.

For the negative cases :meth:`LoopbackPlatform.forge` signs claim sets the platform would never send
(with PyJWT and the platform's own key, or another key, or none).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, request
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as PlatformRequest
from markupsafe import escape
from werkzeug.serving import make_server

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def rsa_pair() -> tuple[str, str]:
    """A fresh RSA key pair, PEM (private, public)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@dataclass
class LaunchUser:
    """Who the platform launches, and into what."""

    sub: str = "learner-42"
    roles: list[str] = field(default_factory=lambda: [LEARNER])
    name: str = "Ada Lovelace"
    target: str = "https://localhost/learn/"


class _Request(PlatformRequest):  # type: ignore[misc]
    def build_metadata(self, r: Any) -> dict[str, Any]:
        return {"method": r.method, "form_data": r.form.to_dict(), "get_data": r.args.to_dict(),
                "headers": dict(r.headers), "content_type": r.content_type, "path": r.path, "json": None}


class LoopbackPlatform:
    """An LTI 1.3 platform on 127.0.0.1 that has registered the tool at ``tool`` (its base URL)."""

    def __init__(self, tool: str = "https://localhost", *, client_id: str = "thetapath-client",
                 deployment_id: str = "deployment-1", host_name: str = "127.0.0.1") -> None:
        self.tool, self.client_id, self.deployment_id = tool, client_id, deployment_id
        self.private_key, self.public_key = rsa_pair()
        self.user = LaunchUser()
        self.jwks_requests = 0
        self.deep_linking = False  # the next launch is a deep-linking request
        self.browser = False  # /auth answers the auto-posting HTML form a browser gets (else its JSON)
        self.tool_jwks: dict[str, Any] = {"keys": []}  # the tool's keys, as the platform's admin entered them
        self.placed: list[dict[str, Any]] = []  # the deep-linking answers the platform accepted (claims)
        self.grades = False  # launches offer Assignment and Grade Services (a line item per link)
        self.down = False  # the token and score endpoints answer 503, as a platform that is down
        self.lineitems: dict[str, dict[str, Any]] = {}
        self.roster: list[dict[str, Any]] = []  # the course's members (NRPS), offered when not empty
        self.scores: list[tuple[str, dict[str, Any]]] = []  # (line item, score) as received
        platform = self
        self._app = Flask("loopback-platform")

        class Conf(LTI1P3PlatformConfAbstract):  # type: ignore[misc]
            def init_platform_config(self, **_kwargs: Any) -> None:
                pass

            def get_registration_by_params(self, **_kwargs: Any) -> Registration:
                return platform.registration()

        class Launch(LTIAdvantageMessageLaunchAbstract):  # type: ignore[misc]
            def prepare_launch(self, _preflight: Any) -> None:
                user = platform.user
                self.set_user_data(user.sub, user.roles, full_name=user.name)
                self.set_resource_link_claim("resource-link-1", title="A module")
                self.set_launch_context_claim(
                    "course-1", ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
                    "Data literacy", "DL-101")
                self.set_launch_url(user.target)
                if platform.grades:
                    if f"{platform.url}/lineitems/1" not in platform.lineitems:
                        platform.lineitems[f"{platform.url}/lineitems/1"] = {
                            "id": f"{platform.url}/lineitems/1", "scoreMaximum": 100, "label": "A module",
                            "resourceLinkId": "resource-link-1"}
                    self.set_ags(f"{platform.url}/lineitems", f"{platform.url}/lineitems/1")
                if platform.roster:
                    self.set_nrps(f"{platform.url}/memberships")
                if platform.deep_linking:
                    self.set_dl(f"{platform.url}/dl_return", title="Pick Thetapath activities",
                                accept_types={"ltiResourceLink"}, extra_data={"course": "course-1"})

            def render_launch_form(self, data: dict[str, Any], **_kwargs: Any) -> str:
                if not platform.browser:
                    return json.dumps(data)  # what the auto-posting form would post
                fields = "".join(f'<input type="hidden" name="{k}" value="{escape(data[k])}">'
                                 for k in ("state", "id_token"))
                return (f'<form method="post" action="{escape(data["launch_url"])}">{fields}</form>'
                        "<script>document.forms[0].submit()</script>")

        @self._app.get("/course")
        def course() -> Any:  # a course page that shows the tool in an iframe, as an LMS does
            src = f"{platform.tool}/lti/login?{urlencode(platform.login_params())}"
            return (f'<!doctype html><html lang="en"><title>Course</title><h1>Data literacy course</h1>'
                    f'<iframe id="tool" title="Thetapath" src="{escape(src)}" width="1000" height="700">'
                    "</iframe></html>")

        @self._app.get("/jwks")
        def jwks() -> Any:
            platform.jwks_requests += 1
            return jsonify({"keys": Registration().set_platform_public_key(platform.public_key).get_jwks()})

        @self._app.route("/auth", methods=["GET", "POST"])
        def auth() -> Any:
            values = request.values
            if values.get("response_type") != "id_token" or values.get("scope") != "openid" or \
                    values.get("response_mode") != "form_post" or values.get("prompt") != "none":
                return "not an LTI authentication request", 400
            if values.get("redirect_uri") != f"{platform.tool}/lti/launch":
                return "unregistered redirect_uri", 400
            return Launch(_Request(request), Conf()).lti_launch()

        def allowed(scope: str) -> bool:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            conf = Conf()
            conf.get_registration()
            return bool(conf.validate_token(token, allowed_scopes=[scope]))

        @self._app.post("/token")
        def token() -> Any:
            if platform.down:
                return "down for maintenance", 503
            conf = Conf()
            conf.get_registration()
            return jsonify(conf.get_access_token(request.form.to_dict()))

        @self._app.route("/lineitems", methods=["GET", "POST"])
        def lineitems() -> Any:
            if not allowed("https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"):
                return "forbidden", 403
            if request.method == "GET":
                return jsonify(list(platform.lineitems.values()))
            number = len(platform.lineitems) + 1
            item = {**request.get_json(force=True), "id": f"{platform.url}/lineitems/{number}"}
            platform.lineitems[item["id"]] = item
            return jsonify(item), 201

        @self._app.post("/lineitems/<int:number>/scores")
        def scores(number: int) -> Any:
            if platform.down:
                return "down for maintenance", 503
            if not allowed("https://purl.imsglobal.org/spec/lti-ags/scope/score"):
                return "forbidden", 403
            if request.mimetype != "application/vnd.ims.lis.v1.score+json":
                return f"wrong content type {request.mimetype}", 415
            platform.scores.append((f"{platform.url}/lineitems/{number}", request.get_json(force=True)))
            return "", 204

        @self._app.get("/lineitems/<int:number>/results")
        def results(number: int) -> Any:  # each user's latest score on the line item, as a result
            if not allowed("https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"):
                return "forbidden", 403
            latest = {score["userId"]: score for item, score in platform.scores
                      if item == f"{platform.url}/lineitems/{number}"}
            wanted = request.args.get("user_id")
            item = f"{platform.url}/lineitems/{number}"
            return jsonify([{"id": f"{item}/results/{user}", "userId": user, "scoreOf": item,
                             "resultScore": score["scoreGiven"], "resultMaximum": score["scoreMaximum"],
                             "comment": score.get("comment", "")}
                            for user, score in latest.items() if wanted in (None, user)])

        @self._app.get("/memberships")
        def memberships() -> Any:  # two members a page, the next page in a Link header
            if not allowed("https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"):
                return "forbidden", 403
            page = int(request.args.get("page", "0"))
            body = jsonify({"id": f"{platform.url}/memberships", "context": {"id": "course-1"},
                            "members": platform.roster[2 * page:2 * page + 2]})
            if 2 * page + 2 < len(platform.roster):
                body.headers["Link"] = f'<{platform.url}/memberships?page={page + 1}>; rel="next"'
            return body

        @self._app.post("/dl_return")
        def dl_return() -> Any:
            conf = Conf()
            conf.get_registration()
            try:
                items = conf.validate_deeplinking_resp(request.form.to_dict())  # the tool's signature
            except Exception as err:  # the platform says why it refused the answer
                return f"refused: {err!r}", 400
            claims = jwt.decode(request.form["JWT"], options={"verify_signature": False})
            # what lti1p3platform leaves unchecked (../shared/STANDARDS.md 1.2), checked here
            if claims.get("aud") != platform.url or claims.get("iss") != platform.client_id or \
                    not claims.get("nonce") or claims.get(CLAIM + "deployment_id") != platform.deployment_id:
                return "refused: aud, iss, nonce or deployment_id", 400
            platform.placed.append(claims)
            return jsonify(items)

        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://{host_name}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def registration(self) -> Registration:
        """The platform's registration of the tool (lti1p3platform's)."""
        return (Registration().set_iss(self.url).set_client_id(self.client_id)
                .set_deployment_id(self.deployment_id).set_launch_url(f"{self.tool}/lti/launch")
                .set_oidc_login_url(f"{self.tool}/lti/login")
                .set_deeplink_launch_url(f"{self.tool}/lti/launch" if self.deep_linking else "")
                .set_tool_key_set(self.tool_jwks)
                .set_platform_public_key(self.public_key).set_platform_private_key(self.private_key))

    def register_args(self) -> dict[str, Any]:
        """What an admin registers for this platform."""
        return {"issuer": self.url, "client_id": self.client_id, "deployment_ids": [self.deployment_id],
                "auth_login_url": f"{self.url}/auth", "auth_token_url": f"{self.url}/token",
                "keyset_url": f"{self.url}/jwks"}

    def login_params(self) -> dict[str, str]:
        """The platform's third-party login initiation, as its link sends it to the tool's login URL."""
        return {"iss": self.url, "login_hint": self.user.sub, "target_link_uri": self.user.target,
                "lti_message_hint": "resource-link-1", "client_id": self.client_id,
                "lti_deployment_id": self.deployment_id}

    def kid(self) -> str:
        kid = self.registration().get_kid()
        assert kid
        return str(kid)

    def rotate(self) -> None:
        """A new platform key pair (the JWKS now lists only the new key)."""
        self.private_key, self.public_key = rsa_pair()

    def forge(self, nonce: str, *, drop: tuple[str, ...] = (), key: str | None = None, kid: str | None = None,
              alg: str = "RS256", **claims: Any) -> str:
        """An id_token with the claims a launch carries, changed as asked, signed with the platform's key
        (or ``key``; ``alg`` "none" signs nothing)."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.url, "aud": self.client_id, "azp": self.client_id, "sub": self.user.sub,
            "iat": now, "exp": now + 300, "nonce": nonce, "name": self.user.name,
            CLAIM + "message_type": "LtiResourceLinkRequest", CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": self.deployment_id, CLAIM + "target_link_uri": self.user.target,
            CLAIM + "resource_link": {"id": "resource-link-1"}, CLAIM + "roles": list(self.user.roles)}
        body.update({k.replace("__", "/"): v for k, v in claims.items()})
        for name in drop:
            body.pop(name, None)
        if alg == "none":
            return jwt.encode(body, "", algorithm="none", headers={"kid": kid or self.kid()})
        return jwt.encode(body, key or self.private_key, algorithm=alg, headers={"kid": kid or self.kid()})

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
