"""LTI 1.3 launches from a real platform on loopback (``tests/app/lti_platform.py``, built on PyPI's
``lti1p3platform``): registration, the OIDC login, the id_token checks, provisioning, and every
negative case rejected with a clear page, a 4xx status and nothing written."""

from __future__ import annotations

import html
import json
import random
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.authz import Principal
from app.cli import main
from app.db import utcnow
from app.demo import GRADUATE_ABILITY, take_assessment
from app.jobs import services as jobs
from app.jobs.workers import sessions
from app.lti.grades import _service_url, request_scores
from app.lti.tool import register_platform, rotate_tool_key
from app.models import (
    Attempt,
    EmbedAccount,
    Institution,
    Job,
    JobStatus,
    LoginSession,
    LtiAccount,
    LtiContext,
    LtiContextMember,
    LtiDeployment,
    LtiGradeLink,
    LtiLogin,
    LtiPlatform,
    Membership,
    ModuleRow,
    Role,
    User,
)
from app.packstore import import_pack
from tests.app import factories
from tests.app.lti_platform import CLAIM, INSTRUCTOR, LEARNER, LoopbackPlatform, rsa_pair
from tests.app.test_credentials import DEMO


@pytest.fixture
def platform(app: Flask) -> Iterator[LoopbackPlatform]:
    app.config["LTI_JWKS_COOLDOWN_SECONDS"] = 0  # a rotated platform key is fetched at once
    loopback = LoopbackPlatform()
    yield loopback
    loopback.close()


@pytest.fixture
def registered(app: Flask, db_session: Session, platform: LoopbackPlatform) -> Institution:
    inst = factories.institution(db_session, name="LTI University")
    with app.app_context():
        register_platform(db_session, inst, **platform.register_args())
    return inst


def _login(client: FlaskClient, platform: LoopbackPlatform) -> tuple[str, dict[str, str]]:
    """The tool's answer to the platform's login: the authentication URL, and its parameters."""
    response = client.get("/lti/login", query_string=platform.login_params())
    assert response.status_code == 302, response.data[:400]
    location = response.headers["Location"]
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _launch(client: FlaskClient, platform: LoopbackPlatform) -> tuple[Any, dict[str, str]]:
    """A whole launch through the platform: login, authentication, the id_token posted back."""
    location, _params = _login(client, platform)
    form = requests.get(location, timeout=10)
    assert form.status_code == 200, form.text
    posted = json.loads(form.text)
    data = {"state": posted["state"], "id_token": posted["id_token"]}
    return client.post("/lti/launch", data=data), data


def _modules(session: Session, inst: Institution) -> list[ModuleRow]:
    """The demo pack imported (published) for ``inst``: its modules, in order."""
    version = import_pack(session, inst, DEMO, None).version
    return list(session.scalars(select(ModuleRow).where(ModuleRow.pack_version_id == version.id)
                                .order_by(ModuleRow.position)))


def _counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (User, LtiAccount, Membership, LoginSession)} | {
        "used logins": session.scalar(select(func.count()).select_from(LtiLogin)
                                      .where(LtiLogin.used_at.is_not(None))) or 0}


