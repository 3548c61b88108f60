"""The scale-out bar: the API, Redis, PostgreSQL and two Celery workers as real processes.

Prediction files and models from several participants; a worker is killed with SIGKILL twenty
times in a row (bounded), half of them in the middle of a model's inference and half in the
middle of a prediction file's scoring, and restarted each time. Every submission ends within
60 s of its kill plus its own run time, none is lost or scored twice, and the leaderboards equal
what the embedded mode (SQLite, in-process jobs) gives when the same files are submitted in the
same order. Leases are 5 s here: a killed worker's job comes back within one lease period.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, or_, select

from app.config import Settings
from app.db import Database
from app.jobs import state
from app.main import create_app
from app.migrate import upgrade
from app.models import Submission, SubmissionKind, SubmissionScore, SubmissionStatus, User
from tests.app.conftest import prediction_csv
from tests.scaleout.cluster import Cluster, Process, children_of, command_line, wait_for
from tests.scaleout.conftest import IMAGE_SIZE, seed_competition
from tests.scaleout.models import age_model

pytestmark = pytest.mark.scaleout

PARTICIPANTS = 8
FILES_EACH = 6
MODELS = 14
MODEL_DEPTH = 120
KILLS = 20
"""Half of them during a model's inference, half during a prediction file's scoring."""
KILL_ATTEMPTS = 40
"""A file may end in the instant between seeing it run and the kill: such a kill is retried."""
RECOVERY_BOUND_SECONDS = 60.0
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
            if len(files) % 12 == 7:  # one invalid file in twelve: its own reason, kept failed
                content = content.replace(b"\n", b"\nbogus,1.0\n", 1)
            files.append(Upload(f"p{p:02d}", f"predictions-{k}.csv", content))
    rng.shuffle(files)
    models = [
        Upload(
            f"p{m % PARTICIPANTS:02d}",
            f"model-{m}.onnx",
            age_model(
                image_size=IMAGE_SIZE,
                offset=30 + m / 4,
                slope=2 - m / 50,
                depth=MODEL_DEPTH,
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
    kind: SubmissionKind
    submission_id: int
    at: datetime


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


HOLDER = re.compile(r":(\d+)$")


def running_jobs(db: Database, kind: SubmissionKind) -> list[tuple[int, int, str]]:
    """(submission, pool process, holder) of each first attempt of ``kind`` now running."""
    with db.sessionmaker() as session:
        rows = session.execute(
            select(Submission.id, Submission.worker).where(
                Submission.kind == kind,
                Submission.status == SubmissionStatus.RUNNING,
                Submission.attempts == 1,
            )
        ).all()
    found = []
    for submission_id, holder in rows:
        match = HOLDER.search(holder or "")
        if match:
            found.append((submission_id, int(match.group(1)), holder))
    return found


def held_by(db: Database, holder: str) -> set[int]:
    """The jobs running under ``holder`` (one worker process's claims)."""
    with db.sessionmaker() as session:
        return set(
            session.scalars(
                select(Submission.id).where(
                    Submission.status == SubmissionStatus.RUNNING, Submission.worker == holder
                )
            )
        )


def still_held(db: Database, submission_id: int, holder: str) -> bool:
    with db.sessionmaker() as session:
        submission = session.get(Submission, submission_id)
        return (
            submission is not None
            and submission.status is SubmissionStatus.RUNNING
            and submission.worker == holder
        )


class KillLoop:
    """SIGKILLs a worker (its whole process group) in the middle of a job of a given kind,
    restarts it under a new name, and keeps the record of what it killed."""

    def __init__(
        self,
        cluster: Cluster,
        db: Database,
        workers: dict[str, Process],
        top_up: Callable[[SubmissionKind], None],
    ) -> None:
        self.cluster = cluster
        self.db = db
        self.workers = workers
        self.top_up = top_up
        self.kills: list[Kill] = []
        self.interrupted: set[int] = set()
        """Every job a kill cut short: its target, or the next job the worker had just taken
        when its target ended a moment before the kill (a miss)."""
        self.misses = 0
        self.generation = 0

    def _target(self, kind: SubmissionKind) -> tuple[str, int, str] | None:
        for submission_id, pid, holder in running_jobs(self.db, kind):
            for name, worker in self.workers.items():
                if worker.popen.poll() is not None or pid not in children_of(worker.pid):
                    continue
                if kind is SubmissionKind.MODEL and not any(
                    model_run_of(child) == submission_id for child in children_of(pid)
                ):
                    continue  # mid-model: its inference process must be running
                return name, submission_id, holder
        return None

    def _first_runs_left(self, kind: SubmissionKind) -> bool:
        with self.db.sessionmaker() as session:
            return bool(
                session.scalar(
                    select(func.count()).where(
                        Submission.kind == kind,
                        or_(
                            (Submission.status == SubmissionStatus.QUEUED)
                            & (Submission.attempts == 0),
                            (Submission.status == SubmissionStatus.RUNNING)
                            & (Submission.attempts == 1),
                        ),
                    )
                )
            )

    def kill_during(self, kind: SubmissionKind, *, timeout: float = 60) -> bool:
        """One kill during a job of ``kind``; False when the job ended just before the kill."""
        deadline = time.monotonic() + timeout
        target = self._target(kind)
        while target is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {kind.value} job ran to kill a worker in")
            if not self._first_runs_left(kind):
                self.top_up(kind)  # every earlier job of this kind ran: give the loop one more
            time.sleep(0.01)
            target = self._target(kind)
        name, submission_id, holder = target
        worker = self.workers.pop(name)
        worker.kill_group()
        at = datetime.now(UTC)
        worker.popen.wait(timeout=10)
        self.interrupted |= held_by(self.db, holder)
        self.generation += 1
        replacement = f"{name.split('~')[0]}~{self.generation}"
        self.workers[replacement] = self.cluster.start_worker(replacement, concurrency=1)
        if not still_held(self.db, submission_id, holder):
            self.misses += 1
            return False
        self.kills.append(Kill(name, kind, submission_id, at))
        return True


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
            "finished_at": submission.finished_at,
            "inference_seconds": submission.inference_seconds,
            "score_rows": scores[submission.id],
        }
        for submission, username in rows
    }


