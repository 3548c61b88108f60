"""The scale-out bar: the API, Redis, PostgreSQL and two Celery workers as real processes.

200 prediction files and 10 models from 20 participants; one worker is killed with SIGKILL
in the middle of a model job. Every submission ends finished (or failed with its own reason),
none is lost or scored twice, and the leaderboards equal what the embedded mode (SQLite,
in-process jobs) gives when the same files are submitted in the same order.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.migrate import upgrade
from app.models import Submission, SubmissionKind, SubmissionScore, SubmissionStatus, User
from tests.app.conftest import prediction_csv
from tests.scaleout.cluster import Cluster, Process, children_of, command_line, wait_for
from tests.scaleout.conftest import IMAGE_SIZE, seed_competition
from tests.scaleout.models import age_model
from tests.support.postgres import free_port

pytestmark = pytest.mark.scaleout

PARTICIPANTS = 20
FILES_EACH = 10
MODELS = 10
SLOW_MODELS = 4
SLOW_DEPTH = 800
INVALID_FILES = 4
MODEL_TIME_LIMIT_SECONDS = 30
PHASE = {
    "daily_limit": None,
    "public_fraction": 0.5,
    "model_time_limit_seconds": MODEL_TIME_LIMIT_SECONDS,
    "execution_provider": "cpu",
}


@dataclass(frozen=True)
class Upload:
    participant: str
    filename: str
    content: bytes
    form: dict[str, str] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def plan_uploads(truth: Any) -> list[Upload]:
    """Files with participant-specific errors, a few invalid ones, and models spread between."""
    rng = np.random.default_rng(2024)
    files: list[Upload] = []
    for p in range(PARTICIPANTS):
        bias = rng.normal(0, 3)
        for k in range(FILES_EACH):
            values = truth.age + bias + rng.normal(0, 2 + p % 5 + k / 3, len(truth))
            content = prediction_csv(truth.ids, values)
            if len(files) % 50 == 7:  # one invalid file in fifty: its own reason, kept failed
                content = content.replace(b"\n", b"\nbogus,1.0\n", 1)
            files.append(Upload(f"p{p:02d}", f"predictions-{k}.csv", content))
    rng.shuffle(files)
    models = [
        Upload(
            f"p{2 * m:02d}",
            f"model-{m}.onnx",
            age_model(
                image_size=IMAGE_SIZE,
                offset=30 + m / 4,
                slope=2 - m / 50,
                depth=SLOW_DEPTH if m < SLOW_MODELS else 0,
                seed=m,
            ),
        )
        for m in range(MODELS)
    ]
    plan = list(files)
    for m, model in enumerate(models):
        plan.insert(m * (len(plan) // MODELS) + m, model)
    return plan


@dataclass
class Kill:
    worker: str
    submission_id: int
    progress: tuple[int, int]
    at: float


def model_run_of(pid: int) -> int | None:
    """The submission whose model an inference process runs (from its job file), if any."""
    args = command_line(pid)
    if "scoring.inference.child" not in args:
        return None
    try:
        job = json.loads((Path(args[-1]) / "job.json").read_text())
    except (OSError, ValueError):
        return None
    if job.get("task") != "run":
        return None
    parts = Path(job["model_path"]).parts
    return int(parts[parts.index("submissions") + 1])


def kill_a_worker_during_a_model_job(
    db: Database, workers: dict[str, Process], killed: list[Kill], stop: threading.Event
) -> None:
    """SIGKILL the worker (its whole process group) whose pool runs a slow model half-way."""
    while not stop.is_set():
        with db.sessionmaker() as session:
            running = session.execute(
                select(Submission.id, Submission.progress_done, Submission.progress_total).where(
                    Submission.kind == SubmissionKind.MODEL,
                    Submission.status == SubmissionStatus.RUNNING,
                    Submission.progress_done > 0,
                    Submission.progress_done < Submission.progress_total,
                )
            ).all()
        in_progress = {row.id: (row.progress_done, row.progress_total) for row in running}
        for name, worker in workers.items():
            for pid in children_of(worker.pid):
                submission_id = model_run_of(pid)
                if submission_id is not None and submission_id in in_progress:
                    worker.kill_group()
                    killed.append(
                        Kill(name, submission_id, in_progress[submission_id], time.monotonic())
                    )
                    return
        stop.wait(0.05)


def submit_all(
    base_url: str, phase_id: int, plan: list[Upload], tokens: dict[str, str]
) -> list[int]:
    def post(upload: Upload) -> int:
        response = client.post(
            f"/api/v1/phases/{phase_id}/submissions",
            files={"file": (upload.filename, upload.content, "application/octet-stream")},
            data=upload.form,
            headers={"Authorization": f"Bearer {tokens[upload.participant]}"},
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    with httpx.Client(base_url=base_url, timeout=120) as client, ThreadPoolExecutor(8) as pool:
        return list(pool.map(post, plan))


def all_done(db: Database, count: int) -> bool:
    with db.sessionmaker() as session:
        done = session.scalar(
            select(func.count()).where(
                Submission.status.in_([SubmissionStatus.FINISHED, SubmissionStatus.FAILED])
            )
        )
    return done == count


def outcomes(db: Database) -> dict[tuple[str, str], dict[str, Any]]:
    """Each submission's outcome keyed by (participant, sha256 of the file)."""
    with db.sessionmaker() as session:
        rows = session.execute(
            select(Submission, User.username).join(User, User.id == Submission.user_id)
        ).all()
        scores: Counter[int] = Counter(session.scalars(select(SubmissionScore.submission_id)).all())
    return {
        (username, submission.sha256): {
            "id": submission.id,
            "created_at": submission.created_at,
            "status": submission.status.value,
            "error": submission.error,
            "attempts": submission.attempts,
            "score_rows": scores[submission.id],
        }
        for submission, username in rows
    }


