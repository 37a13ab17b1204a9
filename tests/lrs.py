"""A learning record store on 127.0.0.1 for the tests: the statements API's POST, on a real socket.

It checks Basic auth and the version header, validates every statement with ralph-malph's generic
xAPI model (an independent implementation of the spec) and refuses the whole batch with 400 if one
is invalid, keeps statements by id (a resent one is accepted and ignored, as the spec asks), and can
be told to answer 503 to the next requests, as an LRS that is down would.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from pydantic import ValidationError
from ralph.models.xapi.base.statements import BaseXapiStatement
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

USER, PASSWORD = "thetapath", "lrs-secret"


class Lrs:
    """The store and its server (a context manager); ``url`` is what ``XAPI_LRS_URL`` takes."""

    def __init__(self) -> None:
        self.statements: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.fail_next = 0
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/xAPI"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def config(self) -> dict[str, Any]:
        return {"XAPI_LRS_URL": self.url, "XAPI_LRS_USERNAME": USER, "XAPI_LRS_PASSWORD": PASSWORD}

    def __enter__(self) -> Lrs:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.requests += 1
            if self.fail_next:
                self.fail_next -= 1
                return Response("down for maintenance", 503)(environ, start_response)
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if request.headers.get("Authorization") != expected:
                return Response("unauthorised", 401)(environ, start_response)
            if request.method != "POST" or request.path != "/xAPI/statements" or \
                    request.headers.get("X-Experience-API-Version") != "1.0.3":
                return Response("not here", 400)(environ, start_response)
            batch = json.loads(request.get_data())
            try:
                for statement in batch:
                    BaseXapiStatement(**statement)
            except ValidationError as err:
                return Response(str(err), 400)(environ, start_response)
            for statement in batch:
                self.statements.setdefault(statement["id"], statement)
            body = json.dumps([statement["id"] for statement in batch])
        return Response(body, 200, mimetype="application/json")(environ, start_response)
