"""Hostile-archive reading: turn a folder or a zip archive into ``{path: bytes}`` within hard limits.

Uploaded packs are treated as hostile. Before anything is decompressed, every entry is checked: the
number of entries, the declared size of each file and of the whole pack, the compression ratio (zip
bombs), the path (no absolute paths, no ``..``, no backslashes or control characters), the file kind (no
symbolic links, devices or pipes, read from a zip entry's Unix mode or with ``os.lstat`` in a folder)
and encryption. Reading is bounded too, so a lying size header cannot make us read more than the cap.
Nothing is ever extracted to disk and nothing touches the network.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .errors import ERROR, PackIssue, PackUnreadable

__all__ = ["DEFAULT_LIMITS", "Limits", "PackFiles", "read_pack_files"]

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Hard caps applied while reading and parsing a pack; every one is reported as a PackIssue.

    Attributes
    ----------
    max_files : int
        Entries in the archive or files in the folder.
    max_file_bytes : int
        Uncompressed size of one file.
    max_total_bytes : int
        Uncompressed size of the whole pack.
    max_ratio : float
        Uncompressed / compressed size of one zip entry, checked for entries above
        ``ratio_min_bytes`` (small files may compress well and harm no one).
    max_image_bytes : int
        Size of one image.
    max_yaml_depth, max_yaml_nodes, max_yaml_aliases : int
        Nesting depth, nodes after alias expansion and alias uses in one YAML file.
    max_pattern_length : int
        Length of a short-text item's regular expression.
    max_markdown_bytes : int
        Size of one lesson, or of one stem, option or feedback text (in UTF-8 bytes).
    max_html_tags : int
        Raw HTML tags in one lesson or text (the sanitiser's work grows with their nesting).
    max_markdown_seconds : float
        Total time spent parsing and rendering the pack's Markdown; a last-resort guard against input
        crafted to be slow, past which the pack is refused.
    """

    max_files: int = 10_000
    max_file_bytes: int = 16 * _MIB
    max_total_bytes: int = 256 * _MIB
    max_ratio: float = 100.0
    ratio_min_bytes: int = _MIB
    max_image_bytes: int = 2 * _MIB
    max_yaml_depth: int = 64
    max_yaml_nodes: int = 1_000_000
    max_yaml_aliases: int = 1_000
    max_pattern_length: int = 200
    max_markdown_bytes: int = 256 * 1024
    max_html_tags: int = 2_000
    max_markdown_seconds: float = 30.0


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class PackFiles:
    """The files of a pack, read safely.

    Attributes
    ----------
    files : dict of str to bytes
        Pack-relative ``/`` paths (after stripping a single top-level folder of a zip) to contents.
    issues : tuple of PackIssue
        Entries that were refused and why.
    complete : bool
        False when reading stopped early (too many files, pack too large); further checks would only
        report files as missing.
    """

    files: dict[str, bytes]
    issues: tuple[PackIssue, ...] = ()
    complete: bool = True
    source: str = field(default="")


def _issue(path: str, message: str, hint: str) -> PackIssue:
    return PackIssue(path=path, line=None, column=None, severity=ERROR, message=message, hint=hint)


def _unsafe_path(name: str) -> str | None:
    """Say why an archive member name is unsafe, or return None when it is a plain relative path."""
    if not name:
        return "has an empty name"
    if "\\" in name:
        return "uses a backslash; paths inside a pack use '/'"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "contains a control character"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if len(name) > 1024:
        return "is longer than 1024 characters"
    parts = name.rstrip("/").split("/")
    if any(part == ".." for part in parts):
        return "leaves the pack ('..')"
    if any(part == "" for part in parts):
        return "contains an empty path component ('//')"
    return None


