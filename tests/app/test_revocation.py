"""Revocation: an admin revokes an issued credential with a reason; its bit is set in the
institution's signed revocation list, and the public verifier, the command line and the learner's
wallet all say so, while the signature itself still holds."""

from __future__ import annotations

import json
import random
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app, db
from app.authz import Principal
from app.cli import main
from app.credentials import proofs, status
from app.db import make_engine
from app.demo import GRADUATE_ABILITY, take_assessment
from app.jobs import services as jobs
from app.jobs.workers import sessions
from app.migrate import upgrade
from app.models import Credential, ModuleRow, Role
from app.packstore import content_of, import_pack
from tests.app import factories
from tests.app.test_credentials import DEMO, FIRST, _study
from tests.app.test_proofs import _independent_verdict


def _verify(client: FlaskClient, document: dict[str, object]) -> dict[str, str]:
    answer = client.post("/verify", json=document)
    assert answer.json is not None
    return {c["check"]: c["message"] for c in answer.json["checks"] if not c["ok"]}


def test_a_revoked_credential_fails_verification_everywhere(
        app: Flask, client: FlaskClient, db_session: Session, tmp_path: Path) -> None:
    inst = factories.institution(db_session)
    admin = factories.user(db_session, inst, Role.ADMIN)
    learner = factories.user(db_session, inst, Role.LEARNER)
    version = import_pack(db_session, inst, DEMO, None).version
    rule = next(r for r in content_of(db_session, version).credentials if r.id == FIRST)
    _study(app, db_session, Principal(learner.id, inst.id, Role.LEARNER), version, set(rule.competencies),
           GRADUATE_ABILITY, seed=1)
    credential = db_session.scalar(select(Credential).where(Credential.rule == FIRST))
    assert credential is not None and credential.status_index is not None
    document = credential.document
    with app.app_context():
        assert document["credentialStatus"] == status.entry(inst.slug, credential.status_index)
    assert _verify(client, document) == {}
    assert _independent_verdict(document, tmp_path)["verified"] is True

    def bit() -> bool:
        listed = client.get(f"/credentials/status/{inst.slug}").json
        assert listed is not None
        proofs.verify(listed)  # signed by the institution
        assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
        bits = status.decode(listed["credentialSubject"]["encodedList"])
        assert len(bits) * 8 == status.LIST_BITS
        return status.is_set(bits, credential.status_index or 0)

    assert bit() is False
    # its public page (the share link): verified as shown, and the JSON for machines
    page = client.get(f"/credentials/{credential.id}").data.decode()
    assert '<h2 id="verdict">Valid</h2>' in page and rule.title in page
    as_json = client.get(f"/credentials/{credential.id}", headers={"Accept": "application/ld+json"})
    assert as_json.mimetype == "application/ld+json" and as_json.json == document
    assert client.get(f"/credentials/{credential.id}.json").json == document
    assert client.get("/credentials/00000000-0000-4000-8000-00000000dead").status_code == 404

    factories.sign_in(client, admin.email)
    page = client.get("/admin/credentials").data.decode()
    assert rule.title in page and learner.name in page
    url = f"/admin/credentials/{credential.id}/revoke"
    refused = client.post(url, data={"reason": "  "})
    assert refused.status_code == 422 and "Say why" in refused.data.decode()
    assert client.post(url, data={"reason": "Issued in error: the attempts were shared."}).status_code == 303
    db_session.expire_all()
    assert credential.revoked_at is not None and credential.revoked_by_id == admin.id
    assert bit() is True
    assert _verify(client, document) == {"status": "Its issuer has revoked it."}
    page = client.get(f"/credentials/{credential.id}").data.decode()
    assert '<h2 id="verdict">Not valid</h2>' in page and "Its issuer has revoked it." in page
    assert "Revoked on" in client.get("/admin/credentials").data.decode()
    factories.sign_in(client, learner.email)
    wallet = client.get("/wallet/").data.decode()
    assert "Issued in error: the attempts were shared." in wallet
    assert "Verifiers now say it is not valid" in wallet
    # another institution's admin cannot revoke it (nor see it)
    other = factories.institution(db_session)
    stranger = factories.user(db_session, other, Role.ADMIN)
    factories.sign_in(client, stranger.email)
    assert client.post(url, data={"reason": "x"}).status_code == 404
    assert rule.title not in client.get("/admin/credentials").data.decode()


