"""Lessons, Markdown texts and images: size and time limits, HTML the sanitiser removes, image files.

A lesson is read, inspected and rendered once, however many modules list it; a stem, option or
feedback text is inspected when it may hold HTML or images (:func:`inspect_text`). All Markdown
processing of a pack shares one time budget (``Limits.max_markdown_seconds``), reported once when
spent. Each image is checked once: a file inside the pack, present, PNG, JPEG, GIF or SVG by its name
and by its content, within ``Limits.max_image_bytes``; SVG is sanitised, and what was removed is a
warning. The images read become the pack's assets.
"""

from __future__ import annotations

import re
import time
from pathlib import PurePosixPath

from ..archive import pack_relative
from ..errors import ERROR, WARNING
from ..model import Asset, Lesson
from ..parse import Located, decode_text
from ..render import inspect_markdown, render_markdown, sanitise_svg
from .context import Context

__all__ = ["inspect_text", "read_lesson"]

_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                ".svg": "image/svg+xml"}
_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
          "image/gif": (b"GIF87a", b"GIF89a")}


def read_lesson(ctx: Context, path: str) -> Lesson | None:
    """Read, render and inspect one lesson (once, however many modules list it)."""
    if path in ctx.lessons:
        return ctx.lessons[path]
    ctx.lessons[path] = None
    text, issue = decode_text(path, ctx.files[path])
    if text is None:
        assert issue is not None
        ctx.chk.issues.append(issue)
        return None
    images = _inspect(ctx, path, text, 0)
    if images is None or not _markdown_budget(ctx, path, None):
        return None
    started = time.perf_counter()
    html = render_markdown(text)
    ctx.markdown_seconds += time.perf_counter() - started
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")),
                 PurePosixPath(path).stem)
    lesson = Lesson(path, title or PurePosixPath(path).stem, text, html, tuple(images))
    ctx.lessons[path] = lesson
    return lesson


def inspect_text(ctx: Context, path: str, text: str, node: Located) -> None:
    """Inspect a stem, option or feedback text: HTML warnings and images."""
    if "<" in text or "![" in text or len(text) > ctx.limits.max_markdown_bytes // 4:
        _inspect(ctx, path, text, 0, node)


def _markdown_budget(ctx: Context, path: str, node: Located | None) -> bool:
    """Return False (reporting it once) when Markdown processing has used up its time budget."""
    if ctx.markdown_seconds <= ctx.limits.max_markdown_seconds:
        return True
    if not ctx.markdown_exhausted:
        ctx.markdown_exhausted = True
        line, column = node.position() if node is not None else (None, None)
        ctx.file_issue(path, ERROR, "the pack's Markdown takes more than "
                       f"{ctx.limits.max_markdown_seconds:g} s to process; checking stopped here",
                       "shorten the lessons and texts, and use less raw HTML", line, column)
    return False


def _inspect(ctx: Context, path: str, text: str, line_offset: int,
             node: Located | None = None) -> list[str] | None:
    """Warn about HTML the sanitiser removes and check the images the text shows.

    Return the pack paths of the images, or None when the text is refused (too large, too much
    raw HTML, or the time budget is spent).
    """

    def at(line: int) -> tuple[int | None, int | None]:
        return node.position() if node is not None else (line + line_offset, None)

    size = len(text.encode("utf-8"))
    if size > ctx.limits.max_markdown_bytes:
        where = at(1) if node is not None else (None, None)
        what = "text" if node is not None else "lesson"
        ctx.file_issue(path, ERROR, f"the {what} is {size:,} bytes; the limit is "
                       f"{ctx.limits.max_markdown_bytes:,}", "split it into shorter parts",
                       where[0], where[1])
        return None
    if not _markdown_budget(ctx, path, node):
        return None
    started = time.perf_counter()
    report = inspect_markdown(text)
    ctx.markdown_seconds += time.perf_counter() - started
    if report.n_tags > ctx.limits.max_html_tags:
        where = at(1) if node is not None else (None, None)
        ctx.file_issue(path, ERROR, f"the text holds {report.n_tags:,} HTML tags; the limit is "
                       f"{ctx.limits.max_html_tags:,}", "write Markdown instead of HTML",
                       where[0], where[1])
        return None
    images: list[str] = []

    for line, what in report.removed:
        where = at(line)
        ctx.file_issue(path, WARNING, f"disallowed HTML removed: {what}",
                       "use Markdown instead; scripts, event handlers and frames never survive",
                       where[0], where[1])
    for line, src in report.images:
        where = at(line)
        target = _image(ctx, path, src, where)
        if target is not None and target not in images:
            images.append(target)
    return images


def _image(ctx: Context, path: str, src: str, where: tuple[int | None, int | None]) -> str | None:
    """Check one image reference: inside the pack, present, an allowed format, not too large."""
    line, column = where
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", src) or src.startswith(("//", "/")):
        ctx.file_issue(path, ERROR, f"image {src[:100]!r} is not a file inside the pack",
                       "copy the image into images/ and use a relative path", line, column)
        return None
    target = pack_relative(path, src.split("#", 1)[0].split("?", 1)[0])
    if target is None:
        ctx.file_issue(path, ERROR, f"image {src[:100]!r} leaves the pack",
                       "keep images inside the pack", line, column)
        return None
    media_type = _IMAGE_TYPES.get(PurePosixPath(target).suffix.lower())
    if media_type is None:
        ctx.file_issue(path, ERROR, f"image {target} is not a PNG, JPEG, GIF or SVG file",
                       "convert the image to PNG, JPEG, GIF or SVG", line, column)
        return None
    if target not in ctx.files:
        ctx.file_issue(path, ERROR, f"missing file: {target}",
                       "add the image or correct the path", line, column)
        return None
    ctx.used.add(target)
    if target not in ctx.assets:
        ctx.assets[target] = _asset(ctx, target, media_type)
    return target if ctx.assets[target] is not None else None


def _asset(ctx: Context, path: str, media_type: str) -> Asset | None:
    """Check an image file's size and content once; sanitise SVG."""
    data = ctx.files[path]
    if len(data) > ctx.limits.max_image_bytes:
        ctx.file_issue(path, ERROR, f"image is {len(data):,} bytes; the limit is "
                       f"{ctx.limits.max_image_bytes:,}", "scale or compress the image")
        return None
    if media_type == "image/svg+xml":
        result = sanitise_svg(data)
        if result.data is None:
            ctx.file_issue(path, ERROR, f"SVG image {result.error}",
                           "export the SVG again as plain SVG without a DOCTYPE")
            return None
        for what in result.removed:
            ctx.file_issue(path, WARNING, f"SVG content removed: {what}",
                           "SVG images may not hold scripts, event handlers or outside links")
        return Asset(path, media_type, result.data)
    if not data.startswith(_MAGIC[media_type]):
        ctx.file_issue(path, ERROR, f"the file is not a {media_type.split('/')[1].upper()} image",
                       "save the image in the format its name says")
        return None
    return Asset(path, media_type, data)