def _printable(name: str) -> str:
    """A file name as text that can be printed anywhere: undecodable bytes (which the operating
    system hands over as surrogate escapes) become ``\\xNN``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _ignored(path: str) -> bool:
    """Return True for operating-system litter: hidden files and folders, macOS resource forks."""
    parts = path.split("/")
    return parts[0] == "__MACOSX" or any(part.startswith(".") for part in parts)


class _Budget:
    """Count files and bytes against the limits while reading."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.files = 0
        self.bytes = 0
        self.issues: list[PackIssue] = []
        self.complete = True

    def admit(self, name: str, size: int) -> bool:
        """Check one more file of ``size`` bytes; False means skip it (and maybe stop)."""
        lim = self.limits
        if size > lim.max_file_bytes:
            self.issues.append(_issue(
                name, f"file is {size:,} bytes; the limit is {lim.max_file_bytes:,} bytes",
                "split the file or shrink it (compress images, move media elsewhere)"))
            return False
        self.files += 1
        self.bytes += size
        if self.files > lim.max_files:
            self.issues.append(_issue(
                ".", f"the pack has more than {lim.max_files:,} files",
                "merge small files or split the pack"))
            self.complete = False
            return False
        if self.bytes > lim.max_total_bytes:
            self.issues.append(_issue(
                ".", f"the pack is larger than {lim.max_total_bytes:,} bytes uncompressed",
                "remove large files or split the pack"))
            self.complete = False
            return False
        return True


def _read_bounded(fh: BinaryIO, limit: int) -> bytes | None:
    """Read at most ``limit`` bytes; None when the stream holds more (a lying size header)."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = fh.read(min(1 << 20, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return None


# ---------------------------------------------------------------------------------------- folders
def _walk(root: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Yield (relative path, entry) for every non-directory entry, without following links."""
    stack = [("", root)]
    while stack:
        prefix, folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel = f"{prefix}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith("."):
                        stack.append((rel + "/", Path(entry.path)))
                    continue
                yield rel, entry


def _read_folder(root: Path, limits: Limits) -> PackFiles:
    budget = _Budget(limits)
    files: dict[str, bytes] = {}
    try:
        walk = list(_walk(root))
    except OSError as exc:
        msg = f"{root}: cannot be listed ({exc.strerror})"
        raise PackUnreadable(msg) from None
    for rel, entry in walk:
        if _ignored(rel):
            continue
        shown = _printable(rel)
        if shown != rel:
            budget.issues.append(_issue(
                shown, "has a name that is not valid UTF-8 (shown with \\x escapes)",
                "rename it with UTF-8 characters: pack.yaml, lessons and items can only refer to such names"))
            continue
        try:
            st = os.lstat(entry.path)
        except OSError as exc:
            budget.issues.append(_issue(rel, f"cannot be read ({exc.strerror})", "check its permissions"))
            continue
        if stat.S_ISLNK(st.st_mode):
            budget.issues.append(_issue(
                rel, "is a symbolic link; packs may not contain links",
                "replace the link with a copy of the file it points to"))
            continue
        if not stat.S_ISREG(st.st_mode):
            budget.issues.append(_issue(
                rel, "is not a regular file (a device, pipe or socket)", "remove it from the pack"))
            continue
        if not budget.admit(rel, st.st_size):
            if not budget.complete:
                break
            continue
        data = _read_regular(entry.path, limits.max_file_bytes)
        if data is None:
            budget.issues.append(_issue(
                rel, "changed or grew while it was read", "do not edit the pack while importing it"))
            continue
        files[rel] = data
    return PackFiles(files, tuple(budget.issues), budget.complete, str(root))