BACKGROUND_OR_PER_RUN = ("submission_id", "last_entry_at", "rank_interval", "tied_with_neighbour")
"""Row fields that differ between runs, or land later (rank intervals are computed after)."""


def leaderboard_rows(client: Any, phase_id: int, split: str, headers: dict[str, str]) -> list[Any]:
    response = client.get(
        f"/api/v1/phases/{phase_id}/leaderboard", params={"split": split}, headers=headers
    )
    assert response.status_code == 200, response.text
    return [
        {key: value for key, value in row.items() if key not in BACKGROUND_OR_PER_RUN}
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


def claims_after(db: Database, submission_id: int, since: datetime) -> list[datetime]:
    """When the job was claimed after ``since``, as its timeline records it."""
    with db.sessionmaker() as session:
        events = state.timeline(session, submission_id)
    return [e.at for e in events if e.to_status is SubmissionStatus.RUNNING and e.at > since]


def recovery_seconds(db: Database, kill: Kill) -> float:
    """From the kill to the job's next claim."""
    claims = claims_after(db, kill.submission_id, kill.at)
    assert claims, kill
    return (claims[0] - kill.at).total_seconds()


def test_two_workers_lose_nothing_when_killed_twenty_times_mid_model_and_mid_file(
    cluster: Cluster, shared_settings: Settings, scaleout_source: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    db = Database(shared_settings.database_url)
    world = seed_competition(db, shared_settings, scaleout_source, **PHASE)
    participants = [f"p{p:02d}" for p in range(PARTICIPANTS)]
    tokens = {name: world.token(world.user(name)) for name in participants}
    plan = plan_uploads(world.truth())
    files = PARTICIPANTS * FILES_EACH
    assert Counter(u.filename.endswith(".onnx") for u in plan) == {False: files, True: MODELS}

    # Every prediction file goes through a worker, not the API's inline scoring.
    cluster.env["FAIRBOARD_INLINE_SCORING_MAX_BYTES"] = "0"
    cluster.env["FAIRBOARD_LOG_JSON"] = "1"  # workers restarted by the kill loop too
    # Eight uploads in flight may be one participant's: none turned away by their share.
    cluster.env["FAIRBOARD_MAX_CONCURRENT_SUBMISSIONS_PER_USER"] = "8"
    base_url = cluster.start_api()
    workers = {name: cluster.start_worker(name, concurrency=1) for name in ("worker-a", "worker-b")}
    cluster.wait_ready(*workers)
    ids = submit_all(base_url, world.phase_id, plan, tokens)
    truth = world.truth()

    def top_up(kind: SubmissionKind) -> None:
        n = len(plan)
        if kind is SubmissionKind.MODEL:
            model = age_model(image_size=IMAGE_SIZE, offset=25 + n / 8, depth=MODEL_DEPTH, seed=n)
            upload = Upload(f"p{n % PARTICIPANTS:02d}", f"model-{n}.onnx", model)
        else:
            values = truth.age + np.random.default_rng(n).normal(0, 3, len(truth))
            upload = Upload(
                f"p{n % PARTICIPANTS:02d}", f"extra-{n}.csv", prediction_csv(truth.ids, values)
            )
        plan.append(upload)
        ids.extend(submit_all(base_url, world.phase_id, [upload], tokens))

    loop = KillLoop(cluster, db, workers, top_up)
    kinds = [SubmissionKind.MODEL, SubmissionKind.PREDICTIONS]
    tries = 0
    while len(loop.kills) < KILLS and tries < KILL_ATTEMPTS:
        tries += 1
        done = Counter(k.kind for k in loop.kills)
        loop.kill_during(min(kinds, key=lambda k: done[k]))
    assert len(loop.kills) == KILLS, f"{loop.misses} kills came too late in {tries} tries"
    assert Counter(k.kind for k in loop.kills) == {kind: KILLS // 2 for kind in kinds}
    wait_for(lambda: all_done(db, len(plan)), timeout=240, what="every submission to end")
    cluster_seconds = time.monotonic() - started

    # None lost, none scored twice; each killed job was claimed again and ended in time.
    assert len(set(ids)) == len(plan)
    cluster_outcomes = outcomes(db)
    assert len(cluster_outcomes) == len(plan)
    by_id = {o["id"]: o for o in cluster_outcomes.values()}
    for outcome in cluster_outcomes.values():
        expected_rows = 2 if outcome["status"] == "finished" else 0
        assert outcome["score_rows"] == expected_rows, outcome
    invalid = sum(b"bogus" in u.content for u in plan)
    statuses = Counter(o["status"] for o in cluster_outcomes.values())
    assert statuses == {"finished": len(plan) - invalid, "failed": invalid}
    # Leases of 3 s held through model runs of several seconds: only killed jobs ran twice.
    killed_ids = {kill.submission_id for kill in loop.kills} | loop.interrupted
    assert [o for o in by_id.values() if o["id"] not in killed_ids and o["attempts"] != 1] == []
    recoveries = []
    for kill in loop.kills:
        outcome = by_id[kill.submission_id]
        assert outcome["attempts"] == 2, (kill, outcome)
        run_seconds = outcome["inference_seconds"] or 0.0
        ended_after = (outcome["finished_at"] - kill.at).total_seconds()
        assert ended_after <= RECOVERY_BOUND_SECONDS + run_seconds, (kill, outcome)
        recoveries.append(recovery_seconds(db, kill))
    assert max(recoveries) <= RECOVERY_BOUND_SECONDS

    # The killed workers' inference processes died with them.
    jobs_dir = str(shared_settings.jobs_dir)
    live = {pid for worker in loop.workers.values() for pid in children_of(worker.pid)}
    orphans = [
        pid
        for pid in (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
        if pid not in live and any(jobs_dir in part for part in command_line(pid))
    ]
    assert orphans == []
    api_metrics = httpx.get(f"{base_url}/metrics", timeout=10).text
    assert 'fairboard_queue_depth{kind="model"} 0.0' in api_metrics
    # Structured logs: JSON lines, the evaluation's lines carrying their submission id.
    records = [
        json.loads(line)
        for worker in loop.workers.values()
        for line in worker.log_text().splitlines()
        if line.startswith("{")
    ]
    ended = [r for r in records if re.match(r"submission \d+ (finished|failed) in", r["message"])]
    assert ended and all("submission_id" in r for r in ended)

    # The same files, in the same order, in the embedded mode: the same leaderboards.
    with httpx.Client(base_url=base_url) as client:
        organizer = world.headers(world.organizer)
        cluster_boards = {
            split: leaderboard_rows(client, world.phase_id, split, organizer)
            for split in ("public", "private")
        }
    by_file = {(u.participant, u.sha256): u for u in plan}
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
    print(
        f"cluster: {cluster_seconds:.1f} s, embedded replay: {replay_seconds:.1f} s; "
        f"{KILLS} kills ({loop.misses} too late, retried); recovery after a kill: "
        f"median {statistics.median(recoveries):.2f} s, worst {max(recoveries):.2f} s"
    )
