"""The Celery job runner's database logic: the sweep, redelivery take-over, idempotent tasks.

No broker here (``tests/scaleout`` runs real Redis and worker processes): the sweep gets a
recording dispatch, and the task runs eagerly with a chosen task id.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, update

from app import worker
from app.config import Settings
from app.db import Database, utcnow
from app.models import Submission, SubmissionKind, SubmissionScore, SubmissionStatus
from app.services import competitions
from app.services import submissions as submission_service
from app.services.evaluation import claim
from scoring.inference.builders import build_red_mean_model
from tests.app.conftest import World, prediction_csv


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[int, SubmissionKind]] = []

    def __call__(self, submission_id: int, kind: SubmissionKind) -> None:
        self.sent.append((submission_id, kind))


def queued_submission(
    world: World, *, model: bool = False, created_at: datetime | None = None, seed: int = 0
) -> int:
    """A submission accepted but not evaluated, as the API leaves it before dispatch."""
    truth = world.truth()
    if model:
        upload = submission_service.Upload("model.onnx", io.BytesIO(build_red_mean_model()))
    else:
        values = truth.age + np.random.default_rng(seed).normal(0, 2, len(truth))
        upload = submission_service.Upload("p.csv", io.BytesIO(prediction_csv(truth.ids, values)))
    user = world.user(f"u{seed}{int(model)}")
    with world.db.transaction() as session:
        phase = competitions.get_phase(session, world.phase_id)
        submission = submission_service.create_submission(
            session,
            world.settings,
            phase=phase,
            user=user,
            upload=upload,
            now=created_at or utcnow(),
        )
        return submission.id


def set_fields(world: World, submission_id: int, **values: Any) -> None:
    with world.db.transaction() as session:
        session.execute(update(Submission).where(Submission.id == submission_id).values(**values))


def get(world: World, submission_id: int) -> Submission:
    with world.db.sessionmaker() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        return submission


def test_sweep_requeues_a_model_job_running_past_its_time_limit_and_grace(world: World) -> None:
    world.update_phase(model_time_limit_seconds=600)
    long_ago = utcnow() - timedelta(hours=1)
    stuck = queued_submission(world, model=True, created_at=long_ago)
    claimed = claim(world.db, stuck, token="dead-task:1")
    assert claimed is not None
    set_fields(world, stuck, started_at=utcnow() - timedelta(seconds=600 + 301))
    dispatch = Recorder()

    report = worker.sweep_stuck_submissions(world.db, world.settings, dispatch, pending=set())

    assert report.requeued == [stuck]
    assert dispatch.sent == [(stuck, SubmissionKind.MODEL)]
    swept = get(world, stuck)
    assert swept.status is SubmissionStatus.QUEUED
    assert swept.job_token is None


def test_sweep_leaves_a_model_job_that_is_still_within_its_time_limit(world: World) -> None:
    world.update_phase(model_time_limit_seconds=600)
    running = queued_submission(world, model=True, created_at=utcnow() - timedelta(hours=1))
    assert claim(world.db, running) is not None
    set_fields(world, running, started_at=utcnow() - timedelta(seconds=600))
    dispatch = Recorder()

    report = worker.sweep_stuck_submissions(world.db, world.settings, dispatch, pending=set())

    assert report.requeued == [] and dispatch.sent == []
    assert get(world, running).status is SubmissionStatus.RUNNING


def test_sweep_requeues_a_prediction_file_job_running_past_the_grace_period(world: World) -> None:
    stuck = queued_submission(world, created_at=utcnow() - timedelta(hours=1))
    assert claim(world.db, stuck) is not None
    grace = world.settings.stuck_job_grace_seconds
    set_fields(world, stuck, started_at=utcnow() - timedelta(seconds=grace + 1))
    fresh = queued_submission(world, seed=1, created_at=utcnow() - timedelta(hours=1))
    assert claim(world.db, fresh) is not None
    dispatch = Recorder()

    report = worker.sweep_stuck_submissions(world.db, world.settings, dispatch, pending=set())

    assert report.requeued == [stuck]
    assert dispatch.sent == [(stuck, SubmissionKind.PREDICTIONS)]
    assert get(world, fresh).status is SubmissionStatus.RUNNING


def test_sweep_sends_again_only_old_queued_jobs_that_no_broker_queue_holds(world: World) -> None:
    old = utcnow() - timedelta(seconds=world.settings.stuck_job_grace_seconds + 5)
    lost = queued_submission(world, seed=1, created_at=old)
    waiting = queued_submission(world, seed=2, created_at=old)
    recent = queued_submission(world, seed=3)
    dispatch = Recorder()

    report = worker.sweep_stuck_submissions(world.db, world.settings, dispatch, pending={waiting})

    assert report.redispatched == [lost]
    assert dispatch.sent == [(lost, SubmissionKind.PREDICTIONS)]
    assert {get(world, i).status for i in (lost, waiting, recent)} == {SubmissionStatus.QUEUED}


def test_sweep_without_knowledge_of_the_broker_sends_every_old_queued_job(world: World) -> None:
    old = utcnow() - timedelta(seconds=world.settings.stuck_job_grace_seconds + 5)
    first = queued_submission(world, seed=1, created_at=old)
    second = queued_submission(world, seed=2, created_at=old)
    dispatch = Recorder()

    worker.sweep_stuck_submissions(world.db, world.settings, dispatch, pending=None)

    assert sorted(dispatch.sent) == [
        (first, SubmissionKind.PREDICTIONS),
        (second, SubmissionKind.PREDICTIONS),
    ]


def test_a_claim_is_taken_over_only_by_a_redelivery_of_the_task_that_made_it(
    world: World,
) -> None:
    submission_id = queued_submission(world)
    assert claim(world.db, submission_id, token=worker.job_token("task-a")) is not None

    assert not worker.take_over_orphaned_claim(world.db, submission_id, "task-b")
    assert not worker.take_over_orphaned_claim(world.db, submission_id, "task")
    assert get(world, submission_id).status is SubmissionStatus.RUNNING
    assert worker.take_over_orphaned_claim(world.db, submission_id, "task-a")
    assert get(world, submission_id).status is SubmissionStatus.QUEUED


def test_a_job_interrupted_too_often_fails_instead_of_looping(world: World) -> None:
    world.update_phase(model_time_limit_seconds=60)
    stuck = queued_submission(world, model=True, created_at=utcnow() - timedelta(hours=1))
    orphan = queued_submission(world, seed=1, created_at=utcnow() - timedelta(hours=1))
    assert claim(world.db, stuck) is not None
    assert claim(world.db, orphan, token=worker.job_token("lost-task")) is not None
    # The sweep takes the stuck model job; the orphan, just claimed, only its own redelivery.
    set_fields(world, stuck, attempts=worker.MAX_ATTEMPTS, started_at=utcnow() - timedelta(hours=1))
    set_fields(world, orphan, attempts=worker.MAX_ATTEMPTS)
    dispatch = Recorder()

    report = worker.sweep_stuck_submissions(world.db, world.settings, dispatch, pending=set())
    assert get(world, orphan).status is SubmissionStatus.RUNNING
    assert not worker.take_over_orphaned_claim(world.db, orphan, "lost-task")

    assert report.requeued == [] and dispatch.sent == []
    for submission_id in (stuck, orphan):
        failed = get(world, submission_id)
        assert failed.status is SubmissionStatus.FAILED
        assert failed.error == (
            "the evaluation was interrupted 3 times (its worker was lost); "
            "the organizers can re-run it"
        )
        assert failed.job_token is None


@pytest.fixture
def eager_worker(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The task runs in this process against the test's database and settings."""
    monkeypatch.setattr(worker, "_settings", world.settings)
    monkeypatch.setattr(worker, "_database", None)
    yield
    runtime = worker._database
    if runtime is not None:
        runtime[1].dispose()


