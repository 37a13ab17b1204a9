"""Every endpoint, asked by a user of another institution about our objects, answers 404 (or 403)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.analytics.services import request_item_statistics
from app.db import utcnow
from app.models import Credential, Invitation, ModuleRow, PendingImport, Role
from app.packstore import import_pack
from tests.app import factories

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"
PUBLIC = {"static", "home.index", "home.dashboard", "accounts.login", "accounts.signup", "accounts.logout",
          "learn.catalogue", "authoring.packs", "home.goal",
          "authoring.attempts",  # the caller's own institution only (test_integrity checks it)
          "credentials.wallet",  # the caller's own credentials only (test_credentials checks it)
          "issuer.verify",  # anyone's credential, checked; nothing of an institution is shown
          "issuer.status_list",  # an institution's revocation list is public by design
          "issuer.did_json",  # so is its DID document (its public keys)
          # LTI: a platform's login and launch (each checked against a registration; tests/app/test_lti.py
          # launches from one institution's platform and finds nothing of another), the tool's keys
          "lti.login", "lti.launch", "lti.keyset", "lti.configuration",
          "lti.deep_link",  # behind a token bound to the instructor it was made for (test_lti)
          # the caller's own institution only (test_lti: another institution's admin sees none of it)
          "lti_admin.settings", "lti_admin.register", "lti_admin.make_embed_link",
          "lti_admin.sync_roster",  # another institution's course answers 404 (test_lti)
          "lti_embed.open_link",  # a signed embed link: public by design, refused when changed (test_lti)
          # a credential's share link: public by design, behind an unguessable random id
          "issuer.credential_page", "issuer.credential_json",
          "issuer.issued",  # the caller's own institution only (test_revocation checks it)
          "accounts.logout_everywhere",  # the caller's own sign-ins only
          "accounts.change_password",  # the caller's own password only
          # the caller's own account and data only (test_profile checks nobody else's is reachable)
          "profile.index", "profile.name", "profile.email", "profile.confirm_email",
          "profile.export_json", "profile.export_csv", "profile.delete",
          # e-mailed links and the forms that send them: no institution's objects
          "accounts.confirm_signup", "accounts.forgot_password", "accounts.reset_password",
          # the caller's own institutions only (test_members checks it), and a link's own secret
          "accounts.switch_institution", "admin.join", "admin.members", "admin.add", "admin.invite",
          "admin.signup_setting"}


def test_no_endpoint_reveals_another_institutions_objects(
    app: Flask, client: FlaskClient, db_session: Session
) -> None:
    ours = factories.institution(db_session)
    learner = factories.user(db_session, ours, Role.LEARNER, email="ours@example.org")
    version = import_pack(db_session, ours, DEMO, None).version
    module = db_session.scalar(select(ModuleRow).where(ModuleRow.pack_version_id == version.id))
    assert module is not None
    client.post("/login", data={"email": learner.email, "password": factories.PASSWORD})
    attempt_url = client.post(f"/assess/modules/{module.id}/attempts").headers["Location"]
    attempt_id = int(attempt_url.rsplit("/", 1)[1])
    client.post("/logout")
    with app.app_context():
        job_id = request_item_statistics(db_session, version, learner.id).id
        invitation = Invitation(institution_id=ours.id, role=Role.ADMIN, token_hash="0" * 64,
                                expires_at=utcnow() + timedelta(days=1))
        pending = PendingImport(institution_id=ours.id, user_id=learner.id, archive=b"")
        credential = Credential(id="00000000-0000-4000-8000-000000000001", institution_id=ours.id,
                                user_id=learner.id, pack_version_id=version.id, rule="data-reader",
                                document={"name": "Data reader"})
        db_session.add_all([invitation, pending, credential])
        db_session.flush()
        invitation_id, pending_id, credential_id = invitation.id, pending.id, credential.id
    db_session.commit()

    theirs = factories.institution(db_session)
    for role in Role:
        email = f"their-{role.value}@example.org"
        factories.user(db_session, theirs, role, email=email)
        client.post("/login", data={"email": email, "password": factories.PASSWORD})
        values = {"module_id": module.id, "attempt_id": attempt_id, "version_id": version.id,
                  "position": 0, "path": "images/bar-chart.svg", "job_id": job_id, "what": "responses",
                  "membership_id": learner.memberships[0].id, "invitation_id": invitation_id, "token": "x",
                  "item_id": "dd-001", "pending_id": pending_id, "number": 0,
                  "credential_id": credential_id, "form": "json"}
        checked = 0
        for rule in app.url_map.iter_rules():
            if rule.endpoint in PUBLIC:
                continue
            url = rule.build(values)[1]  # type: ignore[index]
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data={"token": "x"})
                assert response.status_code in (403, 404), (role, method, url, response.status_code)
                checked += 1
        assert checked >= 6
        client.post("/logout")
    # and nothing of ours shows in their catalogue
    client.post("/login", data={"email": "their-learner@example.org", "password": factories.PASSWORD})
    assert "Data literacy" not in client.get("/learn/").data.decode()


def test_a_learner_cannot_see_or_answer_a_classmates_attempt(
    client: FlaskClient, db_session: Session
) -> None:
    inst = factories.institution(db_session)
    ann = factories.user(db_session, inst, Role.LEARNER, email="ann@example.org")
    factories.user(db_session, inst, Role.LEARNER, email="bob@example.org")
    version = import_pack(db_session, inst, DEMO, None).version
    module = db_session.scalar(select(ModuleRow).where(ModuleRow.pack_version_id == version.id))
    assert module is not None
    client.post("/login", data={"email": ann.email, "password": factories.PASSWORD})
    attempt_url = client.post(f"/assess/modules/{module.id}/attempts").headers["Location"]
    client.post("/logout")
    client.post("/login", data={"email": "bob@example.org", "password": factories.PASSWORD})
    assert client.get(attempt_url).status_code == 404
    assert client.post(f"{attempt_url}/responses", data={"token": "x"}).status_code == 404
    # a learner cannot reach the authoring pages
    assert client.get("/author/packs").status_code == 403