def test_a_learner_launched_by_the_platform_is_signed_in_to_its_institution_as_the_same_account(
        client: FlaskClient, db_session: Session, platform: LoopbackPlatform,
        registered: Institution) -> None:
    location, params = _login(client, platform)
    assert location.startswith(f"{platform.url}/auth?")
    assert {k: params[k] for k in ("scope", "response_type", "response_mode", "prompt", "client_id",
                                   "redirect_uri", "login_hint", "lti_message_hint")} == {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
        "client_id": platform.client_id, "redirect_uri": "https://localhost/lti/launch",
        "login_hint": "learner-42", "lti_message_hint": "resource-link-1"}
    assert len(params["state"]) >= 40 and len(params["nonce"]) >= 40 and params["state"] != params["nonce"]
    assert client.get_cookie("session") is None  # nothing of the login depends on a cookie

    response, _ = _launch(client, platform)
    assert response.status_code == 303 and response.headers["Location"] == "/learn/"
    page = client.get("/learn/")
    assert page.status_code == 200 and "LTI University" in page.data.decode()
    account = db_session.scalars(select(LtiAccount)).one()
    user = db_session.get(User, account.user_id)
    assert user is not None and user.name == "Ada Lovelace" and user.email.endswith("@lti.invalid")
    assert [(m.institution_id, m.role) for m in user.memberships] == [(registered.id, Role.LEARNER)]

    # the same platform user, launched again from another browser: the same account
    other = client.application.test_client()
    assert _launch(other, platform)[0].status_code == 303
    assert db_session.scalar(select(func.count()).select_from(LtiAccount)) == 1
    assert db_session.scalar(select(func.count()).select_from(User)
                             .where(User.email.like("%@lti.invalid"))) == 1

    # an instructor of the course is an instructor here
    platform.user.sub, platform.user.roles, platform.user.name = "teacher-7", [INSTRUCTOR], "Grace Hopper"
    teacher = client.application.test_client()
    assert _launch(teacher, platform)[0].status_code == 303
    grace = db_session.scalar(select(User).where(User.name == "Grace Hopper"))
    assert grace is not None and [m.role for m in grace.memberships] == [Role.INSTRUCTOR]
    assert teacher.get("/author/packs").status_code == 200  # an instructor's page
    assert other.get("/author/packs").status_code == 403  # not a learner's


def test_a_launch_goes_straight_into_the_module_its_link_names(
        app: Flask, db_session: Session, platform: LoopbackPlatform, registered: Institution) -> None:
    module = _modules(db_session, registered)[0]
    platform.user.target = f"https://localhost/learn/modules/{module.id}"
    client = app.test_client()
    response, _ = _launch(client, platform)
    assert response.status_code == 303 and response.headers["Location"] == f"/learn/modules/{module.id}"
    assert module.title in client.get(response.headers["Location"]).data.decode()


def test_a_replayed_launch_is_rejected_and_changes_nothing(
        client: FlaskClient, db_session: Session, platform: LoopbackPlatform,
        registered: Institution) -> None:
    response, posted = _launch(client, platform)
    assert response.status_code == 303
    before = _counts(db_session)
    again = client.application.test_client().post("/lti/launch", data=posted)
    assert again.status_code == 409
    assert "already used; a launch works once" in again.data.decode()
    assert _counts(db_session) == before


def _bad(platform: LoopbackPlatform, case: str, nonce: str) -> str:
    now = int(time.time())
    other_private, _ = rsa_pair()
    return {
        "forged signature": lambda: platform.forge(nonce, key=other_private),
        "wrong aud": lambda: platform.forge(nonce, aud="another-tool", azp="another-tool"),
        "wrong iss": lambda: platform.forge(nonce, iss="https://evil.example"),
        "expired": lambda: platform.forge(nonce, iat=now - 900, exp=now - 600),
        "dated in the future": lambda: platform.forge(nonce, iat=now + 900, exp=now + 1200),
        "issued long ago": lambda: platform.forge(nonce, iat=now - 3600, exp=now + 600),
        "unknown deployment": lambda: platform.forge(nonce, **{CLAIM + "deployment_id": "deployment-9"}),
        "missing sub": lambda: platform.forge(nonce, drop=("sub",)),
        "missing roles and resource link": lambda: platform.forge(
            nonce, drop=(CLAIM + "roles", CLAIM + "resource_link")),
        "missing nonce": lambda: platform.forge(nonce, drop=("nonce",)),
        "another launch's nonce": lambda: platform.forge("not-the-nonce"),
        "alg none": lambda: platform.forge(nonce, alg="none"),
        "HS256": lambda: platform.forge(nonce, alg="HS256", key="a shared secret of at least 32 bytes"),
        "unknown kid": lambda: platform.forge(nonce, kid="no-such-key"),
        "several audiences without azp": lambda: platform.forge(
            nonce, aud=[platform.client_id, "other"], drop=("azp",)),
        "wrong version": lambda: platform.forge(nonce, **{CLAIM + "version": "1.1"}),
        "unknown message type": lambda: platform.forge(
            nonce, **{CLAIM + "message_type": "LtiSubmissionReviewRequest"}),
        "target on another host": lambda: platform.forge(
            nonce, **{CLAIM + "target_link_uri": "https://evil.example/learn/"}),
        "target not a page": lambda: platform.forge(
            nonce, **{CLAIM + "target_link_uri": "https://localhost/admin/members"}),
    }[case]()


