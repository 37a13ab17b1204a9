"""Content packs in the database: import (one transaction) and per-version caches.

The canonical archive of a version is stored once; a process loads it on first use and keeps the
frozen ``ContentPack`` and the engine's item banks in memory, so no request rebuilds them. A bank is
built from the archive's item parameters with a :class:`~app.models.ParameterVersion`'s approved
changes on top (:class:`Parameters` names which), so a recalibration changes no archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import re
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive import ItemBank, ItemParameters
from app.db import utcnow
from app.models import Attempt, Institution, ModuleRow, Pack, PackVersion, ParameterVersion
from content import ContentPack, Item, canonical_files, load_pack, render_markdown
from content.io import Source

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class PackConflict(ValueError):
    """The same pack id and version was imported before with different content."""


def canonical_zip(pack: ContentPack) -> bytes:
    """The pack's canonical files as reproducible zip bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in sorted(canonical_files(pack).items()):
            info = zipfile.ZipInfo(path, _ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did."""

    version: PackVersion
    created: bool


def import_pack(session: Session, institution: Institution, source: Source,
                user_id: int | None, *, publish: bool = True) -> ImportOutcome:
    """Validate ``source`` and store it as a new pack version in one transaction.

    With ``publish`` (the command line, the demo) it is live for learners at once; the web upload
    stores it unpublished, for the instructor to preview and then publish.
    Raises ``content.PackInvalid`` (nothing written) for an invalid pack and :class:`PackConflict`
    when this id and version exist with different content. Re-importing identical content is a no-op.
    """
    pack = load_pack(source)
    digest = pack.content_hash
    row = session.scalar(select(Pack).where(Pack.institution_id == institution.id,
                                            Pack.slug == pack.id))
    if row is not None:
        existing = session.scalar(select(PackVersion).where(PackVersion.pack_id == row.id,
                                                            PackVersion.version == pack.version))
        if existing is not None:
            if existing.content_hash != digest:
                msg = (f"pack {pack.id!r} version {pack.version} is already imported with different "
                       "content; raise the version number in pack.yaml and import again")
                raise PackConflict(msg)
            return ImportOutcome(existing, created=False)
        row.title = pack.title
    else:
        row = Pack(institution_id=institution.id, slug=pack.id, title=pack.title)
        session.add(row)
    version = PackVersion(pack=row, institution_id=institution.id, version=pack.version,
                          title=pack.title, description=pack.description, content_hash=digest,
                          archive=canonical_zip(pack), imported_by_id=user_id,
                          published_at=utcnow() if publish else None)
    session.add(version)
    for position, module in enumerate(pack.modules):
        session.add(ModuleRow(pack_version=version, institution_id=institution.id, key=module.id,
                              position=position, title=module.title, summary=module.summary,
                              minutes=module.minutes, n_lessons=len(module.lessons)))
    session.commit()
    _packs.put(_key(version), pack)
    return ImportOutcome(version, created=True)


_Key = tuple[int, str]
"""A version's id and content hash: an id alone could be reused after a rolled-back import."""


class _LRU:
    """A small thread-safe LRU cache of loaded packs."""

    def __init__(self, size: int) -> None:
        self._data: OrderedDict[_Key, ContentPack] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: _Key) -> ContentPack | None:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            return None

    def put(self, key: _Key, value: ContentPack) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                dropped, _ = self._data.popitem(last=False)
                _banks_drop(dropped)


_packs = _LRU(16)
_banks: dict[tuple[_Key, str], tuple[ItemBank, dict[str, Item]]] = {}
_banks_lock = threading.Lock()


def _banks_drop(version: _Key) -> None:
    with _banks_lock:
        for k in [k for k in _banks if k[0] == version]:
            del _banks[k]


def _key(version: PackVersion) -> _Key:
    return (version.id, version.content_hash)


def find_version(session: Session, institution_id: int, pack_id: str, version: str) -> PackVersion | None:
    """The stored version ``version`` of pack ``pack_id`` in an institution, if any."""
    return session.scalar(select(PackVersion).join(Pack).where(
        Pack.institution_id == institution_id, Pack.slug == pack_id, PackVersion.version == version))


def newest_version(session: Session, institution_id: int, pack_id: str, *,
                   other_than: str | None = None) -> PackVersion | None:
    """The most recently stored version of pack ``pack_id`` in an institution (leaving out the version
    ``other_than``), if any."""
    query = select(PackVersion).join(Pack).where(Pack.institution_id == institution_id, Pack.slug == pack_id)
    if other_than is not None:
        query = query.where(PackVersion.version != other_than)
    return session.scalar(query.order_by(PackVersion.id.desc()))


def content_of(session: Session, version: PackVersion) -> ContentPack:
    """The frozen pack of a stored version (loaded from its archive once per process)."""
    pack = _packs.get(_key(version))
    if pack is None:
        archive = session.scalar(select(PackVersion.archive).where(PackVersion.id == version.id))
        pack = load_pack(bytes(archive or b""))
        _packs.put(_key(version), pack)
    return pack


@dataclass(frozen=True)
class Parameters:
    """Which item parameters a bank is built with: a parameter version's, or the archive's own."""

    id: int | None = None
    digest: str = ""  # what the banks are cached by ("" for the archive's own parameters)