def leaderboard_rows(client: Any, phase_id: int, split: str, headers: dict[str, str]) -> list[Any]:
    response = client.get(
        f"/api/v1/phases/{phase_id}/leaderboard", params={"split": split}, headers=headers
    )
    assert response.status_code == 200, response.text
    return [
        {key: value for key, value in row.items() if key not in ("submission_id", "last_entry_at")}
        for row in response.json()
    ]


def assert_same_leaderboard(actual: list[Any], expected: list[Any]) -> None:
    """Row by row: every field equal, scores to the last few ulps (float64 either way)."""
    assert [row["participant"] for row in actual] == [row["participant"] for row in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got.keys() == want.keys()
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (got, want)
            else:
                assert got[key] == value, (key, got, want)


def replay_in_process(
    tmp_path: Path, source: Path, ordered: list[Upload], participants: list[str]
) -> tuple[dict[str, list[Any]], dict[tuple[str, str], dict[str, Any]]]:
    """Submit the same files in the same order to the embedded default; its leaderboards."""
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'embedded.db'}",
        data_dir=tmp_path / "embedded-data",
        secret_key="embedded-test-secret",
        model_workers=2,
        scoring_workers=1,
        inference_threads=1,
    )
    db = Database(settings.database_url)
    upgrade(db.engine)
    world = seed_competition(db, settings, source, **PHASE)
    tokens = {name: world.token(world.user(name)) for name in participants}
    with TestClient(create_app(settings)) as client:
        for upload in ordered:
            response = client.post(
                f"/api/v1/phases/{world.phase_id}/submissions",
                files={"file": (upload.filename, upload.content, "application/octet-stream")},
                data=upload.form,
                headers={"Authorization": f"Bearer {tokens[upload.participant]}"},
            )
            assert response.status_code in (201, 422), response.text
        wait_for(lambda: all_done(db, len(ordered)), timeout=180, what="the embedded replay")
        organizer = world.headers(world.organizer)
        boards = {
            split: leaderboard_rows(client, world.phase_id, split, organizer)
            for split in ("public", "private")
        }
    replayed = outcomes(db)
    db.dispose()
    return boards, replayed


