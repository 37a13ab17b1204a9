"""Security headers, error pages and the configuration's safety checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import config, create_app
from app.config import ConfigError


def test_every_response_carries_the_security_headers(client: FlaskClient) -> None:
    for path in ("/", "/login", "/no-such-page"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp and r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "HX-Request" in r.headers["Vary"]


def test_framing_is_configurable_for_embedding(app: Flask) -> None:
    app.config["FRAME_ANCESTORS"] = "https://lms.example.edu"
    r = app.test_client().get("/")
    assert "frame-ancestors https://lms.example.edu" in r.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in r.headers


def test_errors_are_plain_pages_or_fragments_without_tracebacks(app: Flask) -> None:
    @app.route("/boom")
    def boom() -> str:
        msg = "secret internal detail"
        raise RuntimeError(msg)

    client = app.test_client()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    page = client.get("/boom")
    assert page.status_code == 500
    assert b"Something went wrong on our side" in page.data
    assert b"secret internal detail" not in page.data and b"Traceback" not in page.data
    fragment = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    assert b"<html" not in fragment.data and b"Not found" in fragment.data


def test_production_refuses_the_development_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="THETAPATH_SECRET_KEY"):
        config.load(str(tmp_path), {"SECRET_KEY": config.DEV_SECRET})
    app = create_app({"SECRET_KEY": "a-real-secret", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_without_a_configured_key_one_is_generated_and_kept_private(tmp_path: Path) -> None:
    first = config.load(str(tmp_path), environ={})
    again = config.load(str(tmp_path), environ={})
    assert first["SECRET_KEY"] == again["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert config.load(str(tmp_path), environ={"THETAPATH_SECRET_KEY": "from-env"})["SECRET_KEY"] == \
        "from-env"
    with pytest.raises(ConfigError, match="THETAPATH_DEBUG='maybe'"):
        config.load(str(tmp_path), environ={"THETAPATH_DEBUG": "maybe"})