NEGATIVE = [
    ("forged signature", 401, "signature does not match"),
    ("wrong aud", 401, "is not for this tool"),
    ("wrong iss", 401, "was not issued by the registered platform"),
    ("expired", 401, "has expired"),
    ("dated in the future", 401, "dated in the future"),
    ("issued long ago", 401, "issued too long ago"),
    ("unknown deployment", 403, "deployment ('deployment-9') that is not registered here"),
    ("missing sub", 400, "lacks the claim sub"),
    ("missing roles and resource link", 400, "lacks the claims roles, resource_link.id"),
    ("missing nonce", 400, "lacks the claim 'nonce'"),
    ("another launch's nonce", 401, "nonce is not the one its login was given"),
    ("alg none", 401, "signed with 'none'; only RS256 is accepted"),
    ("HS256", 401, "signed with 'HS256'; only RS256 is accepted"),
    ("unknown kid", 401, "signed with a key (no-such-key) that the platform's keyset"),
    ("several audiences without azp", 401, "its azp is not this tool's client id"),
    ("wrong version", 400, "LTI version is '1.1'"),
    ("unknown message type", 400, "message type 'LtiSubmissionReviewRequest' is not one this tool accepts"),
    ("target on another host", 400, "is not on this site (localhost)"),
    ("target not a page", 400, "is not a page a launch can open"),
]


@pytest.mark.parametrize(("case", "status", "says"), NEGATIVE, ids=[c[0] for c in NEGATIVE])
def test_each_bad_launch_is_rejected_with_a_clear_page_and_writes_nothing(
        client: FlaskClient, db_session: Session, platform: LoopbackPlatform, registered: Institution,
        case: str, status: int, says: str) -> None:
    _location, params = _login(client, platform)
    before = _counts(db_session)
    response = client.post("/lti/launch", data={"state": params["state"],
                                                "id_token": _bad(platform, case, params["nonce"])})
    page = response.data.decode()
    assert response.status_code == status, page[:600]
    assert says in page.replace("&#39;", "'"), page[:2000]
    assert "Traceback" not in page
    assert _counts(db_session) == before
    # and the login still works once with the platform's real id_token
    assert client.get("/learn/").status_code == 302  # nobody was signed in: off to the sign-in page


@pytest.mark.parametrize(("change", "says"), [
    ({"iss": "https://unknown.example"}, "No platform 'https://unknown.example' with client id"),
    ({"client_id": "someone-else"}, "with client id 'someone-else' is registered here"),
    ({"login_hint": ""}, "lacks login_hint"),
    ({"lti_deployment_id": "deployment-9"}, "deployment 'deployment-9' of"),
    ({"target_link_uri": "https://evil.example/learn/"}, "is not on this site"),
])
def test_a_bad_login_request_is_refused_before_anything_is_kept(
        client: FlaskClient, db_session: Session, platform: LoopbackPlatform, registered: Institution,
        change: dict[str, str], says: str) -> None:
    response = client.get("/lti/login", query_string={**platform.login_params(), **change})
    assert response.status_code == 400
    assert says in response.data.decode().replace("&#39;", "'")
    assert db_session.scalar(select(func.count()).select_from(LtiLogin)) == 0


def test_unknown_state_missing_token_and_an_expired_login_are_rejected(
        app: Flask, client: FlaskClient, db_session: Session, platform: LoopbackPlatform,
        registered: Institution) -> None:
    assert "was not started here" in client.post(
        "/lti/launch", data={"state": "made-up", "id_token": "x.y.z"}).data.decode()
    assert client.post("/lti/launch", data={"state": "s"}).status_code == 400
    _location, params = _login(client, platform)
    app.config["LTI_LOGIN_SECONDS"] = 0
    time.sleep(0.01)
    response = client.post("/lti/launch", data={"state": params["state"],
                                                "id_token": platform.forge(params["nonce"])})
    assert response.status_code == 400 and "took too long" in response.data.decode()


