"""Security headers on every response, and ``Vary: HX-Request`` so caches keep pages and fragments apart.

Pages for a signed-in user are never stored by a browser or proxy cache (``Cache-Control: no-store``),
so the back button on a shared computer shows nothing after sign-out.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_login import current_user


def content_security_policy(form_action: str = "'self'") -> str:
    """The site's Content-Security-Policy; ``form_action`` widens where forms may post (a page that
    sends the browser back to a learning platform, say)."""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"font-src 'self'; object-src 'none'; base-uri 'none'; form-action {form_action}; "
            f"frame-ancestors {current_app.config['FRAME_ANCESTORS']}")


def init_app(app: Flask) -> None:
    """Add the headers after each request."""

    @app.after_request
    def _headers(response: Response) -> Response:
        ancestors = app.config["FRAME_ANCESTORS"]
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if ancestors == "'none'":
            response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.vary.add("HX-Request")
        if request.endpoint != "static" and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response
