"""The demo: an embedded SQLite database with a demo institution and accounts (one action, one commit)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.services import create_user, normalise_email
from app.models import Institution, Role, User
from app.packstore import import_pack

DEMO_INSTITUTION = ("demo-university", "Demo University")
DEMO_PACK = Path(__file__).resolve().parent.parent / "content" / "packs" / "data-literacy"


@dataclass(frozen=True)
class DemoAccount:
    """A log-in printed for the person trying the demo."""

    role: Role
    email: str
    password: str


DEMO_ACCOUNTS = (
    DemoAccount(Role.LEARNER, "learner@example.org", "learn-at-your-pace"),
    DemoAccount(Role.INSTRUCTOR, "instructor@example.org", "teach-with-evidence"),
    DemoAccount(Role.ADMIN, "admin@example.org", "run-the-institution"),
)


def ensure_demo(session: Session, *, with_pack: bool = True) -> tuple[Institution, tuple[DemoAccount, ...]]:
    """Create the demo institution and accounts and import the demo pack, unless done; idempotent."""
    slug, name = DEMO_INSTITUTION
    inst = session.scalar(select(Institution).where(Institution.slug == slug))
    if inst is None:
        inst = Institution(slug=slug, name=name, open_signup=True)
        session.add(inst)
        session.flush()
    for account in DEMO_ACCOUNTS:
        exists = session.scalar(select(User.id).where(User.email == normalise_email(account.email)))
        if exists is None:
            create_user(session, name=f"Demo {account.role.value}", email=account.email,
                        password=account.password, institution=inst, role=account.role)
    session.commit()
    if with_pack:
        instructor = session.scalar(select(User.id).where(User.email == DEMO_ACCOUNTS[1].email))
        import_pack(session, inst, DEMO_PACK, instructor)
    return inst, DEMO_ACCOUNTS