def test_a_platform_that_rotates_its_key_is_followed_by_fetching_its_jwks_again(
        client: FlaskClient, db_session: Session, platform: LoopbackPlatform,
        registered: Institution) -> None:
    assert _launch(client, platform)[0].status_code == 303
    fetched = platform.jwks_requests
    assert _launch(client.application.test_client(), platform)[0].status_code == 303
    assert platform.jwks_requests == fetched  # cached
    platform.rotate()
    assert _launch(client.application.test_client(), platform)[0].status_code == 303
    assert platform.jwks_requests == fetched + 1  # an unknown kid: fetched again, once


def test_a_launch_from_one_institutions_platform_never_reaches_another_institution(
        app: Flask, db_session: Session, platform: LoopbackPlatform, registered: Institution) -> None:
    other = factories.institution(db_session, name="Other University")
    module = _modules(db_session, other)[0]
    client = app.test_client()
    assert _launch(client, platform)[0].status_code == 303
    user = db_session.scalars(select(User).where(User.email.like("%@lti.invalid"))).one()
    assert {m.institution_id for m in user.memberships} == {registered.id}
    assert client.get(f"/learn/modules/{module.id}").status_code == 404
    assert "Other University" not in client.get("/learn/").data.decode()
    # the other institution cannot take over this platform's registration
    with app.app_context(), pytest.raises(Exception, match="registered by another institution"):
        register_platform(db_session, other, **platform.register_args())


def test_registration_on_the_command_line_prints_the_tools_urls(
        app: Flask, db_session: Session, platform: LoopbackPlatform) -> None:
    inst = factories.institution(db_session)
    db_session.commit()
    runner = app.test_cli_runner()
    args = ["lti", "register", "--institution", inst.slug, "--issuer", platform.url,
            "--client-id", "client-9", "--deployment-id", "d-1", "--deployment-id", "d-2",
            "--auth-login-url", f"{platform.url}/auth", "--auth-token-url", f"{platform.url}/token",
            "--keyset-url", f"{platform.url}/jwks"]
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and "set THETAPATH_BASE_URL" in result.output
    app.config["BASE_URL"] = "https://learn.example.edu"
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "login_url": "https://learn.example.edu/lti/login", "launch_url": "https://learn.example.edu/lti/launch",
        "jwks_url": "https://learn.example.edu/lti/jwks", "deep_link_url": "https://learn.example.edu/lti/launch",
        "config_url": "https://learn.example.edu/lti/config.json"}
    result = runner.invoke(main, [*args[:-8], "--deployment-id", "d-3", *args[-6:]])
    assert result.exit_code == 0, result.output
    registration = db_session.scalars(select(LtiPlatform).where(LtiPlatform.client_id == "client-9")).one()
    assert [d.deployment_id for d in db_session.scalars(
        select(LtiDeployment).where(LtiDeployment.platform_id == registration.id)
        .order_by(LtiDeployment.id))] == ["d-1", "d-2", "d-3"]
    for bad, says in ((["--institution", "nowhere"], "no institution 'nowhere'"),
                      (["--keyset-url", "http://platform.example/jwks"], "is not an https:// address")):
        changed = list(args)
        at = changed.index(bad[0])
        changed[at + 1] = bad[1]
        result = runner.invoke(main, changed)
        assert result.exit_code == 2 and says in result.output


