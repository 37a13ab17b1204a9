"""Small builders for test data, going through the same services the app uses."""

from __future__ import annotations

import itertools

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.services import create_user
from app.models import Institution, Role, User

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def institution(session: Session, *, open_signup: bool = True, name: str | None = None) -> Institution:
    n = next(_seq)
    inst = Institution(slug=f"inst-{n}", name=name or f"Institution {n}", open_signup=open_signup)
    session.add(inst)
    session.flush()
    return inst


def user(session: Session, inst: Institution, role: Role = Role.LEARNER, *,
         email: str | None = None) -> User:
    n = next(_seq)
    u = create_user(session, name=f"User {n}", email=email or f"user{n}@example.org",
                    password=PASSWORD, institution=inst, role=role)
    session.commit()
    return u


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    """Sign out whoever is signed in on ``client``, then sign in as ``email`` through the form."""
    client.post("/logout")
    r = client.post("/login", data={"email": email, "password": password})
    assert r.status_code in (302, 303), r.data[:300]
