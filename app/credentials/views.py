"""The learner's wallet (their credentials, each in plain words and as a download); what the issuer
publishes (the verifier at ``/verify``, which anyone can use without an account, and the revocation
lists); and the admin's list of issued credentials, where they revoke one with a reason."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.authz import principal, roles_required, scoped
from app.credentials.clr import transcript
from app.credentials.images import badge_png, badge_svg
from app.credentials.issuance import credentials_of, issued_credentials
from app.credentials.keys import did_web_document, known_keys
from app.credentials.status import revoke, revoked_here, status_list_credential
from app.credentials.verify import MAX_BYTES, Unreadable, Verdict, read, unreadable, verify_credential
from app.errors import NotFound
from app.extensions import csrf
from app.models import Credential, Institution, Role, User
from app.web.htmx import render

bp = Blueprint("credentials", __name__, url_prefix="/wallet", template_folder="templates")
issuer = Blueprint("issuer", __name__, template_folder="templates")


@bp.route("/")
@login_required
def wallet() -> ResponseReturnValue:
    """Every credential the learner has earned, with its evidence in plain words."""
    who = principal()
    credentials = [c for c in credentials_of(db.session(), who.user_id)
                   if c.institution_id == who.institution_id]
    return render("credentials/wallet.html", credentials=credentials)


@bp.route("/transcript.<any(json, jwt):form>")
@login_required
def transcript_download(form: str) -> ResponseReturnValue:
    """The learner's CLR 2.0 transcript from the current institution, signed now: the VC-JWT, or the
    same credential as JSON (whose credentials carry their own proofs)."""
    who = principal()
    session = db.session()
    user, institution = session.get(User, who.user_id), session.get(Institution, who.institution_id)
    assert user is not None and institution is not None  # the signed-in principal's own rows
    made = transcript(session, user, institution)
    if made is None:
        msg = "There is no transcript yet: it lists your credentials, and none has been issued to you here."
        raise NotFound(msg)
    document, token = made
    headers = {"Content-Disposition": f'attachment; filename="transcript-{institution.slug}.{form}"'}
    if form == "jwt":
        return Response(token, mimetype="application/jwt", headers=headers)
    return Response(json.dumps(document, indent=2, ensure_ascii=False), mimetype="application/ld+json",
                    headers=headers)


@bp.route("/<credential_id>.<any(json, jwt, svg, png):form>")
@login_required
def download(credential_id: str, form: str) -> ResponseReturnValue:
    """The signed credential, exactly as issued: Open Badges 3.0 JSON-LD, the same as a VC-JWT, or a
    badge image (SVG or PNG) with the credential baked in."""
    return _download(scoped(db.session(), Credential, credential_id, principal(), own=True), form)


def _download(credential: Credential, form: str) -> Response:
    filename = f"{credential.rule}-{credential.id}.{form}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if form == "jwt":
        if credential.jwt is None:
            msg = "This credential was issued before credentials had a JWT form."
            raise NotFound(msg)
        return Response(credential.jwt, mimetype="application/jwt", headers=headers)
    if form == "svg":
        return Response(badge_svg(credential.document), mimetype="image/svg+xml", headers=headers)
    if form == "png":
        return Response(badge_png(credential.document), mimetype="image/png", headers=headers)
    return Response(json.dumps(credential.document, indent=2, ensure_ascii=False),
                    mimetype="application/ld+json", headers=headers)


def _verify_here(session: Session, presented: dict[str, Any] | str) -> Verdict:
    """Every check, with this site's issuers' keys and revocation lists."""
    return verify_credential(presented, known_keys(session),
                             status=lambda document: revoked_here(session, document))


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


@issuer.route("/verify", methods=["GET", "POST"])
@csrf.exempt  # it changes nothing, and verifiers post JSON from elsewhere without a form
def verify() -> ResponseReturnValue:
    """Check a credential (pasted, uploaded, or posted as JSON): format, signature, validity, status."""
    if request.method == "GET":
        return render("credentials/verify.html", verdict=None, problem=None, max_bytes=MAX_BYTES)
    if request.is_json:
        data = request.get_data(cache=False)
    else:
        upload = request.files.get("file")
        data = upload.read(MAX_BYTES + 1) if upload and upload.filename else \
            request.form.get("credential", "").encode()
    try:
        session = db.session()
        verdict = _verify_here(session, read(data))
    except Unreadable as err:
        body = unreadable(err)
        if _wants_json():
            return Response(json.dumps(body), status=422, mimetype="application/json")
        return render("credentials/verify.html", verdict=None, problem=body["checks"][0]["message"],
                      max_bytes=MAX_BYTES), 422
    if _wants_json():
        return Response(json.dumps(verdict.to_json(), ensure_ascii=False), mimetype="application/json")
    return render("credentials/verify.html", verdict=verdict, problem=None, max_bytes=MAX_BYTES)


@issuer.route("/credentials/status/<slug>")
def status_list(slug: str) -> ResponseReturnValue:
    """An institution's revocation list, a signed BitstringStatusListCredential (public)."""
    session = db.session()
    institution = session.scalar(select(Institution).where(Institution.slug == slug))
    if institution is None:
        msg = "There is no such revocation list."
        raise NotFound(msg)
    return Response(json.dumps(status_list_credential(session, institution)),
                    mimetype="application/vc+ld+json", headers={"Cache-Control": "no-cache"})


