"""The images an item shows (``img``, or ``object`` with an image type) become pack assets, or alt text.

An image becomes an asset at ``images/<its path in the package>`` when the package holds it as PNG,
JPEG, GIF or SVG within ``max_image_bytes``; an SVG must pass the pack format's own check
(:func:`~content.render.sanitise_svg`), after a plain public DOCTYPE is dropped. Otherwise (a URL, a
path that leaves the package, a missing file, another format, too big) its alt text stands in its place
and a warning says why. ``src`` is a URL: ``%20`` and the like are decoded.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import PurePosixPath
from urllib.parse import unquote

from ..archive import pack_relative
from ..model import Asset
from ..render import sanitise_svg
from .markdown import _esc
from .package import _SCHEME, _Context

_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                ".svg": "image/svg+xml"}
_PLAIN_DOCTYPE = re.compile(rb"<!DOCTYPE\s+svg\s+PUBLIC\s+\"[^\"<>\[\]]*\"\s+\"[^\"<>\[\]]*\"\s*>")


def _svg(data: bytes) -> tuple[bytes | None, str | None]:
    """Check an SVG as the pack format will; drop a plain public DOCTYPE (no internal subset) first."""
    stripped = _PLAIN_DOCTYPE.sub(b"", data, count=1)
    result = sanitise_svg(stripped)
    if result.error is not None:
        return None, f"can't be used: SVG image {result.error}"
    return stripped, None


def _image(ctx: _Context, assets: dict[str, Asset], src: str, alt: str, line: int) -> str | None:
    """Markdown for an image of the file ``ctx`` reads (added to ``assets``), or its alt text."""
    alt_md = _esc(alt).strip()
    src = src.strip()
    if not src:
        return alt_md or None
    if _SCHEME.match(src) or src.startswith("/"):
        ctx.warn(line, f"image {src[:100]!r} is not a file inside the package; its alt text is shown",
                 "add the image to the package and refer to it by a relative path")
        return alt_md or None
    target = pack_relative(ctx.path, unquote(src.split("#", 1)[0].split("?", 1)[0]))
    media_type = _IMAGE_TYPES.get(PurePosixPath(target or "").suffix.lower())
    data = ctx.files.get(target) if target is not None else None
    problem, hint = None, ""
    if target is None:
        problem, hint = "leaves the package", "copy the image into the package and refer to it there"
    elif media_type is None:
        problem, hint = "is not a PNG, JPEG, GIF or SVG image", "convert it to PNG, JPEG, GIF or SVG"
    elif data is None:
        problem, hint = "is missing from the package", "add the image to the package or correct the path"
    elif len(data) > ctx.limits.max_image_bytes:
        problem = f"is {len(data):,} bytes; the limit is {ctx.limits.max_image_bytes:,}"
        hint = "scale or compress the image"
    if problem is None and media_type == "image/svg+xml" and data is not None:
        data, problem = _svg(data)
        hint = "export the SVG again as plain SVG, without a DOCTYPE"
    if problem or target is None or media_type is None or data is None:
        ctx.warn(line, f"image {src[:100]!r} {problem}; its alt text is shown instead", hint)
        return alt_md or None
    pack_path = "images/" + target
    assets[pack_path] = Asset(pack_path, media_type, data)
    rel = posixpath.relpath(pack_path, posixpath.dirname(ctx.item_file) or ".")
    alt_md = alt_md.replace("\n", " ")
    return f"![{alt_md}](<{rel}>)" if re.search(r"[\s()<>]", rel) else f"![{alt_md}]({rel})"
