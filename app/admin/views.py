"""Admin views (members, roles, invitations) and the page an invitation link opens."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app import db
from app.accounts import services as accounts
from app.accounts.invitations import pending_invitation
from app.accounts.throttle import Throttled
from app.accounts.tokens import TokenError
from app.admin import services
from app.admin.forms import ROLE_CHOICES, AddMemberForm, InviteForm, JoinSignupForm
from app.authz import choose_institution, principal, roles_required
from app.models import Role
from app.web.htmx import render

bp = Blueprint("admin", __name__, template_folder="templates")


def _members_page(status: int = 200, *, add: AddMemberForm | None = None, invite: InviteForm | None = None,
                  new_link: str | None = None) -> ResponseReturnValue:
    who = principal()
    session = db.session()
    return render("admin/members.html", members=services.members(session, who),
                  invitations=services.open_invitations(session, who), add=add or AddMemberForm(),
                  invite=invite or InviteForm(), role_choices=ROLE_CHOICES, new_link=new_link,
                  words=services.ROLE_WORDS), status


@bp.route("/admin/members")
@roles_required(Role.ADMIN)
def members() -> ResponseReturnValue:
    """The institution's members, their roles, and open invitations."""
    return _members_page()


@bp.route("/admin/members/add", methods=["POST"])
@roles_required(Role.ADMIN)
def add() -> ResponseReturnValue:
    """Add someone by e-mail (or invite the address)."""
    form = AddMemberForm()
    if not form.validate_on_submit():
        return _members_page(422, add=form)
    try:
        done = services.add_by_email(db.session(), principal(), form.email.data or "",
                                     Role(form.role.data), address=request.remote_addr or "unknown")
    except Throttled as err:
        flash(str(err), "warning")
        return _members_page(429, add=form)
    except services.MemberError as err:
        form.email.errors = [*form.email.errors, str(err)]
        return _members_page(422, add=form)
    flash(done, "success")
    return redirect(url_for("admin.members"), code=303)


@bp.route("/admin/members/<int:membership_id>/role", methods=["POST"])
@roles_required(Role.ADMIN)
def change_role(membership_id: int) -> ResponseReturnValue:
    """Give a member another role."""
    try:
        row = services.change_role(db.session(), principal(), membership_id, request.form.get("role", ""))
    except services.MemberError as err:
        flash(str(err), "warning")
        return redirect(url_for("admin.members"), code=303)
    flash(f"{row.name} is now {services.ROLE_WORDS[row.role]}.", "success")
    # an admin who gave up their own admin role cannot see this page any more
    return redirect(url_for("home.index" if row.is_you and row.role is not Role.ADMIN else "admin.members"),
                    code=303)


@bp.route("/admin/members/<int:membership_id>/remove", methods=["POST"])
@roles_required(Role.ADMIN)
def remove(membership_id: int) -> ResponseReturnValue:
    """Take a member out of the institution."""
    try:
        row = services.remove_member(db.session(), principal(), membership_id)
    except services.MemberError as err:
        flash(str(err), "warning")
        return redirect(url_for("admin.members"), code=303)
    flash(f"{row.name} is no longer a member. Their account and past work are kept.", "success")
    return redirect(url_for("home.index" if row.is_you else "admin.members"), code=303)


@bp.route("/admin/invitations", methods=["POST"])
@roles_required(Role.ADMIN)
def invite() -> ResponseReturnValue:
    """Make an invitation link; it is shown once, on the page this answers with."""
    form = InviteForm()
    if not form.validate_on_submit():
        return _members_page(422, invite=form)
    link = services.create_invitation(db.session(), principal(), Role(form.role.data))
    return _members_page(201, new_link=link)


@bp.route("/admin/invitations/<int:invitation_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def revoke(invitation_id: int) -> ResponseReturnValue:
    """Withdraw an unused invitation."""
    services.revoke_invitation(db.session(), principal(), invitation_id)
    flash("The invitation was withdrawn; its link no longer works.", "success")
    return redirect(url_for("admin.members"), code=303)


@bp.route("/admin/settings/signup", methods=["POST"])
@roles_required(Role.ADMIN)
def signup_setting() -> ResponseReturnValue:
    """Open or close sign-up to the institution."""
    opened = request.form.get("open") == "1"
    services.set_open_signup(db.session(), principal(), opened)
    flash("Sign-up is open: anyone can create a learner account here." if opened else
          "Sign-up is closed: people join by invitation.", "success")
    return redirect(url_for("home.index"), code=303)


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str) -> ResponseReturnValue:
    """An invitation link: accept it when signed in, or create an account through it."""
    session = db.session()
    try:
        pending = pending_invitation(session, token)
    except TokenError as err:
        return render("accounts/link_problem.html", message=str(err), again_url=url_for("home.index"),
                      again_label="Go to the home page"), err.status
    form = JoinSignupForm(email=pending.email) if request.method == "GET" else JoinSignupForm()
    words = services.ROLE_WORDS[pending.role]
    if request.method == "POST" and current_user.is_authenticated:
        try:
            services.accept_invitation(session, current_user, token)
        except (services.MemberError, TokenError) as err:
            return render("admin/join.html", pending=pending, words=words, form=form,
                          problem=str(err)), 422
        choose_institution(pending.institution_id)
        flash(f"Welcome to {pending.institution}: you are a member as {words}.", "success")
        return redirect(url_for("home.index"), code=303)
    if request.method == "POST" and form.validate_on_submit():
        try:
            accounts.request_sign_up(session, name=form.name.data or "", email=form.email.data or "",
                                     institution_id=None, address=request.remote_addr or "unknown",
                                     invitation=token)
        except Throttled as err:
            return render("admin/join.html", pending=pending, words=words, form=form,
                          problem=str(err)), 429
        except accounts.AccountError as err:
            form.email.errors = [*form.email.errors, str(err)]
        else:
            return render("accounts/check_email.html", email=form.email.data, reason="signup")
    status = 422 if request.method == "POST" else 200
    return render("admin/join.html", pending=pending, words=words, form=form, problem=None), status
