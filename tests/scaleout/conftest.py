"""Fixtures of the scale-out tests: a real PostgreSQL database, Redis, and a cluster of API and
worker processes sharing a data directory. These tests always use PostgreSQL, whatever
FAIRBOARD_TEST_DATABASE says, and never skip: CI installs redis-server and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.config import Settings
from app.db import Database
from tests.app.conftest import World
from tests.app.conftest import seed_competition as seed_app_competition
from tests.scaleout.cluster import Cluster, RedisServer, start_redis
from tests.support.postgres import PostgresServer

N_ITEMS = 300
IMAGE_SIZE = (32, 32)


@pytest.fixture(scope="session")
def scaleout_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic test set in the generic layout, as an organizer would upload it."""
    from scoring.synthetic import make_testset

    return make_testset(
        tmp_path_factory.mktemp("scaleout-set") / "set", n=N_ITEMS, seed=7, image_size=IMAGE_SIZE
    )


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path / "logs")
    yield server
    server.stop()


def create_database(server: PostgresServer) -> str:
    """A new database on ``server``, migrated to head by the real migrations."""
    from app.migrate import upgrade

    name = f"scaleout_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    db = Database(server.url(name))
    upgrade(db.engine)
    db.dispose()
    return name


def drop_database(server: PostgresServer, name: str) -> None:
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def scaleout_database(postgres_server: PostgresServer) -> Iterator[str]:
    name = create_database(postgres_server)
    yield postgres_server.url(name)
    drop_database(postgres_server, name)


@pytest.fixture
def shared_settings(scaleout_database: str, redis_server: RedisServer, tmp_path: Path) -> Settings:
    """What every process of the cluster is configured with (tests tighten the timings)."""
    return Settings(
        environment="test",
        database_url=scaleout_database,
        broker_url=redis_server.url,
        data_dir=tmp_path / "shared-data",
        secret_key="scale-out-test-secret",
        sweep_interval_seconds=1.0,
        # Short, so recovery is quick; 5 heartbeats long, so a loaded CI machine that stalls a
        # worker for a few seconds does not take a live job back.
        job_lease_seconds=5.0,
        job_heartbeat_seconds=1.0,
        inference_threads=1,
    )


def process_env(settings: Settings, **overrides: Any) -> dict[str, str]:
    """The environment of a cluster process: only the FAIRBOARD_ settings it needs."""
    values: dict[str, Any] = {
        "environment": settings.environment,
        "database_url": settings.database_url,
        "broker_url": settings.broker_url,
        "data_dir": settings.data_dir,
        "secret_key": settings.secret_key,
        "sweep_interval_seconds": settings.sweep_interval_seconds,
        "job_lease_seconds": settings.job_lease_seconds,
        "job_heartbeat_seconds": settings.job_heartbeat_seconds,
        "inference_threads": settings.inference_threads,
    } | overrides
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(
        {
            f"FAIRBOARD_{key.upper()}": str(value)
            for key, value in values.items()
            if value is not None
        }
    )
    return env


@pytest.fixture
def cluster(shared_settings: Settings, tmp_path: Path) -> Iterator[Cluster]:
    shared_settings.data_dir.mkdir(parents=True, exist_ok=True)
    running = Cluster(env=process_env(shared_settings), logs=tmp_path / "logs")
    try:
        yield running
    finally:
        running.stop()
        # Shown by pytest when the test failed.
        print(running.log_tails())


def seed_competition(db: Database, settings: Settings, source: Path, **phase_fields: Any) -> World:
    """The service tests' competition, on the test set in the shared store, no daily limit."""
    fields: dict[str, Any] = {"daily_limit": None} | phase_fields
    return seed_app_competition(db, settings, source, title="Age estimation at scale", **fields)