def test_the_tool_publishes_its_keys_and_configuration_and_rotation_overlaps(
        app: Flask, client: FlaskClient, db_session: Session, platform: LoopbackPlatform,
        registered: Institution) -> None:
    first = client.get("/lti/jwks").json
    assert first is not None and len(first["keys"]) == 1
    key = first["keys"][0]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig") and "d" not in key
    with app.app_context():
        new_kid = rotate_tool_key(db_session)
    both = client.get("/lti/jwks").json
    assert both is not None and [k["kid"] for k in both["keys"]] == [new_kid, key["kid"]]
    app.config["LTI_KEY_OVERLAP_DAYS"] = 0
    after = client.get("/lti/jwks").json
    assert after is not None and [k["kid"] for k in after["keys"]] == [new_kid]
    app.config["BASE_URL"] = "https://learn.example.edu"
    config = client.get("/lti/config.json").json
    assert config is not None and config["oidc_initiation_url"] == "https://learn.example.edu/lti/login"
    assert config["public_jwk_url"] == "https://learn.example.edu/lti/jwks"


def test_an_instructor_places_modules_by_deep_linking_and_the_platform_accepts_the_signed_answer(
        app: Flask, db_session: Session, platform: LoopbackPlatform, registered: Institution) -> None:
    modules = _modules(db_session, registered)
    other = factories.institution(db_session)
    foreign_module = _modules(db_session, other)[0]
    platform.user.sub, platform.user.roles, platform.user.name = "teacher-1", [INSTRUCTOR], "Grace Hopper"
    platform.deep_linking = True
    client = app.test_client()
    platform.tool_jwks = client.get("/lti/jwks").json or {}  # what the platform's admin registered

    response, _ = _launch(client, platform)
    assert response.status_code == 303 and response.headers["Location"].startswith("/lti/deep-link?t=")
    picking = client.get(response.headers["Location"])
    assert picking.status_code == 200
    assert all(m.title in picking.data.decode() for m in modules)
    token = parse_qs(urlsplit(response.headers["Location"]).query)["t"][0]
    answer = client.post("/lti/deep-link", data={
        "t": token, "module": [str(modules[1].id), str(foreign_module.id), str(modules[0].id)]})
    assert answer.status_code == 200
    assert f"form-action {platform.url}" in answer.headers["Content-Security-Policy"]
    html = answer.data.decode()
    action = re.search(r'<form method="post" action="([^"]+)" class="card" data-autosubmit>', html)
    signed = re.search(r'name="JWT" value="([^"]+)"', html)
    assert action is not None and signed is not None and action.group(1) == f"{platform.url}/dl_return"

    accepted = requests.post(action.group(1), data={"JWT": signed.group(1)}, timeout=10)
    assert accepted.status_code == 200, accepted.text
    items = accepted.json()
    assert [i["title"] for i in items] == [modules[1].title, modules[0].title]  # not the other institution's
    assert items[0]["type"] == "ltiResourceLink"
    assert items[0]["url"] == f"https://localhost/learn/modules/{modules[1].id}"
    assert items[0]["lineItem"] == {"scoreMaximum": 100, "label": modules[1].title,
                                    "resourceId": f"thetapath-module-{modules[1].id}", "tag": "mastery"}
    claims = platform.placed[-1]
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == {"course": "course-1"}
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"

    # a changed answer is refused by the platform (it checks the tool's signature with the tool's JWKS)
    header, body, signature = signed.group(1).split(".")
    forged = f"{header}.{body}.{signature[:-4]}AAAA"
    assert requests.post(action.group(1), data={"JWT": forged}, timeout=10).status_code == 400

    # the picking page is the instructor's alone, and learners cannot place anything
    platform.user.sub, platform.user.roles, platform.user.name = "learner-9", [LEARNER], "Alan Turing"
    learner = app.test_client()
    refused, _ = _launch(learner, platform)
    assert refused.status_code == 403 and "Only an instructor" in refused.data.decode()
    assert learner.get(f"/lti/deep-link?t={token}").status_code in (302, 403)


def _due_now(app: Flask) -> None:
    """Time passes: every job waiting for a retry is due."""
    with sessions(app)() as s:
        s.execute(update(Job).where(Job.status == JobStatus.QUEUED).values(run_after=utcnow()))
        s.commit()


