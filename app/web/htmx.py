"""The only place that reads HX-* request headers."""

from __future__ import annotations

from typing import Any

from flask import request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    """True when the request came from htmx (and wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true" and \
        request.headers.get("HX-History-Restore-Request") != "true"


def render(template: str, block: str | None = None, **context: Any) -> str:
    """Render the page, or only ``block`` when htmx asked for a fragment."""
    from flask import render_template

    if block is not None and is_htmx():
        return render_block(template, block, **context)
    return render_template(template, **context)
