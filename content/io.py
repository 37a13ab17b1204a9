"""Load, check and export packs: the one code path behind the CLI, the web upload and the demo loader.

:func:`load_pack` is atomic: it returns a frozen :class:`~content.model.ContentPack` or raises
:class:`~content.errors.PackInvalid` with every issue (or :class:`~content.errors.PackUnreadable` when
the input is not a pack at all). :func:`export_pack` writes a pack in canonical form, to a folder or a
``.zip``; reading the export back gives an equal ``ContentPack``. The pack's identity, a sha256 over
its canonical content (not its formatting), is :func:`content.model.content_hash`, beside the
dataclasses it walks; it is stable across export and import.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from .archive import DEFAULT_LIMITS, Limits, read_pack_files
from .errors import IssueSplit, PackInvalid, PackIssue
from .model import AssessmentSettings, ContentPack, Item
from .validate import check_files

__all__ = [
    "CheckResult",
    "Source",
    "canonical_files",
    "check_pack",
    "export_pack",
    "load_pack",
]

Source = str | os.PathLike[str] | bytes | BinaryIO
"""A pack folder or zip file path, zip bytes, or a binary stream of a zip (an upload)."""

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class CheckResult(IssueSplit):
    """The outcome of checking a pack: the pack (None when there are errors) and every issue."""

    pack: ContentPack | None
    issues: tuple[PackIssue, ...]


def check_pack(source: Source, limits: Limits = DEFAULT_LIMITS) -> CheckResult:
    """Read and check a pack, collecting every issue.

    Raises
    ------
    PackUnreadable
        The input is not a folder, a zip file or zip data.
    """
    files = read_pack_files(source, limits)
    pack, issues = check_files(files, limits)
    return CheckResult(pack, issues)


def load_pack(source: Source, limits: Limits = DEFAULT_LIMITS) -> ContentPack:
    """Return the validated pack, or raise PackInvalid with every issue (warnings alone don't block).

    Raises
    ------
    PackInvalid
        At least one issue is an error; ``issues`` holds all of them, warnings included.
    PackUnreadable
        The input is not a folder, a zip file or zip data.
    """
    result = check_pack(source, limits)
    if result.pack is None:
        raise PackInvalid(result.issues)
    return result.pack


# ---------------------------------------------------------------------------------------- canonical form
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc]
    """Block style, multi-line strings as literal blocks, keys in the order given."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.SequenceNode:
    flat = all(isinstance(v, (int, float, str)) and "\n" not in str(v) and len(str(v)) < 40
               for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)


def _dump(data: Any) -> bytes:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    return text.encode("utf-8")


def _settings_diff(settings: AssessmentSettings, base: AssessmentSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in AssessmentSettings.__slots__:
        value = getattr(settings, name)
        if value != getattr(base, name) and value is not None:
            out[name] = value
    return out


def _changed(settings: Any) -> dict[str, Any]:
    """The fields of an ``evidence``/``retakes`` setting that differ from their defaults."""
    default = type(settings)().to_json()
    return {name: value for name, value in settings.to_json().items() if value != default[name]}


def _pack_yaml(pack: ContentPack) -> dict[str, Any]:
    out: dict[str, Any] = {"id": pack.id, "title": pack.title, "version": pack.version,
                           "language": pack.language, "licence": pack.licence}
    if pack.authors:
        out["authors"] = [{"name": a.name, **({"email": a.email} if a.email else {})}
                          for a in pack.authors]
    if pack.description:
        out["description"] = pack.description
    out["assessment"] = {name: getattr(pack.assessment, name) for name in AssessmentSettings.__slots__
                         if getattr(pack.assessment, name) is not None}
    for name in ("evidence", "retakes"):
        changed = _changed(getattr(pack, name))
        if changed:
            out[name] = changed
    competencies = []
    for comp in pack.competencies:
        record: dict[str, Any] = {"id": comp.id, "title": comp.title}
        if comp.description:
            record["description"] = comp.description
        record["prerequisites"] = list(comp.prerequisites)
        if comp.level is not None:
            record["level"] = comp.level
        diff = _settings_diff(comp.assessment, pack.assessment)
        if diff:
            record["assessment"] = diff
        competencies.append(record)
    out["competencies"] = competencies
    modules = []
    for module in pack.modules:
        record = {"id": module.id, "title": module.title}
        if module.summary:
            record["summary"] = module.summary
        record["competencies"] = list(module.competencies)
        if module.outcomes:
            record["outcomes"] = list(module.outcomes)
        record["lessons"] = [lesson.path for lesson in module.lessons]
        record["items"] = list(module.item_files)
        if module.minutes is not None:
            record["minutes"] = module.minutes
        if module.feedback != "end":
            record["feedback"] = module.feedback
        modules.append(record)
    out["modules"] = modules
    credentials = []
    for cred in pack.credentials:
        record = {"id": cred.id, "title": cred.title}
        if cred.description:
            record["description"] = cred.description
        record["criteria"] = {"competencies": list(cred.competencies),
                              "credentials": list(cred.credentials)}
        if cred.max_se is not None:
            record["criteria"]["max_se"] = cred.max_se
        if cred.credit is not None:
            credit: dict[str, Any] = {"value": cred.credit.value, "unit": cred.credit.unit}
            if cred.credit.level is not None:
                credit["level"] = cred.credit.level
            record["credit"] = credit
        else:
            record["credit"] = "none"
        if cred.expires_after_days is not None:
            record["expires_after_days"] = cred.expires_after_days
        credentials.append(record)
    if credentials:
        out["credentials"] = credentials
    return out


def _item_record(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id, "type": item.type, "competency": item.competency}
    if item.content_area is not None:
        out["content_area"] = item.content_area
    out["stem"] = item.stem
    for name in ("options", "sources", "targets"):
        choices = getattr(item, name)
        if choices:
            out[name] = [{"id": c.id, "text": c.text} for c in choices]
    key = item.key
    if key is not None:
        if isinstance(key, tuple) and key and isinstance(key[0], tuple):
            out["key"] = {pair[0]: pair[1] for pair in key if isinstance(pair, tuple)}
        elif isinstance(key, tuple):
            out["key"] = list(key)
        else:
            out["key"] = key
    if item.scoring != "all_or_nothing":
        out["scoring"] = item.scoring
    if not item.shuffle:
        out["shuffle"] = False
    if item.tolerance:
        out["tolerance"] = item.tolerance
    if item.accepted:
        out["accepted"] = list(item.accepted)
    if item.pattern is not None:
        out["pattern"] = item.pattern
    if item.case_sensitive:
        out["case_sensitive"] = True
    feedback: dict[str, Any] = {}
    if item.feedback.correct is not None:
        feedback["correct"] = item.feedback.correct
    if item.feedback.incorrect is not None:
        feedback["incorrect"] = item.feedback.incorrect
    if item.feedback.options:
        feedback["options"] = dict(item.feedback.options)
    if feedback:
        out["feedback"] = feedback
    if item.irt is not None:
        irt: dict[str, Any] = {"model": item.irt.model, "a": item.irt.a}
        if item.irt.thresholds:
            irt["thresholds"] = list(item.irt.thresholds)
        else:
            irt["b"] = item.irt.b
        if item.irt.model == "3pl":
            irt["c"] = item.irt.c
        out["irt"] = irt
    if item.level != "medium":
        out["level"] = item.level
    return out


def canonical_files(pack: ContentPack) -> dict[str, bytes]:
    """Return the pack's files in canonical form: ``{path: bytes}``, reading back to an equal pack."""
    files: dict[str, bytes] = {"pack.yaml": _dump(_pack_yaml(pack))}
    for module in pack.modules:
        for lesson in module.lessons:
            files[lesson.path] = lesson.markdown.encode("utf-8")
        for path in module.item_files:
            if path not in files:
                records = [_item_record(item) for item in pack.items if item.file == path]
                files[path] = _dump({"items": records})
    for asset in pack.assets:
        files[asset.path] = asset.data
    if pack.readme is not None:
        files["README.md"] = pack.readme.encode("utf-8")
    return dict(sorted(files.items()))


# ---------------------------------------------------------------------------------------- export
def export_pack(pack: ContentPack, out: str | os.PathLike[str]) -> Path:
    """Write the pack in canonical form to a new folder, or to a zip file when ``out`` ends in .zip.

    The output appears atomically (written beside it, then renamed); an existing non-empty folder or
    an existing file is refused with ``FileExistsError``.
    """
    target = Path(out)
    files = canonical_files(pack)
    if target.suffix.lower() == ".zip":
        if target.exists():
            msg = f"{target}: already exists"
            raise FileExistsError(msg)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path())
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for path, data in files.items():
                    info = zipfile.ZipInfo(path, date_time=_ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o100644 << 16
                    archive.writestr(info, data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        msg = f"{target}: already exists and is not an empty folder"
        raise FileExistsError(msg)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent or Path()))
    try:
        for path, data in files.items():
            dest = tmp_dir / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        if target.exists():
            target.rmdir()
        os.replace(tmp_dir, target)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return target
