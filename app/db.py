"""The database: declarative base with a naming convention, engines, and one session per request.

SQLite (the embedded default) runs in WAL mode with foreign keys enforced, so the same constraints
hold as on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; constraint names are predictable so Alembic can alter them on SQLite."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given; use datetime.now(UTC)"
            raise ValueError(msg)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """The current time, timezone-aware.

    ``CLOCK_OFFSET_SECONDS`` in the app's configuration moves the app's clock forward (tests and demos
    of spaced review use it to let weeks pass); it is 0 in every normal deployment.
    """
    now = datetime.now(UTC)
    if has_app_context():
        offset = float(current_app.config.get("CLOCK_OFFSET_SECONDS", 0) or 0)
        if offset:
            now += timedelta(seconds=offset)
    return now


_WRITE = "thetapath_write"


def begin_write(session: Session) -> None:
    """Start a transaction that is going to write after reading what it decides on.

    On SQLite, a plain ``BEGIN`` reads from a snapshot, and upgrading it to a writer after another
    connection wrote fails at once ("database is locked"); ``BEGIN IMMEDIATE`` takes the write lock
    first, so concurrent writers of this kind wait for each other (up to the busy timeout) and each
    reads what the one before wrote. PostgreSQL needs nothing here. A transaction the session had
    begun (to read who is asking, say) is committed first.
    """
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={_WRITE: True})


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the project's settings (SQLite: WAL, foreign keys, busy timeout)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        # pysqlite's own transaction handling breaks SAVEPOINT and transactional DDL: let SQLAlchemy
        # emit BEGIN itself (the recipe from SQLAlchemy's SQLite dialect documentation)
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=15000")
            if url not in ("sqlite://", "sqlite:///:memory:"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # a request's transactions take the write lock first (see begin_write): requests are short,
            # and one that read before another connection (a job's thread) wrote could not write
            # after it. A job's long read phase, outside any request, reads from a snapshot.
            immediate = conn.get_execution_options().get(_WRITE) or has_request_context()
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    return engine


def init_app(app: Flask) -> None:
    """Create the engine and the per-request session factory; close sessions after each request."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["thetapath.engine"] = engine
    app.extensions.setdefault(
        "thetapath.sessions", sessionmaker(engine, expire_on_commit=False))

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()  # whatever was not committed by a service is discarded
            session.close()


def session() -> Session:
    """The request's session (created on first use)."""
    if "db_session" not in g:
        from flask import current_app

        factory: Callable[[], Session] = current_app.extensions["thetapath.sessions"]
        g.db_session = factory()
    return g.db_session  # type: ignore[no-any-return]
