"""Members and roles: an admin adds people by e-mail or invites them by link, changes roles and
removes members, never leaving the institution without an admin; a person in several institutions
switches between them, and every page shows where they are."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Invitation, Membership, Role, User
from tests.app import factories
from tests.app.test_accounts import _link
from tests.mailbox import Mailbox


def _role(db_session: Session, user: User, institution_id: int) -> Role | None:
    db_session.expire_all()
    return db_session.scalar(select(Membership.role).where(
        Membership.user_id == user.id, Membership.institution_id == institution_id))


def test_an_admin_adds_changes_and_removes_members(client: FlaskClient, db_session: Session,
                                                   mailbox: Mailbox) -> None:
    inst = factories.institution(db_session, open_signup=False, name="Closed College")
    admin = factories.user(db_session, inst, Role.ADMIN, email="admin@college.example.org")
    elsewhere = factories.user(db_session, factories.institution(db_session), Role.LEARNER,
                               email="elsewhere@example.org")
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    factories.sign_in(client, instructor.email)
    assert client.get("/admin/members").status_code == 403
    assert b"/admin/members" not in client.get("/").data  # no link for non-admins

    factories.sign_in(client, admin.email)
    home = client.get("/").data.decode()
    assert 'href="/admin/members"' in home and "Closed College" in home  # where they are, on every page
    page = client.get("/admin/members").data.decode()
    assert "admin@college.example.org" in page and instructor.email in page

    # someone with an account elsewhere is added at once, and told
    r = client.post("/admin/members/add", data={"email": " Elsewhere@Example.org ", "role": "instructor"})
    assert r.status_code == 303
    assert _role(db_session, elsewhere, inst.id) is Role.INSTRUCTOR
    assert _role(db_session, elsewhere, elsewhere.memberships[0].institution_id) is Role.LEARNER
    mail = mailbox.last("elsewhere@example.org")
    assert "Closed College" in mail.subject and "instructor" in mail.body
    again = client.post("/admin/members/add", data={"email": "elsewhere@example.org", "role": "learner"})
    assert again.status_code == 422 and b"is already a member" in again.data
    bad = client.post("/admin/members/add", data={"email": "not an address", "role": "learner"})
    assert bad.status_code == 422

    membership = db_session.scalar(select(Membership).where(
        Membership.user_id == elsewhere.id, Membership.institution_id == inst.id))
    assert membership is not None
    r = client.post(f"/admin/members/{membership.id}/role", data={"role": "admin"})
    assert r.status_code == 303 and _role(db_session, elsewhere, inst.id) is Role.ADMIN
    assert client.post(f"/admin/members/{membership.id}/role", data={"role": "owner"}).status_code == 303
    assert _role(db_session, elsewhere, inst.id) is Role.ADMIN  # an unknown role changes nothing

    r = client.post(f"/admin/members/{membership.id}/remove")
    assert r.status_code == 303 and _role(db_session, elsewhere, inst.id) is None
    assert db_session.get(User, elsewhere.id) is not None  # the account stays

    # the last admin can be neither demoted nor removed
    own = db_session.scalar(select(Membership).where(Membership.user_id == admin.id))
    assert own is not None
    r = client.post(f"/admin/members/{own.id}/role", data={"role": "learner"}, follow_redirects=True)
    assert b"without an administrator" in r.data and _role(db_session, admin, inst.id) is Role.ADMIN
    r = client.post(f"/admin/members/{own.id}/remove", follow_redirects=True)
    assert b"without an administrator" in r.data and _role(db_session, admin, inst.id) is Role.ADMIN


def test_an_invitation_by_mail_creates_an_account_in_a_closed_institution(
        client: FlaskClient, db_session: Session, mailbox: Mailbox) -> None:
    inst = factories.institution(db_session, open_signup=False, name="Closed College")
    admin = factories.user(db_session, inst, Role.ADMIN)
    factories.sign_in(client, admin.email)
    r = client.post("/admin/members/add", data={"email": "new@example.org", "role": "instructor"},
                    follow_redirects=True)
    assert b"has no account yet: an invitation was sent" in r.data
    assert b"sent to new@example.org" in client.get("/admin/members").data  # listed while unused
    link = _link(mailbox.last("new@example.org"), "/join/")
    client.post("/logout")

    page = client.get(link).data.decode()
    assert "Join Closed College" in page and "as instructor" in page
    # the link was made for one address: another cannot use it
    r = client.post(link, data={"name": "Mallory", "email": "mallory@example.org"})
    assert r.status_code == 422 and b"only that address can use it" in r.data
    r = client.post(link, data={"name": "Nia New", "email": "new@example.org"})
    assert r.status_code == 200 and b"Check your e-mail" in r.data
    confirm = _link(mailbox.last("new@example.org"), "/signup/confirm/")
    r = client.post(confirm, data={"password": "a long enough password", "confirm": "a long enough password"})
    assert r.status_code == 302
    user = db_session.scalar(select(User).where(User.email == "new@example.org"))
    assert user is not None and _role(db_session, user, inst.id) is Role.INSTRUCTOR
    assert 'href="/author/packs"' in client.get("/").data.decode()
    # used up
    client.post("/logout")
    r = client.get(link)
    assert r.status_code == 400 and b"already used" in r.data


def test_an_invitation_link_is_shown_once_works_once_and_can_be_withdrawn(
        app: Flask, client: FlaskClient, db_session: Session) -> None:
    inst = factories.institution(db_session, open_signup=False, name="Closed College")
    admin = factories.user(db_session, inst, Role.ADMIN)
    other_place = factories.institution(db_session, name="Open Place")
    person = factories.user(db_session, other_place, Role.LEARNER)
    factories.sign_in(client, admin.email)
    r = client.post("/admin/invitations", data={"role": "learner"})
    assert r.status_code == 201
    found = re.search(r'value="https?://localhost(/join/[^"]+)"', r.data.decode())
    assert found is not None
    link = found.group(1)
    secret = link.rsplit("/", 1)[1]
    assert secret not in client.get("/admin/members").data.decode()  # shown once
    stored = db_session.scalar(select(Invitation).where(Invitation.institution_id == inst.id))
    assert stored is not None and secret not in stored.token_hash  # only a digest is kept

    factories.sign_in(client, person.email)
    page = client.get(link).data.decode()
    assert f"Join as {person.name}" in page
    r = client.post(link)
    assert r.status_code == 303 and _role(db_session, person, inst.id) is Role.LEARNER
    home = client.get("/").data.decode()  # now in two institutions, acting in the new one
    assert 'aria-label="Institution you work in"' in home
    assert re.search(rf'<option value="{inst.id}" selected>Closed College</option>', home)
    assert client.post(link).status_code == 400  # once only

    # switching back changes where they act: the catalogue of the other institution
    r = client.post("/institution", data={"institution": other_place.id}, follow_redirects=True)
    assert b"You are now working in Open Place" in r.data
    assert re.search(rf'<option value="{other_place.id}" selected>', r.data.decode())
    assert client.post("/institution", data={"institution": 999999}).status_code == 404
    assert client.post("/institution", data={"institution": "x"}).status_code == 404

    # a withdrawn or expired link says so
    factories.sign_in(client, admin.email)
    client.post("/admin/invitations", data={"role": "instructor"})
    fresh = db_session.scalar(select(Invitation).where(Invitation.used_at.is_(None)))
    assert fresh is not None
    assert client.post(f"/admin/invitations/{fresh.id}/revoke").status_code == 303
    db_session.expire_all()
    assert db_session.get(Invitation, fresh.id).revoked_at is not None  # type: ignore[union-attr]
    r = client.post("/admin/invitations", data={"role": "learner"})
    late = re.search(r'value="https?://localhost(/join/[^"]+)"', r.data.decode())
    assert late is not None
    app.config["CLOCK_OFFSET_SECONDS"] = 8 * 24 * 3600
    r = client.get(late.group(1))
    assert r.status_code == 400 and b"expired" in r.data


def test_another_institutions_admin_reaches_nothing_of_ours(client: FlaskClient, db_session: Session) -> None:
    ours = factories.institution(db_session)
    admin = factories.user(db_session, ours, Role.ADMIN)
    learner = factories.user(db_session, ours, Role.LEARNER)
    theirs = factories.institution(db_session)
    their_admin = factories.user(db_session, theirs, Role.ADMIN)
    factories.sign_in(client, admin.email)
    client.post("/admin/invitations", data={"role": "admin"})
    invitation = db_session.scalar(select(Invitation).where(Invitation.institution_id == ours.id))
    membership = db_session.scalar(select(Membership).where(Membership.user_id == learner.id))
    assert invitation is not None and membership is not None
    factories.sign_in(client, their_admin.email)
    assert client.post(f"/admin/members/{membership.id}/role", data={"role": "admin"}).status_code == 404
    assert client.post(f"/admin/members/{membership.id}/remove").status_code == 404
    assert client.post(f"/admin/invitations/{invitation.id}/revoke").status_code == 404
    assert learner.email not in client.get("/admin/members").data.decode()
    assert _role(db_session, learner, ours.id) is Role.LEARNER
