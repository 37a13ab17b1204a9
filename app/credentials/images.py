"""Badge images that carry their credential, baked as the Open Badges 3.0 baking rules say.

- **SVG**: the credential's JSON inside an ``<openbadges:credential>`` element (namespace
  ``https://purl.imsglobal.org/ob/v3p0``), as CDATA, right after the ``<svg>`` start tag.
- **PNG**: the credential's JSON in an ``iTXt`` chunk with the keyword ``openbadgecredential``
  (Pillow writes it).

The picture itself is drawn here: the credential's name, its issuer and its credit, readable without
colour. ``unbake`` reads a credential back out of either kind of image (for tests and verifiers);
it parses SVG with defusedxml, so a hostile image cannot expand entities or fetch anything.
"""

from __future__ import annotations

import io
import json
import textwrap
from typing import Any
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException, ElementTree
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
PNG_KEYWORD = "openbadgecredential"
_SIZE = 400


def _lines(credential: dict[str, Any]) -> tuple[list[str], str, str]:
    achievement = credential.get("credentialSubject", {}).get("achievement", {})
    title = textwrap.wrap(str(credential.get("name", "Credential")), 18)[:3]
    issuer = credential.get("issuer", {})
    by = str(issuer.get("name", "")) if isinstance(issuer, dict) else ""
    credit = (f"{achievement['creditsAvailable']:g} {' '.join(achievement.get('tag', []))}"
              if "creditsAvailable" in achievement else "Micro-credential")
    return title, by, credit


def badge_svg(credential: dict[str, Any]) -> str:
    """An SVG badge with ``credential`` baked in."""
    title, by, credit = _lines(credential)
    baked = json.dumps(credential, ensure_ascii=False).replace("]]>", "]]]]><![CDATA[>")
    texts = "".join(f'<text x="200" y="{150 + 34 * n}" font-size="28" font-weight="bold">'
                    f"{escape(line)}</text>" for n, line in enumerate(title))
    label = escape(" ".join(title), {'"': "&quot;"})
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="{NAMESPACE}" width="{_SIZE}" '
            f'height="{_SIZE}" viewBox="0 0 {_SIZE} {_SIZE}" role="img" aria-label="{label}">'
            f"<openbadges:credential><![CDATA[{baked}]]></openbadges:credential>"
            f"<title>{label}</title>"
            '<circle cx="200" cy="200" r="190" fill="#ffffff" stroke="#1f3a93" stroke-width="12"/>'
            '<g text-anchor="middle" font-family="sans-serif" fill="#111111">'
            f'{texts}<text x="200" y="290" font-size="20">{escape(credit)}</text>'
            f'<text x="200" y="320" font-size="16">{escape(by)}</text></g></svg>')


def badge_png(credential: dict[str, Any]) -> bytes:
    """A PNG badge with ``credential`` baked in."""
    title, by, credit = _lines(credential)
    image = Image.new("RGB", (_SIZE, _SIZE), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, _SIZE - 10, _SIZE - 10), outline="#1f3a93", width=12)
    big, small = ImageFont.load_default(28), ImageFont.load_default(18)
    for n, line in enumerate(title):
        draw.text((200, 150 + 34 * n), line, fill="#111111", font=big, anchor="ms")
    draw.text((200, 290), credit, fill="#111111", font=small, anchor="ms")
    draw.text((200, 320), by, fill="#111111", font=small, anchor="ms")
    info = PngImagePlugin.PngInfo()
    info.add_itxt(PNG_KEYWORD, json.dumps(credential, ensure_ascii=False))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def unbake(data: bytes) -> str | None:
    """The credential baked in a PNG or SVG badge, as text (JSON or a JWT); None if there is none."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        try:
            with Image.open(io.BytesIO(data)) as image:
                baked = getattr(image, "text", {}).get(PNG_KEYWORD)
        except (OSError, ValueError):
            return None
        return str(baked) if baked else None
    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException):  # broken, or hostile (entities, DTDs)
        return None
    element = root.find(f"{{{NAMESPACE}}}credential")
    if element is None:
        return None
    return element.get("verify") or (element.text or "").strip() or None
