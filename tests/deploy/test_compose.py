"""docker-compose.yml brought up for real: postgres, redis, the API and two CPU workers (taking
both queues, as the file says to without a GPU) on the project's Docker network.

Through the published API port an organizer sets up a competition, two participants submit 20
prediction files and 2 models; the worker running the slow model is killed with `docker kill`
half-way; every submission still finishes; the API container is restarted and nothing is lost;
every container's own health check reports healthy.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from scoring.synthetic import make_testset
from tests.app.conftest import prediction_csv
from tests.deploy.conftest import compose_env
from tests.deploy.docker import Project, docker, health, inspect, wait_for, wait_healthy
from tests.scaleout.models import age_model

pytestmark = pytest.mark.deploy

PASSWORD = "a-long-password-for-the-deployment"
N_ITEMS = 300
IMAGE_SIZE = (32, 32)
PARTICIPANTS = ("ada", "grace")
FILES_EACH = 10
SLOW_DEPTH = 2000
# The sweep takes a killed worker's job back once its lease expires
# (FAIRBOARD_JOB_LEASE_SECONDS in tests/deploy/compose.test.yml), whatever this limit; the
# limit only bounds how long the test waits for a model.
MODEL_TIME_LIMIT_SECONDS = 60
FINISHED = {"finished", "failed"}


@pytest.fixture
def project(image: str) -> Iterator[Project]:
    """The compose project up (the API healthy: the workers wait for it); torn down with its
    volumes afterwards. The workers' health is checked at the end of the test."""
    project = Project(env=compose_env(FAIRBOARD_CPU_WORKER_QUEUES="cpu,gpu"))
    try:
        project.compose(
            "up", "--detach", "--no-build", "--scale", "worker-cpu=2", timeout=360,
        )  # fmt: skip
        yield project
    finally:
        print(project.logs())  # shown when the test failed
        project.down()


def api_client(project: Project) -> httpx.Client:
    (api,) = project.containers("api")
    host_port = docker("port", api, "8000/tcp").splitlines()[0]
    return httpx.Client(base_url=f"http://{host_port}", timeout=120)


def bearer(client: httpx.Client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def created(response: httpx.Response) -> Any:
    assert response.status_code == 201, response.text
    return response.json()


def zipped_folder(source: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    return buffer.getvalue()


def set_up_competition(project: Project, client: httpx.Client, source: Path) -> int:
    """The organizer, made with the image's CLI as the README says; the rest over HTTP."""
    project.compose(
        "exec", "-T", "api", "fairboard", "create-user", "lecturer",
        "--password", PASSWORD, "--role", "organizer",
    )  # fmt: skip
    organizer = bearer(client, "lecturer")
    testset = created(
        client.post(
            "/api/v1/testsets",
            files={"file": ("synthetic.zip", zipped_folder(source), "application/zip")},
            data={"name": "synthetic", "image_height": "32", "image_width": "32"},
            headers=organizer,
        )
    )
    competition = created(
        client.post(
            "/api/v1/competitions",
            json={"title": "Deployed", "description": "Run in Docker"},
            headers=organizer,
        )
    )
    now = datetime.now(UTC)
    phase = created(
        client.post(
            f"/api/v1/competitions/{competition['id']}/phases",
            json={
                "name": "Task 1",
                "testset_id": testset["id"],
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=30)).isoformat(),
                "daily_limit": None,
                "submission_kinds": ["predictions", "model"],
                "execution_provider": "cpu",
                "model_time_limit_seconds": MODEL_TIME_LIMIT_SECONDS,
            },
            headers=organizer,
        )
    )
    for username in PARTICIPANTS:
        account = {"username": username, "password": PASSWORD, "email": f"{username}@example.org"}
        created(client.post("/api/v1/auth/register", json=account))
        join = f"/api/v1/competitions/{competition['id']}/join"
        created(client.post(join, headers=bearer(client, username)))
    return int(phase["id"])


def submit(
    client: httpx.Client, phase_id: int, headers: dict[str, str], name: str, content: bytes
) -> int:
    response = client.post(
        f"/api/v1/phases/{phase_id}/submissions",
        files={"file": (name, content, "application/octet-stream")},
        headers=headers,
    )
    return int(created(response)["id"])


Owners = dict[int, dict[str, str]]
"""Each submission's id and its participant's Authorization header."""


def submission(client: httpx.Client, owners: Owners, submission_id: int) -> dict[str, Any]:
    """The submission as its participant sees it."""
    response = client.get(f"/api/v1/submissions/{submission_id}", headers=owners[submission_id])
    assert response.status_code == 200, response.text
    return dict(response.json())


