"""Security headers on every response, and ``Vary: HX-Request`` so caches keep pages and fragments apart."""

from __future__ import annotations

from flask import Flask, Response


def init_app(app: Flask) -> None:
    """Add the headers after each request."""

    @app.after_request
    def _headers(response: Response) -> Response:
        ancestors = app.config["FRAME_ANCESTORS"]
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            f"frame-ancestors {ancestors}")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if ancestors == "'none'":
            response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.vary.add("HX-Request")
        return response
