"""Who is asking, in which institution, with which role; loaders that answer 404 outside that scope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask import session as cookie
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import Membership, Role

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """The signed-in user acting within one institution."""

    user_id: int
    institution_id: int
    role: Role

    @property
    def can_author(self) -> bool:
        """Instructors and admins manage content."""
        return self.role in (Role.INSTRUCTOR, Role.ADMIN)


CURRENT_INSTITUTION = "institution"
"""Cookie-session key: the institution a user with several memberships is acting in now."""


def current_membership() -> Membership | None:
    """The membership the signed-in user acts in: the one they chose, else their first; None if none."""
    if not current_user.is_authenticated:
        return None
    memberships: list[Membership] = sorted(current_user.memberships, key=lambda m: m.id)
    chosen = cookie.get(CURRENT_INSTITUTION)
    first = memberships[0] if memberships else None
    return next((m for m in memberships if m.institution_id == chosen), first)


def choose_institution(institution_id: int) -> Membership:
    """Act in ``institution_id`` from now on (in this browser); NotFound unless the user belongs to it."""
    memberships: list[Membership] = current_user.memberships
    membership = next((m for m in memberships if m.institution_id == institution_id), None)
    if membership is None:
        msg = "There is nothing here, or it is not yours to see."
        raise NotFound(msg)
    cookie[CURRENT_INSTITUTION] = institution_id
    return membership


def principal() -> Principal:
    """The current principal (the user in the institution they act in); 403 when they belong nowhere."""
    m = current_membership()
    if m is None:
        abort(403)
    return Principal(user_id=m.user_id, institution_id=m.institution_id, role=m.role)


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Sign-in required, and one of ``roles`` in the current institution (else 403)."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if principal().role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


T = TypeVar("T")


def scoped(session: Session, model: type[T], object_id: int | str, who: Principal, *, own: bool = False,
           owner: str = "user_id") -> T:
    """Load ``model`` by id inside the principal's institution (and, if ``own``, theirs by ``owner``).

    Anything else raises NotFound, so the existence of other institutions' objects never leaks.
    """
    obj = session.get(model, object_id)
    if (obj is None or getattr(obj, "institution_id", None) != who.institution_id
            or (own and getattr(obj, owner, None) != who.user_id)):
        msg = "There is nothing here, or it is not yours to see."
        raise NotFound(msg)
    return obj


def template_context() -> dict[str, Any]:
    """What every page's header needs: the membership acted in (``place``) and all of them."""
    place = current_membership()
    memberships = sorted(current_user.memberships, key=lambda m: m.id) if place is not None else []
    return {"place": place, "places": memberships}


def require_live(who: Principal, published_at: object | None) -> None:
    """A learner reaches only published pack versions (NotFound otherwise); instructors and admins
    also reach unpublished ones, to preview them as a learner would see them."""
    if published_at is None and not who.can_author:
        msg = "There is nothing here, or it is not yours to see."
        raise NotFound(msg)
