"""Importing packs from the web, and publishing them (one commit each).

A new pack is stored at once; a new version of a known pack is shown first, with what changed since
the newest stored version and the pack's warnings, and stored only when the instructor confirms.
Either way it is stored unpublished: the instructor previews it as a learner would see it, then
publishes it, and can take it off again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.authz import Principal, scoped
from app.db import utcnow
from app.models import Institution, PackVersion, PendingImport
from app.packstore import (
    ImportOutcome,
    PackConflict,
    canonical_zip,
    content_of,
    find_version,
    import_pack,
    newest_version,
)
from content import ContentPack, PackDiff, PackInvalid, check_pack, diff_packs
from content.io import Source

PENDING_HOURS = 24


@dataclass(frozen=True)
class Upload:
    """What an upload led to: stored at once (``outcome``), or waiting to be confirmed (``pending``)."""

    outcome: ImportOutcome | None
    pending: int | None
    warnings: tuple[str, ...]


def _checked(source: Source) -> tuple[ContentPack, tuple[str, ...]]:
    result = check_pack(source)
    if result.pack is None:
        raise PackInvalid(result.issues)
    return result.pack, tuple(str(issue) for issue in result.warnings)


def upload(session: Session, who: Principal, source: Source) -> Upload:
    """Check an uploaded pack; store a new pack, or hold a new version of a known one for confirmation.

    Raises ``PackInvalid`` or ``PackUnreadable`` (nothing stored) and ``PackConflict`` for a version
    already stored with other content.
    """
    pack, warnings = _checked(source)
    institution = session.get(Institution, who.institution_id)
    assert institution is not None  # the principal's membership guarantees it
    newest = newest_version(session, who.institution_id, pack.id)
    known = find_version(session, who.institution_id, pack.id, pack.version) is not None
    if newest is None or known:  # a new pack; or this version again (identical: nothing to do)
        return Upload(import_pack(session, institution, canonical_zip(pack), who.user_id, publish=False),
                      None, warnings)
    session.execute(delete(PendingImport).where(
        PendingImport.created_at < utcnow() - timedelta(hours=PENDING_HOURS)))
    pending = PendingImport(institution_id=who.institution_id, user_id=who.user_id,
                            archive=canonical_zip(pack))
    session.add(pending)
    session.commit()
    return Upload(None, pending.id, warnings)


@dataclass(frozen=True)
class Preview:
    """A version waiting for confirmation: what it is, what changed, what the checks warned about."""

    pending_id: int
    title: str
    version: str
    previous: PackVersion
    diff: PackDiff
    warnings: tuple[str, ...]


def _pending(session: Session, who: Principal, pending_id: int) -> PendingImport:
    return scoped(session, PendingImport, pending_id, who)


def preview(session: Session, who: Principal, pending_id: int) -> Preview:
    """What storing a waiting version would change, against the newest stored version of its pack."""
    pending = _pending(session, who, pending_id)
    pack, warnings = _checked(bytes(pending.archive))
    previous = newest_version(session, who.institution_id, pack.id)
    if previous is None:  # the pack was deleted meanwhile: nothing to compare with
        msg = "The pack this version belongs to is gone; upload it again."
        raise PackConflict(msg)
    return Preview(pending.id, pack.title, pack.version, previous,
                   diff_packs(content_of(session, previous), pack), warnings)


def confirm(session: Session, who: Principal, pending_id: int) -> ImportOutcome:
    """Store a waiting version (one transaction with dropping it from the waiting list)."""
    pending = _pending(session, who, pending_id)
    institution = session.get(Institution, who.institution_id)
    assert institution is not None
    archive = bytes(pending.archive)
    session.delete(pending)
    return import_pack(session, institution, archive, who.user_id, publish=False)


def discard(session: Session, who: Principal, pending_id: int) -> None:
    """Drop a waiting version without storing it."""
    session.delete(_pending(session, who, pending_id))
    session.commit()


def set_published(session: Session, who: Principal, version_id: int, published: bool) -> PackVersion:
    """Put a stored version live for learners, or take it off (one commit).

    Learners see the newest published version of each pack; attempts already begun on a version go
    on whether it is published or not.
    """
    version = scoped(session, PackVersion, version_id, who)
    if published and version.published_at is None:
        version.published_at = utcnow()
    elif not published:
        version.published_at = None
    session.commit()
    return version
