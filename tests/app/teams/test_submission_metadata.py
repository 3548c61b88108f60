"""Metadata on submissions: given at upload, validated, shown, and editable by the submitter."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app.models import Submission
from app.services import submission_metadata as md
from tests.app.conftest import World
from tests.app.teams.helpers import form_team, log_in, submit, team_mode

PAIRS = {"model": "resnet50", "augmentation": "age", "loss": "weighted-l1"}


def test_metadata_given_at_upload_is_stored_and_returned(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    made = submit(client, world, alice, metadata=json.dumps(PAIRS))
    assert made.status_code == 201, made.text
    assert made.json()["metadata"] == PAIRS
    again = client.get(f"/api/v1/submissions/{made.json()['id']}", headers=world.headers(alice))
    assert again.json()["metadata"] == PAIRS


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ('["model"]', md.METADATA_NOT_OBJECT.format(kind="list")),
        ('{"Model": "x"}', md.METADATA_BAD_KEY.format(key="Model")),
        ('{"1model": "x"}', md.METADATA_BAD_KEY.format(key="1model")),
        ('{"' + "k" * 33 + '": "x"}', md.METADATA_BAD_KEY.format(key="k" * 33)),
        ('{"epochs": 30}', md.METADATA_VALUE_NOT_TEXT.format(key="epochs", kind="int")),
        (
            '{"notes": "' + "x" * 201 + '"}',
            md.METADATA_VALUE_TOO_LONG.format(key="notes", length=201),
        ),
        ('{"notes": "a\\u0000b"}', md.METADATA_VALUE_NUL.format(key="notes")),
        (json.dumps({f"k{i}": "v" for i in range(21)}), md.METADATA_TOO_MANY.format(count=21)),
    ],
)
def test_bad_metadata_is_refused_with_its_message_and_nothing_is_stored(
    client: TestClient, world: World, metadata: str, message: str
) -> None:
    response = submit(client, world, world.user("alice"), metadata=metadata)
    assert response.status_code == 422
    assert response.json()["message"] == message
    with world.db.sessionmaker() as session:
        assert session.query(Submission).count() == 0


def test_metadata_that_is_not_json_names_the_problem(client: TestClient, world: World) -> None:
    response = submit(client, world, world.user("alice"), metadata="model=resnet50")
    assert response.status_code == 422
    assert response.json()["message"].startswith("metadata is not valid JSON (")


def test_the_submitter_edits_the_metadata_and_nobody_else_may(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice, bob = world.user("alice"), world.user("bob")
    form_team(client, world, alice, bob)
    made = submit(client, world, alice, metadata=json.dumps(PAIRS)).json()
    url = f"/api/v1/submissions/{made['id']}"
    edited = client.patch(url, json={"metadata": {"model": "vit-b"}}, headers=world.headers(alice))
    assert edited.status_code == 200, edited.text
    assert edited.json()["metadata"] == {"model": "vit-b"}
    teammate = client.patch(url, json={"metadata": {}}, headers=world.headers(bob))
    assert teammate.status_code == 403
    assert teammate.json()["message"] == md.NOT_THE_SUBMITTER.format(id=made["id"])
    outsider = client.patch(url, json={"metadata": {}}, headers=world.headers(world.user("eve")))
    assert outsider.status_code == 404
    bad = client.patch(url, json={"metadata": {"Bad Key": "x"}}, headers=world.headers(alice))
    assert bad.json()["message"] == md.METADATA_BAD_KEY.format(key="Bad Key")


def test_an_unreadable_stored_metadata_record_shows_as_none(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    made = submit(client, world, alice).json()
    with world.db.transaction() as session:
        submission = session.get(Submission, made["id"])
        assert submission is not None
        submission.meta = {"model": 5, "ok": "yes"}  # type: ignore[dict-item]
    body = client.get(f"/api/v1/submissions/{made['id']}", headers=world.headers(alice)).json()
    assert body["metadata"] == {"ok": "yes"}


def test_the_submission_page_shows_the_metadata_and_its_form_edits_it(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    made = submit(client, world, alice, metadata=json.dumps(PAIRS)).json()
    csrf = log_in(client, "alice")
    page = client.get(f"/submissions/{made['id']}")
    assert '<li data-key="loss"><code>loss</code> = weighted-l1</li>' in page.text
    saved = client.post(
        f"/submissions/{made['id']}/metadata",
        data={"metadata": "model = vit-b\n\nloss=l1\n", "csrf_token": csrf},
    )
    assert saved.status_code == 200
    assert "Metadata saved." in saved.text
    assert '<li data-key="model"><code>model</code> = vit-b</li>' in saved.text
    refused = client.post(
        f"/submissions/{made['id']}/metadata", data={"metadata": "Bad=1", "csrf_token": csrf}
    )
    assert "Metadata not saved: " + md.METADATA_BAD_KEY.format(key="Bad") in refused.text.replace(
        "&#39;", "'"
    )
