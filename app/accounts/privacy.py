"""What a person controls about their own account: name, e-mail address, a copy of their data, deletion.

Every function here acts on one user id, the caller's own, and takes no other id from the request: a
download or a deletion cannot reach anyone else's rows. One action, one commit. What deletion keeps
and why is written down for people in ``docs/privacy.md``; keep the two in step.
"""

from __future__ import annotations

import csv
import io
import secrets
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.accounts.services import check_mail_budget, normalise_email, verify_password
from app.accounts.tokens import fingerprint, make_token, read_token, require_fingerprint
from app.assess.services import result_view
from app.db import utcnow
from app.errors import ServiceError
from app.mail import external_url, send_mail
from app.models import (
    AbilityRecord,
    Attempt,
    AttemptStatus,
    Credential,
    Institution,
    LessonVisit,
    LoginSession,
    Membership,
    ModuleRow,
    PackVersion,
    PathDecisionRecord,
    Response,
    Role,
    User,
)
from app.packstore import content_of
from content import ContentPack, Item

# what a deleted account's row says instead of the person (see docs/privacy.md)
DELETED_NAME = "Deleted learner"
# ".invalid" is reserved (RFC 2606): no mail can ever be delivered there, and sign-up refuses it
DELETED_DOMAIN = "deleted.invalid"
# an e-mail change link works for a day, and only until the address changes
EMAIL_CHANGE_MAX_AGE = 24 * 3600
EXPORT_FORMAT = "thetapath-personal-data"
EXPORT_VERSION = 1
# item types whose answers are choices among the item's own options (or a number): anything else
# is text the learner typed, which may say anything about them and is erased with the account
_NOT_FREE_TEXT = frozenset({"single_choice", "multiple_choice", "ordering", "matching", "numeric"})


class ProfileError(ServiceError):
    """A problem with a change to one's own account; the message says what to do.

    ``field`` names the form field the message belongs beside (``"password"``, ``"email"``...).
    """

    status = 422

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Client:
    """Who is asking, for the sign-in limits: the client's address and its device cookie, if any."""

    address: str
    device: str | None = None


def _check_password(session: Session, user: User, password: str, client: Client) -> None:
    """Raise ProfileError unless ``password`` is the user's current password.

    Counted like a sign-in (``Throttled`` when too many tries failed), so a borrowed signed-in browser
    cannot be used to guess it.
    """
    if not verify_password(session, user, password, address=client.address, device=client.device):
        msg = "That is not your current password."
        raise ProfileError(msg, "password")


def is_deleted(user: User) -> bool:
    """Whether ``user`` is the pseudonymous remainder of a deleted account."""
    return user.email.endswith("@" + DELETED_DOMAIN)


# ----------------------------------------------------------------------------------------- name
def rename(session: Session, user: User, name: str) -> None:
    """Change the name shown to the user and to their instructors (one commit)."""
    name = " ".join(name.split())
    if not name:
        msg = "Please enter your name."
        raise ProfileError(msg)
    if len(name) > 200:
        msg = "Please use at most 200 characters."
        raise ProfileError(msg)
    user.name = name
    session.commit()


# ------------------------------------------------------------------------------- e-mail address
_PURPOSE = "email-change"


def _state(user: User) -> str:
    """What a change link is bound to: changing the address or the password makes it stop working."""
    return f"{user.email}\x00{user.password_hash}"


