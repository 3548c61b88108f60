"""Sustained prediction-file submissions per second (issue 6), deployments side by side.

The same bounded workload — ``--count`` 1,978-row prediction files from 20 participants,
posted by ``--clients`` concurrent HTTP clients over loopback, after ``--warmup`` untimed
ones — against three deployments started on this machine in one run:

1. embedded: the default, uvicorn + SQLite, every file scored within its upload request;
2. scale-out, API scores: PostgreSQL + Redis + Celery workers, files still scored inline by
   the API (the default ``FAIRBOARD_INLINE_SCORING_MAX_BYTES``), the workers idle;
3. scale-out, workers score: the same with ``FAIRBOARD_INLINE_SCORING_MAX_BYTES=0``, so every
   file is queued on ``cpu`` and scored by ``--workers`` Celery workers.

Throughput = files / (last ``finished_at`` - first ``created_at``), both stamped by the
server; latency = ``finished_at - created_at`` per file (upload start to scores stored).
Ratios are against the embedded default measured in the same run. On one machine the
scale-out stack shares its cores with PostgreSQL, Redis and the clients: it is measured here
for what it costs, its point being more machines.

Run: .venv/bin/python bench/bench_throughput.py [--count 300] [--clients 8] [--workers 2]
Needs redis-server and the PostgreSQL 15 server binaries (scripts/system-packages.sh).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.db import Database, utcnow  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.models import Role, Submission, SubmissionStatus, User  # noqa: E402
from app.services import accounts, competitions  # noqa: E402
from scoring.synthetic import make_testset  # noqa: E402
from scoring.testset import read_labels  # noqa: E402
from tests.scaleout.cluster import Cluster, start_redis, wait_for  # noqa: E402
from tests.support.postgres import start_postgres  # noqa: E402
from tests.support.seeding import open_phase, seed_competition  # noqa: E402

PASSWORD = "benchmark-password"
PARTICIPANTS = 20
N_ITEMS = 1978


@dataclass(frozen=True)
class Workload:
    phase_id: int
    tokens: list[str]


@dataclass(frozen=True)
class Result:
    name: str
    files_per_second: float
    latencies: list[float]
    failed: int

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p95_ms(self) -> float:
        return float(np.percentile(self.latencies, 95)) * 1000


def seed(settings: Settings, source: Path, participants: int = PARTICIPANTS) -> Workload:
    """A phase without limits on the synthetic set, ``participants`` with API tokens."""
    db = Database(settings.database_url)
    upgrade(db.engine)
    with db.transaction() as session:
        seeded = seed_competition(
            session,
            settings,
            source,
            password=PASSWORD,
            title="Throughput",
            testset_name="bench",
            image_size=(32, 32),
            phases=[open_phase(name="Live", daily_limit=None)],
        )
        competition, (phase,) = seeded.competition, seeded.phases
        first = accounts.register(
            session, username="p0000", password=PASSWORD, email="p0@example.org"
        )
        # One password hash for all: hashing hundreds of passwords would take a minute.
        others = [
            User(
                username=f"p{p:04d}",
                email=f"p{p}@example.org",
                password_hash=first.password_hash,
                role=Role.PARTICIPANT,
                is_active=True,
                created_at=utcnow(),
            )
            for p in range(1, participants)
        ]
        session.add_all(others)
        session.flush()
        tokens = []
        for user in [first, *others]:
            competitions.join(session, competition, user)
            tokens.append(accounts.create_token(session, user)[1])
        phase_id = phase.id
    db.dispose()
    return Workload(phase_id, tokens)


def prediction_files(ids: tuple[str, ...], count: int) -> list[bytes]:
    rng = np.random.default_rng(1)
    files = []
    for _ in range(count):
        values = rng.uniform(5, 80, len(ids))
        files.append(
            (
                "id,age\n" + "".join(f"{i},{v:.4f}\n" for i, v in zip(ids, values, strict=True))
            ).encode()
        )
    return files


def post_all(base_url: str, workload: Workload, files: list[bytes], clients: int) -> list[int]:
    def post(index: int) -> int:
        response = client.post(
            f"/api/v1/phases/{workload.phase_id}/submissions",
            files={"file": ("predictions.csv", files[index], "text/csv")},
            headers={"Authorization": f"Bearer {workload.tokens[index % PARTICIPANTS]}"},
        )
        response.raise_for_status()
        return int(response.json()["id"])

    with (
        httpx.Client(base_url=base_url, timeout=300) as client,
        ThreadPoolExecutor(clients) as pool,
    ):
        return list(pool.map(post, range(len(files))))


def measure(
    name: str, db: Database, base_url: str, workload: Workload, files: list[bytes], args: Any
) -> Result:
    post_all(base_url, workload, files[: args.warmup], args.clients)
    ids = post_all(base_url, workload, files[args.warmup :], args.clients)

    def done() -> bool:
        with db.sessionmaker() as session:
            statuses = session.scalars(select(Submission.status).where(Submission.id.in_(ids)))
            return all(
                status in (SubmissionStatus.FINISHED, SubmissionStatus.FAILED)
                for status in statuses
            )

    wait_for(done, timeout=900, what=f"{name}: every submission to be scored", every=0.2)
    with db.sessionmaker() as session:
        rows = session.execute(
            select(Submission.created_at, Submission.finished_at, Submission.status).where(
                Submission.id.in_(ids)
            )
        ).all()
    first = min(row.created_at for row in rows)
    last = max(row.finished_at for row in rows)
    return Result(
        name,
        files_per_second=len(rows) / (last - first).total_seconds(),
        latencies=[(row.finished_at - row.created_at).total_seconds() for row in rows],
        failed=sum(row.status is SubmissionStatus.FAILED for row in rows),
    )


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "FAIRBOARD_DATABASE_URL": settings.database_url,
        "FAIRBOARD_DATA_DIR": str(settings.data_dir),
        "FAIRBOARD_SECRET_KEY": "bench",
    }
    if settings.broker_url:
        env["FAIRBOARD_BROKER_URL"] = settings.broker_url
    return env | extra


def run_embedded(root: Path, source: Path, files: list[bytes], args: Any) -> Result:
    settings = Settings(
        database_url=f"sqlite:///{root}/embedded.db", data_dir=root / "embedded", secret_key="b"
    )
    workload = seed(settings, source)
    cluster = Cluster(env=environment(settings), logs=root / "logs-embedded")
    db = Database(settings.database_url)
    try:
        base_url = cluster.start_api()
        return measure("embedded (uvicorn + SQLite)", db, base_url, workload, files, args)
    finally:
        cluster.stop()
        db.dispose()


def start_stores(logs: Path, data_dir: Path) -> tuple[Any, Any, Settings]:
    """A throwaway PostgreSQL (with a ``bench`` database) and Redis, and settings for both."""
    postgres = start_postgres()
    redis = start_redis(logs)
    admin = create_engine(postgres.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE bench"))
    admin.dispose()
    settings = Settings(
        database_url=postgres.url("bench"), broker_url=redis.url, data_dir=data_dir, secret_key="b"
    )
    return postgres, redis, settings


def run_scaleout(
    root: Path, source: Path, files: list[bytes], args: Any, *, workers_score: bool
) -> Result:
    tag = "workers" if workers_score else "inline"
    postgres, redis, settings = start_stores(root / f"logs-{tag}", root / f"scaleout-{tag}")
    workload = seed(settings, source)
    extra = {"FAIRBOARD_INLINE_SCORING_MAX_BYTES": "0"} if workers_score else {}
    cluster = Cluster(env=environment(settings, **extra), logs=root / f"logs-{tag}")
    db = Database(settings.database_url)
    try:
        base_url = cluster.start_api()
        names = [f"worker-{i}" for i in range(args.workers)]
        for name in names:
            cluster.start_worker(name, queues="cpu", concurrency=1, extra=("--no-sweep",))
        cluster.wait_ready(*names)
        name = (
            f"scale-out, {args.workers} workers score"
            if workers_score
            else "scale-out, API scores inline"
        )
        return measure(name, db, base_url, workload, files, args)
    finally:
        cluster.stop()
        db.dispose()
        redis.stop()
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=300, help="timed submissions per mode")
    parser.add_argument("--warmup", type=int, default=20, help="untimed submissions first")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fairboard-throughput-") as tmp:
        root = Path(tmp)
        print(f"generating the {N_ITEMS:,}-item synthetic test set ...", flush=True)
        source = make_testset(root / "source", n=N_ITEMS, seed=0, image_size=(32, 32))
        ids = read_labels(source).ids
        files = prediction_files(ids, args.warmup + args.count)
        print(
            f"{args.count} timed files of {len(files[0]):,} bytes, {args.clients} clients",
            flush=True,
        )
        results = []
        for runner in (
            lambda: run_embedded(root, source, files, args),
            lambda: run_scaleout(root, source, files, args, workers_score=False),
            lambda: run_scaleout(root, source, files, args, workers_score=True),
        ):
            started = time.monotonic()
            results.append(runner())
            print(f"  {results[-1].name}: {time.monotonic() - started:.1f} s", flush=True)
    baseline = results[0]
    print()
    print(f"{'deployment':36s} {'files/s':>8s} {'ratio':>6s} {'median ms':>10s} {'p95 ms':>8s}")
    for result in results:
        ratio = result.files_per_second / baseline.files_per_second
        print(
            f"{result.name:36s} {result.files_per_second:8.1f} {ratio:5.2f}x "
            f"{result.median_ms:10.1f} {result.p95_ms:8.1f}"
            + (f"  ({result.failed} failed)" if result.failed else "")
        )


if __name__ == "__main__":
    main()
