"""Configuration: every key with a safe default, overridable by ``THETAPATH_*`` environment variables.

Order: the defaults below, then the environment, then the ``overrides`` given to ``create_app``.
Without ``THETAPATH_SECRET_KEY`` a random key is generated once and kept in the instance folder
(readable by its owner only), which suits a single machine; several app processes must share one key
through the environment. A production app (neither DEBUG nor TESTING) refuses the development key.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEV_SECRET = "dev-only-secret-change-me"

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,  # None: generated once, kept in the instance folder
    # None: an SQLite database in the instance folder (the embedded default)
    "DATABASE_URL": None,
    "DEBUG": False,
    "TESTING": False,
    # cookies: secure behind HTTPS; the demo on http://127.0.0.1 turns this off
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_TIME_LIMIT": None,  # the session lifetime bounds it; a self-paced learner may idle
    # who may frame the app: "'none'" by default; an LTI deployment lists its LMS origins (and the sites
    # that show its embed links), e.g. "https://moodle.example.edu https://canvas.example.edu"; the
    # session cookie is then partitioned (see load)
    "FRAME_ANCESTORS": "'none'",
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    "PREFERRED_URL_SCHEME": "https",
    # moves the app's clock forward, for tests and demos of spaced review; 0 in real use
    "CLOCK_OFFSET_SECONDS": 0,
    # outgoing mail (sign-up confirmation, password reset, e-mail change). No SMTP_HOST: each message
    # is written to the app log instead, which suits the demo and a single developer machine.
    "SMTP_HOST": None,
    "SMTP_PORT": None,  # None: 465 with SMTP_SSL, else 587 with SMTP_STARTTLS, else 25
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": True,  # upgrade a plain connection with STARTTLS (refused if the server cannot)
    "SMTP_SSL": False,  # implicit TLS from the first byte (port 465); wins over STARTTLS
    "SMTP_TIMEOUT": 10,
    "MAIL_FROM": "Thetapath <no-reply@localhost>",
    # the public address links in e-mails start with, e.g. https://learn.example.edu; None: the
    # address of the request (then the web server must only pass on the site's own Host header)
    "BASE_URL": None,
    # how many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: none); sign-in
    # throttling counts the client address, which behind a proxy only this makes the real one
    "PROXY_COUNT": 0,
    # background jobs (app.jobs). With REDIS_URL (e.g. redis://127.0.0.1:6379/0) they go on an RQ
    # queue that `thetapath worker` processes run; without it, each app process runs them in a thread
    # of its own unless JOBS_IN_PROCESS is off (then run `thetapath worker` beside the app).
    # the IRI xAPI statements' activities and actors are rooted at (None: BASE_URL, else a placeholder)
    "XAPI_BASE_IRI": None,
    # a learning record store to send the statements to (None: they are kept and exportable only)
    "XAPI_LRS_URL": None,
    "XAPI_LRS_USERNAME": None,
    "XAPI_LRS_PASSWORD": None,
    "XAPI_LRS_TIMEOUT": 10,
    # a pilot item gets parameters from a recalibration once it has this many (first) answers
    "RECALIBRATION_MIN_RESPONSES": 200,
    "REDIS_URL": None,
    "JOBS_IN_PROCESS": True,
    "JOB_POLL_SECONDS": 5,  # how often workers look for retries that came due and abandoned jobs
    "JOB_LEASE_SECONDS": 300,  # a running job without a sign of life for this long is taken over
    # encrypts the institutions' credential-signing keys at rest (app.credentials.keys); None: generated
    # once, kept in the instance folder. Losing it loses the keys: back it up with the database.
    "CREDENTIAL_KEY": None,
    # LTI 1.3 (app.lti): how long a platform-started login may take to come back as a launch, the clock
    # skew allowed on a launch's exp and iat, how long a platform's JWKS is cached and how soon an unknown
    # kid may fetch it again, and how long the tool's JWKS keeps publishing a retired key
    "LTI_LOGIN_SECONDS": 600,
    "LTI_LEEWAY_SECONDS": 60,
    "LTI_JWKS_CACHE_SECONDS": 300,
    "LTI_JWKS_COOLDOWN_SECONDS": 30,
    "LTI_KEY_OVERLAP_DAYS": 7,
}

_ENV_PREFIX = "THETAPATH_"
_BOOLEAN = {"DEBUG", "TESTING", "SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE",
            "WTF_CSRF_ENABLED", "SESSION_COOKIE_HTTPONLY", "REMEMBER_COOKIE_HTTPONLY",
            "SMTP_STARTTLS", "SMTP_SSL", "JOBS_IN_PROCESS"}
_INTEGER = {"MAX_CONTENT_LENGTH", "CLOCK_OFFSET_SECONDS", "SMTP_PORT", "SMTP_TIMEOUT", "PROXY_COUNT",
            "JOB_POLL_SECONDS", "JOB_LEASE_SECONDS", "XAPI_LRS_TIMEOUT",
            "RECALIBRATION_MIN_RESPONSES", "LTI_LOGIN_SECONDS", "LTI_LEEWAY_SECONDS",
            "LTI_JWKS_CACHE_SECONDS", "LTI_JWKS_COOLDOWN_SECONDS", "LTI_KEY_OVERLAP_DAYS"}


class ConfigError(RuntimeError):
    """The configuration is unsafe or malformed; the message says which key and why."""


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in DEFAULTS:
        raw = environ.get(_ENV_PREFIX + key)
        if raw is None:
            continue
        if key in _BOOLEAN:
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                msg = f"{_ENV_PREFIX}{key}={raw!r}: use true or false"
                raise ConfigError(msg)
            out[key] = raw.lower() in {"1", "true", "yes"}
        elif key in _INTEGER:
            try:
                out[key] = int(raw)
            except ValueError:
                msg = f"{_ENV_PREFIX}{key}={raw!r}: use a whole number"
                raise ConfigError(msg) from None
        else:
            out[key] = raw
    return out


def _instance_secret(path: Path) -> str:
    """Read the instance's secret key, creating it (mode 0600) on first use."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key