def request_email_change(session: Session, user: User, new_email: str, password: str,
                         client: Client) -> str:
    """Send a confirmation link to the new address and a notice to the current one; change nothing.

    The token in the link names the user and the new address and is bound to the current address
    and password: it works once (after the change it no longer verifies), and the owner warned by
    the notice cancels it by changing the password. Returns the new address, normalised. Raises
    ProfileError, ``Throttled`` (too many tries or mails) or ``MailError``; nothing is changed.
    """
    _check_password(session, user, password, client)
    new_email = normalise_email(new_email)
    if new_email == user.email:
        msg = "That is already your e-mail address."
        raise ProfileError(msg, "email")
    if session.scalar(select(User.id).where(User.email == new_email)) is not None:
        msg = "That e-mail address cannot be used for this account. Please choose another one."
        raise ProfileError(msg, "email")
    # the same budget as every mail with a link, so the form cannot be used to flood an address
    check_mail_budget(session, new_email, client.address)
    token = make_token(_PURPOSE, {"uid": user.id, "email": new_email, "fp": fingerprint(_state(user))})
    hours = EMAIL_CHANGE_MAX_AGE // 3600
    # the notice first: if it cannot be sent, no link exists that the owner was not told about
    send_mail(user.email, "Your Thetapath e-mail address is about to change",
              f"Hello {user.name},\n\n"
              f"Someone signed in to your Thetapath account asked to change its e-mail address to "
              f"{new_email}. The change happens only when the link sent to that address is opened.\n\n"
              f"If this was not you, sign in now and change your password: that cancels the change. "
              f"Then use \"Sign out everywhere\" on your account page.\n")
    send_mail(new_email, "Confirm your new e-mail address for Thetapath",
              f"Hello {user.name},\n\n"
              f"You asked to use this address for your Thetapath account. To confirm, open this link "
              f"within {hours} hours and press the button on the page (you may need to sign in):\n\n"
              f"{external_url('profile.confirm_email', token=token)}\n\n"
              f"Until you do, your account keeps its current address. If you did not ask for this, "
              f"ignore this message: nothing will change.\n")
    return new_email


@dataclass(frozen=True)
class EmailChange:
    """A confirmation link, read and checked: the address it would set."""

    user_id: int
    email: str


def read_email_change(user: User, token: str) -> EmailChange:
    """Check a confirmation link for ``user`` (expired, altered, used, or another account's: TokenError)."""
    data = read_token(_PURPOSE, token, max_age=EMAIL_CHANGE_MAX_AGE)
    if data.get("uid") != user.id or not isinstance(data.get("email"), str):
        msg = ("This link was made for another account. Sign out, then open it again and sign in "
               "with the account that asked for the change.")
        raise ProfileError(msg)
    require_fingerprint(data, _state(user))
    return EmailChange(user.id, data["email"])


def confirm_email_change(session: Session, user: User, token: str) -> str:
    """Set the address a valid link names (one commit); returns it."""
    change = read_email_change(user, token)
    if session.scalar(select(User.id).where(User.email == change.email, User.id != user.id)) is not None:
        msg = "That e-mail address cannot be used for this account any more. Please choose another one."
        raise ProfileError(msg)
    user.email = change.email
    session.commit()
    return change.email


# ------------------------------------------------------------------------------------- sign-ins
def sign_in_count(session: Session, user: User) -> int:
    """How many devices and browsers are signed in to this account now."""
    return session.scalar(select(func.count()).select_from(LoginSession)
                          .where(LoginSession.user_id == user.id)) or 0