def run_task(submission_id: int, task_id: str) -> Any:
    return worker.run_submission_task.apply(args=[submission_id], task_id=task_id).get()


def score_rows(db: Database, submission_id: int) -> int:
    with db.sessionmaker() as session:
        return len(
            session.scalars(
                select(SubmissionScore).where(SubmissionScore.submission_id == submission_id)
            ).all()
        )


def test_task_scores_a_queued_submission_once_and_a_duplicate_does_nothing(
    world: World, eager_worker: None
) -> None:
    submission_id = queued_submission(world)

    assert run_task(submission_id, "first") == "finished"
    assert run_task(submission_id, "duplicate") is None
    assert run_task(submission_id, "first") is None

    done = get(world, submission_id)
    assert done.status is SubmissionStatus.FINISHED
    assert done.attempts == 1
    assert done.job_token is None
    assert score_rows(world.db, submission_id) == 1


def test_redelivered_task_takes_over_the_claim_its_dead_process_left_running(
    world: World, eager_worker: None
) -> None:
    submission_id = queued_submission(world, model=True)
    stale = claim(world.db, submission_id, token=worker.job_token("lost-task"))
    assert stale is not None

    assert run_task(submission_id, "other-task") is None  # not its claim: left alone
    assert run_task(submission_id, "lost-task") == "finished"

    done = get(world, submission_id)
    assert done.status is SubmissionStatus.FINISHED
    assert done.attempts == 2
    assert done.execution_provider == "CPUExecutionProvider"
    assert score_rows(world.db, submission_id) == 1


def test_dispatch_to_an_unreachable_broker_leaves_the_submission_queued_for_the_sweep(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(**(world.settings.model_dump() | {"broker_url": "redis://127.0.0.1:9/0"}))
    submission_id = queued_submission(world)
    jobs = worker.CeleryJobs(world.db, settings)
    jobs.start()
    # The app's logging may have stopped propagation above "fairboard": listen right here.
    logger = logging.getLogger("fairboard.worker")
    logger.addHandler(caplog.handler)
    try:
        jobs.dispatch(submission_id, SubmissionKind.PREDICTIONS)
    finally:
        logger.removeHandler(caplog.handler)
        jobs.shutdown()

    assert get(world, submission_id).status is SubmissionStatus.QUEUED
    assert f"could not send submission {submission_id} to the broker" in caplog.text


def test_task_messages_name_their_submission() -> None:
    import base64
    import json

    body = base64.b64encode(json.dumps([[42], {}, {}]).encode()).decode()
    message = {
        "body": body,
        "headers": {"task": worker.TASK_NAME},
        "properties": {"body_encoding": "base64"},
    }
    assert worker._submission_id_of(json.dumps(message).encode()) == 42
    assert worker._submission_id_of(json.dumps(message | {"headers": {}}).encode()) is None
    assert worker._submission_id_of(b"not json") is None
