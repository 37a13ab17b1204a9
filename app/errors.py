"""Errors that services raise for the user: each carries the HTTP status its page or fragment gets.

The web layer turns them into plain-language pages (see ``app.web.errors``); services never import
Flask's ``abort``.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A problem the user can understand and act on; the message says what happened."""

    status = 422


class NotFound(ServiceError):
    """Nothing the caller may see exists here (another institution's objects answer this too)."""

    status = 404
