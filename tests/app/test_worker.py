"""The Celery job runner's database logic: the lease sweep, wake-up tasks, fair order.

No broker here (``tests/scaleout`` runs real Redis and worker processes): the sweep gets a
recording wake-up, and the task runs eagerly.
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

from app.config import Settings
from app.db import Database, utcnow
from app.jobs import execute, leases, state, worker
from app.jobs.sweep import sweep
from app.models import Submission, SubmissionKind, SubmissionScore, SubmissionStatus, User
from app.services import competitions
from app.services import submissions as submission_service
from app.services.evaluation import INTERNAL_ERROR
from scoring.inference.builders import build_red_mean_model
from tests.app.conftest import World, prediction_csv


class Recorder:
    def __init__(self) -> None:
        self.sent: list[SubmissionKind] = []

    def __call__(self, kind: SubmissionKind) -> None:
        self.sent.append(kind)


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
    name = f"u{seed}{int(model)}"
    with world.db.sessionmaker() as session:
        user = session.scalar(select(User).where(User.username == name))
    user = user or world.user(name)
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


def claim(world: World, submission_id: int, token: str, *, worker_name: str = "w-1") -> bool:
    with world.db.transaction() as session:
        return state.claim(
            session, submission_id, token=token, worker=worker_name, lease_seconds=30
        )


def test_sweep_takes_back_a_model_job_whose_lease_expired_whatever_its_time_limit(
    world: World,
) -> None:
    world.update_phase(model_time_limit_seconds=3600)
    submission_id = queued_submission(world, model=True)
    assert claim(world, submission_id, "t1", worker_name="worker-2")
    set_fields(world, submission_id, lease_expires_at=utcnow() - timedelta(seconds=1))
    wake_up = Recorder()

    report = sweep(world.db, wake_up, pending={}, actor="sweeper")

    assert report.requeued == [submission_id]
    assert wake_up.sent == [SubmissionKind.MODEL]
    taken = get(world, submission_id)
    assert taken.status is SubmissionStatus.QUEUED
    assert taken.job_token is None and taken.lease_expires_at is None
    with world.db.sessionmaker() as session:
        reasons = [event.reason for event in state.timeline(session, submission_id)]
    assert reasons[-1] == "lease expired on worker-2, re-queued"


def test_sweep_leaves_a_job_whose_lease_is_live(world: World) -> None:
    submission_id = queued_submission(world, model=True)
    assert claim(world, submission_id, "t1")
    wake_up = Recorder()

    report = sweep(world.db, wake_up, pending={}, actor="sweeper")

    assert report.requeued == [] and wake_up.sent == []
    assert get(world, submission_id).status is SubmissionStatus.RUNNING


def test_sweep_wakes_workers_only_for_queued_jobs_beyond_the_waiting_messages(
    world: World,
) -> None:
    for seed in range(3):
        queued_submission(world, seed=seed)
    queued_submission(world, model=True)
    wake_up = Recorder()

    report = sweep(
        world.db,
        wake_up,
        pending={SubmissionKind.PREDICTIONS: 1, SubmissionKind.MODEL: 1},
        actor="sweeper",
    )

    assert wake_up.sent == [SubmissionKind.PREDICTIONS, SubmissionKind.PREDICTIONS]
    assert report.woken == {SubmissionKind.PREDICTIONS: 2}


def test_sweep_without_knowledge_of_the_broker_wakes_once_per_queued_job(world: World) -> None:
    queued_submission(world, seed=1)
    queued_submission(world, seed=2)
    wake_up = Recorder()

    sweep(world.db, wake_up, pending=None, actor="sweeper")

    assert wake_up.sent == [SubmissionKind.PREDICTIONS] * 2


def test_a_job_interrupted_too_often_fails_instead_of_looping(world: World) -> None:
    submission_id = queued_submission(world, model=True)
    assert claim(world, submission_id, "t1")
    set_fields(
        world,
        submission_id,
        attempts=state.MAX_ATTEMPTS,
        lease_expires_at=utcnow() - timedelta(seconds=1),
    )

    report = sweep(world.db, Recorder(), pending={}, actor="sweeper")

    assert report.requeued == [submission_id]
    failed = get(world, submission_id)
    assert failed.status is SubmissionStatus.FAILED
    assert failed.error == (
        "the evaluation was interrupted 3 times (its worker was lost); the organizers can re-run it"
    )
    assert failed.job_token is None


def test_a_holder_whose_lease_was_taken_over_can_record_nothing(world: World) -> None:
    submission_id = queued_submission(world)
    assert claim(world, submission_id, "stale")
    set_fields(world, submission_id, lease_expires_at=utcnow() - timedelta(seconds=1))
    sweep(world.db, Recorder(), pending={}, actor="sweeper")
    assert claim(world, submission_id, "fresh")

    with world.db.transaction() as session:
        assert not state.renew(session, submission_id, "stale", lease_seconds=30)
        assert not state.fail(session, submission_id, "stale", "boom", worker="w-1")
        assert (
            state.finish(session, submission_id, "stale", scores=[SCORES], values={}, worker="w-1")
            is None
        )

    assert get(world, submission_id).job_token == "fresh"


SCORES = {name: 1.0 for name in state.SCORE_NAMES}


@pytest.fixture
def eager_worker(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The task runs in this process against the test's database and settings."""
    monkeypatch.setattr(worker, "_settings", world.settings)
    monkeypatch.setattr(worker, "_database", None)
    yield
    runtime = worker._database
    if runtime is not None:
        runtime[1].dispose()


