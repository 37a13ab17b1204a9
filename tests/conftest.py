"""Shared fixtures: a database migrated once per run, a rolled-back transaction per test, the app.

SQLite by default; ``THETAPATH_TEST_DATABASE_URL=postgresql://...`` runs the same tests on PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from app import create_app
from app.accounts import services
from app.db import make_engine
from app.migrate import upgrade
from tests.mailbox import Mailbox, SMTPServer

POSTGRES = os.environ.get("THETAPATH_TEST_DATABASE_URL", "")


def _reset_postgres(engine: Engine) -> None:
    # the test database is ours: start every run from an empty schema
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


def fresh_database(name: str, folder: Path) -> str:
    """The URL of an empty database of its own for a test that needs real commits (a live server,
    a worker process): a file in ``folder`` on SQLite, or database ``name`` made anew on PostgreSQL."""
    if not POSTGRES:
        return f"sqlite:///{folder / f'{name}.sqlite'}"
    admin = make_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return POSTGRES.rsplit("/", 1)[0] + f"/{name}"


def worker_app(name: str, folder: Path) -> tuple[Flask, dict[str, str]]:
    """An app on a migrated database of its own (``fresh_database``) whose jobs wait for a worker, and
    the environment that lets a ``thetapath worker`` process share that database (a lease of 2 s, so a
    test can let a killed worker's job be taken over)."""
    url = fresh_database(name, folder)
    engine = make_engine(url)
    with engine.begin() as conn:
        upgrade(conn)
    engine.dispose()
    config = {"SECRET_KEY": "test-secret", "CREDENTIAL_KEY": "fault-key", "DATABASE_URL": url,
              "JOBS_IN_PROCESS": False, "JOB_POLL_SECONDS": 1, "JOB_LEASE_SECONDS": 2}
    app = create_app({"TESTING": True, **config})
    app.instance_path = str(folder)
    return app, {**os.environ, **{f"THETAPATH_{k}": str(v) for k, v in config.items()}}


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2id at its cheapest for the tests in this process (the same hashing, verification and
    throttling code; each hash then costs well under a millisecond instead of about 190 ms, which was
    a quarter of the suite's time). Commands run as processes of their own keep the real cost."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    saved = services._hasher, services._DUMMY_HASH
    services._hasher, services._DUMMY_HASH = cheap, cheap.hash("not-a-real-password")
    yield
    services._hasher, services._DUMMY_HASH = saved


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine on a database that the real migrations brought to head."""
    url = POSTGRES or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        _reset_postgres(engine)
    with engine.begin() as conn:
        upgrade(conn)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back when the test ends."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def db_session(connection: Connection) -> Iterator[Session]:
    """A session whose commits become savepoints of the test's transaction."""
    with Session(connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
        yield s


@pytest.fixture
def app(connection: Connection, tmp_path: Path) -> Flask:
    """The app, each request getting its own session on the test's connection."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "CREDENTIAL_KEY": "test-credential-key",
                      "WTF_CSRF_ENABLED": False,
                      "DATABASE_URL": "sqlite://", "SESSION_COOKIE_SECURE": False,
                      # jobs run where the test says (jobs.services.run_due), on the test's connection
                      "JOBS_IN_PROCESS": False})
    app.instance_path = str(tmp_path)
    app.extensions["thetapath.sessions"] = partial(
        Session, connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A plain browser-like client."""
    return app.test_client()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPServer]:
    """A real SMTP server on 127.0.0.1 for the whole run (aiosmtpd in a thread)."""
    with SMTPServer() as server:
        yield server


@pytest.fixture
def mailbox(app: Flask, smtp_server: SMTPServer) -> Mailbox:
    """Point the app's mail at the local SMTP server and hand over its (emptied) mailbox.

    Without this fixture the app has no SMTP host and writes mail to its log instead.
    """
    app.config.update(smtp_server.config)
    smtp_server.mailbox.clear()
    return smtp_server.mailbox
