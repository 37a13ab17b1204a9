"""Errors that services raise for the user: each carries the HTTP status its page or fragment gets.

The web layer turns them into plain-language pages (see ``app.web.errors``); services never import
Flask's ``abort``.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A problem the user can understand and act on; the message says what happened. Its class gives the
    status, unless ``status`` gives this one's (a launch refused as unauthorised rather than malformed)."""

    status = 422

    def __init__(self, *args: object, status: int | None = None) -> None:
        super().__init__(*args)
        if status is not None:
            self.status = status


class NotFound(ServiceError):
    """Nothing the caller may see exists here (another institution's objects answer this too)."""

    status = 404