def run_task(kind: SubmissionKind) -> Any:
    return worker.run_next_task.apply(args=[kind.value]).get()


def score_rows(db: Database, submission_id: int) -> int:
    with db.sessionmaker() as session:
        return len(
            session.scalars(
                select(SubmissionScore).where(SubmissionScore.submission_id == submission_id)
            ).all()
        )


def test_a_wake_up_runs_the_next_job_of_its_kind_once_and_a_spare_one_does_nothing(
    world: World, eager_worker: None
) -> None:
    submission_id = queued_submission(world)

    assert run_task(SubmissionKind.PREDICTIONS) == submission_id
    assert run_task(SubmissionKind.PREDICTIONS) is None

    done = get(world, submission_id)
    assert done.status is SubmissionStatus.FINISHED
    assert done.attempts == 1
    assert done.job_token is None
    assert score_rows(world.db, submission_id) == 1


def test_wake_ups_run_jobs_in_the_fair_order_not_the_order_of_messages(
    world: World, eager_worker: None
) -> None:
    start = utcnow() - timedelta(minutes=10)
    burst = [
        queued_submission(world, seed=1, created_at=start + timedelta(seconds=i)) for i in range(3)
    ]
    late = queued_submission(world, seed=2, created_at=start + timedelta(seconds=30))

    ran = [run_task(SubmissionKind.PREDICTIONS) for _ in range(4)]

    assert ran == [burst[0], late, burst[1], burst[2]]


def test_worker_settings_must_agree_with_the_lease() -> None:
    settings = Settings(
        environment="test",
        secret_key="test-secret-key",
        broker_url="redis://127.0.0.1:9/0",
        job_lease_seconds=30,
        job_heartbeat_seconds=20,
        sweep_interval_seconds=60,
        broker_visibility_timeout_seconds=60,
    )

    assert leases.settings_problems(settings) == [
        leases.HEARTBEAT_TOO_SLOW.format(heartbeat=20, lease=30),
        leases.SWEEP_TOO_SLOW.format(sweep=60, lease=30),
    ]
    with pytest.raises(SystemExit):
        leases.check_settings(settings)
    assert (
        leases.settings_problems(
            settings.model_copy(update={"job_heartbeat_seconds": 10, "sweep_interval_seconds": 30})
        )
        == []
    )


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


def test_a_job_that_cannot_be_loaded_fails_with_the_internal_error_instead_of_staying_running(
    world: World,
) -> None:
    submission_id = queued_submission(world)
    set_fields(world, submission_id, testset_id=None)

    outcome = execute.run_submission(world.db, world.settings, submission_id, worker="w-1")

    failed = get(world, submission_id)
    assert outcome is SubmissionStatus.FAILED
    assert failed.status is SubmissionStatus.FAILED
    assert failed.error == INTERNAL_ERROR
