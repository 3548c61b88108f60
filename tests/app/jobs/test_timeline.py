"""A submission's timeline: every transition, shown to its owner and the organizers only,
and a failed model explained in Fairboard's own words."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.services.model_runs import MODEL_NOT_LOADABLE, participant_message
from scoring.inference import ModelRejected
from scoring.inference.errors import RUNTIME_LOAD_FAILED
from tests.app.conftest import World, prediction_csv
from tests.app.test_api_models import post_model
from tests.app.test_api_submissions import wait_until_done
from tests.app.test_pages import log_in
from tests.scoring.inference.models import runtime_error_model


def post_predictions(client: TestClient, world: World, headers: dict[str, str]) -> Any:
    truth = world.truth()
    response = client.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("p.csv", prediction_csv(truth.ids, truth.age), "text/csv")},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def steps(body: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(event["from_status"], event["status"]) for event in body["timeline"]]


def test_the_owner_reads_every_transition_of_a_scored_file(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    headers = world.headers(alice)
    created = post_predictions(client, world, headers)

    body = client.get(f"/api/v1/submissions/{created['id']}", headers=headers).json()

    assert steps(body) == [(None, "queued"), ("queued", "running"), ("running", "finished")]
    assert [event["reason"] for event in body["timeline"]] == [
        "submitted",
        "started on web (scored within the upload)",
        "scored",
    ]
    assert body["timeline"][0]["by"] == "alice"


def test_organizers_read_the_timeline_and_other_participants_get_nothing(
    client: TestClient, world: World
) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    created = post_predictions(client, world, world.headers(alice))
    url = f"/api/v1/submissions/{created['id']}"

    as_organizer = client.get(url, headers=world.headers(world.organizer)).json()
    as_bob = client.get(url, headers=world.headers(bob))

    assert steps(as_organizer)[-1] == ("running", "finished")
    assert as_bob.status_code == 404
    assert "timeline" not in as_bob.text


def test_a_model_that_fails_at_run_time_has_its_failure_on_the_timeline(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    headers = world.headers(alice)
    created = post_model(client, world, headers, runtime_error_model())
    assert created.status_code == 201, created.text

    body = wait_until_done(client, created.json()["id"], headers)

    assert steps(body)[-1] == ("running", "failed")
    assert body["timeline"][-1]["reason"] == body["error"]
    assert body["error"].startswith("The model failed while running on the test images")
    assert "ONNXRuntimeError" not in body["error"]


def test_the_submission_page_shows_the_timeline(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    created = post_predictions(client, world, world.headers(alice))
    log_in(client, "alice")

    page = client.get(f"/submissions/{created['id']}")

    assert page.status_code == 200
    assert "<h2>Timeline</h2>" in page.text
    assert page.text.count('class="timeline-event"') == 3


def test_a_model_onnxruntime_cannot_load_is_explained_without_the_runtimes_text() -> None:
    raw = "[ONNXRuntimeError] : 10 : INVALID_GRAPH : Load model failed: op Foo in domain bar"
    rejected = ModelRejected(RUNTIME_LOAD_FAILED.format(reason="op Foo"), detail=raw)

    assert participant_message(rejected) == MODEL_NOT_LOADABLE
    assert participant_message(ModelRejected("The model has 2 inputs")) == "The model has 2 inputs"
