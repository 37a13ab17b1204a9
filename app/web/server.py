"""The request handler of the built-in server (``thetapath demo``): it does not name its software.

Werkzeug's handler sends ``Server: Werkzeug/<version> Python/<version>``, which tells a stranger which
versions to look up vulnerabilities for. This one sends ``Server: Thetapath``.
"""

from __future__ import annotations

from werkzeug.serving import WSGIRequestHandler

__all__ = ["QuietRequestHandler"]


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without software versions in the ``Server`` header."""

    def version_string(self) -> str:
        """The ``Server`` header's value."""
        return "Thetapath"
