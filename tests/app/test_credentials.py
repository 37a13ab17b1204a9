"""Issuance end to end: a learner answers through the engine, masters the competencies of a
micro-credential, and the credentials job issues a signed Open Badges 3.0 credential once, with the
measured competency as evidence and nothing from the item bank in it; it validates against 1EdTech's
schema (when ``../shared`` is beside the repository) and passes an independent verifier."""

from __future__ import annotations

import base64
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from markupsafe import escape
from ralph.models.xapi.base.statements import BaseXapiStatement
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.authz import Principal
from app.credentials import keys, proofs, status, vcjwt
from app.credentials.images import unbake
from app.credentials.issuance import request_credentials
from app.credentials.verify import read, verify_credential
from app.demo import GRADUATE, GRADUATE_ABILITY, ensure_demo, seed_graduate, take_assessment
from app.jobs import services as jobs
from app.jobs.workers import sessions
from app.models import (
    AbilityRecord,
    Attempt,
    Credential,
    Job,
    ModuleRow,
    PackVersion,
    Role,
    User,
    XapiStatement,
)
from app.packstore import content_of, import_pack
from tests.app import factories
from tests.app.test_proofs import OB3, _independent_verdict

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"
FIRST = "data-reader"  # its competencies: describing-data, centre-and-spread, reading-charts


def _study(app: Flask, session: Session, who: Principal, version: PackVersion, competencies: set[str],
           theta: float, seed: int, kind: str = "assessment") -> None:
    """Take the assessment (or test-out) of every module of ``competencies`` (at ability ``theta``),
    then run the jobs."""
    pack = content_of(session, version)
    rng = random.Random(seed)
    with app.test_request_context():
        for row in session.scalars(select(ModuleRow).where(ModuleRow.pack_version_id == version.id)
                                   .order_by(ModuleRow.position)):
            if pack.module(row.key).competencies[0] in competencies:
                take_assessment(session, who, row, theta, rng, kind=kind)
    with app.app_context():
        while jobs.run_due(sessions(app)):
            pass


def _bank_words(session: Session, version: PackVersion) -> set[str]:
    """Item ids of the version: none may appear in a credential."""
    return {it.id for it in content_of(session, version).items}


