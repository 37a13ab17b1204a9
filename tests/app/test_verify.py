"""Verifying credentials offline: every check in plain words, hostile input refused without a fetch
or a traceback, the command line's exit codes, and 1EdTech's validator samples (when ``../shared`` is
beside the repository) judged as 1EdTech judges them."""

from __future__ import annotations

import base64
import copy
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient

from app.cli import main
from app.credentials import proofs, vcjwt
from app.credentials.images import badge_png, badge_svg, unbake
from app.credentials.verify import MAX_BYTES, Unreadable, read, verify_credential
from tests.app.test_proofs import CREDENTIAL, OB3, _issued_by, _key

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _signed(**changes: Any) -> dict[str, Any]:
    private, public = _key(21)
    return proofs.sign({**_issued_by(public), **changes}, private, proofs.did_key_method(public),
                       "2026-12-07T10:00:00Z")


def _failed(document: dict[str, Any]) -> dict[str, str]:
    return {c.check: c.message for c in verify_credential(document, now=NOW).checks if not c.ok}


def test_a_good_credential_passes_every_check_and_each_fault_fails_its_own() -> None:
    verdict = verify_credential(_signed(), now=NOW)
    assert verdict.valid
    assert [c.check for c in verdict.checks] == ["format", "signature", "validity", "status"]
    assert "Signed by its issuer, Demo University (did:key:z6Mk" in verdict.checks[1].message
    assert verdict.to_json()["valid"] is True
    tampered = _signed()
    tampered["name"] = "Describing dat4"
    assert set(_failed(tampered)) == {"signature"}
    assert "changed after it was signed" in _failed(tampered)["signature"]
    assert _failed(_signed(validUntil="2026-12-01T00:00:00Z")) == {
        "validity": "It has expired: valid until 2026-12-01."}
    assert _failed(_signed(validFrom="2027-01-01T00:00:00Z")) == {
        "validity": "It is not valid yet: valid from 2027-01-01."}
    private, public = _key(22)  # a good signature, but not by the issuer's key
    impostor = proofs.sign(_issued_by(_key(21)[1]), private, proofs.did_key_method(public),
                           "2026-12-07T10:00:00Z")
    assert "not of its issuer" in _failed(impostor)["signature"]
    not_a_badge = _signed(type=["VerifiableCredential"])
    assert set(_failed(not_a_badge)) == {"format", "signature"}
    assert "OpenBadgeCredential" in _failed(not_a_badge)["format"]
    revocable = _signed(credentialStatus={"id": "https://x.example/status#1",
                                          "type": "BitstringStatusListEntry"})
    assert "cannot be told" in _failed(revocable)["status"]
    remote = copy.deepcopy(_signed())
    remote["@context"].append("https://attacker.example/context.json")
    assert "never fetched" in _failed(remote)["signature"]


@pytest.mark.parametrize(("data", "says"), [
    (b"\x00\xff garbage", "not UTF-8"),
    (b"not json at all", "not JSON"),
    (b"[1, 2]", "not an object"),
    (b" " + b"[" * 100_000 + b"]" * 100_000, "nested more than 64"),
    (b'{"a":' * 70 + b"1" + b"}" * 70, "nested more than 64"),
    (b'{"pad": "' + b"x" * (MAX_BYTES + 10) + b'"}', "larger than 1,000,000 bytes"),
])
def test_hostile_input_is_unreadable_with_a_reason(data: bytes, says: str) -> None:
    with pytest.raises(Unreadable, match=says):
        read(data)