def _read_regular(path: str, limit: int) -> bytes | None:
    """Read a regular file without following a link that replaced it after the check."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return None
        return _read_bounded(fh, limit)


# ---------------------------------------------------------------------------------------- zips
def _zip_mode(info: zipfile.ZipInfo) -> int:
    return (info.external_attr >> 16) & 0xFFFF if info.create_system == 3 else 0


def _read_zip(stream: BinaryIO, source: str, limits: Limits) -> PackFiles:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        msg = f"{source}: not a readable zip archive ({exc})"
        raise PackUnreadable(msg) from None
    with archive:
        return _read_members(archive, source, limits)


def _read_members(archive: zipfile.ZipFile, source: str, limits: Limits) -> PackFiles:
    budget = _Budget(limits)
    infos = archive.infolist()
    if len(infos) > limits.max_files:
        budget.issues.append(_issue(
            ".", f"the archive has {len(infos):,} entries; the limit is {limits.max_files:,}",
            "merge small files or split the pack"))
        return PackFiles({}, tuple(budget.issues), False, source)
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_total_bytes:
        budget.issues.append(_issue(
            ".", f"the archive unpacks to {declared:,} bytes; the limit is {limits.max_total_bytes:,}",
            "remove large files or split the pack"))
        return PackFiles({}, tuple(budget.issues), False, source)
    accepted: list[zipfile.ZipInfo] = []
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        why = _unsafe_path(name)
        if why is not None:
            budget.issues.append(_issue(
                name or "?", f"archive entry {why}",
                "rebuild the archive from the pack folder with relative paths only"))
            continue
        mode = _zip_mode(info)
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            budget.issues.append(_issue(
                name, "is a symbolic link; packs may not contain links",
                "replace the link with a copy of the file it points to"))
            continue
        if info.is_dir() or kind == stat.S_IFDIR:
            continue
        if kind not in (0, stat.S_IFREG):
            budget.issues.append(_issue(
                name, "is not a regular file (a device, pipe or socket)", "remove it from the pack"))
            continue
        if _ignored(name):
            continue
        if name in seen:
            budget.issues.append(_issue(
                name, "appears twice in the archive", "rebuild the archive from the pack folder"))
            continue
        seen.add(name)
        if info.flag_bits & 0x1:
            budget.issues.append(_issue(
                name, "is encrypted", "packs are plain zip archives without passwords"))
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_min_bytes and ratio > limits.max_ratio:
            budget.issues.append(_issue(
                name, f"compresses {ratio:,.0f} to 1 (limit {limits.max_ratio:,.0f} to 1); "
                "this looks like a zip bomb", "do not pad files; remove the entry"))
            continue
        if not budget.admit(name, info.file_size):
            if not budget.complete:
                break
            continue
        accepted.append(info)
    files: dict[str, bytes] = {}
    for info in accepted:
        try:
            with archive.open(info) as fh:
                data = _read_bounded(fh, min(info.file_size, limits.max_file_bytes))  # type: ignore[arg-type]
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError,
                RuntimeError, ValueError) as exc:
            budget.issues.append(_issue(
                info.filename, f"cannot be read from the archive ({exc})",
                "rebuild the archive with plain deflate compression"))
            continue
        if data is None:
            budget.issues.append(_issue(
                info.filename, "holds more data than its header declares",
                "rebuild the archive from the pack folder"))
            continue
        files[info.filename] = data
    return PackFiles(_strip_top_folder(files), tuple(budget.issues), budget.complete, source)


def _strip_top_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """Accept ``name/pack.yaml`` as the root when the archive was made by zipping the pack folder."""
    if "pack.yaml" in files or not files:
        return files
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) != 1 or all("/" not in path for path in files):
        return files
    top = tops.pop()
    if f"{top}/pack.yaml" not in files:
        return files
    return {path[len(top) + 1:]: data for path, data in files.items() if path.startswith(top + "/")}


# ---------------------------------------------------------------------------------------- entry point
def stat_source(path: Path) -> os.stat_result:
    """``path.stat()``, or PackUnreadable saying plainly why the path cannot be read."""
    try:
        return path.stat()
    except FileNotFoundError:
        msg = f"{path}: no such file or folder"
        raise PackUnreadable(msg) from None
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror})"
        raise PackUnreadable(msg) from None


def read_pack_files(source: str | os.PathLike[str] | bytes | BinaryIO,
                    limits: Limits = DEFAULT_LIMITS) -> PackFiles:
    """Read a pack folder, a zip file, zip bytes or a binary zip stream within ``limits``.

    Raises
    ------
    PackUnreadable
        No such path, a path that is neither a folder nor a zip file, or a damaged zip archive.
    """
    if isinstance(source, bytes):
        return _read_zip(io.BytesIO(source), "<upload>", limits)
    if not isinstance(source, (str, os.PathLike)):
        return _read_zip(source, "<upload>", limits)
    path = Path(source)
    st = stat_source(path)
    if stat.S_ISDIR(st.st_mode):
        return _read_folder(path, limits)
    if not stat.S_ISREG(st.st_mode):
        msg = f"{path}: neither a folder nor a zip archive"
        raise PackUnreadable(msg)
    try:
        with path.open("rb") as fh:
            if not zipfile.is_zipfile(fh):
                msg = f"{path}: neither a folder nor a zip archive"
                raise PackUnreadable(msg)
            fh.seek(0)
            result = _read_zip(fh, str(path), limits)
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror})"
        raise PackUnreadable(msg) from None
    return result


def pack_relative(base: str, target: str) -> str | None:
    """Resolve ``target`` relative to the pack file ``base``; None when it leaves the pack."""
    parts: list[str] = []
    for part in (PurePosixPath(base).parent / target).parts:
        if part in (".", ""):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts) if parts else None
