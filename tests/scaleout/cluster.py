"""Real processes for the scale-out tests: Redis, the API under uvicorn, Celery workers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.postgres import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
VENV_BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_for(
    condition: Callable[[], bool], *, timeout: float, what: str, every: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def kill_group(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal the process and everything it started in its session (its pool processes)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.kill_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        self.kill_group(signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.wait(timeout=timeout)


def start_process(name: str, command: list[str], *, env: dict[str, str], logs: Path) -> Process:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with open(log, "wb") as out:
        popen = subprocess.Popen(
            command,
            env=env,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Process(name, popen, log)


@dataclass
class RedisServer:
    process: Process
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.stop()


def start_redis(logs: Path, port: int | None = None) -> RedisServer:
    """A throwaway Redis on a free loopback port (or ``port``: one started again), without
    persistence."""
    if not Path(REDIS_SERVER).exists():
        raise RuntimeError(
            f"redis-server not found ({REDIS_SERVER}); scripts/system-packages.sh installs it"
        )
    port = port or free_port()
    process = start_process(
        f"redis-{port}",
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ],
        env={"PATH": os.environ.get("PATH", os.defpath)},
        logs=logs,
    )
    import redis

    def answers() -> bool:
        try:
            return bool(redis.Redis(port=port, socket_timeout=1).ping())
        except redis.exceptions.ConnectionError:
            return False

    wait_for(answers, timeout=20, what="redis-server")
    return RedisServer(process, port)


@dataclass
class Cluster:
    """The API and worker processes of one deployment, sharing a database and a data dir."""

    env: dict[str, str]
    logs: Path
    processes: dict[str, Process] = field(default_factory=dict)

    def start_api(self, name: str = "api") -> str:
        port = free_port()
        process = start_process(
            name,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:served_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=self.env,
            logs=self.logs,
        )
        self.processes[name] = process
        base_url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{process.log_text()[-3000:]}")
            try:
                return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=60, what=name)
        return base_url

    def start_worker(
        self,
        name: str,
        *,
        queues: str = "cpu,gpu",
        concurrency: int = 2,
        extra: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> Process:
        process = start_process(
            name,
            [
                str(VENV_BIN / "fairboard"),
                "worker",
                "--queues",
                queues,
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}@%h",
                *extra,
            ],
            env=self.worker_env() | (env or {}),
            logs=self.logs,
        )
        self.processes[name] = process
        return process

    def worker_env(self) -> dict[str, str]:
        """A worker gets no secret key and no web settings: it needs none."""
        web_only = ("FAIRBOARD_SECRET_KEY", "FAIRBOARD_ENVIRONMENT", "FAIRBOARD_BASE_URL")
        return {key: value for key, value in self.env.items() if key not in web_only}

    def wait_ready(self, *names: str, timeout: float = 60) -> None:
        for name in names:
            process = self.processes[name]

            def ready(process: Process = process) -> bool:
                if process.popen.poll() is not None:
                    raise RuntimeError(f"{process.name} exited:\n{process.log_text()[-3000:]}")
                return " ready." in process.log_text()

            wait_for(ready, timeout=timeout, what=f"{name} to be ready")

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()

    def log_tails(self, chars: int = 4000) -> str:
        return "\n".join(
            f"----- {name} -----\n{process.log_text()[-chars:]}"
            for name, process in self.processes.items()
        )


def children_of(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may contain spaces: split after its closing one.
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current:
                found.append(child)
                frontier.append(child)
    return found


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
