"""Fixtures of the deployment tests: the Docker daemon, the stand-in base images, the image.

These tests are marked ``deploy``; the default run leaves them out (pyproject's addopts) and
scripts/test-deploy.sh runs them as their own step, after installing Docker and debootstrap
and building the stand-in base images. When what they need is missing they fail, never skip.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.docker import COMPOSE, NOT_READY, Project, docker

BASE_IMAGES = ("python:3.11-slim", "postgres:15", "redis:7")
IMAGE = "fairboard:cpu"


def compose_env(**values: str) -> dict[str, str]:
    """The operator's environment: a real secret, the API on a free loopback port."""
    return {
        **os.environ,
        "FAIRBOARD_SECRET_KEY": secrets.token_hex(32),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "FAIRBOARD_HTTP_PORT": "127.0.0.1:0",
        **values,
    }


@pytest.fixture(scope="session")
def image() -> str:
    """fairboard:cpu, built from the Dockerfile by the compose file's build section."""
    try:
        docker("info", timeout=30)
        for base in BASE_IMAGES:
            docker("image", "inspect", base, timeout=30)
    except (AssertionError, OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"{NOT_READY}\n{exc}")
    if not Path(COMPOSE).exists():
        pytest.fail(NOT_READY)
    Project(env=compose_env()).compose("build", "api", timeout=900)
    return IMAGE


@pytest.fixture
def volume() -> Iterator[str]:
    """A named Docker volume, removed afterwards."""
    name = docker("volume", "create").strip()
    yield name
    docker("volume", "rm", "--force", name)
