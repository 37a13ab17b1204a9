"""Signed embed links, for sites without LTI: an admin makes a link to a module for one learner (an
identifier of the site's own, never an e-mail address), valid until a date, and pastes it, or the
iframe snippet beside it, into the site.

The link carries the institution, the module, the learner's identifier and the expiry, signed with an
HMAC under the app's secret key (:mod:`app.accounts.tokens`, purpose ``embed``). Opening it checks the
signature (a link changed by one character is refused), the expiry and that the module is still the
institution's and published, then signs in the learner's account in the institution (made on the
first visit; the same identifier always opens the same account) and opens the module. Every refusal is
a page that says what is wrong, and writes nothing.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.services import create_passwordless_user
from app.accounts.tokens import TokenExpired, TokenInvalid, make_token, read_token
from app.authz import Principal
from app.db import utcnow
from app.errors import ServiceError
from app.models import EmbedAccount, Membership, ModuleRow, Role, User

PURPOSE = "embed"
MAX_DAYS = 366


class EmbedRefused(ServiceError):
    """An embed link that cannot be opened; the message says why."""

    status = 400


@dataclass(frozen=True)
class EmbedLink:
    """A link as the admin gets it: the URL and an iframe snippet to paste."""

    url: str
    snippet: str
    expires_at: datetime


def make_link(session: Session, who: Principal, module_id: int, learner_ref: str, days: int,
              site: str) -> EmbedLink:
    """A signed link to one of the admin's institution's published modules for ``learner_ref``."""
    learner_ref = learner_ref.strip()
    if not learner_ref or len(learner_ref) > 255:
        msg = "Give the learner's identifier on your site (1 to 255 characters), not their e-mail address."
        raise EmbedRefused(msg)
    if not 1 <= days <= MAX_DAYS:
        msg = f"A link is valid for 1 to {MAX_DAYS} days."
        raise EmbedRefused(msg)
    module = _module(session, who.institution_id, module_id)
    expires = utcnow() + timedelta(days=days)
    token = make_token(PURPOSE, {"i": who.institution_id, "m": module.id, "l": learner_ref,
                                 "e": int(expires.timestamp())})
    url = f"{site}{url_for('lti_embed.open_link', token=token)}"
    snippet = (f'<iframe src="{html.escape(url)}" title="{html.escape(module.title)}" width="100%" '
               'height="800" style="border:0" allow="fullscreen"></iframe>')
    return EmbedLink(url, snippet, expires)


def _module(session: Session, institution_id: int, module_id: int) -> ModuleRow:
    module = session.get(ModuleRow, module_id)
    if module is None or module.pack_version.institution_id != institution_id or \
            module.pack_version.published_at is None:
        msg = "This module is not one of the institution's published modules (any more)."
        raise EmbedRefused(msg)
    return module


def open_link(session: Session, token: str) -> tuple[User, int, str]:
    """Check an embed link and provision its learner (flushed, for the caller's sign-in to commit): the
    user, the institution id and the module's path."""
    try:
        payload = read_token(PURPOSE, token, MAX_DAYS * 86400)
    except (TokenExpired, TokenInvalid):
        msg = ("This embedded link is not valid: it was changed or copied incompletely. Ask the site that "
               "shows it for a new one.")
        raise EmbedRefused(msg) from None
    try:
        institution_id, module_id = int(payload["i"]), int(payload["m"])
        learner_ref, expires = str(payload["l"]), datetime.fromtimestamp(int(payload["e"]), UTC)
    except (KeyError, TypeError, ValueError):
        msg = "This embedded link is not valid: it was not made here."
        raise EmbedRefused(msg) from None
    if expires <= utcnow():
        msg = (f"This embedded link expired on {expires:%Y-%m-%d %H:%M} UTC. Ask the site that shows it for "
               "a new one.")
        raise EmbedRefused(msg, status=410)
    module = _module(session, institution_id, module_id)
    account = session.scalar(select(EmbedAccount).where(EmbedAccount.institution_id == institution_id,
                                                        EmbedAccount.learner_ref == learner_ref))
    if account is None:
        digest = hashlib.sha256(f"{institution_id}\0{learner_ref}".encode()).hexdigest()[:32]
        user = create_passwordless_user(session, name=f"Learner {learner_ref}",
                                        email=f"embed-{digest}@embed.invalid")
        session.add(EmbedAccount(institution_id=institution_id, learner_ref=learner_ref, user_id=user.id))
        session.add(Membership(user_id=user.id, institution_id=institution_id, role=Role.LEARNER))
        session.flush()
    else:
        found = session.get(User, account.user_id)
        assert found is not None  # the account's foreign key
        user = found
    return user, institution_id, url_for("learn.module", module_id=module.id)