def test_mastering_the_competencies_issues_a_verifiable_credential_once(
        app: Flask, db_session: Session, tmp_path: Path) -> None:
    inst = factories.institution(db_session, name="Credential University")
    learner = factories.user(db_session, inst, Role.LEARNER, email="earner@example.org")
    version = import_pack(db_session, inst, DEMO, None).version
    pack = content_of(db_session, version)
    rule = next(r for r in pack.credentials if r.id == FIRST)
    who = Principal(learner.id, inst.id, Role.LEARNER)

    _study(app, db_session, who, version, set(rule.competencies[:2]), GRADUATE_ABILITY,
           seed=1)
    assert db_session.scalar(select(func.count()).select_from(Credential)) == 0  # not all parts yet
    _study(app, db_session, who, version, set(rule.competencies[2:]), GRADUATE_ABILITY,
           seed=2)
    mastered = {r.competency for r in db_session.scalars(select(AbilityRecord)) if r.mastery == "mastered"}
    assert set(rule.competencies) <= mastered
    issued = {c.rule: c for c in db_session.scalars(select(Credential))}
    assert set(issued) == {FIRST, "chart-spotter"}  # and the badge without credit for reading charts
    assert issued["chart-spotter"].document["credentialSubject"]["achievement"]["tag"] == ["non-credit"]
    credential = issued[FIRST]
    assert (credential.user_id, credential.pack_version_id) == (learner.id, version.id)
    document: dict[str, Any] = credential.document

    # what it says
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["id"] == f"urn:uuid:{credential.id}"
    subject = document["credentialSubject"]
    assert subject["identifier"][0]["hashed"] is True and "earner@" not in json.dumps(document)
    achievement = subject["achievement"]
    assert achievement["name"] == rule.title and achievement["creditsAvailable"] == 1.0
    assert achievement["tag"] == ["ECTS", "EQF 5"]
    assert [a["targetName"] for a in achievement["alignment"]] == \
        [pack.competency(c).title for c in rule.competencies]
    assert len(subject["result"]) == len(rule.competencies)
    evidence = document["evidence"]
    assert [e["name"].split(":")[0] for e in evidence] == \
        [pack.competency(c).title for c in rule.competencies]
    records = {r.competency: r for r in db_session.scalars(select(AbilityRecord).order_by(AbilityRecord.id))}
    first = records[rule.competencies[0]]
    assert f"an estimate of {first.theta:.2f} (standard error {first.se:.2f})" in evidence[0]["narrative"]
    assert f"from {len(first.items)} scored question" in evidence[0]["narrative"]
    text = json.dumps(document)
    assert not {w for w in _bank_words(db_session, version) if f'"{w}"' in text or f" {w} " in text}
    assert '"irt"' not in text and '"correct"' not in text

    # an xAPI statement says it was earned (valid under ralph's independent model)
    [statement] = [x.statement for x in db_session.scalars(select(XapiStatement))
                   if x.statement["verb"]["display"]["en"] == "earned"
                   and x.statement["result"]["response"] == document["id"]]
    BaseXapiStatement(**statement)
    assert statement["object"]["definition"]["name"]["en"] == rule.title

    # signed by the institution's key, as a did:key issuer
    with app.app_context():
        key = keys.signing_key(db_session, inst.id)
    assert document["issuer"]["id"] == proofs.did_key(key.public_key)
    proofs.verify(document)
    assert _independent_verdict(document, tmp_path) == {"verified": True, "error": None}

    # the same credential as a VC-JWT (EdDSA), signed at issuance: its signature checked here with
    # the cryptography package directly, its payload the credential with the registered claims
    assert credential.jwt is not None
    header_b64, payload_b64, signature_b64 = credential.jwt.split(".")
    header, payload = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
                       for part in (header_b64, payload_b64))
    assert header == {"alg": "EdDSA", "kid": key.verification_method, "typ": "JWT"}
    Ed25519PublicKey.from_public_bytes(key.public_key).verify(
        base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4)),
        f"{header_b64}.{payload_b64}".encode())
    assert {k: v for k, v in payload.items() if k not in ("iss", "jti", "nbf")} == \
        {k: v for k, v in document.items() if k != "proof"}
    assert (payload["iss"], payload["jti"]) == (document["issuer"]["id"], document["id"])
    assert verify_credential(read(credential.jwt)).valid is False  # its revocation list is not known here
    assert verify_credential(read(credential.jwt), status=lambda d: False).valid is True

    # asked again (another attempt, a retried job): still one
    with app.app_context():
        request_credentials(db_session, learner.id, version, "again")
        db_session.commit()
        assert jobs.run_due(sessions(app)) == 1
    assert db_session.scalar(select(func.count()).select_from(Credential)) == 2
    job = db_session.scalars(select(Job).where(Job.kind == "credentials").order_by(Job.id.desc())).first()
    assert job is not None and job.result == {"earned": [FIRST, "chart-spotter"], "issued": []}

    # the wallet: the credential in plain words and as a download, for its learner only
    client = app.test_client()
    factories.sign_in(client, learner.email)
    assert 'href="/wallet/">open your wallet</a>' in client.get("/").data.decode()
    page = client.get("/wallet/").data.decode()
    assert rule.title in page and "Chart spotter" in page and "Without academic credit." in page
    assert str(escape(evidence[0]["narrative"])) in page
    download = client.get(f"/wallet/{credential.id}.json")
    assert download.mimetype == "application/ld+json" and download.json == document
    as_jwt = client.get(f"/wallet/{credential.id}.jwt")
    assert as_jwt.mimetype == "application/jwt" and as_jwt.data.decode() == credential.jwt
    for form, media in (("png", "image/png"), ("svg", "image/svg+xml")):
        image = client.get(f"/wallet/{credential.id}.{form}")
        assert image.mimetype == media and json.loads(unbake(image.data) or "{}") == document
    assert "in your wallet" in client.get(f"/learn/packs/{version.id}/standing").data.decode()
    exported = client.get("/account/export.json").json  # the learner's own data includes them
    assert exported is not None
    assert {c["name"]: c["credential"] for c in exported["credentials"]}[rule.title] == document
    other = factories.user(db_session, inst, Role.LEARNER)
    factories.sign_in(client, other.email)
    assert client.get(f"/wallet/{credential.id}.json").status_code == 404
    assert rule.title not in client.get("/wallet/").data.decode()

    if OB3.is_dir():
        jsonschema = pytest.importorskip("jsonschema")
        schema = json.loads((OB3 / "schemas" / "ob_v3p0_achievementcredential_schema.json").read_text())
        jsonschema.Draft201909Validator(schema).validate(document)


