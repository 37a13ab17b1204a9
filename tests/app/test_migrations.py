"""The migrations are the schema: upgrade from empty, no drift from the models, downgrade to base."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from app.db import Base, make_engine
from app.migrate import downgrade, upgrade


@pytest.fixture
def empty_engine(tmp_path) -> Engine:  # type: ignore[no-untyped-def]
    url = os.environ.get("THETAPATH_TEST_DATABASE_URL")
    if not url:
        return make_engine(f"sqlite:///{tmp_path / 'migrations.sqlite'}")
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS thetapath_migrations"))
        conn.execute(text("CREATE DATABASE thetapath_migrations"))
    admin.dispose()
    return make_engine(url.rsplit("/", 1)[0] + "/thetapath_migrations")


def test_upgrade_matches_the_models_and_downgrades_cleanly(empty_engine: Engine) -> None:
    with empty_engine.begin() as conn:
        upgrade(conn)
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
    with empty_engine.begin() as conn:
        downgrade(conn)
    with empty_engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    empty_engine.dispose()
