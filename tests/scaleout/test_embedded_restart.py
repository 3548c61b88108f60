"""The embedded default as an operator runs it: one server process, SQLite, jobs in-process.

``kill -9`` of the server in the middle of a model's inference, then a restart: the job is
queued again and claimed at once, not a lease period later (the embedded server owns every
job), and it finishes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.db import Database
from app.migrate import upgrade
from app.models import Submission, SubmissionStatus
from tests.scaleout.cluster import Cluster, children_of, wait_for
from tests.scaleout.conftest import IMAGE_SIZE, process_env, seed_competition
from tests.scaleout.models import age_model
from tests.scaleout.test_end_to_end import claims_after, model_run_of

pytestmark = pytest.mark.scaleout

RESUMED_WITHIN_SECONDS = 5.0


def test_a_model_job_resumes_at_once_when_the_killed_server_restarts(
    scaleout_source: Path, tmp_path: Path
) -> None:
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'embedded.db'}",
        data_dir=tmp_path / "data",
        secret_key="embedded-restart-secret",
        inference_threads=1,
    )
    db = Database(settings.database_url)
    upgrade(db.engine)
    world = seed_competition(
        db, settings, scaleout_source, model_time_limit_seconds=600, execution_provider="cpu"
    )
    alice = world.user("alice")
    cluster = Cluster(env=process_env(settings), logs=tmp_path / "logs")
    try:
        first = cluster.start_api("server")
        response = httpx.post(
            f"{first}/api/v1/phases/{world.phase_id}/submissions",
            files={"file": ("slow.onnx", age_model(image_size=IMAGE_SIZE, depth=600))},
            headers=world.headers(alice),
            timeout=120,
        )
        assert response.status_code == 201, response.text
        model_id = int(response.json()["id"])
        server = cluster.processes["server"]

        def inferring() -> bool:
            return any(model_run_of(pid) == model_id for pid in children_of(server.pid))

        wait_for(inferring, timeout=60, what="the model to run in the server")
        server.kill_group()
        killed_at = datetime.now(UTC)
        server.popen.wait(timeout=10)
        with db.sessionmaker() as session:
            held = session.get(Submission, model_id)
            assert held is not None and held.status is SubmissionStatus.RUNNING

        second = cluster.start_api("server-restarted")
        healthy_at = datetime.now(UTC)

        wait_for(
            lambda: bool(claims_after(db, model_id, killed_at)),
            timeout=30,
            what="the job to be claimed again",
        )
        resumed_after = (claims_after(db, model_id, killed_at)[0] - healthy_at).total_seconds()
        assert resumed_after <= RESUMED_WITHIN_SECONDS

        def done() -> bool:
            body = httpx.get(
                f"{second}/api/v1/submissions/{model_id}", headers=world.headers(alice)
            ).json()
            return bool(body["status"] in ("finished", "failed"))

        wait_for(done, timeout=240, what="the resumed model to finish", every=0.5)
        body = httpx.get(
            f"{second}/api/v1/submissions/{model_id}", headers=world.headers(alice)
        ).json()
        assert body["status"] == "finished", body["error"]
        reasons = [event["reason"] for event in body["timeline"]]
        assert any("by a restart of the server, re-queued" in r for r in reasons), reasons
        with db.sessionmaker() as session:
            finished = session.get(Submission, model_id)
            assert finished is not None and finished.attempts == 2
        print(f"resumed {resumed_after:.2f} s after the restarted server answered")
    finally:
        cluster.stop()
        db.dispose()
