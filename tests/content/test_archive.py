"""Hostile archives and folders: each gives a clear PackIssue or PackUnreadable, never a crash or a hang.

The hostile files are generated here at run time (nothing dangerous is committed). Each test also
checks that it finished quickly, with a plain clock rather than a timeout plugin.
"""

from __future__ import annotations

import io
import os
import stat
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from content import Limits, PackInvalid, PackUnreadable, check_pack, load_pack
from content.archive import read_pack_files

from .packs import base_files, write_folder, zip_bytes

SECONDS = 5.0


@contextmanager
def quickly(limit: float = SECONDS) -> Iterator[None]:
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    assert elapsed < limit, f"took {elapsed:.1f} s"


def hostile_zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]], *, with_base: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if with_base:
            for path, data in base_files().items():
                archive.writestr(path, data)
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def errors_for(source: bytes | Path, limits: Limits | None = None) -> list[str]:
    with quickly():
        result = check_pack(source, limits or Limits())
    assert result.pack is None
    with pytest.raises(PackInvalid):
        load_pack(source, limits or Limits())
    return [str(issue) for issue in result.errors]


def unix_entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def test_a_zip_bomb_is_refused_by_its_declared_ratio_before_extraction() -> None:
    bomb = b"\0" * (12 * 1024 * 1024)  # 12 MiB of zeros deflate to about 12 KiB
    data = hostile_zip([("images/bomb.png", bomb)])
    assert len(data) < 100_000
    errors = errors_for(data)
    assert any(e.startswith("images/bomb.png: error: compresses") and "zip bomb" in e for e in errors)


def test_a_file_over_the_size_cap_is_refused_by_its_declared_size() -> None:
    errors = errors_for(hostile_zip([("big.yaml", b"x" * 5000)]), Limits(max_file_bytes=4000))
    assert any(e.startswith("big.yaml: error: file is 5,000 bytes; the limit is 4,000 bytes")
               for e in errors)


def test_a_pack_over_the_total_size_cap_stops_reading() -> None:
    errors = errors_for(zip_bytes(base_files()), Limits(max_total_bytes=1000))
    assert len(errors) == 1 and "the archive unpacks to" in errors[0]


def test_too_many_files() -> None:
    errors = errors_for(zip_bytes(base_files()), Limits(max_files=3))
    assert errors == [".: error: the archive has 8 entries; the limit is 3 "
                      "(hint: merge small files or split the pack)"]


@pytest.mark.parametrize(("name", "why"), [
    ("../evil.yaml", "leaves the pack ('..')"),
    ("items/../../evil.yaml", "leaves the pack ('..')"),
    ("/etc/passwd", "is an absolute path"),
    ("C:/windows/evil.yaml", "is an absolute path"),
    ("items\\..\\evil.yaml", "uses a backslash"),
    ("items//x.yaml", "contains an empty path component"),
])
def test_unsafe_paths_are_refused(name: str, why: str) -> None:
    errors = errors_for(hostile_zip([(name, b"x: 1\n")]))
    assert any(e.startswith(f"{name}: error: archive entry {why}") for e in errors), errors


def test_a_symlink_entry_is_refused() -> None:
    errors = errors_for(hostile_zip([(unix_entry("images/link.png", stat.S_IFLNK | 0o777), b"/etc/passwd")]))
    assert "images/link.png: error: is a symbolic link; packs may not contain links (hint: replace the " \
           "link with a copy of the file it points to)" in errors


def test_a_device_entry_is_refused() -> None:
    errors = errors_for(hostile_zip([(unix_entry("dev/zero", stat.S_IFCHR | 0o666), b"")]))
    assert any(e.startswith("dev/zero: error: is not a regular file") for e in errors)


def test_an_encrypted_entry_is_refused() -> None:
    data = bytearray(hostile_zip([("secret.yaml", b"x: 1\n")]))
    central = data.rindex(b"PK\x01\x02")  # the last central-directory record is secret.yaml's
    data[central + 8] |= 0x1  # general-purpose flag bit 0: encrypted
    errors = errors_for(bytes(data))
    assert any(e.startswith("secret.yaml: error: is encrypted") for e in errors)


def test_a_duplicate_entry_is_refused() -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        data = hostile_zip([("pack.yaml", b"id: other\n")])
    errors = errors_for(data)
    assert any(e.startswith("pack.yaml: error: appears twice") for e in errors)


def test_a_folder_symlink_is_refused(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "pack", base_files())
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (root / "images" / "leak.png").symlink_to(outside)
    errors = errors_for(root)
    assert any(e.startswith("images/leak.png: error: is a symbolic link") for e in errors)


def test_a_symlinked_folder_is_not_followed(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "pack", base_files())
    (root / "etc").symlink_to("/etc")
    errors = errors_for(root)
    assert any(e.startswith("etc: error: is a symbolic link") for e in errors)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "pack", base_files())
    os.mkfifo(root / "items" / "pipe.yaml")
    errors = errors_for(root)
    assert any(e.startswith("items/pipe.yaml: error: is not a regular file") for e in errors)


def test_a_50_mb_single_line_file_is_refused_in_a_folder(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "pack", base_files())
    with (root / "pack.yaml").open("wb") as fh:
        fh.write(b"title: " + b"a" * (50 * 1024 * 1024))
    errors = errors_for(root)
    expected = "pack.yaml: error: file is 52,428,807 bytes; the limit is 16,777,216"
    assert any(e.startswith(expected) for e in errors)