def test_a_completed_assessment_sends_its_score_to_the_platform_once_even_after_an_outage(
        app: Flask, db_session: Session, platform: LoopbackPlatform, registered: Institution) -> None:
    module = _modules(db_session, registered)[0]
    platform.user.target = f"https://localhost/learn/modules/{module.id}"
    platform.grades = True
    client = app.test_client()
    platform.tool_jwks = client.get("/lti/jwks").json or {}
    assert _launch(client, platform)[0].status_code == 303
    link = db_session.scalars(select(LtiGradeLink)).one()
    assert (link.module_id, link.sub, link.lineitem_url) == \
        (module.id, "learner-42", f"{platform.url}/lineitems/1")

    platform.down = True  # the platform is down when the learner finishes
    who = Principal(link.user_id, registered.id, Role.LEARNER)
    with app.test_request_context():
        attempt_id = take_assessment(db_session, who, module, GRADUATE_ABILITY, random.Random(3))
    db_session.commit()
    [job] = db_session.scalars(select(Job).where(Job.kind == "lti-score")).all()  # stored with the attempt
    with app.app_context():
        assert jobs.run_due(sessions(app)) >= 1  # the score, and the learner's credential and xAPI jobs
    db_session.expire_all()
    failed = db_session.get(Job, job.id)
    assert failed is not None and failed.status is JobStatus.QUEUED and failed.attempts == 1
    assert "answered 503" in (failed.error or "") and platform.scores == []

    platform.down = False  # back up: the retry delivers it, once
    _due_now(app)
    with app.app_context():
        while jobs.run_due(sessions(app)):
            _due_now(app)
    db_session.expire_all()
    done = db_session.get(Job, job.id)
    assert done is not None and done.status is JobStatus.DONE and done.attempts == 2
    attempt = db_session.get(Attempt, attempt_id)
    assert attempt is not None and attempt.finished_at is not None
    [(lineitem, score)] = platform.scores
    assert lineitem == f"{platform.url}/lineitems/1"
    assert score["userId"] == "learner-42" and score["scoreMaximum"] == 100
    assert 0 <= score["scoreGiven"] <= 100 and score["activityProgress"] == "Completed"
    assert score["gradingProgress"] == "FullyGraded"
    assert score["timestamp"].startswith(attempt.finished_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert done.result is not None and done.result["status"] == 204

    # asked again for the same attempt (a retried request, say): the same job, nothing sent again
    with app.app_context():
        assert [j.id for j in request_scores(db_session, attempt)] == [job.id]
        db_session.commit()
        assert jobs.run_due(sessions(app)) == 0
    assert len(platform.scores) == 1


def test_an_admin_registers_a_platform_in_the_browser_and_reads_and_resends_its_scores(
        app: Flask, db_session: Session, platform: LoopbackPlatform) -> None:
    inst = factories.institution(db_session, name="Admin University")
    admin = factories.user(db_session, inst, Role.ADMIN)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    client = app.test_client()
    factories.sign_in(client, instructor.email)
    assert client.get("/admin/lti").status_code == 403
    factories.sign_in(client, admin.email)
    page = client.get("/admin/lti").data.decode()
    assert "THETAPATH_BASE_URL" in page and "None yet." in page
    app.config["BASE_URL"] = "https://learn.example.edu"
    assert "https://learn.example.edu/lti/login" in client.get("/admin/lti").data.decode()
    args = platform.register_args()
    form = {"issuer": args["issuer"], "client_id": args["client_id"], "deployment_ids": "deployment-1, d-2",
            "auth_login_url": args["auth_login_url"], "auth_token_url": args["auth_token_url"],
            "keyset_url": "http://platform.example/jwks"}
    refused = client.post("/admin/lti/platforms", data=form, follow_redirects=True).data.decode()
    assert "is not an https:// address" in refused
    assert db_session.scalar(select(func.count()).select_from(LtiPlatform)) == 0
    form["keyset_url"] = args["keyset_url"]
    done = client.post("/admin/lti/platforms", data=form, follow_redirects=True).data.decode()
    assert f"{platform.url} is registered" in done and "deployment-1, d-2" in done
    registration = db_session.scalars(select(LtiPlatform)).one()
    assert registration.institution_id == inst.id

    # a score that could not be sent: its record says why, and the admin sends it again
    app.config["BASE_URL"] = None
    module = _modules(db_session, inst)[0]
    platform.user.target, platform.grades = f"https://localhost/learn/modules/{module.id}", True
    platform.tool_jwks = client.get("/lti/jwks").json or {}
    learner = app.test_client()
    assert _launch(learner, platform)[0].status_code == 303
    link = db_session.scalars(select(LtiGradeLink)).one()
    platform.down = True
    with app.test_request_context():
        take_assessment(db_session, Principal(link.user_id, inst.id, Role.LEARNER), module, GRADUATE_ABILITY,
                        random.Random(5))
    db_session.commit()
    with app.app_context():
        jobs.run_due(sessions(app))
    page = client.get("/admin/lti").data.decode()
    assert "Ada Lovelace" in page and module.title in page and "waiting to retry" in page
    assert "answered 503: down for maintenance" in page
    [job] = db_session.scalars(select(Job).where(Job.kind == "lti-score")).all()
    platform.down = False
    assert client.post(f"/admin/lti/scores/{job.id}/resend").status_code == 303
    again = db_session.scalars(select(Job).where(Job.kind == "lti-score", Job.id != job.id)).one()
    with app.app_context():
        jobs.run(sessions(app), again.id)
    page = client.get("/admin/lti").data.decode()
    assert "The platform answered 204" in page and len(platform.scores) == 1
    other = factories.institution(db_session)
    stranger = factories.user(db_session, other, Role.ADMIN)
    factories.sign_in(client, stranger.email)
    assert "Ada Lovelace" not in client.get("/admin/lti").data.decode()
    assert client.post(f"/admin/lti/scores/{job.id}/resend").status_code == 404


def test_a_signed_embed_link_opens_its_module_for_its_learner_and_a_changed_or_expired_one_is_refused(
        app: Flask, db_session: Session) -> None:
    inst = factories.institution(db_session, name="Embed University")
    admin = factories.user(db_session, inst, Role.ADMIN)
    module = _modules(db_session, inst)[0]
    client = app.test_client()
    factories.sign_in(client, admin.email)
    page = client.post("/admin/lti/embed", data={"module_id": module.id, "learner_ref": "student-0042",
                                                 "days": 7}).data.decode()
    url = re.search(r'id="embed-url" type="text" readonly value="([^"]+)"', page)
    assert url is not None and url.group(1).startswith("https://localhost/embed/")
    assert "&lt;iframe src=&#34;https://localhost/embed/" in page
    path = urlsplit(html.unescape(url.group(1))).path

    browser = app.test_client()
    before = _counts(db_session)
    opened = browser.get(path)
    assert opened.status_code == 303 and opened.headers["Location"] == f"/learn/modules/{module.id}"
    assert module.title in browser.get(opened.headers["Location"]).data.decode()
    account = db_session.scalars(select(EmbedAccount)).one()
    assert (account.institution_id, account.learner_ref) == (inst.id, "student-0042")
    assert app.test_client().get(path).status_code == 303  # the same learner, another browser
    assert db_session.scalar(select(func.count()).select_from(EmbedAccount)) == 1
    assert _counts(db_session)["User"] == before["User"] + 1

    token = path.rsplit("/", 1)[1]
    changed = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (f"/embed/{changed}", f"/embed/{token.replace('.', '', 1)}", "/embed/not-a-token"):
        refused = app.test_client().get(bad)
        assert refused.status_code == 400 and "was changed or copied incompletely" in refused.data.decode()
    app.config["CLOCK_OFFSET_SECONDS"] = 8 * 86400  # a week and a day later
    expired = app.test_client().get(path)
    assert expired.status_code == 410 and "This embedded link expired on" in expired.data.decode()
    assert db_session.scalar(select(func.count()).select_from(EmbedAccount)) == 1

    app.config["CLOCK_OFFSET_SECONDS"] = 0
    refused = client.post("/admin/lti/embed", data={"module_id": module.id, "learner_ref": "", "days": 7},
                          follow_redirects=True).data.decode()
    assert "Give the learner&#39;s identifier" in refused
    other = factories.institution(db_session)
    foreign_module = _modules(db_session, other)[0]
    refused = client.post("/admin/lti/embed", data={"module_id": foreign_module.id, "learner_ref": "x",
                                                    "days": 7}, follow_redirects=True).data.decode()
    assert "not one of the institution&#39;s published modules" in refused


def test_an_instructors_launch_reads_the_course_roster_into_the_learner_analytics(
        app: Flask, db_session: Session, platform: LoopbackPlatform, registered: Institution) -> None:
    version = import_pack(db_session, registered, DEMO, None).version
    platform.roster = [
        {"user_id": "learner-42", "name": "Ada Lovelace", "roles": [LEARNER], "status": "Active"},
        {"user_id": "learner-43", "name": "Alan Turing", "roles": [LEARNER]},
        {"user_id": "learner-44", "name": "Edsger Dijkstra", "roles": [LEARNER], "status": "Inactive"},
        {"user_id": "learner-45", "given_name": "Barbara", "family_name": "Liskov", "roles": [LEARNER]},
        {"user_id": "teacher-1", "name": "Grace Hopper", "roles": [INSTRUCTOR]},
    ]
    platform.user.sub, platform.user.roles, platform.user.name = "teacher-1", [INSTRUCTOR], "Grace Hopper"
    client = app.test_client()
    platform.tool_jwks = client.get("/lti/jwks").json or {}
    assert _launch(client, platform)[0].status_code == 303
    [job] = db_session.scalars(select(Job).where(Job.kind == "lti-roster")).all()  # asked by the launch
    with app.app_context():
        assert jobs.run(sessions(app), job.id)
    db_session.expire_all()
    done = db_session.get(Job, job.id)
    assert done is not None and done.status is JobStatus.DONE, done.error
    assert done.result == {"course": "Data literacy", "members": 4, "learners": 3}  # not the inactive one
    names = {u.name for u in db_session.scalars(select(User).where(User.email.like("%@lti.invalid")))}
    assert names == {"Ada Lovelace", "Alan Turing", "Barbara Liskov", "Grace Hopper"}
    assert db_session.scalar(select(func.count()).select_from(LtiContextMember)) == 4
    page = client.get(f"/author/versions/{version.id}/learners").data.decode()
    assert "Courses on learning platforms" in page and "Data literacy" in page
    assert re.search(r"<td>Data literacy</td><td class=\"align-right\">3</td>", page)

    # a learner on the roster launches later: the account the roster made
    platform.user.sub, platform.user.roles, platform.user.name = "learner-43", [LEARNER], "Alan Turing"
    before = db_session.scalar(select(func.count()).select_from(User))
    assert _launch(app.test_client(), platform)[0].status_code == 303
    assert db_session.scalar(select(func.count()).select_from(User)) == before
    # the admin reads it again from the admin page; another institution's admin cannot
    admin = factories.user(db_session, registered, Role.ADMIN)
    factories.sign_in(client, admin.email)
    page = client.get("/admin/lti").data.decode()
    assert "Read the roster of Data literacy again" in page
    context = db_session.scalars(select(LtiContext)).one()
    assert client.post(f"/admin/lti/courses/{context.id}/sync").status_code == 303
    stranger = factories.user(db_session, factories.institution(db_session), Role.ADMIN)
    factories.sign_in(client, stranger.email)
    assert client.post(f"/admin/lti/courses/{context.id}/sync").status_code == 404


def test_score_and_result_urls_keep_the_line_items_own_query() -> None:
    moodle = "https://moodle.example.edu/mod/lti/services.php/2/lineitems/5/lineitem?type_id=1"
    assert _service_url(moodle, "scores") == \
        "https://moodle.example.edu/mod/lti/services.php/2/lineitems/5/lineitem/scores?type_id=1"
    assert _service_url(moodle, "results", user_id="a b") == \
        "https://moodle.example.edu/mod/lti/services.php/2/lineitems/5/lineitem/results?type_id=1&user_id=a+b"
    assert _service_url("https://canvas.example/lineitems/7/", "scores") == "https://canvas.example/lineitems/7/scores"
