"""Jobs (issue 10): recovery after a SIGKILL and scheduling overhead per job, both modes.

1. Scheduling overhead per job. ``--jobs`` prediction files are queued at once and run by one
   runner: embedded (``InProcessJobs``, one scoring thread, SQLite) and scale-out (one Celery
   worker of concurrency 1, PostgreSQL + Redis, woken once per job). The same files are first
   evaluated directly in this process (``services.evaluation.evaluate``, no database writes):
   overhead per job = (runner's time from the first claim to the last finish - direct time)
   / jobs; the ratio is the runner's time over the direct time.
2. Recovery after SIGKILL, ``--kills`` times: scale-out kills one of two workers during a
   model's inference (and restarts it); embedded kills the server and restarts it. Recovery =
   kill to the job's next claim, from its timeline. Median and worst, and the ratio of the
   worst to the lease period (3 s here, sweep every second; embedded needs no lease: the
   restarted server takes every running job back at once, so its figure is start-up time).

Run: .venv/bin/python bench/bench_jobs.py [--jobs 100] [--kills 5]
Needs redis-server and the PostgreSQL 15 server binaries (scripts/system-packages.sh).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.db import Database, utcnow  # noqa: E402
from app.jobs import worker  # noqa: E402
from app.jobs.runner import InProcessJobs  # noqa: E402
from app.models import (  # noqa: E402
    Phase,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    TestSetVersion,
    User,
)
from app.services import submissions  # noqa: E402
from app.services.evaluation import Scored, evaluate  # noqa: E402
from bench.bench_throughput import environment, prediction_files, seed  # noqa: E402
from scoring.synthetic import make_testset  # noqa: E402
from scoring.testset import read_labels  # noqa: E402
from tests.scaleout.cluster import Cluster, children_of, start_redis, wait_for  # noqa: E402
from tests.scaleout.models import age_model  # noqa: E402
from tests.scaleout.test_end_to_end import KillLoop, claims_after, model_run_of  # noqa: E402
from tests.support.postgres import start_postgres  # noqa: E402

N_ITEMS = 300
LEASE = {
    "FAIRBOARD_JOB_LEASE_SECONDS": "3",
    "FAIRBOARD_JOB_HEARTBEAT_SECONDS": "1",
    "FAIRBOARD_SWEEP_INTERVAL_SECONDS": "1",
    "FAIRBOARD_INFERENCE_THREADS": "1",
}
MODEL_DEPTH = 300


def seed_for_models(settings: Settings, source: Path) -> Any:
    """``bench_throughput``'s phase, taking models too (run on the CPU)."""
    workload = seed(settings, source)
    db = Database(settings.database_url)
    with db.transaction() as session:
        phase = session.get(Phase, workload.phase_id)
        assert phase is not None
        phase.submission_kinds = ["predictions", "model"]
        phase.execution_provider = "cpu"
    db.dispose()
    return workload


def queue_files(settings: Settings, files: list[bytes]) -> list[int]:
    """Queue the files as submissions of the seeded participants, without dispatching them."""
    db = Database(settings.database_url)
    ids = []
    with db.transaction() as session:
        phase = session.scalars(select(Phase)).one()
        users = session.scalars(select(User).where(User.username.like("p%"))).all()
        for n, content in enumerate(files):
            upload = submissions.Upload(f"p{n}.csv", io.BytesIO(content))
            ids.append(
                submissions.create_submission(
                    session,
                    settings,
                    phase=phase,
                    user=users[n % len(users)],
                    upload=upload,
                    now=utcnow(),
                ).id
            )
    db.dispose()
    return ids


def direct_seconds(settings: Settings, ids: list[int]) -> float:
    """Evaluation alone for each submission, in this process, without a job around it."""
    db = Database(settings.database_url)
    with db.sessionmaker() as session:
        snapshots = []
        for submission_id in ids:
            submission = session.get(Submission, submission_id)
            assert submission is not None
            snapshots.append(
                (
                    submission,
                    session.get(Phase, submission.phase_id),
                    session.get(TestSetVersion, submission.testset_id),
                )
            )
        session.expunge_all()
    started = time.perf_counter()
    for submission, phase, testset in snapshots:
        assert phase is not None and testset is not None
        outcome = evaluate(settings, submission, phase, testset, progress=lambda d, t: None)
        assert isinstance(outcome, Scored), outcome
    db.dispose()
    return time.perf_counter() - started


def runner_seconds(db: Database, count: int) -> float:
    """First claim to last finish, once every job ended."""

    def ended() -> bool:
        with db.sessionmaker() as session:
            done = session.scalar(
                select(func.count()).where(
                    Submission.status.in_([SubmissionStatus.FINISHED, SubmissionStatus.FAILED])
                )
            )
        return done == count

    wait_for(ended, timeout=600, what="every job to end", every=0.2)
    with db.sessionmaker() as session:
        first = session.scalar(select(func.min(Submission.started_at)))
        last = session.scalar(select(func.max(Submission.finished_at)))
    assert first is not None and last is not None
    return (last - first).total_seconds()


def overhead_embedded(root: Path, source: Path, files: list[bytes]) -> tuple[float, float]:
    settings = Settings(
        database_url=f"sqlite:///{root}/overhead.db",
        data_dir=root / "overhead-embedded",
        secret_key="b",
        scoring_workers=1,
        model_workers=1,
    )
    seed(settings, source)
    ids = queue_files(settings, files)
    direct = direct_seconds(settings, ids)
    db = Database(settings.database_url)
    jobs = InProcessJobs(db, settings)
    jobs.start()
    try:
        jobs.dispatch(ids[0], SubmissionKind.PREDICTIONS)
        return runner_seconds(db, len(ids)), direct
    finally:
        jobs.shutdown()
        db.dispose()