def test_a_50_mb_single_line_file_is_refused_in_a_zip() -> None:
    line = (b"description: " + b"abcdefghij" * (5 * 1024 * 1024))
    errors = errors_for(hostile_zip([("notes.yaml", line)]))
    assert any(e.startswith("notes.yaml: error:") for e in errors)


def test_xml_billion_laughs_in_an_svg_is_refused() -> None:
    lol = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)) + b']><svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>'
    errors = errors_for(zip_bytes({**base_files(), "images/diagram.svg": lol}))
    expected = "images/diagram.svg: error: SVG image declares a DTD or entities"
    assert any(e.startswith(expected) for e in errors)


def test_an_external_entity_svg_is_refused() -> None:
    xxe = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
           b'<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>')
    errors = errors_for(zip_bytes({**base_files(), "images/diagram.svg": xxe}))
    assert any(e.startswith("images/diagram.svg: error: SVG image declares a DTD") for e in errors)


def test_yaml_billion_laughs_is_refused_quickly() -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 12):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 9)}]")
    bomb = ("\n".join(lines) + "\n").encode()
    errors = errors_for(zip_bytes({**base_files(), "pack.yaml": bomb}))
    assert any(e.startswith("pack.yaml:") and "expands to more than 1,000,000 values" in e for e in errors)


def test_deeply_nested_yaml_is_refused() -> None:
    deep = b"items: " + b"[" * 200_000 + b"]" * 200_000 + b"\n"
    errors = errors_for(zip_bytes({**base_files(), "items/intro.yaml": deep}))
    assert any(e.startswith("items/intro.yaml:1: error: nesting is deeper than 64 levels") for e in errors)


def test_deeply_nested_block_yaml_is_refused() -> None:
    deep = "".join("  " * i + f"k{i}:\n" for i in range(500)).encode()
    errors = errors_for(zip_bytes({**base_files(), "items/intro.yaml": deep}))
    assert any("nesting is deeper than 64 levels" in e for e in errors)


def test_unsafe_yaml_tags_are_refused() -> None:
    evil = b"items: !!python/object/apply:os.system ['echo pwned']\n"
    errors = errors_for(zip_bytes({**base_files(), "items/intro.yaml": evil}))
    assert any("items/intro.yaml:1: error: the YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' "
               "is not allowed" in e for e in errors)


@pytest.mark.parametrize("data", [b"", b"not a zip at all", zip_bytes(base_files())[:200]])
def test_unreadable_input_raises_pack_unreadable(data: bytes) -> None:
    with pytest.raises(PackUnreadable):
        check_pack(data)


def test_missing_paths_and_other_files_are_unreadable(tmp_path: Path) -> None:
    with pytest.raises(PackUnreadable, match="no such file or folder"):
        check_pack(tmp_path / "nope")
    text = tmp_path / "pack.txt"
    text.write_text("hello")
    with pytest.raises(PackUnreadable, match="neither a folder nor a zip archive"):
        check_pack(text)


def test_a_zip_of_the_pack_folder_is_accepted_with_its_top_folder() -> None:
    files = {**base_files(), ".DS_Store": b"\0\0", "__MACOSX/._pack.yaml": b"\0"}
    pack = load_pack(zip_bytes(files, prefix="sample-pack/"))
    assert pack.id == "sample-pack"


def test_hidden_files_in_a_folder_are_ignored(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "pack", {**base_files(), ".git/config": b"x", ".DS_Store": b"x"})
    assert set(read_pack_files(root).files) == set(base_files())


def test_a_streamed_upload_reads_like_a_file(tmp_path: Path) -> None:
    data = zip_bytes(base_files())
    path = tmp_path / "pack.zip"
    path.write_bytes(data)
    assert load_pack(io.BytesIO(data)) == load_pack(path) == load_pack(data)


def test_a_huge_lesson_is_refused_before_rendering() -> None:
    lesson = b"# Big\n\n" + b"![" * 200_000
    errors = errors_for(zip_bytes({**base_files(), "lessons/deeper/01-more.md": lesson}))
    assert any(e.startswith("lessons/deeper/01-more.md: error: the lesson is 400,007 bytes; the limit is "
                            "262,144") for e in errors)


def test_deeply_nested_raw_html_is_refused_before_sanitising() -> None:
    lesson = b"# Nested\n\n" + b"<div>" * 20_000
    errors = errors_for(zip_bytes({**base_files(), "lessons/deeper/01-more.md": lesson}))
    assert any("the text holds 20,000 HTML tags; the limit is 2,000" in e for e in errors)


def test_markdown_processing_has_a_time_budget() -> None:
    errors = errors_for(zip_bytes(base_files()), Limits(max_markdown_seconds=-1.0))
    assert any("Markdown takes more than -1 s to process" in e for e in errors)
    assert len([e for e in errors if "to process" in e]) == 1


def test_thousands_of_broken_references_are_checked_in_bounded_time() -> None:
    n = 3000
    competencies = "".join(f"  - {{id: c{i}, title: C, prerequisites: [c{i + 1}]}}\n" for i in range(n))
    modules = "".join(f"  - {{id: m{i}, title: M, competencies: [c{i}], lessons: [l/x{i}.md]}}\n"
                      for i in range(n))
    pack_yaml = ("id: big\ntitle: Big\nversion: 1.0.0\nlanguage: en\nlicence: MIT\n"
                 f"competencies:\n{competencies}modules:\n{modules}").encode()
    files = {"pack.yaml": pack_yaml, **{f"l/y{i}.md": b"# x\n" for i in range(n)}}
    errors = errors_for(zip_bytes(files))
    assert len([e for e in errors if "missing file: l/x" in e]) == n
    assert len([e for e in errors if "unknown prerequisite 'c3000'" in e]) == 1
