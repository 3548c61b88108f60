"""The image on its own: `docker run -e FAIRBOARD_SECRET_KEY=... fairboard:cpu` is the embedded
default (SQLite and files in the /data volume), as a non-root user without build tools."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cli import DIRECTORY_NOT_WRITABLE
from tests.deploy.docker import docker, inspect, wait_healthy

pytestmark = pytest.mark.deploy

ACCOUNT = {"username": "dana", "password": "a-long-password", "email": "dana@example.org"}


@pytest.fixture
def container(image: str, volume: str) -> Iterator[str]:
    """The image started with its documented minimum, its /data on a named volume."""
    name = docker(
        "run",
        "--detach",
        "--publish",
        "127.0.0.1::8000",
        "--volume",
        f"{volume}:/data",
        "--env",
        f"FAIRBOARD_SECRET_KEY={secrets.token_hex(32)}",
        image,
    ).strip()
    try:
        yield name
    finally:
        docker("rm", "--force", "--volumes", name)


def api_url(container: str) -> str:
    host_port = docker("port", container, "8000/tcp").splitlines()[0]
    return f"http://{host_port}"


def test_the_image_runs_as_a_non_root_user_without_compilers(image: str) -> None:
    config = inspect(image)["Config"]
    assert config["User"] == "fairboard"
    assert config["Env"].count("FAIRBOARD_DATABASE_URL=sqlite:////data/fairboard.db") == 1
    found = docker(
        "run", "--rm", "--entrypoint", "sh", image, "-c", "id -u; command -v gcc cc make || true"
    ).split()
    assert found == ["10001"]


def test_the_image_serves_the_embedded_default_and_keeps_its_data_across_a_restart(
    container: str,
) -> None:
    wait_healthy(container)
    with httpx.Client(base_url=api_url(container), timeout=30) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
        assert client.post("/api/v1/auth/register", json=ACCOUNT).status_code == 201
    docker("restart", container)
    wait_healthy(container)
    # The port is published anew on a restart.
    with httpx.Client(base_url=api_url(container), timeout=30) as client:
        login = {key: ACCOUNT[key] for key in ("username", "password")}
        response = client.post("/api/v1/auth/token", json=login)
        assert response.status_code == 201, response.text
    listing = docker("exec", container, "ls", "/data")
    assert "fairboard.db" in listing.split()


def test_the_image_says_so_when_its_data_volume_is_not_writable(image: str, tmp_path: Path) -> None:
    # A host folder owned by root, as a bind mount made without thought gives.
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    secret = f"FAIRBOARD_SECRET_KEY={secrets.token_hex(32)}"
    result = subprocess.run(
        ["docker", "run", "--rm", "--volume", f"{data}:/data", "--env", secret, image],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == DIRECTORY_NOT_WRITABLE.format(path="/data", uid=10001)