def test_two_workers_lose_nothing_when_one_is_killed_during_a_model_job(
    cluster: Cluster, shared_settings: Settings, scaleout_source: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    db = Database(shared_settings.database_url)
    world = seed_competition(db, shared_settings, scaleout_source, **PHASE)
    participants = [f"p{p:02d}" for p in range(PARTICIPANTS)]
    tokens = {name: world.token(world.user(name)) for name in participants}
    plan = plan_uploads(world.truth())
    assert Counter(u.filename.endswith(".onnx") for u in plan) == {False: 200, True: 10}

    # Every prediction file goes through a worker, not the API's inline scoring.
    cluster.env["FAIRBOARD_INLINE_SCORING_MAX_BYTES"] = "0"
    base_url = cluster.start_api()
    metrics_ports = {"worker-a": free_port(), "worker-b": free_port()}
    workers = {
        name: cluster.start_worker(
            name,
            concurrency=2,
            extra=("--metrics-port", str(port)),
            env={"FAIRBOARD_LOG_JSON": "1"},
        )
        for name, port in metrics_ports.items()
    }
    cluster.wait_ready(*workers)

    killed: list[Kill] = []
    stop_killer = threading.Event()
    killer = threading.Thread(
        target=kill_a_worker_during_a_model_job, args=(db, workers, killed, stop_killer)
    )
    killer.start()
    try:
        ids = submit_all(base_url, world.phase_id, plan, tokens)
        wait_for(lambda: bool(killed), timeout=120, what="a model job to kill a worker in")
    finally:
        stop_killer.set()
        killer.join()
    kill = killed[0]
    survivor = next(name for name in workers if name != kill.worker)
    wait_for(
        lambda: workers[kill.worker].popen.poll() is not None,
        timeout=10,
        what="the killed worker to be gone",
    )
    wait_for(lambda: all_done(db, len(plan)), timeout=240, what="every submission to end")
    cluster_seconds = time.monotonic() - started

    # None lost, none scored twice; the killed job was claimed again and finished.
    assert len(set(ids)) == len(plan)
    cluster_outcomes = outcomes(db)
    assert len(cluster_outcomes) == len(plan)
    killed_outcome = next(o for o in cluster_outcomes.values() if o["id"] == kill.submission_id)
    assert killed_outcome["status"] == "finished", killed_outcome
    assert killed_outcome["attempts"] == 2, killed_outcome
    # The killed worker held at most two claims (concurrency 2): at most two re-claims in all.
    assert sum(o["attempts"] for o in cluster_outcomes.values()) <= len(plan) + 2
    for outcome in cluster_outcomes.values():
        assert outcome["attempts"] in (1, 2), outcome
        expected_rows = 2 if outcome["status"] == "finished" else 0
        assert outcome["score_rows"] == expected_rows, outcome
    statuses = Counter(o["status"] for o in cluster_outcomes.values())
    assert statuses == {"finished": len(plan) - INVALID_FILES, "failed": INVALID_FILES}

    # The killed worker's inference process died with it (it asks for SIGKILL on parent death).
    jobs_dir = str(shared_settings.jobs_dir)
    survivors = set(children_of(workers[survivor].pid))
    orphans = [
        pid
        for pid in (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
        if pid not in survivors and any(jobs_dir in part for part in command_line(pid))
    ]
    assert orphans == []

    # Operational visibility: database gauges on the API, durations on the surviving worker.
    api_metrics = httpx.get(f"{base_url}/metrics", timeout=10).text
    assert 'fairboard_submissions{kind="predictions",state="finished"} 196.0' in api_metrics
    assert 'fairboard_submissions{kind="model",state="finished"} 10.0' in api_metrics
    assert 'fairboard_queue_depth{kind="model"} 0.0' in api_metrics
    worker_metrics = httpx.get(f"http://127.0.0.1:{metrics_ports[survivor]}/metrics").text
    assert 'fairboard_scoring_seconds_count{kind="predictions"}' in worker_metrics
    assert 'fairboard_evaluations_total{kind="model",outcome="finished"}' in worker_metrics
    # Structured logs: JSON lines, the evaluation's lines carrying their submission id.
    records = [json.loads(line) for line in workers[survivor].log_text().splitlines() if line]
    evaluation = [r for r in records if r["logger"] == "fairboard.evaluation"]
    assert evaluation and all("submission_id" in r for r in evaluation)
    assert any(r.get("submission_id") == kill.submission_id for r in records)

    # The same files, in the same order, in the embedded mode: the same leaderboards.
    with httpx.Client(base_url=base_url) as client:
        organizer = world.headers(world.organizer)
        cluster_boards = {
            split: leaderboard_rows(client, world.phase_id, split, organizer)
            for split in ("public", "private")
        }
    by_file = {(u.participant, u.sha256): u for u in plan}
    # The leaderboard's own order: creation time (taken when the upload began), then id.
    in_order = sorted(
        cluster_outcomes.items(), key=lambda item: (item[1]["created_at"], item[1]["id"])
    )
    ordered = [by_file[key] for key, _ in in_order]
    replay_started = time.monotonic()
    embedded_boards, embedded_outcomes = replay_in_process(
        tmp_path, scaleout_source, ordered, participants
    )
    replay_seconds = time.monotonic() - replay_started
    for key, outcome in cluster_outcomes.items():
        assert embedded_outcomes[key]["status"] == outcome["status"], key
        assert embedded_outcomes[key]["error"] == outcome["error"], key
    for split in ("public", "private"):
        assert len(cluster_boards[split]) == PARTICIPANTS
        assert_same_leaderboard(cluster_boards[split], embedded_boards[split])
    db.dispose()
    print(f"cluster: {cluster_seconds:.1f} s, embedded replay: {replay_seconds:.1f} s; {kill}")
