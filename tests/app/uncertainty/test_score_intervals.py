"""Score intervals: computed with the scores, stored, shown; a rescore reproduces them."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.jobs import phase_jobs
from app.models import SubmissionScore
from app.services import evaluation, intervals
from scoring.metrics import score
from scoring.uncertainty import interval_seed, score_intervals
from tests.app.conftest import World, prediction_csv
from tests.app.test_api_leaderboard import board, submit
from tests.app.test_api_submissions import post_file

SCORE_KEYS = {"mae", "age_bias", "gender_bias", "ethnicity_bias", "expression_bias"}


def noisy(world: World, sd: float, seed: int = 0) -> Any:
    truth = world.truth()
    return truth.age + np.random.default_rng(seed).normal(0.0, sd, len(truth))


def detail(client: TestClient, world: World, user: Any, submission_id: int) -> Any:
    world.settle()
    response = client.get(f"/api/v1/submissions/{submission_id}", headers=world.headers(user))
    assert response.status_code == 200, response.text
    return response.json()


def test_the_api_gives_a_95_percent_interval_around_each_score(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    values = noisy(world, 4.0)
    body = detail(client, world, alice, submit(client, world, alice, values)["id"])
    assert body["interval_level"] == 0.95
    assert set(body["intervals"]) == SCORE_KEYS
    for name, (low, high) in body["intervals"].items():
        assert low <= body["scores"][name] <= high
    assert body["intervals"]["mae"][1] > body["intervals"]["mae"][0]


def test_stored_intervals_are_the_engines_seeded_by_submission_and_test_set(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    values = noisy(world, 4.0, seed=3)
    submission_id = submit(client, world, alice, values)["id"]
    truth = world.truth()
    expected = score_intervals(
        truth, values, seed=interval_seed(submission_id, truth.fingerprint())
    ).as_json()
    assert detail(client, world, alice, submission_id)["intervals"] == expected


def test_each_split_has_its_own_intervals_and_private_ones_wait_for_the_reveal(
    client: TestClient, world: World
) -> None:
    world.update_phase(public_fraction=0.5)
    alice = world.user("alice")
    submission_id = submit(client, world, alice, noisy(world, 4.0))["id"]
    mine = detail(client, world, alice, submission_id)
    assert mine["private_intervals"] is None
    organizer = detail(client, world, world.organizer, submission_id)
    assert set(organizer["private_intervals"]) == SCORE_KEYS
    assert organizer["private_intervals"] != organizer["intervals"]
    for name, (low, high) in organizer["private_intervals"].items():
        assert low <= organizer["private_scores"][name] <= high


def test_exact_predictions_have_zero_width_intervals(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    body = detail(client, world, alice, submit(client, world, alice, world.truth().age)["id"])
    assert body["intervals"]["mae"] == [0.0, 0.0]


def test_a_rescore_reproduces_the_intervals(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    submission_id = submit(client, world, alice, noisy(world, 4.0))["id"]
    before = detail(client, world, alice, submission_id)["intervals"]
    rerun = client.post(
        f"/api/v1/submissions/{submission_id}/rerun", headers=world.headers(world.organizer)
    )
    assert rerun.status_code == 202, rerun.text
    for _ in range(200):
        body = client.get(
            f"/api/v1/submissions/{submission_id}", headers=world.headers(alice)
        ).json()
        if body["status"] == "finished":
            break
        time.sleep(0.05)
    assert body["status"] == "finished"
    assert detail(client, world, alice, submission_id)["intervals"] == before


def test_intervals_are_computed_on_the_split_the_scores_are(world: World) -> None:
    truth = world.truth()
    values = np.asarray(noisy(world, 2.0))
    stored = intervals.compute(truth, values, submission_id=7)
    assert stored["level"] == 0.95 and stored["n_resamples"] == 1000
    assert stored["seed"] == interval_seed(7, truth.fingerprint())
    point = score(truth, values).scores()
    for name, bounds in stored["intervals"].items():
        assert bounds is None or bounds[0] <= point[name] <= bounds[1]


CORRUPT = [
    "not a mapping",
    {"intervals": {"mae": [3.0]}},
    {"intervals": {"mae": [5.0, 1.0]}},
    {"intervals": {"mae": ["a", "b"]}},
    {"intervals": {"mae": [-1.0, 1.0]}},
    {"intervals": {"mae": [1e9, 2e9]}},
    {"level": 0.95},
]


def test_unreadable_stored_intervals_are_n_a_with_a_reason(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    submission_id = submit(client, world, alice, noisy(world, 4.0))["id"]
    for stored in CORRUPT:
        with world.db.transaction() as session:
            session.execute(
                update(SubmissionScore)
                .where(SubmissionScore.submission_id == submission_id)
                .values(intervals=stored)
            )
        body = detail(client, world, alice, submission_id)
        assert body["intervals"] is None, stored
        assert body["intervals_note"] == "n/a: " + intervals.UNREADABLE_INTERVALS
        assert body["scores"]["mae"] is not None
        page = client.get(f"/submissions/{submission_id}", headers=world.headers(alice))
        assert page.status_code == 200
        assert intervals.UNREADABLE_INTERVALS in page.text
        assert board(client, world).status_code == 200


def scored_then_forgotten(client: TestClient, world: World, user: Any) -> int:
    """A scored submission whose stored intervals are then cleared (nothing pending)."""
    submission_id = submit(client, world, user, noisy(world, 4.0))["id"]
    world.settle()
    with world.db.transaction() as session:
        session.execute(update(SubmissionScore).values(intervals=None))
    return int(submission_id)


def recompute(world: World) -> None:
    with world.db.transaction() as session:
        phase_jobs.request(session, world.phase_id, "test")


def test_a_submission_whose_predictions_were_not_kept_says_so(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    submission_id = scored_then_forgotten(client, world, alice)
    intervals.predictions_path(world.settings, submission_id).unlink()
    recompute(world)
    body = detail(client, world, alice, submission_id)
    assert body["intervals"] is None
    assert body["intervals_note"] == "n/a: " + intervals.NOT_COMPUTED


def test_intervals_are_computed_after_the_scores_and_shown_as_computing_until_then(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    submission_id = scored_then_forgotten(client, world, alice)
    url = f"/api/v1/submissions/{submission_id}"
    waiting = client.get(url, headers=world.headers(alice)).json()
    assert (waiting["intervals"], waiting["intervals_note"]) == (None, intervals.COMPUTING)
    page = client.get(f"/submissions/{submission_id}", headers=world.headers(alice))
    assert "95% intervals: computing…" in page.text
    recompute(world)
    assert set(detail(client, world, alice, submission_id)["intervals"]) == SCORE_KEYS


def test_the_submission_page_shows_the_intervals(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    submission_id = submit(client, world, alice, noisy(world, 4.0))["id"]
    world.settle()
    page = client.get(f"/submissions/{submission_id}", headers=world.headers(alice))
    assert page.status_code == 200
    assert 'id="score-intervals"' in page.text
    assert "95% intervals" in page.text


def _kept(world: World) -> list[str]:
    folder = world.settings.data_dir / "predictions"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_an_upload_scored_in_its_request_keeps_its_predictions_under_its_id(
    client: TestClient, world: World
) -> None:
    """Written before the writer's turn, under a name of their own, then renamed into place."""
    truth = world.truth()
    values = noisy(world, 3.0)
    submission_id = submit(client, world, world.user("alice"), values)["id"]

    assert _kept(world) == [f"{submission_id}.npy"]
    kept = intervals.load_predictions(world.settings, submission_id, len(truth))
    assert kept is not None
    assert np.array_equal(kept, values)


def test_an_upload_refused_after_its_scoring_keeps_no_predictions(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    first = submit(client, world, alice, noisy(world, 3.0))["id"]
    world.update_phase(daily_limit=1)  # the next upload is scored, then refused

    refused = post_file(
        client, world, world.headers(alice), prediction_csv(world.truth().ids, noisy(world, 4.0))
    )

    assert refused.status_code == 429
    assert _kept(world) == [f"{first}.npy"]


def test_an_upload_whose_predictions_cannot_be_written_fails_with_a_reason_and_leaves_nothing(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while the predictions are written aside: the upload is recorded as failed
    with the internal-error message (organizers can re-run it), and no half-written file."""

    def disk_full(path: Any, array: Any) -> None:
        with open(path, "wb") as half:
            half.write(b"\x93NUMPY")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", disk_full)
    response = post_file(
        client,
        world,
        world.headers(world.user("alice")),
        prediction_csv(world.truth().ids, noisy(world, 3.0)),
    )

    assert response.status_code == 422, response.text
    assert evaluation.INTERNAL_ERROR in response.json()["message"]
    assert _kept(world) == []
