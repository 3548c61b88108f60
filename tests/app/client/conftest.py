"""The client against a real server: the app under uvicorn on a free port, the CLI in-process
(typer's runner) or as a subprocess, with a private config directory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.app.conftest import World
from tests.support.live_server import serve


@dataclass
class Cli:
    """Runs ``fairboard`` client commands against the live server."""

    url: str
    config: Path
    world: World

    def env(self, token: str | None = None) -> dict[str, str]:
        env = {"FAIRBOARD_URL": self.url, "XDG_CONFIG_HOME": str(self.config)}
        return env | ({"FAIRBOARD_TOKEN": token} if token else {"FAIRBOARD_TOKEN": ""})

    def __call__(self, *args: str, token: str | None = None, input: str | None = None) -> Any:
        return CliRunner().invoke(cli, list(args), env=self.env(token), input=input)


@pytest.fixture
def live(app: Any, world: World, tmp_path: Path) -> Iterator[Cli]:
    with serve(app) as url:
        yield Cli(url=url, config=tmp_path / "config", world=world)