def test_with_a_public_https_address_the_issuer_is_a_did_web_its_document_served_here(
        app: Flask, db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "BASE_URL", "https://learn.example.edu")
    inst = factories.institution(db_session)
    learner = factories.user(db_session, inst, Role.LEARNER)
    version = import_pack(db_session, inst, DEMO, None).version
    rule = next(r for r in content_of(db_session, version).credentials if r.id == FIRST)
    _study(app, db_session, Principal(learner.id, inst.id, Role.LEARNER), version, set(rule.competencies),
           GRADUATE_ABILITY, seed=7)
    credential = db_session.scalar(select(Credential).where(Credential.rule == FIRST))
    assert credential is not None
    document = credential.document
    did = f"did:web:learn.example.edu:issuers:{inst.slug}"
    assert document["issuer"]["id"] == did
    assert document["id"] == f"https://learn.example.edu/credentials/{credential.id}"
    method = document["proof"][0]["verificationMethod"]
    assert method.startswith(did + "#z6Mk")

    # its DID document, where a resolver finds https://learn.example.edu/issuers/<slug>/did.json
    client = app.test_client()
    served = client.get(f"/issuers/{inst.slug}/did.json")
    assert served.status_code == 200 and served.mimetype == "application/did+json"
    did_document = served.json
    assert did_document is not None and did_document["id"] == did
    assert did_document["assertionMethod"] == [method]
    assert _independent_verdict(document, tmp_path, {did: did_document}) == {"verified": True, "error": None}
    assert _independent_verdict(document, tmp_path)["verified"] is False  # not resolvable offline
    verdict = client.post("/verify", json=document, headers={"Accept": "application/json"}).json
    assert verdict is not None and verdict["valid"] is True, verdict  # this site knows its own did:web
    assert verify_credential(read(json.dumps(document)), status=lambda d: False).checks[1].message == (
        f"The signature does not hold: its key {method!r} is not a did:key nor one of this site's "
        "issuers, and keys are never fetched from elsewhere.")

    # a rotation: both keys in the document, the old credential still valid
    with app.app_context():
        new = keys.rotate(db_session, inst.id)
    assert new.did == did
    rotated = client.get(f"/issuers/{inst.slug}/did.json").json
    assert rotated is not None and rotated["assertionMethod"] == [new.verification_method, method]
    again = client.post("/verify", json=document, headers={"Accept": "application/json"}).json
    assert again is not None and again["valid"] is True

    # without a public https address, no did:web is served (issuers are did:key)
    monkeypatch.setitem(app.config, "BASE_URL", "http://localhost:5000")
    assert client.get(f"/issuers/{inst.slug}/did.json").status_code == 404
    assert client.get("/issuers/nobody/did.json").status_code == 404


def test_a_learner_who_does_not_master_earns_nothing(app: Flask, db_session: Session) -> None:
    inst = factories.institution(db_session)
    learner = factories.user(db_session, inst, Role.LEARNER)
    version = import_pack(db_session, inst, DEMO, None).version
    rule = next(r for r in content_of(db_session, version).credentials if r.id == FIRST)
    _study(app, db_session, Principal(learner.id, inst.id, Role.LEARNER), version, set(rule.competencies),
           -3.0, seed=3)
    assert db_session.scalar(select(func.count()).select_from(Credential)) == 0
    assert not any(r.mastery == "mastered" for r in db_session.scalars(select(AbilityRecord)))


