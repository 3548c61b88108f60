"""Shared fixtures: a database built by the real migrations (SQLite, or PostgreSQL when
FAIRBOARD_TEST_DATABASE=postgresql), settings with a private data dir, the app and clients."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.postgres import PostgresServer, start_postgres

TEST_DATABASE = os.environ.get("FAIRBOARD_TEST_DATABASE", "sqlite")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated_template(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    """A database migrated to head once per session, copied for every test."""
    from app.db import Database
    from app.migrate import upgrade

    if TEST_DATABASE == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE fairboard_template"))
        admin.dispose()
        db = Database(server.url("fairboard_template"))
        upgrade(db.engine)
        db.dispose()
        return "fairboard_template"
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return str(path)


@pytest.fixture
def database_url(
    migrated_template: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    if TEST_DATABASE == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = f"t_{uuid.uuid4().hex[:16]}"
        admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {migrated_template}"))
        yield server.url(name)
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
        return
    path = tmp_path / "fairboard.db"
    shutil.copyfile(migrated_template, path)
    yield f"sqlite:///{path}"
