"""Account services: one action, one commit.

Sign-up, sign-in, password change and reset. Links sent by e-mail carry signed tokens
(``app.accounts.tokens``); sign-in and the mail-sending forms are rate-limited in the database
(``app.accounts.throttle``) before any password is hashed or any mail is sent.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts import throttle, tokens
from app.accounts.invitations import PendingInvitation, pending_invitation, use_invitation, wrong_address
from app.accounts.throttle import Limit
from app.credentials.keys import make_signing_key
from app.errors import ServiceError
from app.mail import MailError, external_url, send_mail
from app.models import Institution, LoginSession, Membership, Role, User

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
# verifying against this keeps the time of a wrong e-mail equal to a wrong password
_DUMMY_HASH = _hasher.hash("not-a-real-password")

# how long the links in e-mails work
SIGNUP_MAX_AGE = int(timedelta(days=2).total_seconds())
RESET_MAX_AGE = int(timedelta(hours=1).total_seconds())
# a browser that signed in to an account is recognised for this long (see ``sign_in``)
DEVICE_COOKIE = "thetapath_device"
DEVICE_MAX_AGE = int(timedelta(days=180).total_seconds())

# Failed sign-ins. Per client address: one machine guessing many accounts. Per account: many machines
# guessing one. A browser that once signed in to the account (its device cookie) is exempt from both
# and counted on its own, so an attacker who fills the account's limit cannot lock its owner out;
# a password reset always works and clears the account's count.
SIGNIN_ADDRESS = Limit("signin-address", 30, timedelta(minutes=15))
SIGNIN_ACCOUNT = Limit("signin-account", 10, timedelta(minutes=15))
SIGNIN_DEVICE = Limit("signin-device", 10, timedelta(minutes=15))
# mail asked for (sign-up and reset links): per asking address and per recipient, so neither form
# can flood a mailbox
MAIL_ADDRESS = Limit("mail-address", 10, timedelta(hours=1))
MAIL_RECIPIENT = Limit("mail-recipient", 3, timedelta(hours=1))

_WRONG = "That e-mail address and password do not match an account."
_TOO_MANY_FROM_ADDRESS = ("Too many failed sign-ins from your network. Please try again in {wait}.")
_TOO_MANY_FOR_ACCOUNT = ("Too many failed sign-ins to this account. Please try again in {wait}, sign in "
                         "from a browser you have used before, or reset your password.")
_TOO_MANY_MAILS_FROM = "Too many e-mails were asked for from your network. Please try again in {wait}."
_TOO_MANY_MAILS_TO = ("Several e-mails were sent to this address in the last hour. Please check your "
                      "inbox (and spam folder), or try again in {wait}.")


class AccountError(ServiceError, ValueError):
    """A user-facing problem with an account action; the message says what to change."""


class AccountExists(tokens.TokenInvalid):
    """A sign-up link that already did its work: the account exists, sign in."""


def normalise_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def open_institutions(session: Session) -> list[Institution]:
    """Institutions that let anyone sign up as a learner."""
    return list(session.scalars(
        select(Institution).where(Institution.open_signup.is_(True)).order_by(Institution.name)))


def create_institution(session: Session, *, slug: str, name: str, open_signup: bool) -> Institution:
    """A new institution, with its credential-signing key made at set-up (in the caller's transaction)."""
    inst = Institution(slug=slug, name=name, open_signup=open_signup)
    session.add(inst)
    session.flush()
    make_signing_key(session, inst.id)
    return inst


def create_user(session: Session, *, name: str, email: str, password: str,
                institution: Institution, role: Role) -> User:
    """Create a user with one membership (no commit; the caller's action commits)."""
    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        msg = "An account with this e-mail address already exists. Sign in instead."
        raise AccountError(msg)
    user = User(name=name.strip(), email=email, password_hash=hash_password(password))
    session.add(user)
    session.add(Membership(user=user, institution=institution, role=role))
    session.flush()
    return user


def create_passwordless_user(session: Session, *, name: str, email: str) -> User:
    """A user who signs in only through something else (a learning platform's launch, an embed link):
    no password can match theirs, and ``email`` is an address that takes no mail (flushed, no commit)."""
    user = User(name=name.strip()[:200], email=email, password_hash="!")
    session.add(user)
    session.flush()
    return user


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (the one place passwords are hashed)."""
    return _hasher.hash(password)


def _verify(stored_hash: str | None, password: str) -> bool:
    """Argon2 verification; a missing account costs the same as a wrong password."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, InvalidHashError, VerificationError):
        return False


def _user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


# ------------------------------------------------------------------------------ recognised browsers
def device_token(email: str) -> str:
    """A signed value for the device cookie: this browser signed in to the account ``email``."""
    return tokens.make_token("device", {"fp": tokens.fingerprint(normalise_email(email)),
                                        "n": secrets.token_urlsafe(12)})


def _device_nonce(device: str | None, email: str) -> str | None:
    """The device's id when ``device`` is a valid device cookie for ``email``, else None."""
    if not device:
        return None
    try:
        data = tokens.read_token("device", device, DEVICE_MAX_AGE)
        tokens.require_fingerprint(data, normalise_email(email))
    except tokens.TokenError:
        return None
    nonce = data.get("n")
    return nonce if isinstance(nonce, str) and nonce else None


def _guarded_verify(session: Session, user: User | None, email: str, password: str, *,
                    address: str | None, device: str | None) -> bool:
    """Verify a password only while the limits allow it; record a failure (one commit) if wrong.

    Raises ``Throttled`` before hashing anything when the address or the account is over its limit.
    A recognised browser (device cookie for this account) is limited on its own instead. Without an
    ``address`` only the account's limit applies.
    """
    email = normalise_email(email)
    nonce = _device_nonce(device, email)
    if nonce is not None and throttle.wait_seconds(session, SIGNIN_DEVICE, nonce):
        nonce = None  # too many failures from this browser: it gets no exemption for now
    if nonce is None:
        if address is not None:
            throttle.check(session, SIGNIN_ADDRESS, address, _TOO_MANY_FROM_ADDRESS)
        throttle.check(session, SIGNIN_ACCOUNT, email, _TOO_MANY_FOR_ACCOUNT)
    if _verify(user.password_hash if user else None, password):
        return True
    if nonce is not None:
        throttle.record(session, (SIGNIN_DEVICE, nonce))
    elif address is not None:
        throttle.record(session, (SIGNIN_ADDRESS, address), (SIGNIN_ACCOUNT, email))
    else:
        throttle.record(session, (SIGNIN_ACCOUNT, email))
    return False


def verify_password(session: Session, user: User, password: str, *, address: str | None = None,
                    device: str | None = None) -> bool:
    """Whether ``password`` is ``user``'s, for forms that re-ask it (change e-mail, delete...).

    Counted like a sign-in: raises ``Throttled`` before hashing when too many tries failed, so a
    borrowed session cannot be used to guess the password. Pass the client ``address`` and the
    ``DEVICE_COOKIE`` value when there is a request.
    """
    return _guarded_verify(session, user, user.email, password, address=address, device=device)


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with these credentials, or None; throttled per account like a sign-in.

    Prefer ``sign_in`` (which also counts the client address) or ``verify_password``.
    """
    user = _user_by_email(session, email)
    if not _guarded_verify(session, user, email, password, address=None, device=None):
        return None
    return user


@dataclass(frozen=True)
class SignedIn:
    """A new sign-in: pass ``user`` to ``login_user`` and set ``device`` as the device cookie."""

    user: User
    device: str


def _signed_in(session: Session, user: User) -> SignedIn:
    """Add a sign-in for ``user`` (the caller commits) and make this browser recognised."""
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, token_hash=_digest(token)))
    user.session_token = token
    return SignedIn(user=user, device=device_token(user.email))


# ------------------------------------------------------------------------------ sign-in
def sign_in(session: Session, email: str, password: str, *, address: str,
            device: str | None = None) -> SignedIn:
    """Check the credentials and start a sign-in (one commit).

    ``address`` is the client's address and ``device`` the device cookie, if any. Raises ``Throttled``
    (before hashing) when too many sign-ins failed, ``AccountError`` when the credentials are wrong.
    """
    user = _user_by_email(session, email)
    if not _guarded_verify(session, user, email, password, address=address, device=device) \
            or user is None:
        raise AccountError(_WRONG)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    signed_in = _signed_in(session, user)
    session.commit()
    return signed_in


# ------------------------------------------------------------------------------ mail with links
def check_mail_budget(session: Session, email: str, address: str) -> None:
    """Refuse (``Throttled``) when too many mails were asked for; else count this one (one commit)."""
    throttle.check(session, MAIL_ADDRESS, address, _TOO_MANY_MAILS_FROM)
    throttle.check(session, MAIL_RECIPIENT, email, _TOO_MANY_MAILS_TO)
    throttle.record(session, (MAIL_ADDRESS, address), (MAIL_RECIPIENT, email))


# ------------------------------------------------------------------------------ sign-up
def request_sign_up(session: Session, *, name: str, email: str, institution_id: int | None, address: str,
                    invitation: str | None = None) -> None:
    """Send the e-mail that finishes a sign-up; the answer never says whether the address has an account.

    A new address gets a link (valid ``SIGNUP_MAX_AGE``) to choose a password, which creates the account;
    an address that has one gets a note that someone tried, with links to sign in or reset the password.
    Nothing is stored but the mail count. With an ``invitation`` (the secret of an invitation link) the
    account joins the invitation's institution, open to sign-up or not, with its role. Raises
    ``AccountError`` for a closed institution or an invitation made for another address,
    ``TokenError`` for an invitation that cannot be used, ``Throttled`` when too many mails were asked
    for, ``MailError`` when mail cannot be sent.
    """
    email = normalise_email(email)
    pending = pending_invitation(session, invitation) if invitation is not None else None
    if pending is not None:
        problem = wrong_address(pending, email)
        if problem is not None:
            raise AccountError(problem)
        institution_id = pending.institution_id
    institution = session.get(Institution, institution_id) if institution_id is not None else None
    if institution is None or (pending is None and not institution.open_signup):
        msg = "That institution does not take sign-ups here. Ask it for an invitation."
        raise AccountError(msg)
    check_mail_budget(session, email, address)
    if _user_by_email(session, email) is not None:
        send_mail(email, "Someone tried to create a Thetapath account with your address", (
            "Someone, perhaps you, tried to create a Thetapath account with this e-mail address.\n\n"
            "You already have an account, so nothing was changed. To sign in:\n"
            f"{external_url('accounts.login')}\n\n"
            "If you have forgotten your password, you can choose a new one here:\n"
            f"{external_url('accounts.forgot_password')}\n\n"
            "If it was not you, you can ignore this message.\n"))
        return
    payload: dict[str, object] = {"n": name.strip(), "e": email, "i": institution.id}
    if invitation is not None:
        payload["v"] = invitation
    token = tokens.make_token("sign-up", payload)
    hours = SIGNUP_MAX_AGE // 3600
    # no text the visitor typed goes into the mail: the form must not carry a stranger's message
    send_mail(email, "Finish creating your Thetapath account", (
        "Hello,\n\n"
        f"To finish creating your Thetapath account at {institution.name}, open this link and choose "
        f"a password (it works for {hours} hours):\n"
        f"{external_url('accounts.confirm_signup', token=token)}\n\n"
        "If you did not ask for an account, you can ignore this message; nothing was created.\n"))


@dataclass(frozen=True)
class PendingSignUp:
    """What a sign-up link holds: the account it will create."""

    name: str
    email: str
    institution: Institution
    invitation: PendingInvitation | None = None

    @property
    def role(self) -> Role:
        """The role the account gets: the invitation's, or learner."""
        return self.invitation.role if self.invitation is not None else Role.LEARNER


def pending_sign_up(session: Session, token: str) -> PendingSignUp:
    """The sign-up a link stands for; ``TokenError`` if it expired, was altered or already used."""
    data = tokens.read_token("sign-up", token, SIGNUP_MAX_AGE)
    name, email, institution_id = data.get("n"), data.get("e"), data.get("i")
    if not (isinstance(name, str) and isinstance(email, str) and isinstance(institution_id, int)):
        msg = "This link is not valid."
        raise tokens.TokenInvalid(msg)
    if _user_by_email(session, email) is not None:  # the link did its work once
        msg = "This link was already used: your account exists. Sign in with your password."
        raise AccountExists(msg)
    secret = data.get("v")
    invited = pending_invitation(session, secret) if isinstance(secret, str) else None
    institution = session.get(Institution, institution_id)
    if institution is None or (invited is None and not institution.open_signup):
        msg = "That institution no longer takes sign-ups here. Ask it for an invitation."
        raise AccountError(msg)
    return PendingSignUp(name=name, email=email, institution=institution, invitation=invited)


def confirm_sign_up(session: Session, token: str, password: str) -> SignedIn:
    """Create the account a sign-up link stands for, with ``password``, and sign in (one commit).

    It is a learner's, or has the role of the invitation it came through, which is then used up.
    """
    pending = pending_sign_up(session, token)
    user = create_user(session, name=pending.name, email=pending.email, password=password,
                       institution=pending.institution, role=pending.role)
    if pending.invitation is not None:
        use_invitation(session, pending.invitation, user)
    signed_in = _signed_in(session, user)
    try:
        session.commit()
    except IntegrityError:  # the same link, confirmed twice at once
        session.rollback()
        msg = "This link was already used: your account exists. Sign in with your password."
        raise AccountExists(msg) from None
    return signed_in


# ------------------------------------------------------------------------------ passwords
def change_password(session: Session, user: User, *, current: str, new: str, address: str | None,
                    device: str | None = None) -> int:
    """Set a new password after checking the current one; end every OTHER sign-in (one commit), and
    tell the account's address (someone with a borrowed session learns nothing from it).

    Returns how many other sign-ins ended. The current password is checked under the sign-in limits,
    so a borrowed session cannot be used to guess it.
    """
    if not _guarded_verify(session, user, user.email, current, address=address, device=device):
        msg = "That is not your current password."
        raise AccountError(msg)
    user.password_hash = hash_password(new)
    others = [LoginSession.user_id == user.id]
    if user.session_token:
        others.append(LoginSession.token_hash != _digest(user.session_token))
    ended = len(session.scalars(select(LoginSession.id).where(*others)).all())
    session.execute(delete(LoginSession).where(*others))
    session.commit()
    try:  # the change is made; a notice that cannot be sent is logged, not shown
        send_mail(user.email, "Your Thetapath password was changed", (
            f"Hello {user.name},\n\n"
            "The password of your Thetapath account was just changed, and every other sign-in ended.\n\n"
            "If this was not you, choose a new password now:\n"
            f"{external_url('accounts.forgot_password')}\n"))
    except MailError:
        log.exception("Password change notice not sent")
    return ended


def request_password_reset(session: Session, email: str, *, address: str) -> None:
    """Mail a reset link (valid ``RESET_MAX_AGE``, single use) if ``email`` has an account, and a
    note saying that no account uses it otherwise.

    The caller answers the same either way; a failing mail server is logged, not told, for the same
    reason. Raises ``Throttled`` when too many mails were asked for (counted for any address).
    """
    email = normalise_email(email)
    check_mail_budget(session, email, address)
    user = _user_by_email(session, email)
    if user is None:
        # a mail either way, as sign-up does: the owner learns why no link came, and the time the
        # request takes does not tell a stranger whether the address has an account
        try:
            send_mail(email, "No Thetapath account uses this address", (
                "Hello,\n\nSomeone, hopefully you, asked to reset the Thetapath password of this "
                "e-mail address, but no Thetapath account uses it. If you have an account, it may be "
                "under another address of yours. To create one, go to:\n"
                f"{external_url('accounts.signup')}\n\n"
                "If you did not ask for this, ignore this message.\n"))
        except MailError:
            log.exception("Password reset notice not sent")
        return
    token = tokens.make_token("password-reset", {"uid": user.id,
                                                 "fp": tokens.fingerprint(user.password_hash)})
    minutes = RESET_MAX_AGE // 60
    try:
        send_mail(user.email, "Choose a new Thetapath password", (
            f"Hello {user.name},\n\n"
            f"Someone, hopefully you, asked to reset the password of your Thetapath account. To choose "
            f"a new one, open this link (it works once, for {minutes} minutes):\n"
            f"{external_url('accounts.reset_password', token=token)}\n\n"
            "Choosing a new password signs you out everywhere. If you did not ask for this, ignore "
            "this message: your password stays as it is.\n"))
    except MailError:
        log.exception("Password reset mail not sent")


def reset_target(session: Session, token: str) -> User:
    """The user a reset link is for; ``TokenError`` if it expired, was altered or already used."""
    data = tokens.read_token("password-reset", token, RESET_MAX_AGE)
    user_id = data.get("uid")
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        msg = "This link is not valid."
        raise tokens.TokenInvalid(msg)
    tokens.require_fingerprint(data, user.password_hash)  # a used link no longer matches
    return user


def reset_password(session: Session, token: str, new: str) -> str:
    """Set a new password from a reset link, end EVERY sign-in of the user (one commit).

    Returns a device-cookie value: this browser proved it reads the account's mail, so the account's
    sign-in limit no longer applies to it (and the account's count of failures is cleared).
    """
    user = reset_target(session, token)
    user.password_hash = hash_password(new)
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    throttle.forget(session, SIGNIN_ACCOUNT, user.email)
    session.commit()
    return device_token(user.email)


# ------------------------------------------------------------------------------ sign-in sessions
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User) -> User:
    """Record a new sign-in for ``user`` and attach its token (one commit); pass the user to
    ``login_user`` next, so the cookies name this sign-in."""
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, token_hash=_digest(token)))
    session.commit()
    user.session_token = token
    return user


def session_user(session: Session, ident: str) -> User | None:
    """The user of a cookie's ``"<user id>.<token>"``, while that sign-in still exists."""
    user_id, _, token = ident.partition(".")
    if not (user_id.isdigit() and token):
        return None
    alive = session.scalar(select(LoginSession.id).where(
        LoginSession.user_id == int(user_id), LoginSession.token_hash == _digest(token)))
    if alive is None:
        return None
    user = session.get(User, int(user_id))
    if user is not None:
        user.session_token = token
    return user


def end_session(session: Session, user: User) -> None:
    """Sign out this device: its cookies stop working, copied or not (one commit)."""
    if user.session_token:
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                   LoginSession.token_hash == _digest(user.session_token)))
        session.commit()


def end_all_sessions(session: Session, user: User) -> int:
    """Sign out every device of ``user``; returns how many sign-ins ended (one commit)."""
    ended = len(session.scalars(select(LoginSession.id).where(LoginSession.user_id == user.id)).all())
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.commit()
    return ended
