"""ONNX model submissions through the service: upload check, inference job, progress, queue."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.db import utcnow
from app.jobs.state import fair_queue_order
from app.models import SubmissionKind, SubmissionStatus
from app.services import submissions as submission_service
from app.services.competitions import get_phase
from app.services.testsets import images_for_size, images_path
from scoring.inference import errors as inference_errors
from scoring.inference.builders import build_red_mean_model
from scoring.metrics import score
from scoring.synthetic import baseline_predictions
from tests.app.conftest import World
from tests.app.test_api_submissions import wait_until_done
from tests.scoring.inference.models import constant_shift_model, log_model, runtime_error_model


def post_model(
    client: TestClient, world: World, headers: dict[str, str], model: bytes, **form: Any
) -> Any:
    return client.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("model.onnx", model, "application/octet-stream")},
        data=form,
        headers=headers,
    )


def test_model_submission_runs_on_the_hidden_images_and_is_scored(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    headers = world.headers(alice)
    response = post_model(client, world, headers, build_red_mean_model())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "model"
    assert body["status"] in {"queued", "running", "finished"}
    done = wait_until_done(client, body["id"], headers)
    assert done["status"] == "finished", done["error"]
    assert done["execution_provider"] == "CPUExecutionProvider"
    truth = world.truth()
    assert done["progress"] == {"done": len(truth), "total": len(truth)}
    images = np.load(images_path(world.settings, _testset(world)))
    expected = score(truth, baseline_predictions(images)).scores()
    assert done["scores"] == pytest.approx(expected, rel=1e-5)


def _testset(world: World) -> Any:
    from app.models import TestSetVersion

    with world.db.sessionmaker() as session:
        return session.get(TestSetVersion, world.testset_id)


def test_output_scale_multiplies_the_model_outputs(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    headers = world.headers(alice)
    response = post_model(client, world, headers, constant_shift_model(0.5), output_scale="100")
    assert response.status_code == 201, response.text
    done = wait_until_done(client, response.json()["id"], headers)
    assert done["status"] == "finished", done["error"]
    assert done["output_scale"] == 100.0


def test_wrong_signature_is_rejected_at_upload_with_the_contract_message(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    response = post_model(
        client, world, world.headers(alice), build_red_mean_model(input_size=(64, 64))
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_submission_file"
    assert body["message"] == inference_errors.INPUT_SIZE.format(
        name="image", shape="[N,64,64,3]", height=32, width=32
    )
    record = client.get(
        f"/api/v1/submissions/{body['details']['submission_id']}", headers=world.headers(alice)
    )
    assert record.json()["status"] == "failed"


def test_a_phase_input_size_other_than_the_stored_one_runs_models_on_resized_images(
    client: TestClient, world: World
) -> None:
    world.update_phase(model_input_height=48, model_input_width=48)
    alice = world.user("alice")
    headers = world.headers(alice)
    stored_size = post_model(client, world, headers, build_red_mean_model(input_size=(32, 32)))
    assert stored_size.status_code == 422
    assert stored_size.json()["message"] == inference_errors.INPUT_SIZE.format(
        name="image", shape="[N,32,32,3]", height=48, width=48
    )

    first = post_model(client, world, headers, build_red_mean_model(input_size=(48, 48)))
    assert first.status_code == 201, first.text
    done = wait_until_done(client, first.json()["id"], headers)
    assert done["status"] == "finished", done["error"]
    testset = _testset(world)
    resized = images_for_size(world.settings, testset, (48, 48))
    assert resized.name == "images_48x48.npy"
    images = np.load(resized)
    assert images.shape == (len(world.truth()), 48, 48, 3)
    assert images.dtype == np.uint8
    expected = score(world.truth(), baseline_predictions(images)).scores()
    assert done["scores"] == pytest.approx(expected, rel=1e-5)

    built = resized.stat()
    second = post_model(client, world, headers, build_red_mean_model(input_size=(48, 48)))
    assert wait_until_done(client, second.json()["id"], headers)["status"] == "finished"
    again = resized.stat()
    assert (again.st_ino, again.st_mtime_ns) == (built.st_ino, built.st_mtime_ns)
    assert sorted(p.name for p in resized.parent.glob("*.npy*")) == [
        "images.npy",
        "images_48x48.npy",
    ]


def test_images_at_the_stored_size_are_the_stored_array(world: World) -> None:
    testset = _testset(world)
    assert images_for_size(world.settings, testset, (32, 32)) == images_path(
        world.settings, testset
    )


def test_random_bytes_are_not_a_model(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    response = post_model(client, world, world.headers(alice), b"\x00garbage" * 100)
    assert response.status_code == 422
    assert response.json()["message"] == inference_errors.NOT_ONNX


def test_a_model_that_fails_at_run_time_fails_alone(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    headers = world.headers(alice)
    bad = post_model(client, world, headers, runtime_error_model())
    assert bad.status_code == 201, bad.text
    failed = wait_until_done(client, bad.json()["id"], headers)
    assert failed["status"] == "failed"
    assert failed["error"].startswith("The model failed")
    good = post_model(client, world, headers, build_red_mean_model())
    assert wait_until_done(client, good.json()["id"], headers)["status"] == "finished"


def test_non_finite_outputs_fail_the_run_with_the_count_and_first_image(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    headers = world.headers(alice)
    response = post_model(client, world, headers, log_model(threshold=1e9))
    assert response.status_code == 201, response.text
    failed = wait_until_done(client, response.json()["id"], headers)
    n = len(world.truth())
    assert failed["status"] == "failed"
    assert failed["error"] == inference_errors.NON_FINITE.format(count=n, total=n, index=0)


def test_phase_that_takes_only_prediction_files_refuses_models(
    client: TestClient, world: World
) -> None:
    world.update_phase(submission_kinds=["predictions"])
    alice = world.user("alice")
    response = post_model(client, world, world.headers(alice), build_red_mean_model())
    assert response.status_code == 422
    assert response.json()["code"] == "submission_kind_not_allowed"


def test_unknown_preset_is_refused(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    response = post_model(client, world, world.headers(alice), build_red_mean_model(), preset="vgg")
    assert response.status_code == 422
    assert response.json()["message"] == submission_service.UNKNOWN_PRESET.format(preset="vgg")


def test_queue_is_arrival_order_but_fair_across_participants(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    model = build_red_mean_model()
    ids = []
    for user in (alice, alice, alice, bob):
        with world.db.transaction() as session:
            submission = submission_service.create_submission(
                session,
                world.settings,
                phase=get_phase(session, world.phase_id),
                user=user,
                upload=submission_service.Upload("model.onnx", io.BytesIO(model)),
                now=utcnow(),
            )
            ids.append(submission.id)
    a1, a2, a3, b1 = ids
    with world.db.sessionmaker() as session:
        assert fair_queue_order(session, SubmissionKind.MODEL) == [a1, b1, a2, a3]
        pending = session.get(submission_service.Submission, a3)
        assert submission_service.queue_position(session, pending) == 4
        assert pending.status == SubmissionStatus.QUEUED