def test_the_command_line_reads_this_sites_revocation_lists(tmp_path: Path) -> None:
    """`thetapath credentials verify` on the instance that issued it: valid, then revoked."""
    # SQLite on every run: each command builds its own app, and this test is about what it reads
    url = f"sqlite:///{tmp_path / 'revocation.sqlite'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        upgrade(conn)
    engine.dispose()
    config = {"TESTING": True, "SECRET_KEY": "test-secret", "CREDENTIAL_KEY": "k", "DATABASE_URL": url,
              "JOBS_IN_PROCESS": False}
    app = create_app(config)
    app.instance_path = str(tmp_path)
    with app.app_context():
        session = db.session()
        inst = factories.institution(session)
        learner = factories.user(session, inst, Role.LEARNER)
        admin = factories.user(session, inst, Role.ADMIN)
        version = import_pack(session, inst, DEMO, None).version
        rule = next(r for r in content_of(session, version).credentials if r.id == FIRST)
        who = Principal(learner.id, inst.id, Role.LEARNER)
        rng = random.Random(4)
        with app.test_request_context():
            for row in session.scalars(select(ModuleRow).where(ModuleRow.pack_version_id == version.id)):
                if content_of(session, version).module(row.key).competencies[0] in rule.competencies:
                    take_assessment(session, who, row, GRADUATE_ABILITY, rng)
            session.commit()  # a request's transaction holds the write lock until it ends
        while jobs.run_due(sessions(app)):
            pass
        credential = session.scalar(select(Credential).where(Credential.rule == FIRST))
        assert credential is not None
        path = tmp_path / "badge.json"
        path.write_text(json.dumps(credential.document), encoding="utf-8")
        credential_id, admin_id, inst_id = credential.id, admin.id, inst.id
        learner_email, slug = learner.email, inst.slug
    env = {f"THETAPATH_{k}": str(v) for k, v in config.items()}
    runner = CliRunner()
    result = runner.invoke(main, ["credentials", "verify", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "ok   status: Not revoked" in result.output
    with app.app_context():
        status.revoke(db.session(), Principal(admin_id, inst_id, Role.ADMIN), credential_id,
                      "Shared answers.")
    result = runner.invoke(main, ["credentials", "verify", str(path), "--json"], env=env)
    assert result.exit_code == 1
    assert [c["message"] for c in json.loads(result.output)["checks"] if not c["ok"]] == \
        ["Its issuer has revoked it."]
    # an admin exports a learner's credentials, and rotates the institution's key: what the old key
    # signed still verifies (its revocation aside)
    folder = tmp_path / "export"
    result = runner.invoke(main, ["credentials", "export", "--email", learner_email, "--out", str(folder)],
                           env=env)
    assert result.exit_code == 0 and f"{credential_id}  Data reader  (revoked" in result.stdout
    assert json.loads((folder / f"{credential_id}.json").read_text()) == json.loads(path.read_text())
    assert (folder / f"{credential_id}.jwt").read_text().count(".") == 2
    # with the transcript, which leaves the revoked credential out and verifies
    assert f"clr-{slug}  transcript (CLR 2.0)" in result.stdout
    held = json.loads((folder / f"clr-{slug}.json").read_text())["credentialSubject"]["verifiableCredential"]
    assert held and credential_id not in json.dumps(held)
    result = runner.invoke(main, ["credentials", "verify", str(folder / f"clr-{slug}.jwt")], env=env)
    assert result.exit_code == 0, result.output
    assert f"ok   credential {len(held)}:" in result.output
    result = runner.invoke(main, ["credentials", "rotate-key", "--institution", slug], env=env)
    assert result.exit_code == 0 and "now signs with did:key:z6Mk" in result.stdout
    result = runner.invoke(main, ["credentials", "verify", str(path)], env=env)
    assert "ok   signature" in result.output and "FAIL status" in result.output
    result = runner.invoke(main, ["credentials", "export", "--email", "nobody@x.org", "--out", str(folder)],
                           env=env)
    assert result.exit_code == 2 and "no account" in result.output

    # elsewhere (no database of this site), whether it was revoked cannot be told: not valid either
    elsewhere = {"THETAPATH_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite'}",
                 "THETAPATH_SECRET_KEY": "x", "THETAPATH_CREDENTIAL_KEY": "y", "THETAPATH_TESTING": "true"}
    result = runner.invoke(main, ["credentials", "verify", str(path)], env=elsewhere)
    assert result.exit_code == 1 and "cannot be told" in result.output and "ok   signature" in result.output
    app.extensions["thetapath.engine"].dispose()
