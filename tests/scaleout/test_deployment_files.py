"""docker-compose.yml and the Dockerfile describe the deployment the scale-out tests run.

These read the files, in the default run: the services, their health checks and volumes, and
that API and workers share one configuration. tests/deploy (scripts/test-deploy.sh) builds
the image and runs the topology in Docker.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.jobs.worker import QUEUES

pytestmark = pytest.mark.scaleout

ROOT = Path(__file__).resolve().parents[2]
FAIRBOARD_SERVICES = ("api", "worker-cpu", "worker-gpu")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def command_of(service: dict[str, Any]) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_compose_runs_the_api_two_kinds_of_worker_postgres_and_redis(
    compose: dict[str, Any],
) -> None:
    assert set(compose["services"]) == {"api", "worker-cpu", "worker-gpu", "postgres", "redis"}
    assert all(
        key.startswith("x-") for key in compose if key not in ("name", "services", "volumes")
    )


def test_every_service_has_a_health_check_of_its_own_kind(compose: dict[str, Any]) -> None:
    services = compose["services"]
    tests = {name: " ".join(service["healthcheck"]["test"]) for name, service in services.items()}
    assert "pg_isready" in tests["postgres"]
    assert "redis-cli ping" in tests["redis"]
    assert "/healthz" in tests["api"]
    for worker in ("worker-cpu", "worker-gpu"):
        port = re.search(r"--metrics-port (\d+)", command_of(services[worker]))
        assert port is not None, worker
        assert f"127.0.0.1:{port.group(1)}/healthz" in tests[worker]


def test_state_lives_in_named_volumes_and_the_data_dir_is_shared(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(compose["volumes"]) == {"pgdata", "redis", "data"}
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redis:/data" in services["redis"]["volumes"]
    for name in FAIRBOARD_SERVICES:
        data_dir = services[name]["environment"]["FAIRBOARD_DATA_DIR"]
        assert f"data:{data_dir}" in services[name]["volumes"], name


def test_api_and_workers_share_database_broker_data_dir_and_secret(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    shared = ("FAIRBOARD_DATABASE_URL", "FAIRBOARD_BROKER_URL", "FAIRBOARD_DATA_DIR")
    environments = [services[name]["environment"] for name in FAIRBOARD_SERVICES]
    for key in (*shared, "FAIRBOARD_SECRET_KEY"):
        assert len({environment[key] for environment in environments}) == 1, key
    api = environments[0]
    assert api["FAIRBOARD_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in api["FAIRBOARD_DATABASE_URL"]
    assert api["FAIRBOARD_BROKER_URL"] == "redis://redis:6379/0"
    assert api["FAIRBOARD_ENVIRONMENT"] == "production"
    # A placeholder secret would be refused in production: compose must demand one.
    assert api["FAIRBOARD_SECRET_KEY"].startswith("${FAIRBOARD_SECRET_KEY:?")


def test_api_waits_for_healthy_postgres_and_redis_and_workers_for_the_migrated_api(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert services["api"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    for worker in ("worker-cpu", "worker-gpu"):
        assert services[worker]["depends_on"] == {"api": {"condition": "service_healthy"}}
    assert "fairboard migrate" in command_of(services["api"])


def test_cpu_worker_takes_the_cpu_queue_and_the_gpu_worker_the_gpu_queue_on_a_gpu(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    cpu, gpu = services["worker-cpu"], services["worker-gpu"]
    # Without a GPU the operator sets FAIRBOARD_CPU_WORKER_QUEUES=cpu,gpu (tests/deploy does).
    assert "fairboard worker --queues ${FAIRBOARD_CPU_WORKER_QUEUES:-cpu} " in command_of(cpu)
    assert "fairboard worker --queues gpu " in command_of(gpu)
    assert gpu["profiles"] == ["gpu"]
    assert "profiles" not in cpu
    assert set(QUEUES) == {"cpu", "gpu"}
    assert cpu["build"]["args"]["EXTRAS"] == "cpu"
    assert gpu["build"]["args"]["EXTRAS"] == "gpu"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert "deploy" not in cpu


def test_dockerfile_builds_a_slim_non_root_image_with_a_choice_of_onnxruntime() -> None:
    # Two stages: the final one copies the built environment, without pip's caches or wheels.
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [
        line for line in dockerfile.splitlines() if line and not line.startswith((" ", "#"))
    ]
    stages = [line for line in instructions if line.startswith("FROM ")]
    assert stages == ["FROM python:3.11-slim AS build", "FROM python:3.11-slim"]
    assert "ARG EXTRAS=cpu" in instructions
    assert 'pip install ".[${EXTRAS}]"' in dockerfile
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    command = next(line for line in instructions if line.startswith("CMD "))
    assert "fairboard migrate && exec fairboard serve" in command
    assert "COPY --from=build /opt/fairboard /opt/fairboard" in instructions
    assert "FAIRBOARD_DATABASE_URL=sqlite:////data/fairboard.db" in dockerfile
    for copied in ("app", "scoring", "migrations", "alembic.ini"):
        assert re.search(rf"^COPY .*\b{re.escape(copied)}\b", dockerfile, re.MULTILINE), copied