def test_a_rule_with_an_se_bound_waits_for_evidence_that_precise(
        app: Flask, db_session: Session, tmp_path: Path) -> None:
    pack_dir = tmp_path / "pack"
    shutil.copytree(DEMO, pack_dir)
    pack_yaml = pack_dir / "pack.yaml"
    criteria = "      competencies: [describing-data, centre-and-spread, reading-charts]\n"
    assert criteria in pack_yaml.read_text()
    pack_yaml.write_text(pack_yaml.read_text().replace(criteria, criteria + "      max_se: 0.05\n"))
    inst = factories.institution(db_session)
    learner = factories.user(db_session, inst, Role.LEARNER)
    version = import_pack(db_session, inst, pack_dir, None).version
    rule = next(r for r in content_of(db_session, version).credentials if r.id == FIRST)
    assert rule.max_se == 0.05
    _study(app, db_session, Principal(learner.id, inst.id, Role.LEARNER), version, set(rule.competencies),
           GRADUATE_ABILITY, seed=4)
    decisions = {r.competency: r for r in db_session.scalars(select(AbilityRecord))}
    assert all(decisions[c].mastery == "mastered" and decisions[c].se > 0.05 for c in rule.competencies)
    assert FIRST not in {c.rule for c in db_session.scalars(select(Credential))}
    client = app.test_client()
    factories.sign_in(client, learner.email)
    page = client.get(f"/learn/packs/{version.id}/standing").data.decode()
    assert "mastered, but not measured precisely enough for this credential yet" in page


def test_the_demo_graduate_has_earned_the_first_credential_through_the_engine(
        app: Flask, db_session: Session) -> None:
    with app.app_context():
        inst, _accounts = ensure_demo(db_session)
        assert seed_graduate(db_session, inst) is True
        assert seed_graduate(db_session, inst) is False  # only once
        while jobs.run_due(sessions(app)):
            pass
    graduate = db_session.scalar(select(User).where(User.email == GRADUATE.email))
    assert graduate is not None
    earned = {c.rule for c in db_session.scalars(select(Credential).where(Credential.user_id == graduate.id))}
    assert FIRST in earned
    attempts = db_session.scalar(select(func.count()).select_from(Attempt)
                                 .where(Attempt.user_id == graduate.id))
    assert attempts == 3  # one assessment per competency of the credential, answered item by item