@issuer.route("/issuers/<slug>/did.json")
def did_json(slug: str) -> ResponseReturnValue:
    """An institution's DID document (public), where its ``did:web`` resolves: its signing keys."""
    session = db.session()
    institution = session.scalar(select(Institution).where(Institution.slug == slug))
    document = did_web_document(session, institution) if institution is not None else None
    if document is None:
        msg = ("There is no such issuer here. (Issuers are named by did:web only when the site has a "
               "public https address, BASE_URL; otherwise by did:key, which needs no document.)")
        raise NotFound(msg)
    return Response(json.dumps(document), mimetype="application/did+json",
                    headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=300"})


@issuer.route("/admin/credentials")
@roles_required(Role.ADMIN)
def issued() -> ResponseReturnValue:
    """Every credential the admin's institution has issued, newest first, each revocable."""
    return render("credentials/issued.html", rows=issued_credentials(db.session(), principal()))


@issuer.route("/admin/credentials/<credential_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def revoke_credential(credential_id: str) -> ResponseReturnValue:
    """Revoke a credential, with the reason the learner will read."""
    credential = revoke(db.session(), principal(), credential_id, request.form.get("reason", ""))
    flash(f"{credential.document.get('name', 'The credential')} is revoked: verifiers now say so.", "info")
    return redirect(url_for("issuer.issued"), code=303)


@issuer.route("/credentials/<credential_id>")
def credential_page(credential_id: str) -> ResponseReturnValue:
    """A credential's public page (its share link), verified as it is shown; with ``Accept:
    application/ld+json`` (or ``application/json``), the credential itself."""
    session = db.session()
    credential = _public(session, credential_id)
    best = request.accept_mimetypes.best_match(["text/html", "application/ld+json", "application/json"])
    if best in ("application/ld+json", "application/json"):
        return Response(json.dumps(credential.document, ensure_ascii=False), mimetype=best)
    verdict = _verify_here(session, credential.document)
    return render("credentials/credential.html", credential=credential, verdict=verdict)


@issuer.route("/credentials/<credential_id>.<any(json, jwt, svg, png):form>")
def credential_json(credential_id: str, form: str) -> ResponseReturnValue:
    """The credential itself, to download from its public page (JSON-LD, or the VC-JWT)."""
    return _download(_public(db.session(), credential_id), form)


def _public(session: Session, credential_id: str) -> Credential:
    """A credential by its id, for anyone who has its link (NotFound if there is none)."""
    credential = session.get(Credential, credential_id)
    if credential is None:
        msg = "There is no such credential here."
        raise NotFound(msg)
    return credential