def submit_all(client: httpx.Client, phase_id: int, source: Path) -> Owners:
    """20 prediction files and a fast model, then the slow model (submitted last so that it
    is still running when the test starts watching it)."""
    with (source / "labels.csv").open() as labels:
        rows = list(csv.DictReader(labels))
    ids = tuple(row["id"] for row in rows)
    ages = np.array([float(row["age"]) for row in rows])
    rng = np.random.default_rng(17)
    plan = []
    for k in range(FILES_EACH):
        for p, username in enumerate(PARTICIPANTS):
            values = ages + rng.normal(0, 2 + p + k / 4, len(ages))
            plan.append((username, f"predictions-{k}.csv", prediction_csv(ids, values)))
    plan.append((PARTICIPANTS[1], "fast.onnx", age_model(image_size=IMAGE_SIZE, offset=31)))
    plan.append((PARTICIPANTS[0], "slow.onnx", age_model(image_size=IMAGE_SIZE, depth=SLOW_DEPTH)))
    headers = {username: bearer(client, username) for username in PARTICIPANTS}
    return {
        submit(client, phase_id, headers[username], name, content): headers[username]
        for username, name, content in plan
    }


def worker_running_the_model(project: Project, submission_id: int) -> str | None:
    """The worker container whose inference child runs this submission's model, if any."""
    for worker in project.containers("worker-cpu"):
        if not inspect(worker)["State"]["Running"]:
            continue
        for line in docker("top", worker, "-eo", "pid,args").splitlines():
            if "scoring.inference.child" not in line:
                continue
            job = json.loads(docker("exec", worker, "cat", f"{line.split()[-1]}/job.json"))
            if f"/submissions/{submission_id}/" in job.get("model_path", ""):
                return worker
    return None


def kill_the_worker_half_way(
    project: Project, client: httpx.Client, owners: Owners, model_id: int
) -> str:
    victim: list[str] = []

    def half_way() -> bool:
        progress = submission(client, owners, model_id).get("progress") or {}
        if not 0 < progress.get("done", 0) < progress.get("total", 0):
            return False
        worker = worker_running_the_model(project, model_id)
        if worker is None:
            return False
        docker("kill", worker)
        victim.append(worker)
        return True

    wait_for("the slow model to be half-way on a worker", half_way, timeout=180, every=0.2)
    return victim[0]


BACKGROUND_FIELDS = frozenset(
    {
        "rank_interval",
        "tied_with_neighbour",
        "rank_move",
        "intervals",
        "private_intervals",
        "intervals_note",
        "timeline",
    }
)
"""Fields the workers fill in the background after a result (intervals, rank history) or that
grow with it (the timeline): they may change between two snapshots without anything lost."""


def snapshot(client: httpx.Client, phase_id: int, owners: Owners) -> dict[str, Any]:
    """The leaderboard and every submission, less the fields computed in the background."""
    leaderboard = client.get(f"/api/v1/phases/{phase_id}/leaderboard")
    assert leaderboard.status_code == 200, leaderboard.text
    submissions = [submission(client, owners, i) for i in owners]
    return {
        "leaderboard": [_settled(row) for row in leaderboard.json()],
        "submissions": [_settled(item) for item in submissions],
    }


def _settled(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in BACKGROUND_FIELDS}


def utc(timestamp: str) -> datetime:
    moment = datetime.fromisoformat(timestamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_the_compose_topology_survives_a_killed_worker_and_an_api_restart(
    project: Project, tmp_path: Path
) -> None:
    source = make_testset(tmp_path / "set", n=N_ITEMS, seed=7, image_size=IMAGE_SIZE)
    with api_client(project) as client:
        phase_id = set_up_competition(project, client, source)
        owners = submit_all(client, phase_id, source)
        assert len(owners) == 2 * FILES_EACH + 2
        slow_model = max(owners)
        victim = kill_the_worker_half_way(project, client, owners, slow_model)
        killed_at = datetime.now(UTC)

        def all_done() -> bool:
            return all(submission(client, owners, i)["status"] in FINISHED for i in owners)

        wait_for("every submission to finish", all_done, timeout=MODEL_TIME_LIMIT_SECONDS + 150)
        before = snapshot(client, phase_id, owners)
    # For Docker's restart policy `docker kill` is a manual stop: the operator starts the
    # worker again, and it rejoins (its health is checked below).
    assert inspect(victim)["State"]["Status"] == "exited"
    docker("start", victim)

    outcomes = {item["id"]: item for item in before["submissions"]}
    assert {item["status"] for item in outcomes.values()} == {"finished"}, outcomes
    assert all(item["scores"] for item in outcomes.values())
    # Taken back from the killed worker and run again from the start by the other one.
    assert utc(outcomes[slow_model]["started_at"]) > killed_at
    assert {row["participant"] for row in before["leaderboard"]} == set(PARTICIPANTS)

    (api,) = project.containers("api")
    docker("restart", api)
    wait_healthy(api)
    with api_client(project) as client:
        assert snapshot(client, phase_id, owners) == before

    # Every container's own health check reports healthy.
    containers = [
        *project.containers("postgres"),
        *project.containers("redis"),
        api,
        *project.containers("worker-cpu"),
    ]
    assert victim in containers
    assert len(containers) == 5
    for container in containers:
        wait_healthy(container, timeout=120)
    assert {health(container) for container in containers} == {"healthy"}