def test_earning_both_parts_and_the_capstone_issues_the_stacked_credential(
        app: Flask, db_session: Session, tmp_path: Path) -> None:
    inst = factories.institution(db_session)
    learner = factories.user(db_session, inst, Role.LEARNER)
    version = import_pack(db_session, inst, DEMO, None).version
    pack = content_of(db_session, version)
    stack = next(r for r in pack.credentials if r.credentials)  # data-literacy-certificate
    who = Principal(learner.id, inst.id, Role.LEARNER)
    parts = {p: next(r for r in pack.credentials if r.id == p) for p in stack.credentials}
    _study(app, db_session, who, version, set(parts[stack.credentials[0]].competencies), GRADUATE_ABILITY,
           seed=5)
    assert stack.id not in {c.rule for c in db_session.scalars(select(Credential))}  # one part only
    rest = {c for p in stack.credentials[1:] for c in parts[p].competencies} | set(stack.competencies)
    _study(app, db_session, who, version, rest, GRADUATE_ABILITY, seed=6)
    issued = {c.rule: c for c in db_session.scalars(select(Credential))}
    assert set(stack.credentials) | {stack.id} <= set(issued)
    document = issued[stack.id].document
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["creditsAvailable"] == 2.0
    assert [r["type"] for r in achievement["related"]] == [["Related"]] * len(stack.credentials)
    part_ids = {issued[p].document["id"] for p in stack.credentials}
    assert part_ids <= {e.get("id") for e in document["evidence"]}  # the parts, by their credentials' ids
    assert _independent_verdict(document, tmp_path)["verified"] is True
    if OB3.is_dir():
        jsonschema = pytest.importorskip("jsonschema")
        schema = json.loads((OB3 / "schemas" / "ob_v3p0_achievementcredential_schema.json").read_text())
        jsonschema.Draft201909Validator(schema).validate(document)

    # the learner's transcript (CLR 2.0): every credential, the parts linked to the stack
    client = app.test_client()
    factories.sign_in(client, learner.email)
    assert 'href="/wallet/transcript.jwt"' in client.get("/wallet/").data.decode()
    clr = client.get("/wallet/transcript.json")
    assert clr.mimetype == "application/ld+json" and clr.json is not None
    assert clr.json["type"] == ["VerifiableCredential", "ClrCredential"]
    assert clr.json["issuer"]["id"] == document["issuer"]["id"]
    held = clr.json["credentialSubject"]["verifiableCredential"]
    assert sorted(json.dumps(c, sort_keys=True) for c in held) == \
        sorted(json.dumps(c.document, sort_keys=True) for c in issued.values())
    stack_achievement = achievement["id"]
    assert {(a["associationType"], a["targetId"]) for a in clr.json["credentialSubject"]["association"]} \
        == {("isPartOf", stack_achievement)}
    assert {a["sourceId"] for a in clr.json["credentialSubject"]["association"]} == \
        {issued[p].document["credentialSubject"]["achievement"]["id"] for p in stack.credentials}
    token = client.get("/wallet/transcript.jwt").data.decode()
    verdict = client.post("/verify", data=token, content_type="application/json",
                          headers={"Accept": "application/json"}).json
    assert verdict is not None and verdict["valid"] is True, verdict
    assert [c["check"] for c in verdict["checks"]][4:] == [f"credential {n}" for n in range(1, len(held) + 1)]
    independent = _independent_verdict(token, tmp_path)
    assert independent["verified"] is True and independent["held"] == [True] * len(held)
    as_json = client.post("/verify", json=clr.json, headers={"Accept": "application/json"}).json
    assert as_json is not None and as_json["valid"] is False
    assert "carries no proof of its own: verify its VC-JWT" in as_json["checks"][1]["message"]

    # a transcript holding a changed credential: its own signature holds, that credential fails
    with app.app_context():
        key = keys.signing_key(db_session, inst.id)
    changed = json.loads(json.dumps(clr.json))
    changed["credentialSubject"]["verifiableCredential"][0]["name"] += "!"
    forged = vcjwt.encode(changed, key.private_key, key.verification_method)
    checks = verify_credential(read(forged), status=lambda d: False).checks
    assert [(c.check, c.ok) for c in checks if not c.ok] == [("credential 1", False)]
    assert "The signature does not hold" in next(c.message for c in checks if not c.ok)
    assert _independent_verdict(forged, tmp_path)["held"][0] is False

    # a revoked part: left out of new transcripts; an older transcript says it is revoked
    admin = factories.user(db_session, inst, Role.ADMIN)
    revoked = issued[stack.credentials[0]]
    status.revoke(db_session, Principal(admin.id, inst.id, Role.ADMIN), revoked.id, "Issued in error.")
    again = client.get("/wallet/transcript.json").json
    assert again is not None and revoked.document["id"] not in \
        {c["id"] for c in again["credentialSubject"]["verifiableCredential"]}
    old = client.post("/verify", data=token, content_type="application/json",
                      headers={"Accept": "application/json"}).json
    assert old is not None and old["valid"] is False
    assert [c["message"] for c in old["checks"] if not c["ok"]] == \
        [f"{revoked.document['name']}: not valid. Its issuer has revoked it."]


def test_a_passed_test_out_counts_with_its_evidence(app: Flask, db_session: Session) -> None:
    """Recognition of prior learning: testing out of the modules earns the credential too, and its
    evidence says how it was measured."""
    inst = factories.institution(db_session)
    learner = factories.user(db_session, inst, Role.LEARNER)
    version = import_pack(db_session, inst, DEMO, None).version
    rule = next(r for r in content_of(db_session, version).credentials if r.id == FIRST)
    _study(app, db_session, Principal(learner.id, inst.id, Role.LEARNER), version, set(rule.competencies),
           GRADUATE_ABILITY, seed=7, kind="testout")
    credential = db_session.scalar(select(Credential).where(Credential.rule == FIRST))
    assert credential is not None
    narratives = [e["narrative"] for e in credential.document["evidence"]]
    assert len(narratives) == 3 and all("measured by a test-out (prior learning)" in n for n in narratives)
