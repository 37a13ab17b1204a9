"""What :func:`~content.qti.read_qti` reads: one item file, XML bytes, a folder or a zip; the manifest.

:func:`_load_source` reads the source within the archive's :class:`~content.archive.Limits`: a zip or a
folder through :func:`~content.archive.read_pack_files`; one item file alone, the files beside it read
on demand (its images) by :class:`_Files`, which never follows a symbolic link. :func:`_manifest_items`
lists the items of ``imsmanifest.xml`` (at the root or in a single top folder) in manifest order, with
the package's title; without a manifest every ``.xml`` file is a candidate. Paths in hrefs are URLs:
``%20`` and the like are decoded. :class:`_Context` is one file being read: its path in the package,
the package's files, where its items go and where its issues are collected.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from ..archive import Limits, pack_relative, read_pack_files, stat_source
from ..errors import ERROR, WARNING, PackIssue, PackUnreadable
from .xmlsafe import _parse_xml, _Refused

__all__ = ["QtiSource"]

QtiSource = str | os.PathLike[str] | bytes
"""An item ``.xml`` path, a package folder or ``.zip`` path, or zip (or XML) bytes."""

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


class _Files:
    """The files of a package: read up front (zip, folder) or on demand beside one item file."""

    def __init__(self, files: dict[str, bytes], limits: Limits, folder: Path | None = None) -> None:
        self.files = files
        self.limits = limits
        self.folder = folder

    def get(self, path: str) -> bytes | None:
        if path in self.files:
            return self.files[path]
        if self.folder is None:
            return None
        current = self.folder
        try:
            for part in path.split("/"):
                current = current / part
                mode = os.lstat(current).st_mode
                if stat.S_ISLNK(mode):
                    return None
            if not stat.S_ISREG(mode) or os.lstat(current).st_size > self.limits.max_file_bytes:
                return None
            data = current.read_bytes()
        except OSError:
            return None
        self.files[path] = data
        return data


def _load_source(source: QtiSource, limits: Limits) -> tuple[_Files, list[str] | None, list[PackIssue]]:
    """Return the files, the item paths when the source is one item, and reading issues."""
    if isinstance(source, bytes):
        if source[:2] == b"PK":
            read = read_pack_files(source, limits)
            return _Files(dict(read.files), limits), None, list(read.issues)
        if len(source) > limits.max_file_bytes:
            return _Files({}, limits), [], [PackIssue(
                "<upload>", None, None, ERROR,
                f"file is {len(source):,} bytes; the limit is {limits.max_file_bytes:,}", "split the file")]
        return _Files({"item.xml": source}, limits), ["item.xml"], []
    path = Path(source)
    st = stat_source(path)
    if stat.S_ISREG(st.st_mode) and path.suffix.lower() == ".xml":
        if st.st_size > limits.max_file_bytes:
            issue = PackIssue(path.name, None, None, ERROR,
                              f"file is {st.st_size:,} bytes; the limit is {limits.max_file_bytes:,}",
                              "split the file")
            return _Files({}, limits), [], [issue]
        try:
            data = path.read_bytes()
        except OSError as exc:
            msg = f"{path}: cannot be read ({exc.strerror})"
            raise PackUnreadable(msg) from None
        return _Files({path.name: data}, limits, path.parent), [path.name], []
    read = read_pack_files(path, limits)
    return _Files(dict(read.files), limits), None, list(read.issues)


def _manifest_items(files: _Files, issues: list[PackIssue]) -> tuple[list[str], str | None]:
    """Item paths from imsmanifest.xml (at the root or in a single top folder), and the title."""
    manifests = sorted(p for p in files.files if p == "imsmanifest.xml" or (
        p.endswith("/imsmanifest.xml") and p.count("/") == 1))
    if not manifests:
        return sorted(p for p in files.files if p.lower().endswith(".xml")), None
    manifest = manifests[0]
    root = _parse_xml(files.files[manifest])
    if isinstance(root, _Refused):
        issues.append(PackIssue(manifest, root.line, root.column, ERROR, f"the manifest {root.message}",
                                root.hint))
        return [], None
    title = None
    for node in root.iter():
        if node.tag == "title" and node.parent is not None and node.parent.tag == "general":
            text = " ".join(node.itertext().split())
            if text:
                title = text
                break
    paths: list[str] = []
    for resource in root.iter():
        if resource.tag != "resource" or not resource.get("type").startswith("imsqti_item_xml"):
            continue
        href = resource.get("href")
        if not href:
            file_node = resource.first("file")
            href = file_node.get("href") if file_node is not None else ""
        outside = bool(_SCHEME.match(href)) or href.startswith("/")
        target = pack_relative(manifest, unquote(href.split("#", 1)[0])) if href and not outside else None
        if target is None:
            issues.append(PackIssue(manifest, resource.line, None, ERROR,
                                    f"resource {resource.get('identifier')!r} has no usable href "
                                    f"({href!r})", "point href at the item file inside the package"))
            continue
        if target not in files.files:
            issues.append(PackIssue(manifest, resource.line, None, ERROR,
                                    f"resource {resource.get('identifier')!r}: {target} is missing "
                                    "from the package", "add the file or remove the resource"))
            continue
        if target not in paths:
            paths.append(target)
    return paths, title


@dataclass(slots=True)
class _Context:
    """One file being read: its path in the package, the package's files and limits, where its
    items go (item file, competency, level) and where its issues are collected."""

    path: str
    files: _Files
    limits: Limits
    item_file: str
    issues: list[PackIssue]
    competency: str
    level: str

    def warn(self, line: int | None, message: str, hint: str) -> None:
        self.issues.append(PackIssue(self.path, line, None, WARNING, message, hint))