def scaleout_settings(root: Path, tag: str, postgres: Any, redis: Any) -> Settings:
    admin = create_engine(postgres.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {tag}"))
    admin.dispose()
    return Settings(
        database_url=postgres.url(tag), broker_url=redis.url, data_dir=root / tag, secret_key="b"
    )


def overhead_scaleout(
    root: Path, source: Path, files: list[bytes], postgres: Any, redis: Any
) -> tuple[float, float]:
    settings = scaleout_settings(root, "overhead", postgres, redis)
    seed(settings, source)
    ids = queue_files(settings, files)
    direct = direct_seconds(settings, ids)
    cluster = Cluster(env=environment(settings, **LEASE), logs=root / "logs-overhead")
    db = Database(settings.database_url)
    try:
        cluster.start_worker("worker", queues="cpu", concurrency=1, extra=("--no-sweep",))
        cluster.wait_ready("worker")
        celery = worker.make_celery(settings)
        for _ in ids:
            worker.send_wake_up(celery, SubmissionKind.PREDICTIONS)
        celery.close()
        return runner_seconds(db, len(ids)), direct
    finally:
        cluster.stop()
        db.dispose()


def next_claim_after(db: Database, submission_id: int, killed_at: datetime) -> float:
    wait_for(
        lambda: bool(claims_after(db, submission_id, killed_at)),
        timeout=120,
        what="the job to be claimed again",
    )
    return (claims_after(db, submission_id, killed_at)[0] - killed_at).total_seconds()


def post_model(base_url: str, phase_id: int, token: str, n: int) -> int:
    response = httpx.post(
        f"{base_url}/api/v1/phases/{phase_id}/submissions",
        files={"file": (f"m{n}.onnx", age_model(image_size=(32, 32), depth=MODEL_DEPTH, seed=n))},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    response.raise_for_status()
    return int(response.json()["id"])


def recovery_scaleout(
    root: Path, source: Path, kills: int, postgres: Any, redis: Any
) -> list[float]:
    settings = scaleout_settings(root, "recovery", postgres, redis)
    workload = seed_for_models(settings, source)
    cluster = Cluster(env=environment(settings, **LEASE), logs=root / "logs-recovery")
    db = Database(settings.database_url)
    try:
        base_url = cluster.start_api()
        workers = {name: cluster.start_worker(name, concurrency=1) for name in ("a", "b")}
        cluster.wait_ready(*workers)
        count = [0]

        def top_up(kind: SubmissionKind) -> None:
            count[0] += 1
            post_model(base_url, workload.phase_id, workload.tokens[count[0] % 20], count[0])

        loop = KillLoop(cluster, db, workers, top_up)
        while len(loop.kills) < kills:
            loop.kill_during(SubmissionKind.MODEL)
        return [next_claim_after(db, k.submission_id, k.at) for k in loop.kills]
    finally:
        cluster.stop()
        db.dispose()


def recovery_embedded(root: Path, source: Path, kills: int) -> list[float]:
    settings = Settings(
        database_url=f"sqlite:///{root}/recovery.db",
        data_dir=root / "recovery-embedded",
        secret_key="b",
    )
    workload = seed_for_models(settings, source)
    cluster = Cluster(
        env=environment(settings, FAIRBOARD_INFERENCE_THREADS="1"), logs=root / "logs-embedded"
    )
    db = Database(settings.database_url)
    seconds = []
    try:
        base_url = cluster.start_api("server-0")
        for n in range(kills):
            server = cluster.processes[f"server-{n}"]
            model_id = post_model(base_url, workload.phase_id, workload.tokens[n], n)
            wait_for(
                lambda m=model_id, s=server.pid: any(model_run_of(p) == m for p in children_of(s)),
                timeout=120,
                what="the model to run",
                every=0.02,
            )
            server.kill_group()
            killed_at = datetime.now(UTC)
            server.popen.wait(timeout=10)
            base_url = cluster.start_api(f"server-{n + 1}")
            seconds.append(next_claim_after(db, model_id, killed_at))
        return seconds
    finally:
        cluster.stop()
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100, help="prediction files per mode")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs per mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fairboard-jobs-") as tmp:
        root = Path(tmp)
        source = make_testset(root / "source", n=N_ITEMS, seed=0, image_size=(32, 32))
        files = prediction_files(read_labels(source).ids, args.jobs)
        postgres = start_postgres()
        redis = start_redis(root / "logs-redis")
        try:
            overhead = {
                "embedded": overhead_embedded(root, source, files),
                "scale-out": overhead_scaleout(root, source, files, postgres, redis),
            }
            recovery = {
                "embedded": recovery_embedded(root, source, args.kills),
                "scale-out": recovery_scaleout(root, source, args.kills, postgres, redis),
            }
        finally:
            redis.stop()
            postgres.stop()
    print(f"\nscheduling overhead, {args.jobs} prediction files of {N_ITEMS} rows, one runner")
    print(f"{'mode':10s} {'runner s':>9s} {'direct s':>9s} {'ms/job':>8s} {'ratio':>6s}")
    for mode, (runner, direct) in overhead.items():
        per_job = (runner - direct) / args.jobs * 1000
        print(f"{mode:10s} {runner:9.2f} {direct:9.2f} {per_job:8.1f} {runner / direct:5.2f}x")
    print(f"\nrecovery after SIGKILL during a model ({args.kills} kills), kill to next claim")
    print(f"{'mode':10s} {'median s':>9s} {'worst s':>8s} {'worst/lease':>12s}")
    for mode, seconds in recovery.items():
        worst = max(seconds)
        print(f"{mode:10s} {statistics.median(seconds):9.2f} {worst:8.2f} {worst / 3:11.2f}x")


if __name__ == "__main__":
    main()
