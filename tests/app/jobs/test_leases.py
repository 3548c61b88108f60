"""A job's lease, renewed by its holder's heartbeat while the job works."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from datetime import timedelta

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.config import Settings
from app.db import utcnow
from app.jobs import state
from app.jobs.leases import Heartbeat
from app.jobs.runner import recover_interrupted
from app.main import create_app
from app.models import Submission, SubmissionEvent, SubmissionStatus
from app.services import competitions
from app.services import submissions as submission_service
from tests.app.conftest import World, prediction_csv


def claimed(
    world: World, token: str, lease_seconds: float, worker: str = "w-1", by: str = "alice"
) -> int:
    truth = world.truth()
    values = truth.age + np.random.default_rng(0).normal(0, 2, len(truth))
    upload = submission_service.Upload("p.csv", io.BytesIO(prediction_csv(truth.ids, values)))
    user = world.user(by)
    with world.db.transaction() as session:
        phase = competitions.get_phase(session, world.phase_id)
        submission_id = submission_service.create_submission(
            session, world.settings, phase=phase, user=user, upload=upload, now=utcnow()
        ).id
        assert state.claim(
            session, submission_id, token=token, worker=worker, lease_seconds=lease_seconds
        )
    return submission_id


def lease_of(world: World, submission_id: int) -> Submission:
    with world.db.sessionmaker() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        return submission


def test_the_heartbeat_keeps_a_lease_alive_past_its_length_while_the_job_works(
    world: World,
) -> None:
    settings = Settings(
        **(world.settings.model_dump() | {"job_lease_seconds": 0.6, "job_heartbeat_seconds": 0.1})
    )
    submission_id = claimed(world, "mine", lease_seconds=0.6)

    with Heartbeat(world.db, settings, submission_id, "mine") as heartbeat:
        time.sleep(1.5)  # the job's work: longer than two lease periods

    lease = lease_of(world, submission_id).lease_expires_at
    assert lease is not None and lease > utcnow()
    assert not heartbeat.lost.is_set()
    with world.db.transaction() as session:
        assert state.release_expired(session, actor="sweeper") == []


def test_the_heartbeat_notices_when_the_job_was_taken_over(world: World) -> None:
    settings = Settings(
        **(world.settings.model_dump() | {"job_lease_seconds": 0.6, "job_heartbeat_seconds": 0.1})
    )
    submission_id = claimed(world, "stale", lease_seconds=0.6)
    with world.db.transaction() as session:
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
        state.release_expired(session, actor="sweeper")

    with Heartbeat(world.db, settings, submission_id, "stale") as heartbeat:
        assert heartbeat.lost.wait(timeout=5)

    assert lease_of(world, submission_id).job_token is None


def test_the_embedded_runner_takes_back_a_job_whose_holder_died_and_runs_it(
    world: World,
) -> None:
    settings = world.settings.model_copy(update={"sweep_interval_seconds": 0.2})
    with TestClient(create_app(settings)):
        # Claimed after the start-up recovery, by a sibling process that then died (its
        # heartbeat stops: the lease runs out).
        submission_id = claimed(world, "ghost", lease_seconds=0.3)
        deadline = time.monotonic() + 15
        while lease_of(world, submission_id).status is not SubmissionStatus.FINISHED:
            assert time.monotonic() < deadline, lease_of(world, submission_id).status
            time.sleep(0.05)
    with world.db.sessionmaker() as session:
        reasons = session.scalars(
            select(SubmissionEvent.reason).where(SubmissionEvent.submission_id == submission_id)
        ).all()
    assert state.LEASE_EXPIRED.format(worker="w-1") in reasons


def test_a_restarted_process_takes_back_the_jobs_of_the_dead_not_of_a_live_sibling(
    world: World,
) -> None:
    host = socket.gethostname()
    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        live_job = claimed(world, "a", 30, worker=f"web@{host}:{sibling.pid}/predictions-0")
        dead_job = claimed(world, "b", 30, f"web@{host}:{gone.pid}/predictions-1", by="bob")
        assert recover_interrupted(world.db) == 1
    finally:
        sibling.kill()
        sibling.wait()
    assert lease_of(world, live_job).status is SubmissionStatus.RUNNING
    assert lease_of(world, dead_job).status is SubmissionStatus.QUEUED
