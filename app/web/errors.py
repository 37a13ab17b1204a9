"""Error pages and fragments that say what went wrong in plain words; no traceback ever."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.errors import ServiceError
from app.web.htmx import is_htmx

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("That request could not be understood", "Something in the form or link was not valid."),
    403: ("You can't do that here", "Your role in this institution does not allow this action."),
    404: ("Not found", "There is nothing at this address, or it is not yours to see."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    409: ("Already done", "This was already recorded; nothing was changed."),
    413: ("Too large", "The upload is larger than this site accepts."),
    422: ("Please check the form", "Some of what you entered could not be used."),
    429: ("Too many attempts", "Please wait a little before trying again."),
    500: ("Something went wrong on our side", "Nothing was saved. Please try again in a moment."),
}


def _page(code: int, detail: str | None = None) -> ResponseReturnValue:
    title, text = MESSAGES.get(code, MESSAGES[500])
    template = "errors/_fragment.html" if is_htmx() else "errors/page.html"
    return render_template(template, code=code, title=title, text=detail or text), code


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError) -> ResponseReturnValue:
        return _page(400, "The form expired or was sent from elsewhere. Reload the page and try again.")

    @app.errorhandler(ServiceError)
    def _service(err: ServiceError) -> ResponseReturnValue:
        return _page(err.status, str(err) or None)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> ResponseReturnValue:
        code = err.code or 500
        detail = err.description if code in (400, 409, 422) and err.description and \
            not err.description.startswith(("The browser", "The server")) else None
        return _page(code, detail)

    @app.errorhandler(Exception)
    def _unknown(err: Exception) -> ResponseReturnValue:
        if isinstance(err, HTTPException):  # pragma: no cover - handled above
            return _http(err)
        log.exception("unhandled error", exc_info=err)
        return _page(InternalServerError.code)
