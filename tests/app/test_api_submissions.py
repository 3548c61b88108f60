"""Prediction-file submissions through the REST API: scoring, rejections, quotas, access."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.db import utcnow
from app.models import Submission, SubmissionStatus
from app.routes.api.submissions import NO_STORED_FILE
from app.services import inputs, testsets
from app.services import submissions as submission_service
from scoring.metrics import score
from scoring.predictions import parse_predictions
from tests.app.conftest import World, prediction_csv


def post_file(
    client: TestClient,
    world: World,
    headers: dict[str, str],
    content: bytes,
    filename: str = "predictions.csv",
    **form: Any,
) -> Any:
    return client.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": (filename, content, "text/csv")},
        data=form,
        headers=headers,
    )


def noisy(world: World, sd: float, seed: int = 0) -> Any:
    truth = world.truth()
    return truth.age + np.random.default_rng(seed).normal(0, sd, len(truth))


def test_valid_prediction_file_is_scored_within_the_request(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    truth = world.truth()
    values = noisy(world, 3.0)
    response = post_file(
        client,
        world,
        world.headers(alice),
        prediction_csv(truth.ids, values),
        description="first try",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "finished"
    expected = score(truth, values).scores()
    assert body["scores"] == pytest.approx(expected)
    assert set(body["scores"]) == {
        "mae",
        "age_bias",
        "gender_bias",
        "ethnicity_bias",
        "expression_bias",
    }
    assert set(body["groups"]) == {"age", "gender", "ethnicity", "expression"}
    assert sum(g["size"] for g in body["groups"]["gender"]) == len(truth)
    assert body["description"] == "first try"
    assert body["scorer_version"]
    assert body["testset_fingerprint"] == truth.fingerprint()


def test_legacy_headerless_file_in_canonical_order_is_accepted(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    values = noisy(world, 2.0)
    legacy = "\r\n".join(f"{v:.3f}" for v in values).encode() + b"\r\n"
    response = post_file(client, world, world.headers(alice), legacy, filename="predictions.csv")
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "finished"


def test_rejected_file_surfaces_the_scoring_message_and_keeps_only_a_failed_record(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    truth = world.truth()
    content = prediction_csv(truth.ids[:-1], noisy(world, 1.0)[:-1])
    with pytest.raises(Exception) as parse_error:
        parse_predictions(content, truth.ids, filename="predictions.csv")
    response = post_file(client, world, world.headers(alice), content)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_submission_file"
    assert body["message"] == str(parse_error.value)
    submission_id = body["details"]["submission_id"]
    record = client.get(f"/api/v1/submissions/{submission_id}", headers=world.headers(alice)).json()
    assert record["status"] == "failed"
    assert record["error"] == str(parse_error.value)
    assert record["scores"] is None
    with world.db.sessionmaker() as session:
        stored = session.get(Submission, submission_id)
        assert stored is not None and stored.storage_key is None
    assert not list((world.settings.submissions_dir / str(submission_id)).glob("*"))


def test_failed_submissions_do_not_count_against_the_daily_limit(
    client: TestClient, world: World
) -> None:
    world.update_phase(daily_limit=1)
    alice = world.user("alice")
    headers = world.headers(alice)
    assert post_file(client, world, headers, b"not,a,valid\nfile\n").status_code == 422
    truth = world.truth()
    assert (
        post_file(client, world, headers, prediction_csv(truth.ids, truth.age)).status_code == 201
    )


def test_daily_limit_refuses_with_the_reset_time(client: TestClient, world: World) -> None:
    world.update_phase(daily_limit=2)
    alice = world.user("alice")
    headers = world.headers(alice)
    truth = world.truth()
    for _ in range(2):
        assert (
            post_file(client, world, headers, prediction_csv(truth.ids, truth.age)).status_code
            == 201
        )
    refused = post_file(client, world, headers, prediction_csv(truth.ids, truth.age))
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "submission_limit_reached"
    tomorrow = (utcnow() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert body["details"]["resets_at"] == tomorrow.isoformat()
    assert tomorrow.strftime("%Y-%m-%d 00:00") in body["message"]
    assert int(refused.headers["Retry-After"]) > 0
    phase = client.get(f"/api/v1/phases/{world.phase_id}", headers=headers).json()
    assert phase["quota"]["remaining_today"] == 0
    assert datetime.fromisoformat(phase["quota"]["resets_at"]) == tomorrow


def test_total_limit_refuses_further_submissions(client: TestClient, world: World) -> None:
    world.update_phase(daily_limit=None, total_limit=1)
    alice = world.user("alice")
    truth = world.truth()
    assert (
        post_file(
            client, world, world.headers(alice), prediction_csv(truth.ids, truth.age)
        ).status_code
        == 201
    )
    refused = post_file(client, world, world.headers(alice), prediction_csv(truth.ids, truth.age))
    assert refused.status_code == 429
    assert refused.json()["message"] == submission_service.TOTAL_LIMIT_REACHED.format(
        limit=1, phase="Task 1"
    )


def test_anonymous_users_cannot_submit(client: TestClient, world: World) -> None:
    response = post_file(client, world, {}, b"1\n2\n")
    assert response.status_code == 401


def test_participants_must_join_before_submitting(client: TestClient, world: World) -> None:
    outsider = world.user("outsider", join=False)
    response = post_file(client, world, world.headers(outsider), b"1\n")
    assert response.status_code == 403
    assert response.json()["code"] == "not_joined"


def test_closed_phase_refuses_submissions(client: TestClient, world: World) -> None:
    world.update_phase(closes_at=utcnow() - timedelta(minutes=1))
    alice = world.user("alice")
    response = post_file(client, world, world.headers(alice), b"1\n")
    assert response.status_code == 403
    assert response.json()["message"] == submission_service.PHASE_NOT_OPEN.format(phase="Task 1")


def test_phase_with_hidden_inputs_accepts_no_prediction_files(
    client: TestClient, world: World
) -> None:
    world.update_phase(inputs_public=False)
    alice = world.user("alice")
    response = post_file(client, world, world.headers(alice), b"1\n")
    assert response.status_code == 422
    assert response.json()["code"] == "submission_kind_not_allowed"


def test_a_stored_file_gone_from_disk_is_a_404_that_says_so(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    truth = world.truth()
    submission_id = post_file(
        client, world, world.headers(alice), prediction_csv(truth.ids, truth.age)
    ).json()["id"]
    with world.db.sessionmaker() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        path = submission_service.stored_file(world.settings, submission)
    assert path is not None
    path.unlink()
    response = client.get(f"/api/v1/submissions/{submission_id}/file", headers=world.headers(alice))
    assert response.status_code == 404
    assert response.json()["message"] == NO_STORED_FILE.format(id=submission_id)


def test_participants_cannot_see_each_others_submissions_or_files(
    client: TestClient, world: World
) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    truth = world.truth()
    submission_id = post_file(
        client, world, world.headers(alice), prediction_csv(truth.ids, truth.age)
    ).json()["id"]
    for path in (
        f"/api/v1/submissions/{submission_id}",
        f"/api/v1/submissions/{submission_id}/file",
    ):
        assert client.get(path, headers=world.headers(bob)).status_code == 404
        assert client.get(path).status_code == 401
    own = client.get(f"/api/v1/submissions/{submission_id}/file", headers=world.headers(alice))
    assert own.status_code == 200
    assert own.content == prediction_csv(truth.ids, truth.age)
    organizer = client.get(
        f"/api/v1/submissions/{submission_id}", headers=world.headers(world.organizer)
    )
    assert organizer.status_code == 200


def test_large_files_are_queued_and_scored_by_the_job_runner(
    client: TestClient, world: World, app: Any
) -> None:
    world.settings.inline_scoring_max_bytes = 0
    alice = world.user("alice")
    truth = world.truth()
    headers = world.headers(alice)
    response = post_file(client, world, headers, prediction_csv(truth.ids, truth.age + 1.0))
    assert response.status_code == 201
    assert response.json()["status"] in {"queued", "running", "finished"}
    submission_id = response.json()["id"]
    body = wait_until_done(client, submission_id, headers)
    assert body["status"] == "finished"
    assert body["scores"]["mae"] == pytest.approx(1.0)


def wait_until_done(
    client: TestClient, submission_id: int, headers: dict[str, str], timeout: float = 30
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/submissions/{submission_id}", headers=headers).json()
        if body["status"] in {"finished", "failed"}:
            return body
        time.sleep(0.05)
    raise AssertionError(f"submission {submission_id} still {body['status']} after {timeout} s")


def test_submission_left_running_by_a_crash_is_picked_up_on_start(world: World, app: Any) -> None:
    alice = world.user("alice")
    truth = world.truth()
    with world.db.transaction() as session:
        from app.services.competitions import get_phase

        submission = submission_service.create_submission(
            session,
            world.settings,
            phase=get_phase(session, world.phase_id),
            user=alice,
            upload=submission_service.Upload(
                "p.csv", io.BytesIO(prediction_csv(truth.ids, truth.age))
            ),
            now=utcnow(),
        )
        submission.status = SubmissionStatus.RUNNING
        submission.job_token = "crashed-worker"
        submission_id = submission.id
    with TestClient(app) as client:
        body = wait_until_done(client, submission_id, world.headers(alice))
    assert body["status"] == "finished"
    assert body["scores"]["mae"] == pytest.approx(0.0)


def test_test_inputs_download_has_images_and_ids_but_no_labels(
    client: TestClient, world: World
) -> None:
    alice = world.headers(world.user("alice"))
    with world.db.sessionmaker() as session:
        testset = testsets.get_testset(session, world.testset_id)
        inputs.build(inputs.Source.of(world.settings, testset))
    response = client.get(f"/api/v1/phases/{world.phase_id}/inputs", headers=alice)
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    truth = world.truth()
    assert len([n for n in names if n.startswith("images/")]) == len(truth)
    ids_csv = archive.read("ids.csv").decode()
    assert ids_csv.splitlines()[0] == "id,image"
    assert [line.split(",")[0] for line in ids_csv.splitlines()[1:]] == list(truth.ids)
    # The pixels as one array are a separate download now, not a second copy in here.
    assert {n for n in names if not n.startswith("images/")} == {"ids.csv", "README.txt"}
    assert all(len(line.split(",")) == 2 for line in ids_csv.splitlines())
    array = client.get(f"/api/v1/phases/{world.phase_id}/inputs/array", headers=alice)
    with np.load(io.BytesIO(array.content)) as loaded:
        assert loaded["images"].shape == (len(truth), 32, 32, 3)


def test_test_inputs_are_refused_when_hidden_or_not_joined(
    client: TestClient, world: World
) -> None:
    outsider = world.user("outsider", join=False)
    assert client.get(f"/api/v1/phases/{world.phase_id}/inputs").status_code == 401
    assert (
        client.get(
            f"/api/v1/phases/{world.phase_id}/inputs", headers=world.headers(outsider)
        ).status_code
        == 403
    )
    world.update_phase(inputs_public=False)
    alice = world.user("alice")
    assert (
        client.get(
            f"/api/v1/phases/{world.phase_id}/inputs", headers=world.headers(alice)
        ).status_code
        == 403
    )


def test_a_phase_created_without_a_daily_limit_is_unlimited(
    client: TestClient, world: World
) -> None:
    phase_id = world.add_phase(name="Unlimited", daily_limit=None)
    alice = world.user("alice")
    truth = world.truth()
    for _ in range(7):
        response = client.post(
            f"/api/v1/phases/{phase_id}/submissions",
            files={"file": ("p.csv", prediction_csv(truth.ids, truth.age))},
            headers=world.headers(alice),
        )
        assert response.status_code == 201, response.text
