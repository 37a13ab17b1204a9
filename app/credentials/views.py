"""The learner's wallet (their credentials, each in plain words and as a download) and the public
verifier at ``/verify``, which anyone can use without an account."""

from __future__ import annotations

import json

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from app import db
from app.authz import principal, scoped
from app.credentials.issuance import credentials_of
from app.credentials.keys import known_keys
from app.credentials.verify import MAX_BYTES, Unreadable, read, unreadable, verify_credential
from app.extensions import csrf
from app.models import Credential
from app.web.htmx import render

bp = Blueprint("credentials", __name__, url_prefix="/wallet", template_folder="templates")
public = Blueprint("verify", __name__, template_folder="templates")


@bp.route("/")
@login_required
def wallet() -> ResponseReturnValue:
    """Every credential the learner has earned, with its evidence in plain words."""
    who = principal()
    credentials = [c for c in credentials_of(db.session(), who.user_id)
                   if c.institution_id == who.institution_id]
    return render("credentials/wallet.html", credentials=credentials)


@bp.route("/<credential_id>.json")
@login_required
def download(credential_id: str) -> ResponseReturnValue:
    """The signed credential, exactly as issued (Open Badges 3.0, JSON-LD)."""
    credential = scoped(db.session(), Credential, credential_id, principal(), own=True)
    filename = f"{credential.rule}-{credential.id}.json"
    return Response(json.dumps(credential.document, indent=2, ensure_ascii=False),
                    mimetype="application/ld+json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


@public.route("/verify", methods=["GET", "POST"])
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
        verdict = verify_credential(read(data), known_keys(db.session()))
    except Unreadable as err:
        body = unreadable(err)
        if _wants_json():
            return Response(json.dumps(body), status=422, mimetype="application/json")
        return render("credentials/verify.html", verdict=None, problem=body["checks"][0]["message"],
                      max_bytes=MAX_BYTES), 422
    if _wants_json():
        return Response(json.dumps(verdict.to_json(), ensure_ascii=False), mimetype="application/json")
    return render("credentials/verify.html", verdict=verdict, problem=None, max_bytes=MAX_BYTES)