ARCHIVE = Parameters()


def parameters_digest(parameters: Any, exposure: Any) -> str:
    """The digest a parameter version's overrides are stored and cached under."""
    text = json.dumps({"parameters": parameters, "exposure": exposure}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def parameters_in_use(session: Session, version: PackVersion) -> Parameters:
    """The parameters new attempts of ``version`` run on: the parameter version activated last."""
    row = session.execute(select(ParameterVersion.id, ParameterVersion.digest)
                          .where(ParameterVersion.pack_version_id == version.id)
                          .order_by(ParameterVersion.activated_at.desc(), ParameterVersion.id.desc())
                          .limit(1)).first()
    return ARCHIVE if row is None else Parameters(row.id, row.digest)


def parameters_of(session: Session, attempt: Attempt) -> Parameters:
    """The parameters an attempt started with (it keeps them, so it replays exactly)."""
    if attempt.parameter_version_id is None:
        return ARCHIVE
    digest = session.scalar(select(ParameterVersion.digest)
                            .where(ParameterVersion.id == attempt.parameter_version_id))
    return Parameters(attempt.parameter_version_id, digest or "")


def with_overrides(items: list[Item], overrides: dict[str, Any]) -> ItemBank:
    """The bank of ``items`` with approved parameters in place of the archive's (and no longer pilot)."""
    def one(item: Item) -> ItemParameters:
        own = item.parameters()
        new = overrides.get(item.id)
        if new is None:
            return own
        return replace(own, model=new["model"], a=float(new["a"]), b=float(new.get("b", 0.0)),
                       c=float(new.get("c", 0.0)),
                       thresholds=tuple(float(t) for t in new.get("thresholds", ())), pilot=False)
    return ItemBank.from_items(one(it) for it in items)


def _bank(session: Session, version: PackVersion, module_key: str, parameters: Parameters,
          ) -> tuple[ItemBank, dict[str, Item]]:
    key = (_key(version), f"{module_key}|{parameters.digest}")
    with _banks_lock:
        cached = _banks.get(key)
    if cached is not None:
        return cached
    pack = content_of(session, version)
    if module_key:
        files = set(pack.module(module_key).item_files)
        items = [it for it in pack.items if it.file in files and it.max_score > 0]
    else:
        items = [it for it in pack.items if it.max_score > 0]
    overrides: dict[str, Any] = {}
    if parameters.id is not None:
        overrides = session.scalar(select(ParameterVersion.parameters)
                                   .where(ParameterVersion.id == parameters.id)) or {}
    value = (with_overrides(items, overrides), {it.id: it for it in items})
    with _banks_lock:
        _banks[key] = value
    return value


def module_bank(session: Session, version: PackVersion, module_key: str,
                parameters: Parameters | None = None) -> tuple[ItemBank, dict[str, Item]]:
    """The item bank of a module's assessment (its item files' scored types), built once per version
    and parameters (by default the parameters in use)."""
    if parameters is None:
        parameters = parameters_in_use(session, version)
    return _bank(session, version, module_key, parameters)


def pack_bank(session: Session, version: PackVersion,
              parameters: Parameters | None = None) -> tuple[ItemBank, dict[str, Item]]:
    """The bank of every scored item of a pack version (placement spans all competencies)."""
    if parameters is None:
        parameters = parameters_in_use(session, version)
    return _bank(session, version, "", parameters)


def exposure_control(session: Session, module_key: str, parameters: Parameters,
                     ) -> dict[str, float] | None:
    """The Sympson–Hetter parameters a parameter version derived for a module, if it did."""
    if parameters.id is None:
        return None
    exposure = session.scalar(select(ParameterVersion.exposure)
                              .where(ParameterVersion.id == parameters.id)) or {}
    control = exposure.get(module_key)
    return None if control is None else {str(k): float(v) for k, v in control.items()}


_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")')


def lesson_html(pack: ContentPack, lesson_path: str, html: str, asset_url: str) -> str:
    """Point relative image sources at the asset route (``asset_url`` ends with ``/``)."""
    known = {asset.path for asset in pack.assets}
    base = posixpath.dirname(lesson_path)

    def fix(m: re.Match[str]) -> str:
        src = m.group(2)
        if "://" in src or src.startswith(("/", "data:")):
            return m.group(0)
        path = posixpath.normpath(posixpath.join(base, src))
        if path not in known:
            return m.group(0)
        return f"{m.group(1)}{asset_url}{path}{m.group(3)}"

    return _SRC.sub(fix, html)


def markdown(text: str) -> str:
    """Sanitised HTML for learner-facing Markdown (stems, options, feedback)."""
    return render_markdown(text)


def latest_versions(session: Session, institution_id: int) -> list[PackVersion]:
    """The newest published version of each of the institution's packs, by title (what its learners
    see in the catalogue)."""
    newest = (select(func.max(PackVersion.id)).where(PackVersion.institution_id == institution_id,
                                                     PackVersion.published_at.is_not(None))
              .group_by(PackVersion.pack_id))
    return list(session.scalars(select(PackVersion).where(PackVersion.id.in_(newest))
                                .join(Pack).order_by(Pack.title)))