# --------------------------------------------------------------------------------------- export
def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class _Packs:
    """Pack versions and their content, each loaded once per export."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._versions: dict[int, PackVersion | None] = {}
        self._items: dict[int, dict[str, Item]] = {}

    def version(self, version_id: int | None) -> PackVersion | None:
        if version_id is None:
            return None
        if version_id not in self._versions:
            self._versions[version_id] = self.session.get(PackVersion, version_id)
        return self._versions[version_id]

    def content(self, version_id: int | None) -> ContentPack | None:
        version = self.version(version_id)
        return content_of(self.session, version) if version is not None else None

    def item(self, version_id: int | None, item_id: str) -> Item | None:
        if version_id is None:
            return None
        if version_id not in self._items:
            pack = self.content(version_id)
            self._items[version_id] = {i.id: i for i in pack.items} if pack is not None else {}
        return self._items[version_id].get(item_id)

    def competency_title(self, version_id: int | None, competency: str) -> str:
        pack = self.content(version_id)
        return next((c.title for c in pack.competencies if c.id == competency),
                    competency) if pack is not None else competency


def answer_in_words(item: Item | None, answer: Any) -> Any:
    """The learner's recorded answer as the words they chose on screen (never the item's key).

    Options are named by their text, not by the ids the author gave them: those ids could tell the
    order in which the options were written, which the assessment keeps from learners.
    """
    if item is None:  # the item left the pack version (it cannot, versions are immutable): say so
        return None
    options = {c.id: c.text for c in item.options}
    if item.type == "single_choice":
        return options.get(str(answer), "")
    if item.type in ("multiple_choice", "ordering") and isinstance(answer, list):
        return [options.get(str(a), "") for a in answer]
    if item.type == "matching" and isinstance(answer, dict):
        sources = {c.id: c.text for c in item.sources}
        targets = {c.id: c.text for c in item.targets}
        return {sources.get(s, ""): targets.get(str(t), "") for s, t in answer.items()}
    return answer


def personal_data(session: Session, user: User) -> dict[str, Any]:
    """Everything stored about ``user`` that is theirs to see, as one JSON-ready document.

    Left out on purpose: answer keys and item parameters; the engine's internal state, seed and
    policy of each attempt; the per-attempt secret behind option ids; sign-in token hashes. While an
    attempt is still running, its answers are listed without scores or estimates (those would tell
    which answers were right before the attempt is over).
    """
    packs = _Packs(session)
    institutions = {i.id: i.name for i in session.scalars(select(Institution).join(
        Membership, Membership.institution_id == Institution.id).where(Membership.user_id == user.id))}

    def institution(institution_id: int) -> str:
        if institution_id not in institutions:
            found = session.get(Institution, institution_id)
            institutions[institution_id] = found.name if found else ""
        return institutions[institution_id]

    def pack_fields(version_id: int | None) -> dict[str, Any]:
        version = packs.version(version_id)
        if version is None:
            return {"pack": None, "pack_version": None}
        return {"pack": version.title, "pack_version": version.version}

    modules = {m.id: m for m in session.scalars(select(ModuleRow).where(ModuleRow.id.in_(
        select(Attempt.module_id).where(Attempt.user_id == user.id).union(
            select(LessonVisit.module_id).where(LessonVisit.user_id == user.id)))))}

    memberships = [
        {"institution": institution(m.institution_id), "role": m.role.value, "since": _when(m.created_at)}
        for m in session.scalars(select(Membership).where(Membership.user_id == user.id)
                                 .order_by(Membership.id))]
    sign_ins = [{"started_at": _when(started)} for started in session.scalars(
        select(LoginSession.created_at).where(LoginSession.user_id == user.id).order_by(LoginSession.id))]

    visits = []
    for v in session.scalars(select(LessonVisit).where(LessonVisit.user_id == user.id)
                             .order_by(LessonVisit.id)):
        row = modules[v.module_id]
        pack = packs.content(row.pack_version_id)
        lessons = pack.module(row.key).lessons if pack is not None else ()
        visits.append({"institution": institution(v.institution_id), **pack_fields(row.pack_version_id),
                       "module": row.title, "lesson": v.position + 1,
                       "lesson_title": lessons[v.position].title if v.position < len(lessons) else None,
                       "first_seen": _when(v.first_seen), "last_seen": _when(v.last_seen)})

    attempts = []
    for a in session.scalars(select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.id)):
        module = modules.get(a.module_id) if a.module_id is not None else None
        version_id = module.pack_version_id if module is not None else a.pack_version_id
        done = a.status is AttemptStatus.COMPLETED
        result = None
        if done and a.theta is not None and a.se is not None:
            shown = result_view(a.theta, a.se, 0.0, a.mastery, 0)
            credit = a.credit or {}
            result = {"score_0_100": shown.score, "likely_low": shown.low, "likely_high": shown.high,
                      "theta": a.theta, "se": a.se, "mastery": a.mastery, "stop_reason": a.stop_reason,
                      "credited": credit.get("credited"), "flagged": a.flagged,
                      "person_fit": a.person_fit, "reasons": list(credit.get("reasons", []))}
        responses = []
        for r in a.responses:
            item = packs.item(version_id, r.item)
            entry: dict[str, Any] = {
                "position": r.position + 1, "item": r.item, "question": item.stem if item else None,
                "answer": answer_in_words(item, r.answer), "seconds": r.seconds,
                "answered_at": _when(r.created_at)}
            if done:
                entry.update({"score": r.score, "max_score": r.max_score, "trial": r.pilot,
                              "theta_after": r.theta, "se_after": r.se})
            responses.append(entry)
        attempts.append({
            "id": a.id, "institution": institution(a.institution_id), **pack_fields(version_id),
            "module": module.title if module is not None else None, "kind": a.kind,
            "competency": packs.competency_title(version_id, a.competency) if a.kind != "placement"
            else None, "status": a.status.value, "started_at": _when(a.started_at),
            "finished_at": _when(a.finished_at), "result": result, "responses": responses})

    evidence = [
        {"id": e.id, "institution": institution(e.institution_id), **pack_fields(e.pack_version_id),
         "competency": packs.competency_title(e.pack_version_id, e.competency), "source": e.source,
         "theta": e.theta, "se": e.se, "mastery": e.mastery, "cut": e.cut, "items": list(e.items),
         "attempt_id": e.attempt_id, "recorded_at": _when(e.created_at)}
        for e in session.scalars(select(AbilityRecord).where(AbilityRecord.user_id == user.id)
                                 .order_by(AbilityRecord.id))]
    decisions = [
        {"id": d.id, "institution": institution(d.institution_id), **pack_fields(d.pack_version_id),
         "recommended": [r.get("module") for r in d.decision.get("recommendations", [])],
         "decided_at": _when(d.created_at), "decision": d.decision}
        for d in session.scalars(select(PathDecisionRecord).where(PathDecisionRecord.user_id == user.id)
                                 .order_by(PathDecisionRecord.id))]
    imported = [
        {"institution": institution(v.institution_id), "pack": v.title, "pack_version": v.version,
         "imported_at": _when(v.imported_at)}
        for v in session.scalars(select(PackVersion).where(PackVersion.imported_by_id == user.id)
                                 .order_by(PackVersion.id))]
    return {
        "format": EXPORT_FORMAT, "format_version": EXPORT_VERSION, "exported_at": _when(utcnow()),
        "profile": {"name": user.name, "email": user.email, "daily_goal": user.daily_goal,
                    "created_at": _when(user.created_at)},
        "memberships": memberships, "sign_ins": sign_ins, "lesson_visits": visits,
        "attempts": attempts, "evidence": evidence, "path_decisions": decisions,
        "packs_imported": imported,
        "credentials": [
            {"id": c.id, "name": c.document.get("name", c.rule), "institution": institution(c.institution_id),
             "issued_at": _when(c.issued_at), "revoked_at": _when(c.revoked_at) if c.revoked_at else None,
             "revoked_reason": c.revoked_reason, "credential": c.document}
            for c in session.scalars(select(Credential).where(Credential.user_id == user.id)
                                     .order_by(Credential.issued_at))],
    }


# one CSV per section of the JSON document; columns in this order (see README.txt in the zip)
_TABLES: dict[str, tuple[str, ...]] = {
    "profile": ("name", "email", "daily_goal", "created_at"),
    "memberships": ("institution", "role", "since"),
    "sign_ins": ("started_at",),
    "lesson_visits": ("institution", "pack", "pack_version", "module", "lesson", "lesson_title",
                      "first_seen", "last_seen"),
    "attempts": ("id", "institution", "pack", "pack_version", "module", "kind", "competency", "status",
                 "started_at", "finished_at", "score_0_100", "likely_low", "likely_high", "theta", "se",
                 "mastery", "stop_reason", "credited", "flagged", "person_fit", "reasons"),
    "responses": ("attempt_id", "position", "item", "question", "answer", "seconds", "answered_at",
                  "score", "max_score", "trial", "theta_after", "se_after"),
    "evidence": ("id", "institution", "pack", "pack_version", "competency", "source", "theta", "se",
                 "mastery", "cut", "items", "attempt_id", "recorded_at"),
    "path_decisions": ("id", "institution", "pack", "pack_version", "recommended", "decided_at"),
    "packs_imported": ("institution", "pack", "pack_version", "imported_at"),
    "credentials": ("id", "name", "institution", "issued_at", "revoked_at", "revoked_reason"),
}

_README = """Your data from Thetapath, exported {when}.

