"""The client as users run it: a separate process that loads none of the server's code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.app.client.conftest import Cli
from tests.app.conftest import prediction_csv

# pydantic is not listed: typer itself imports it.
SERVER_MODULES = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "pydantic_settings",
    "celery",
    "numpy",
    "alembic",
)
SERVER_PACKAGES = ("app.services", "app.models", "app.db", "app.config", "app.routes", "app.jobs")

PROBE = """
import sys
from app.cli import main
try:
    main()
finally:
    loaded = [m for m in sys.modules
              if m.split('.')[0] in {modules!r} or m.startswith({packages!r})]
    sys.stderr.write('LOADED=' + ','.join(sorted(loaded)) + '\\n')
"""


def run_client(live: Cli, *args: str, token: str) -> subprocess.CompletedProcess[str]:
    code = PROBE.format(modules=SERVER_MODULES, packages=SERVER_PACKAGES)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={"PATH": "/usr/bin:/bin"} | live.env(token),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_submitting_from_a_separate_process_loads_no_server_code_and_stays_quiet_when_piped(
    live: Cli, tmp_path: Path
) -> None:
    token = live.world.token(live.world.user("alice"))
    truth = live.world.truth()
    path = tmp_path / "p.csv"
    path.write_bytes(prediction_csv(truth.ids, truth.age))
    done = run_client(
        live,
        "submit",
        str(path),
        "--phase",
        str(live.world.phase_id),
        "--wait",
        "--json",
        token=token,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "finished"
    assert done.stderr == "LOADED=\n"  # no progress bar on a pipe, and no server module


def test_a_separate_process_exits_with_the_pinned_code(live: Cli) -> None:
    refused = run_client(live, "status", "1", "--json", token="not-a-token")
    assert refused.returncode == 4
    assert json.loads(refused.stdout)["error"]["status"] == 401