def load(instance_path: str, overrides: Mapping[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the effective configuration; refuse the development secret outside DEBUG/TESTING."""
    config = dict(DEFAULTS)
    config.update(_from_env(os.environ if environ is None else environ))
    config.update(overrides or {})
    if config["DATABASE_URL"] is None:
        config["DATABASE_URL"] = f"sqlite:///{Path(instance_path) / 'thetapath.sqlite'}"
    if config["SECRET_KEY"] is None:
        config["SECRET_KEY"] = _instance_secret(Path(instance_path) / "secret_key")
    if config["CREDENTIAL_KEY"] is None:
        config["CREDENTIAL_KEY"] = _instance_secret(Path(instance_path) / "credential_key")
    if config["SECRET_KEY"] == DEV_SECRET and not (config["DEBUG"] or config["TESTING"]):
        msg = ("SECRET_KEY is the development default; set THETAPATH_SECRET_KEY to a long random "
               "value (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        raise ConfigError(msg)
    if config["BASE_URL"]:
        base = str(config["BASE_URL"]).rstrip("/")
        if not base.startswith(("https://", "http://")):
            msg = f"BASE_URL={base!r}: give the site's public address, e.g. https://learn.example.edu"
            raise ConfigError(msg)
        config["BASE_URL"] = base
    if str(config["FRAME_ANCESTORS"]).strip() != "'none'":
        # framed by another site (an LMS, a page with an embed link), the browser treats the session
        # cookie as a third-party cookie: only a partitioned one (CHIPS: SameSite=None, Secure,
        # Partitioned) is kept where third-party cookies are blocked. Browsers keep Secure cookies from
        # http://localhost and 127.0.0.1 too, so this works on a developer's machine.
        config.update(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True,
                      SESSION_COOKIE_PARTITIONED=True)
    if int(config["PROXY_COUNT"]) < 0:
        msg = f"PROXY_COUNT={config['PROXY_COUNT']!r}: use 0 (no proxy) or the number of proxies"
        raise ConfigError(msg)
    return config
