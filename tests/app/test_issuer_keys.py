"""Issuer keys: made once per institution, sealed at rest (the database alone signs nothing), refused
with a clear message under another CREDENTIAL_KEY, and rotated so that old credentials still verify."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.services import create_institution
from app.credentials import keys, proofs
from app.models import IssuerKey
from tests.app import factories

DOCUMENT = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
            "credentialSubject": {"id": "did:example:learner"}}  # signed data; credentials come later


def test_a_key_is_made_once_and_stored_only_sealed(app: Flask, db_session: Session) -> None:
    inst = factories.institution(db_session)
    with app.app_context():
        first = keys.signing_key(db_session, inst.id)
        again = keys.signing_key(db_session, inst.id)
    assert first == again
    assert db_session.scalar(select(func.count()).select_from(IssuerKey)) == 1
    row = db_session.scalar(select(IssuerKey))
    assert row is not None and row.public_key == proofs.multikey(first.public_key)
    assert first.private_key not in row.sealed_private_key  # not in plain text
    assert first.verification_method == proofs.did_key_method(first.public_key)
    signed = proofs.sign(DOCUMENT, first.private_key, first.verification_method, "2026-12-07T00:00:00Z")
    proofs.verify(signed)
    other = factories.institution(db_session)
    with app.app_context():
        assert keys.signing_key(db_session, other.id).public_key != first.public_key  # one per issuer


def test_another_credential_key_cannot_open_the_sealed_key(app: Flask, db_session: Session) -> None:
    inst = factories.institution(db_session)
    with app.app_context():
        keys.signing_key(db_session, inst.id)
        app.config["CREDENTIAL_KEY"] = "not the key it was sealed with"
        with pytest.raises(keys.KeyUnavailable, match="Restore the CREDENTIAL_KEY"):
            keys.signing_key(db_session, inst.id)


def test_rotation_signs_with_a_new_key_and_old_credentials_still_verify(app: Flask,
                                                                       db_session: Session) -> None:
    inst = factories.institution(db_session)
    with app.app_context():
        old = keys.signing_key(db_session, inst.id)
        signed = proofs.sign(DOCUMENT, old.private_key, old.verification_method, "2026-12-07T00:00:00Z")
        new = keys.rotate(db_session, inst.id)
        assert new.public_key != old.public_key
        assert keys.signing_key(db_session, inst.id) == new
        known = keys.known_keys(db_session, inst.id)
    assert set(known) == {old.verification_method, new.verification_method}
    proofs.verify(signed, known)
    rows = list(db_session.scalars(select(IssuerKey).order_by(IssuerKey.id)))
    assert rows[0].retired_at is not None and rows[1].retired_at is None


def test_an_institution_gets_its_signing_key_at_set_up(app: Flask, db_session: Session) -> None:
    with app.app_context():
        inst = create_institution(db_session, slug="set-up-u", name="Set-up University", open_signup=False)
        rows = db_session.scalars(select(IssuerKey).where(IssuerKey.institution_id == inst.id)).all()
        assert len(rows) == 1  # before anything is signed
        key = keys.signing_key(db_session, inst.id)
    assert key.public_key == proofs.public_key_of(rows[0].public_key)
    assert db_session.scalar(select(func.count()).select_from(IssuerKey)
                             .where(IssuerKey.institution_id == inst.id)) == 1
