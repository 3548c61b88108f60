"""Load benches driven by locust (headless), against a server started on a temporary database.

Scenarios (``bench/locustfile.py``):

- ``throughput`` (issue 15, goal 2): ``--users`` clients post 1,978-row prediction files back
  to back for ``--duration``; files/s against the target of 300 (stretch 500), with the
  latency percentiles. Deployments: ``embedded`` (uvicorn + SQLite, scored in the request;
  ``--processes`` uvicorn workers), ``scaleout-inline`` (PostgreSQL + Redis + Celery, the API
  scores) and ``scaleout-workers`` (every file queued and scored by ``--workers`` Celery
  workers). ``--pin`` puts the API on the first cores and each worker on its own with
  ``taskset``; locust itself runs beside them, on the same cores. ``--bound`` posts the same
  files to a route of the same server that only parses and scores them (no database, nothing
  kept): the files/s that no implementation of a submission in this stack can pass here.
- ``rush`` (goal 5): a deadline rush, ``--users`` participants (500) each submitting files
  and reading the leaderboard for ``--duration`` (2 minutes); latencies per request type, and
  a check that nothing failed and every submission was scored.

Run: .venv/bin/python bench/bench_locust.py throughput [--deployment embedded] [--processes 2]
     .venv/bin/python bench/bench_locust.py rush [--users 500] [--duration 120]
Needs the ``bench`` extra (``pip install -e .[bench]``); scale-out also needs redis-server
and the PostgreSQL server binaries (``scripts/system-packages.sh``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.db import Database  # noqa: E402
from app.models import Submission, SubmissionStatus  # noqa: E402
from bench.bench_throughput import (  # noqa: E402
    N_ITEMS,
    environment,
    prediction_files,
    seed,
    start_stores,
)
from scoring.synthetic import make_testset  # noqa: E402
from scoring.testset import read_labels  # noqa: E402
from tests.scaleout.cluster import Cluster, free_port, start_process, wait_for  # noqa: E402

TARGET_FILES_PER_SECOND, STRETCH_FILES_PER_SECOND = 300.0, 500.0
PERCENTILES = ("50%", "95%", "99%")


@dataclass(frozen=True)
class Server:
    settings: Settings
    base_url: str
    inline: bool


def _pinned(cores: str | None, command: list[str]) -> list[str]:
    return ["taskset", "-c", cores, *command] if cores else command


@contextlib.contextmanager
def start_server(
    root: Path, source: Path, args: argparse.Namespace, participants: int
) -> Iterator[tuple[Server, int, list[str]]]:
    """Seed a database for the deployment, start it, yield it; stop everything after."""
    postgres = redis = None
    if args.deployment == "embedded":
        settings = Settings(
            database_url=f"sqlite:///{root}/load.db", data_dir=root / "data", secret_key="b"
        )
        extra = {}
    else:
        postgres, redis, settings = start_stores(root / "logs", root / "data")
        extra = (
            {"FAIRBOARD_INLINE_SCORING_MAX_BYTES": "0"}
            if args.deployment == "scaleout-workers"
            else {}
        )
    workload = seed(settings, source, participants)
    phase_id, tokens = workload.phase_id, workload.tokens
    env = environment(settings, **extra)
    cluster = Cluster(env=env, logs=root / "logs")
    port = free_port()
    api_cores = "0" if args.pin else None
    # The served app plus the bench routes (``--bound``'s parse-and-score route).
    command = [sys.executable, "-m", "uvicorn", "bench._bench_server:bench_app", "--factory"]
    command += ["--app-dir", str(ROOT)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(args.processes)]
    command += ["--log-level", "warning", "--no-access-log"]
    cluster.processes["api"] = start_process(
        "api", _pinned(api_cores, command), env=env, logs=root / "logs"
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base_url), timeout=60, what="the API")
        if args.deployment == "scaleout-workers":
            venv_bin = Path(sys.executable).parent
            for index in range(args.workers):
                name = f"worker-{index}"
                worker = [str(venv_bin / "fairboard"), "worker", "--queues", "cpu"]
                worker += ["--concurrency", "1", "--hostname", f"{name}@%h", "--no-sweep"]
                cores = str((index + 1) % (os.cpu_count() or 1)) if args.pin else None
                cluster.processes[name] = start_process(
                    name, _pinned(cores, worker), env=cluster.worker_env(), logs=root / "logs"
                )
            cluster.wait_ready(*(f"worker-{i}" for i in range(args.workers)))
        inline = args.deployment != "scaleout-workers"
        yield Server(settings, base_url, inline), phase_id, tokens
    finally:
        cluster.stop()
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def run_locust(
    root: Path, server: Server, plan: dict[str, object], args: argparse.Namespace
) -> list[dict[str, str]]:
    """Run locust headless with ``plan``; its per-request-type statistics rows."""
    plan_path = root / "plan.json"
    plan_path.write_text(json.dumps(plan))
    locust = Path(sys.executable).parent / "locust"
    command = [str(locust), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless"]
    command += ["--users", str(args.users), "--spawn-rate", str(args.spawn_rate)]
    command += ["--run-time", f"{args.duration}s", "--host", server.base_url]
    command += ["--csv", str(root / "locust"), "--only-summary", "--loglevel", "WARNING"]
    command += ["--stop-timeout", "30"]
    env = os.environ | {"FAIRBOARD_LOCUST_PLAN": str(plan_path)}
    process = start_process("locust", command, env=env, logs=root / "logs")
    process.popen.wait()
    print(process.log_text()[-3000:], flush=True)
    with open(root / "locust_stats.csv", newline="") as stats:
        return list(csv.DictReader(stats))


def scored_counts(server: Server, timeout: float) -> dict[str, int]:
    """Submissions per status once none is left queued or running (or ``timeout`` passed)."""
    db = Database(server.settings.database_url)
    pending = (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING)

    def counts() -> dict[str, int]:
        with db.sessionmaker() as session:
            rows = session.execute(
                select(Submission.status, func.count()).group_by(Submission.status)
            ).all()
        return {status.value: int(n) for status, n in rows}

    with contextlib.suppress(TimeoutError):
        wait_for(lambda: not any(counts().get(s.value) for s in pending), timeout=timeout, what="")
    with db.sessionmaker() as session:
        span = session.execute(
            select(func.min(Submission.created_at), func.max(Submission.finished_at))
        ).one()
    found = counts()
    db.dispose()
    if span[0] is not None and span[1] is not None:
        found["span_ms"] = int((span[1] - span[0]).total_seconds() * 1000)
    return found


def report(rows: list[dict[str, str]], counts: dict[str, int], args: argparse.Namespace) -> None:
    print()
    print(
        f"{args.scenario}: {args.deployment}, {args.processes} API process(es), "
        f"{args.users} users, {args.duration} s"
    )
    header = ("request", "count", "failed", "req/s", "p50 ms", "p95 ms", "p99 ms")
    print(f"{header[0]:22s} " + " ".join(f"{name:>7s}" for name in header[1:]))
    for row in rows:
        cells = (row["Request Count"], row["Failure Count"], f"{float(row['Requests/s']):.1f}")
        print(
            f"{row['Name']:22s} "
            + " ".join(f"{c:>7s}" for c in (*cells, *map(row.get, PERCENTILES)))
        )
    print(f"submissions by status: {counts}")
    submit = next((row for row in rows if row["Name"] == "submit"), None)
    failures = sum(int(row["Failure Count"]) for row in rows)
    unscored = sum(n for s, n in counts.items() if s not in ("finished", "span_ms"))
    if args.bound and submit is not None:
        rate = float(submit["Requests/s"])
        print(
            f"lower bound: {rate:.1f} files/s parsed and scored with no database, "
            f"{rate / TARGET_FILES_PER_SECOND:.2f}x goal 2's target of "
            f"{TARGET_FILES_PER_SECOND:.0f}"
        )
    elif args.scenario == "throughput" and submit is not None:
        span = counts.get("span_ms", 0) / 1000
        rate = counts.get("finished", 0) / span if span else 0.0
        print(
            f"goal 2: {rate:.1f} files/s scored (server clock; locust: "
            f"{float(submit['Requests/s']):.1f} posts/s), {rate / TARGET_FILES_PER_SECOND:.2f}x "
            f"the target of {TARGET_FILES_PER_SECOND:.0f} "
            f"({rate / STRETCH_FILES_PER_SECOND:.2f}x the stretch {STRETCH_FILES_PER_SECOND:.0f})"
        )
    print(
        f"goal 5: {failures} failed requests, {unscored} submissions not scored "
        f"(target 0 and 0): {'met' if failures == 0 and unscored == 0 else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=("throughput", "rush"))
    parser.add_argument(
        "--deployment",
        choices=("embedded", "scaleout-inline", "scaleout-workers"),
        default="embedded",
    )
    parser.add_argument("--processes", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--workers", type=int, default=1, help="Celery workers (scale-out)")
    parser.add_argument("--pin", action="store_true", help="taskset: API core 0, workers next")
    parser.add_argument("--users", type=int, help="simulated users (throughput 16, rush 500)")
    parser.add_argument("--duration", type=int, help="seconds (throughput 30, rush 120)")
    parser.add_argument("--spawn-rate", type=float, default=50.0, help="users started per s")
    parser.add_argument("--think", type=float, nargs=2, default=(15.0, 45.0), help="rush pause")
    parser.add_argument("--files", type=int, default=20, help="distinct prediction files")
    parser.add_argument(
        "--bound", action="store_true", help="throughput: post to the parse-and-score route"
    )
    parser.add_argument("--keep-logs", type=Path, help="copy the server and locust logs here")
    args = parser.parse_args()
    rush = args.scenario == "rush"
    if args.bound and (rush or args.deployment != "embedded"):
        parser.error("--bound is a throughput bench of the embedded server")
    args.users = args.users or (500 if rush else 16)
    args.duration = args.duration or (120 if rush else 30)
    if shutil.which("locust") is None and not (Path(sys.executable).parent / "locust").exists():
        raise SystemExit("locust is missing: pip install -e '.[bench]'")
    with tempfile.TemporaryDirectory(prefix="fairboard-locust-") as tmp:
        root = Path(tmp)
        print(f"generating the {N_ITEMS:,}-item synthetic test set ...", flush=True)
        source = make_testset(root / "source", n=N_ITEMS, seed=0, image_size=(32, 32))
        paths = []
        for index, content in enumerate(prediction_files(read_labels(source).ids, args.files)):
            paths.append(root / f"p{index}.csv")
            paths[-1].write_bytes(content)
        participants = args.users if rush else 20
        with start_server(root, source, args, participants) as (server, phase_id, tokens):
            plan = {
                "phase_id": phase_id,
                "tokens": tokens,
                "files": [str(p) for p in paths],
                "scenario": args.scenario,
                "inline": server.inline,
                "think": list(args.think),
                "bound": args.bound,
            }
            print(
                f"{args.scenario}: locust, {args.users} users for {args.duration} s ...", flush=True
            )
            rows = run_locust(root, server, plan, args)
            counts = scored_counts(server, timeout=600)
        if args.keep_logs:
            shutil.copytree(root / "logs", args.keep_logs, dirs_exist_ok=True)
    report(rows, counts, args)


if __name__ == "__main__":
    main()
