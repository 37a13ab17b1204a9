"""Who is asking, in which institution, with which role; loaders that answer 404 outside that scope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import abort
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


def principal() -> Principal:
    """The current principal (the user's first membership); 403 when the user belongs nowhere."""
    memberships: list[Membership] = sorted(current_user.memberships, key=lambda m: m.id)
    if not memberships:
        abort(403)
    m = memberships[0]
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


def scoped(session: Session, model: type[T], object_id: int, who: Principal, *, own: bool = False,
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
