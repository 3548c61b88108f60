"""Queues, the sweep's lock and broker view, and a pool process lost in the middle of a job."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis

from app.config import Settings
from app.db import Database, utcnow
from app.jobs import state, worker
from app.models import Submission, SubmissionKind, SubmissionStatus
from app.services import competitions
from app.services import submissions as submission_service
from tests.app.conftest import prediction_csv
from tests.scaleout.cluster import Cluster, children_of, wait_for
from tests.scaleout.conftest import IMAGE_SIZE, seed_competition
from tests.scaleout.models import age_model
from tests.scaleout.test_end_to_end import model_run_of

pytestmark = pytest.mark.scaleout


def test_model_jobs_go_to_the_gpu_queue_and_prediction_files_to_the_cpu_queue(
    shared_settings: Settings,
) -> None:
    celery = worker.make_celery(shared_settings)
    worker.send_wake_up(celery, SubmissionKind.MODEL)
    worker.send_wake_up(celery, SubmissionKind.PREDICTIONS)
    worker.send_wake_up(celery, SubmissionKind.PREDICTIONS)

    client = redis.Redis.from_url(str(shared_settings.broker_url))
    assert (client.llen("gpu"), client.llen("cpu")) == (1, 2)
    with celery.connection_for_write() as connection:
        assert worker.pending_wake_ups(connection) == {
            SubmissionKind.MODEL: 1,
            SubmissionKind.PREDICTIONS: 2,
        }
    celery.close()


def test_one_worker_sweeps_per_interval_and_wakes_workers_only_for_unannounced_jobs(
    shared_settings: Settings, scaleout_source: Path
) -> None:
    settings = Settings(**(shared_settings.model_dump() | {"sweep_interval_seconds": 30.0}))
    db = Database(settings.database_url)
    world = seed_competition(db, settings, scaleout_source)
    truth = world.truth()
    old = utcnow() - timedelta(minutes=5)
    ids = []
    for seed in range(3):
        user = world.user(f"user{seed}")
        with db.transaction() as session:
            phase = competitions.get_phase(session, world.phase_id)
            values = truth.age + np.random.default_rng(seed).normal(0, 2, len(truth))
            upload = submission_service.Upload(
                "p.csv", io.BytesIO(prediction_csv(truth.ids, values))
            )
            ids.append(
                submission_service.create_submission(
                    session, settings, phase=phase, user=user, upload=upload, now=old
                ).id
            )
    celery = worker.make_celery(settings)
    worker.send_wake_up(celery, SubmissionKind.PREDICTIONS)  # waiting in the broker
    first, second = worker.Sweeper(settings, name="a"), worker.Sweeper(settings, name="b")

    report = first.sweep_once(db)
    assert report is not None
    assert report.woken == {SubmissionKind.PREDICTIONS: len(ids) - 1}
    assert second.sweep_once(db) is None  # the lock is held for this interval
    client = redis.Redis.from_url(str(settings.broker_url))
    assert client.llen("cpu") == 3
    for sweeper in (first, second):
        sweeper.celery.close()
    celery.close()
    db.dispose()


def test_a_pool_process_killed_during_a_model_job_loses_its_lease_and_the_job_runs_again(
    cluster: Cluster, shared_settings: Settings, scaleout_source: Path
) -> None:
    db = Database(shared_settings.database_url)
    # A time limit the test never reaches: the lease (3 s here), not the limit, brings it back.
    world = seed_competition(
        db, shared_settings, scaleout_source, model_time_limit_seconds=600, execution_provider="cpu"
    )
    cluster.env["FAIRBOARD_INLINE_SCORING_MAX_BYTES"] = "0"
    base_url = cluster.start_api()
    gpu = cluster.start_worker("gpu-worker", queues="gpu", concurrency=1)
    cpu = cluster.start_worker("cpu-worker", queues="cpu", concurrency=1)
    cluster.wait_ready("gpu-worker", "cpu-worker")
    alice = world.user("alice")
    headers = world.headers(alice)
    truth = world.truth()
    with httpx.Client(base_url=base_url, timeout=60) as client:

        def submit(filename: str, content: bytes) -> int:
            response = client.post(
                f"/api/v1/phases/{world.phase_id}/submissions",
                files={"file": (filename, content, "application/octet-stream")},
                headers=headers,
            )
            assert response.status_code == 201, response.text
            return int(response.json()["id"])

        model_id = submit("slow.onnx", age_model(image_size=IMAGE_SIZE, depth=1500))
        file_ids = [submit(f"p{i}.csv", prediction_csv(truth.ids, truth.age + i)) for i in range(3)]

    def inference_process() -> tuple[int, int] | None:
        """(pool process, inference process) running the model, once it has made progress."""
        with db.sessionmaker() as session:
            submission = session.get(Submission, model_id)
            assert submission is not None
            if submission.progress_done == 0:
                return None
        for pid in children_of(gpu.pid):
            if model_run_of(pid) == model_id:
                parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                return parent, pid
        return None

    wait_for(lambda: inference_process() is not None, timeout=60, what="the model to run")
    found = inference_process()
    assert found is not None
    pool_process, _ = found
    import os
    import signal

    os.kill(pool_process, signal.SIGKILL)
    killed_at = time.monotonic()

    def finished() -> bool:
        with db.sessionmaker() as session:
            submission = session.get(Submission, model_id)
            return submission is not None and submission.status is SubmissionStatus.FINISHED

    wait_for(finished, timeout=60, what="the model job to finish after its process died")
    with db.sessionmaker() as session:
        model = session.get(Submission, model_id)
        files = [session.get(Submission, i) for i in file_ids]
    assert model is not None and model.attempts == 2
    assert all(f is not None and f.status is SubmissionStatus.FINISHED for f in files)
    assert time.monotonic() - killed_at < 60
    assert gpu.popen.poll() is None  # the worker itself lives on with a new pool process
    with db.sessionmaker() as session:
        reasons = [event.reason for event in state.timeline(session, model_id)]
    assert any(r.startswith("lease expired on worker@") for r in reasons), reasons
    # Each queue's worker ran only its own kind. A worker logs a job's end just after committing it,
    # so the log lines are waited for rather than read at once.
    wait_for(
        lambda: f"submission {model_id} finished" in gpu.log_text(),
        timeout=10,
        what="the GPU worker to log the model job's end",
    )
    wait_for(
        lambda: all(f"submission {i} finished" in cpu.log_text() for i in file_ids),
        timeout=10,
        what="the CPU worker to log the files' ends",
    )
    assert not any(f"submission {i} finished" in gpu.log_text() for i in file_ids)
    db.dispose()