def test_the_command_line_answers_with_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner(env={"THETAPATH_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite'}",
                            "THETAPATH_SECRET_KEY": "x", "THETAPATH_CREDENTIAL_KEY": "y",
                            "THETAPATH_TESTING": "true"})
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_signed()), encoding="utf-8")
    result = runner.invoke(main, ["credentials", "verify", str(good)])
    assert result.exit_code == 0 and "VALID" in result.output and "ok   signature" in result.output
    result = runner.invoke(main, ["credentials", "verify", str(good), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["valid"] is True
    bad = tmp_path / "bad.json"
    tampered = _signed()
    tampered["credentialSubject"]["achievement"]["name"] = "Describing datA"
    bad.write_text(json.dumps(tampered), encoding="utf-8")
    result = runner.invoke(main, ["credentials", "verify", str(bad)])
    assert result.exit_code == 1 and "NOT VALID" in result.output and "FAIL signature" in result.output
    junk = tmp_path / "junk.json"
    junk.write_text("{", encoding="utf-8")
    result = runner.invoke(main, ["credentials", "verify", str(junk)])
    assert result.exit_code == 2 and "not a credential: it is not JSON" in result.output
    result = runner.invoke(main, ["credentials", "verify", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "cannot be read" in result.output
    result = runner.invoke(main, ["credentials", "verify", "-"], input=json.dumps(_signed()))
    assert result.exit_code == 0
    token = tmp_path / "badge.jwt"
    token.write_text(_jwt(), encoding="utf-8")
    result = runner.invoke(main, ["credentials", "verify", str(token)])
    assert result.exit_code == 0 and "as a VC-JWT" in result.output


def _expected() -> list[tuple[str, bool]]:
    if not OB3.is_dir():
        return []
    rows = json.loads((OB3 / "validator-samples" / "EXPECTED.json").read_text(encoding="utf-8"))
    out = []
    for name, row in rows.items():
        if not isinstance(row, dict) or not name.endswith(".json") or "1edtech" not in row:
            continue
        said = row["1edtech"]
        if said in ("valid",) or said.startswith("invalid"):
            out.append((name, said == "valid"))
    return out


@pytest.mark.skipif(not OB3.is_dir(), reason="../shared/fixtures/ob3 is not beside the repository")
@pytest.mark.parametrize(("name", "valid"), _expected())
def test_1edtech_validator_samples_get_1edtechs_verdict(name: str, valid: bool) -> None:
    """Their proofs name the test-vector key by URL: we are told that key (never fetched)."""
    vector = json.loads((OB3 / "test-vectors" / "obv3p0-eddsa-rdfc-2022.json").read_text(encoding="utf-8"))
    public = bytes.fromhex(vector["keyPair"]["publicKeyHex"])
    credential = read((OB3 / "validator-samples" / name).read_bytes())
    assert isinstance(credential, dict)
    proof = credential.get("proof")
    listed = proof if isinstance(proof, list) else [proof]
    known = {p["verificationMethod"]: public for p in listed
             if isinstance(p, dict) and str(p.get("verificationMethod", "")).startswith("https://")}
    verdict = verify_credential(credential, known, now=NOW)
    assert verdict.valid is valid, [c for c in verdict.checks if not c.ok]


def test_a_did_key_signature_for_another_issuer_is_refused() -> None:
    """1EdTech's ``simple-did-key-method.json`` is the one sample judged otherwise here, on purpose: its
    issuer is a ``urn:uuid`` while a ``did:key`` signs it, and nothing binds that key to the issuer,
    so anyone could sign such a credential in anyone's name (Digital Bazaar's verifier refuses it too)."""
    private, public = _key(23)
    urn = "urn:uuid:6f2e33e5-7a29-4155-840a-59483ba10164"
    claimed = {**CREDENTIAL, "issuer": {**CREDENTIAL["issuer"], "id": urn}}
    signed = proofs.sign(claimed, private, proofs.did_key_method(public), "2026-12-07T10:00:00Z")
    assert "not of its issuer" in _failed(signed)["signature"]


def test_the_public_verifier_answers_pages_and_json_without_an_account(client: FlaskClient) -> None:
    assert "Paste an Open Badges 3.0 credential" in client.get("/verify").data.decode()
    good = json.dumps(_signed())
    page = client.post("/verify", data={"credential": good}).data.decode()
    assert "<h2 id=\"verdict\">Valid: Describing data</h2>" in page and "Failed" not in page
    upload = client.post("/verify", data={"file": (io.BytesIO(good.encode()), "badge.json")},
                         content_type="multipart/form-data").data.decode()
    assert "Valid: Describing data" in upload
    answer = client.post("/verify", data=good, content_type="application/json")
    assert answer.status_code == 200 and answer.json is not None and answer.json["valid"] is True
    assert {c["check"] for c in answer.json["checks"]} == {"format", "signature", "validity", "status"}
    tampered = _signed()
    tampered["name"] = "Describing dat4"
    answer = client.post("/verify", json=tampered)
    assert answer.json is not None and answer.json["valid"] is False
    assert [c["check"] for c in answer.json["checks"] if not c["ok"]] == ["signature"]
    for junk, says in ((b"{", "not JSON"), (b"x" * (MAX_BYTES + 1), "larger than")):
        answer = client.post("/verify", data=junk, content_type="application/json")
        assert answer.status_code == 422 and answer.json is not None
        assert says in answer.json["checks"][0]["message"]
    page = client.post("/verify", data={"credential": "[" * 100_000}).data.decode()
    assert "Not a credential: it is nested more than 64 levels deep." in page


def _jwt(**changes: Any) -> str:
    private, public = _key(21)
    return vcjwt.encode({**_issued_by(public), **changes}, private, proofs.did_key_method(public))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_vc_jwt_is_verified_and_forged_or_unsafe_tokens_are_refused() -> None:
    token = _jwt()
    verdict = verify_credential(read(token), now=NOW)
    assert verdict.valid and "as a VC-JWT (EdDSA)" in verdict.checks[1].message
    assert verdict.credential["name"] == "Describing data"
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    changed = f"{header}.{_b64({**claims, 'name': 'Describing datA'})}.{signature}"
    assert "does not match its content" in verify_credential(read(changed), now=NOW).checks[0].message
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    assert "only EdDSA is accepted" in verify_credential(read(unsigned), now=NOW).checks[0].message
    hs256 = f"{_b64({'alg': 'HS256', 'kid': json.loads(base64.urlsafe_b64decode(header + '=='))['kid']})}" \
        f".{payload}.{signature}"
    assert "only EdDSA is accepted" in verify_credential(read(hs256), now=NOW).checks[0].message
    private, public = _key(21)
    body = {**_issued_by(public)}
    forged_claims = jwt.encode({**body, "iss": proofs.did_key(public), "jti": "urn:uuid:other", "nbf": 0},
                               Ed25519PrivateKey.from_private_bytes(private), algorithm="EdDSA",
                               headers={"kid": proofs.did_key_method(public)})
    assert "claims disagree" in verify_credential(read(forged_claims), now=NOW).checks[0].message
    expired = verify_credential(read(_jwt(validUntil="2026-12-01T00:00:00Z")), now=NOW)
    assert [c.check for c in expired.checks if not c.ok] == ["validity"]


def test_badge_images_carry_their_credential_and_the_verifier_reads_it_back() -> None:
    signed = _signed()
    svg = badge_svg(signed).encode()
    png = badge_png(signed)
    assert png.startswith(b"\x89PNG") and b"iTXt" in png and b"openbadgecredential" in png
    assert b'<openbadges:credential><![CDATA[{' in svg
    for image in (svg, png):
        baked = unbake(image)
        assert baked is not None and json.loads(baked) == signed
        assert verify_credential(read(image), now=NOW).valid
    # a hostile SVG (an entity bomb) is refused without expanding anything, and an image without a
    # credential is said to be one
    bomb = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg">&b;</svg>')
    for image in (bomb, b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'):
        with pytest.raises(Unreadable, match="image without a credential"):
            read(image)
    # a changed character in the baked credential fails its signature
    tampered = svg.replace(b'"name": "Describing data"', b'"name": "Describing datA"')
    assert tampered != svg
    assert "changed after it was signed" in _failed(json.loads(unbake(tampered) or "{}"))["signature"]
