"""Re-pointing a phase to a new test-set version, re-scoring it with a report of what changed,
and re-running single submissions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.jobs.execute import run_submission
from app.main import create_app
from app.models import Submission, SubmissionStatus
from app.services import rescore
from scoring.metrics import score
from scoring.testset import read_labels
from tests.app.conftest import World
from tests.app.organizer.conftest import (
    ZipFiles,
    generic_files,
    read_labels_rows,
    submit,
    upload_testset,
    write_csv,
    zip_bytes,
)

WAIT_SECONDS = 60.0


def relabelled(source: Path, shift: float, rows_changed: int) -> ZipFiles:
    """The synthetic set with the apparent age of its first rows corrected by ``shift``."""
    files = generic_files(source)
    rows = read_labels_rows(files)
    for row in rows[:rows_changed]:
        row["age"] = f"{float(row['age']) + shift:.2f}"
    files["labels.csv"] = write_csv(list(rows[0]), [list(r.values()) for r in rows])
    return files


def renamed(source: Path) -> ZipFiles:
    """The synthetic set with its first item under another id."""
    files = generic_files(source)
    rows = read_labels_rows(files)
    old = rows[0]["id"]
    rows[0]["id"] = "renamed.png"
    files["images/renamed.png"] = files.pop(f"images/{old}")
    files["labels.csv"] = write_csv(list(rows[0]), [list(r.values()) for r in rows])
    return files


def wait_for(client: TestClient, url: str, headers: dict[str, str], done: Any) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        body = client.get(url, headers=headers).json()
        if done(body):
            return body
        assert time.monotonic() < deadline, f"not done in time: {body}"
        time.sleep(0.1)


@pytest.fixture
def new_version(
    client: TestClient,
    world: World,
    organizer_headers: dict[str, str],
    synthetic_source: Path,
    tmp_path: Path,
) -> dict[str, Any]:
    files = relabelled(synthetic_source, shift=6.0, rows_changed=15)
    content = zip_bytes(files)
    (tmp_path / "v2.zip").write_bytes(content)
    response = upload_testset(client, organizer_headers, content, name="v2")
    assert response.status_code == 201, response.text
    return response.json() | {"truth": read_labels(tmp_path / "v2.zip")}


def test_rescoring_on_a_new_version_reports_old_and_new_scores_and_ranks(
    client: TestClient,
    world: World,
    organizer_headers: dict[str, str],
    new_version: dict[str, Any],
) -> None:
    truth = world.truth()
    rng = np.random.default_rng(5)
    predictions = {
        "alice": truth.age + rng.normal(0, 2.0, len(truth)),
        "bob": truth.age + rng.normal(0, 5.0, len(truth)),
    }
    ids = {}
    for name, values in predictions.items():
        response = submit(client, world, world.headers(world.user(name)), values)
        ids[name] = response.json()["id"]
    old_fingerprint = truth.fingerprint()

    started = client.post(
        f"/api/v1/phases/{world.phase_id}/rescore",
        json={"testset_id": new_version["id"]},
        headers=organizer_headers,
    )
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["from_fingerprint"] == old_fingerprint
    assert run["to_fingerprint"] == new_version["fingerprint"]
    assert run["counts"]["submissions"] == 2

    report = wait_for(
        client, f"/api/v1/rescores/{run['id']}", organizer_headers, lambda body: body["complete"]
    )
    assert report["counts"] == report["counts"] | {"submissions": 2, "finished": 2, "pending": 0}
    new_truth = new_version["truth"]
    by_participant = {c["participant"]: c for c in report["changes"]}
    for name, values in predictions.items():
        change = by_participant[name]
        assert change["submission_id"] == ids[name]
        assert change["before_fingerprint"] == old_fingerprint
        assert change["after_fingerprint"] == new_version["fingerprint"]
        before, after = score(truth, values).scores(), score(new_truth, values).scores()
        assert change["before"]["public"] == pytest.approx(before)
        assert change["after"]["public"] == pytest.approx(after)
        assert change["delta"]["public"]["mae"] == pytest.approx(after["mae"] - before["mae"])
        assert change["scores_changed"] is True
        assert change["before_position"]["public"] in (1, 2)
        assert change["after_position"]["public"] in (1, 2)
        detail = client.get(f"/api/v1/submissions/{ids[name]}", headers=organizer_headers).json()
        assert detail["testset_fingerprint"] == new_version["fingerprint"]
    phase = client.get(f"/api/v1/phases/{world.phase_id}/settings", headers=organizer_headers)
    assert phase.json()["testset_id"] == new_version["id"]
    actions = [
        e["action"]
        for e in client.get(
            f"/api/v1/competitions/{world.competition_id}/audit", headers=organizer_headers
        ).json()
    ]
    assert actions[:2] == ["phase.rescore", "phase.repoint"]
    listed = client.get(f"/api/v1/phases/{world.phase_id}/rescores", headers=organizer_headers)
    assert [r["id"] for r in listed.json()] == [run["id"]]


def test_re_pointing_alone_keeps_every_submissions_fingerprint(
    client: TestClient,
    world: World,
    organizer_headers: dict[str, str],
    new_version: dict[str, Any],
) -> None:
    alice = world.user("alice")
    submission = submit(client, world, world.headers(alice), world.truth().age).json()
    response = client.patch(
        f"/api/v1/phases/{world.phase_id}",
        json={"testset_id": new_version["id"]},
        headers=organizer_headers,
    )
    assert response.status_code == 200
    assert response.json()["testset_fingerprint"] == new_version["fingerprint"]
    detail = client.get(f"/api/v1/submissions/{submission['id']}", headers=world.headers(alice))
    assert detail.json()["testset_fingerprint"] == world.truth().fingerprint()


def test_a_re_run_that_fails_on_the_new_version_keeps_the_file(
    client: TestClient,
    world: World,
    organizer_headers: dict[str, str],
    synthetic_source: Path,
) -> None:
    other = upload_testset(client, organizer_headers, zip_bytes(renamed(synthetic_source))).json()
    alice = world.user("alice")
    submission = submit(client, world, world.headers(alice), world.truth().age).json()
    run = client.post(
        f"/api/v1/phases/{world.phase_id}/rescore",
        json={"testset_id": other["id"]},
        headers=organizer_headers,
    ).json()
    report = wait_for(
        client, f"/api/v1/rescores/{run['id']}", organizer_headers, lambda body: body["complete"]
    )
    change = report["changes"][0]
    assert change["status"] == "failed"
    assert "renamed.png" in change["error"]
    assert change["after"] == {}
    # Back to the first version: the kept file scores again.
    back = client.post(
        f"/api/v1/phases/{world.phase_id}/rescore",
        json={"testset_id": world.testset_id, "include_failed": True},
        headers=organizer_headers,
    ).json()
    assert back["counts"]["submissions"] == 1
    wait_for(
        client,
        f"/api/v1/submissions/{submission['id']}",
        organizer_headers,
        lambda body: body["status"] == "finished",
    )
    board = client.get(f"/api/v1/phases/{world.phase_id}/leaderboard").json()
    assert board[0]["mae"] == pytest.approx(0.0)


def test_an_organizer_re_runs_one_submission(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    alice = world.user("alice")
    submission = submit(client, world, world.headers(alice), world.truth().age + 1.5).json()
    response = client.post(
        f"/api/v1/submissions/{submission['id']}/rerun", headers=organizer_headers
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] in ("queued", "running", "finished")
    done = wait_for(
        client,
        f"/api/v1/submissions/{submission['id']}",
        organizer_headers,
        lambda body: body["status"] == "finished",
    )
    assert done["scores"]["mae"] == pytest.approx(1.5)
    refused = client.post(
        f"/api/v1/submissions/{submission['id']}/rerun", headers=world.headers(alice)
    )
    assert refused.status_code == 403


def test_a_rejected_file_cannot_be_re_run(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    alice = world.user("alice")
    rejected = client.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("predictions.csv", b"id,age\nnope,1\n", "text/csv")},
        headers=world.headers(alice),
    )
    assert rejected.status_code == 422
    submission_id = rejected.json()["details"]["submission_id"]
    response = client.post(f"/api/v1/submissions/{submission_id}/rerun", headers=organizer_headers)
    assert response.status_code == 409
    assert response.json()["message"] == rescore.NO_STORED_FILE.format(id=submission_id)


def test_re_pointing_moves_queued_submissions_to_the_new_version(
    world: World, synthetic_source: Path
) -> None:
    # No job runner: the submission stays queued while the phase is re-pointed.
    with TestClient(create_app(world.settings, start_jobs=False)) as client:
        headers = world.headers(world.organizer)
        version = upload_testset(
            client, headers, zip_bytes(relabelled(synthetic_source, shift=1.0, rows_changed=3))
        ).json()
        alice = world.user("alice")
        submission = submit(client, world, world.headers(alice), world.truth().age).json()
        with world.db.transaction() as session:
            queued = session.get(Submission, submission["id"])
            assert queued is not None
            queued.status = SubmissionStatus.QUEUED
        response = client.patch(
            f"/api/v1/phases/{world.phase_id}", json={"testset_id": version["id"]}, headers=headers
        )
        assert response.status_code == 200
        assert (
            run_submission(world.db, world.settings, submission["id"], worker="test")
            is SubmissionStatus.FINISHED
        )
        detail = client.get(f"/api/v1/submissions/{submission['id']}", headers=headers).json()
        assert detail["testset_fingerprint"] == version["fingerprint"]
