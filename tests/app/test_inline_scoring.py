"""A prediction file scored within its upload (before its record exists, recorded in the
request's transaction) is judged exactly as a queued one: same messages, same record."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models import SubmissionEvent
from scoring.predictions import PredictionFileError, parse_predictions
from tests.app.conftest import World, prediction_csv
from tests.app.test_api_submissions import post_file, wait_until_done


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def bad_files(ids: tuple[str, ...]) -> dict[str, bytes]:
    """One file per kind of mistake, each refused with its own message."""
    good = prediction_csv(ids, [30.0] * len(ids)).decode()
    lines = good.splitlines()
    return {
        "a missing row": "\n".join(lines[:-1]).encode(),
        "an unknown id": (good + "nobody.png,3\n").encode(),
        "a duplicate id": (good + lines[1] + "\n").encode(),
        "a decimal comma": good.replace(",30.0", ',"30,5"', 1).encode(),
        "tabs": good.replace(",", "\t").encode(),
        "an unknown header": good.replace("id,age", "name,value", 1).encode(),
        "a third column": good.replace("\n", ",x\n").encode(),
        "nan": good.replace(",30.0", ",nan", 1).encode(),
        "out of range": good.replace(",30.0", ",1e9", 1).encode(),
        "a blank line inside": good.replace("\n", "\n\n", 3).encode(),
        "bad quoting": good.replace(",30.0", ',"30.0', 1).encode(),
        "not UTF-8": b"id,age\n\xff\xfe,3\n",
        "empty of data": b"\n\n",
        "a zip without a csv": _zip({"notes.md": b"hello"}),
    }


def _message(content: bytes, ids: tuple[str, ...]) -> str:
    with pytest.raises(PredictionFileError) as error:
        parse_predictions(content, ids, filename="predictions.csv")
    return str(error.value)


def test_every_bad_file_gets_the_parser_message_inline_and_from_a_job(
    client: TestClient, world: World, app: Any
) -> None:
    headers = world.headers(world.user("alice"))
    ids = world.truth().ids
    corpus = bad_files(ids)
    inline = {name: post_file(client, world, headers, content) for name, content in corpus.items()}
    app.state.settings = world.settings.model_copy(update={"inline_scoring_max_bytes": 0})
    from_jobs = {}
    for name, content in corpus.items():
        # One at a time: a queued file counts in the daily quota (5) until its job fails it.
        queued = post_file(client, world, headers, content)
        assert queued.status_code == 201, name
        from_jobs[name] = wait_until_done(client, queued.json()["id"], headers)["error"]

    for name, content in corpus.items():
        expected = _message(content, ids)
        assert inline[name].status_code == 422, name
        assert inline[name].json()["message"] == expected, name
        assert from_jobs[name] == expected, name


def test_a_scored_file_has_the_same_timeline_and_stored_record_as_before(
    client: TestClient, world: World
) -> None:
    headers = world.headers(world.user("alice"))
    truth = world.truth()
    created = post_file(client, world, headers, prediction_csv(truth.ids, truth.age + 2.0))
    assert created.status_code == 201, created.text
    body = client.get(f"/api/v1/submissions/{created.json()['id']}", headers=headers).json()

    assert created.json()["status"] == body["status"] == "finished"
    assert created.json()["scores"] == body["scores"]
    assert body["scores"]["mae"] == pytest.approx(2.0)
    assert [(e["from_status"], e["status"]) for e in body["timeline"]] == [
        (None, "queued"),
        ("queued", "running"),
        ("running", "finished"),
    ]
    with world.db.sessionmaker() as session:
        events = session.query(SubmissionEvent).filter_by(submission_id=body["id"]).count()
    assert events == 3