One CSV file per kind of record (UTF-8, comma-separated, first row the column names); the JSON
download holds the same records in one document. Times are UTC (ISO 8601).

profile.csv         your name, e-mail address, daily goal and when the account was made
memberships.csv     the institutions you belong to and your role in each
sign_ins.csv        the devices and browsers signed in to your account now
lesson_visits.csv   each lesson you opened: first and last time
attempts.csv        each assessment, test-out, review and placement test you started, with its result
                    once it is over (score_0_100 and the likely range are what the result page shows;
                    theta and se are the same estimate on the engine's own scale)
responses.csv       each answer you gave, in the words of the options you chose; scores and the
                    estimate after each answer are listed once the attempt is over
evidence.csv        each estimate of a competency added to your record, and the questions behind it
path_decisions.csv  the modules recommended to you, best first, and when
packs_imported.csv  content packs you imported (instructors and administrators)
credentials.csv     credentials issued to you (the JSON download holds each signed credential whole)

Lists inside a cell are separated by " | "; a matching answer reads "left -> right".
Right answers and item parameters are not part of your data and are not included.
"""


def _cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, Mapping):
        return " | ".join(f"{_cell(k)} -> {_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return " | ".join(_cell(v) for v in value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def personal_data_zip(session: Session, user: User) -> bytes:
    """The same records as :func:`personal_data`, as a zip of one CSV per kind of record."""
    doc = personal_data(session, user)
    rows: dict[str, list[Mapping[str, Any]]] = {
        "profile": [doc["profile"]],
        "attempts": [{**{k: v for k, v in a.items() if k not in ("responses", "result")},
                      **(a["result"] or {})} for a in doc["attempts"]],
        "responses": [{"attempt_id": a["id"], **r} for a in doc["attempts"] for r in a["responses"]],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _README.format(when=doc["exported_at"]))
        for name, columns in _TABLES.items():
            archive.writestr(f"{name}.csv", _csv(columns, rows[name] if name in rows else doc[name]))
    return buffer.getvalue()


def export_filename(extension: str) -> str:
    """The download's name: the site and the date, never the person's name or address."""
    return f"thetapath-my-data-{utcnow():%Y-%m-%d}.{extension}"


# ------------------------------------------------------------------------------------- deletion
def _sole_admin_of(session: Session, user: User) -> str | None:
    """The name of an institution where ``user`` is the only administrator left, if any."""
    for m in session.scalars(select(Membership).where(Membership.user_id == user.id,
                                                      Membership.role == Role.ADMIN)):
        others = session.scalar(select(func.count()).select_from(Membership).join(User).where(
            Membership.institution_id == m.institution_id, Membership.role == Role.ADMIN,
            User.id != user.id, User.email.not_like(f"%@{DELETED_DOMAIN}")))
        if not others:
            return m.institution.name
    return None


def delete_account(session: Session, user: User, password: str, client: Client) -> None:
    """Delete the person from the account, keep the learning records pseudonymous (one transaction).

    Removed: name, e-mail address, password, daily goal, every sign-in, lesson visits, path
    decisions and the text of free-text answers. Kept, attached to the now nameless row: attempts,
    scored responses, ability estimates and memberships, which the institution's item statistics,
    calibration and credit audits are computed from. ``docs/privacy.md`` explains each choice.
    Raises ProfileError (nothing changed) for a wrong password or a sole administrator.
    """
    _check_password(session, user, password, client)
    sole = _sole_admin_of(session, user)
    if sole is not None:
        msg = (f"You are the only administrator of {sole}. Ask the site's operator to make someone "
               f"else an administrator first, so that {sole} is not left without one.")
        raise ProfileError(msg)
    packs = _Packs(session)
    try:
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        session.execute(delete(LessonVisit).where(LessonVisit.user_id == user.id))
        session.execute(delete(PathDecisionRecord).where(PathDecisionRecord.user_id == user.id))
        answers = session.execute(
            select(Response, func.coalesce(ModuleRow.pack_version_id, Attempt.pack_version_id))
            .join(Attempt, Attempt.id == Response.attempt_id)
            .outerjoin(ModuleRow, ModuleRow.id == Attempt.module_id).where(Attempt.user_id == user.id))
        for response, version_id in answers:
            item = packs.item(version_id, response.item)
            if item is None or item.type not in _NOT_FREE_TEXT:
                response.answer = ""
        user.name = DELETED_NAME
        user.email = f"deleted-{user.id}@{DELETED_DOMAIN}"
        # not an Argon2 hash, so no password ever verifies against it
        user.password_hash = f"!deleted:{secrets.token_hex(16)}"
        user.daily_goal = None
        session.commit()
    except Exception:
        session.rollback()
        raise
