"""The leaderboard through the API: SPEC §6 columns, entry selection, visibility, CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.models import EntrySelection
from scoring.metrics import score
from scoring.ranking import RankEntry, rank_entries
from tests.app.conftest import World, prediction_csv
from tests.app.test_api_submissions import post_file


def submit(client: TestClient, world: World, user: Any, values: Any) -> dict[str, Any]:
    response = post_file(
        client, world, world.headers(user), prediction_csv(world.truth().ids, values)
    )
    assert response.status_code == 201, response.text
    return response.json()


def board(client: TestClient, world: World, **params: str) -> Any:
    return client.get(f"/api/v1/phases/{world.phase_id}/leaderboard", params=params)


def test_leaderboard_ranks_participants_as_the_scoring_engine_does(
    client: TestClient, world: World
) -> None:
    truth = world.truth()
    rng = np.random.default_rng(1)
    predictions = {
        name: truth.age + rng.normal(0, sd, len(truth))
        for name, sd in (("alice", 2.0), ("bob", 5.0), ("carol", 9.0))
    }
    for name, values in predictions.items():
        submit(client, world, world.user(name), values)
    rows = board(client, world).json()
    expected = rank_entries(
        [
            RankEntry(key=name, scores=score(truth, values).scores(), order=index)
            for index, (name, values) in enumerate(predictions.items())
        ]
    )
    assert [r["participant"] for r in rows] == [e.key for e in expected]
    assert [r["position"] for r in rows] == [1, 2, 3]
    for row, entry in zip(rows, expected, strict=True):
        assert row["ranking"] == pytest.approx(entry.ranking)
        for column in ("gender_bias", "expression_bias", "ethnicity_bias", "age_bias", "mae"):
            assert row[f"{column}_rank"] == entry.ranks[column]
        assert row["entries"] == 1


def test_leaderboard_is_public_without_logging_in(client: TestClient, world: World) -> None:
    submit(client, world, world.user("alice"), world.truth().age)
    response = board(client, world)
    assert response.status_code == 200
    rows = response.json()
    assert isinstance(rows, list) and len(rows) == 1
    assert list(rows[0]) == [
        "position",
        "participant",
        "entries",
        "last_entry_at",
        "ranking",
        "submission_id",
        "is_baseline",
        "gender_bias",
        "gender_bias_rank",
        "expression_bias",
        "expression_bias_rank",
        "ethnicity_bias",
        "ethnicity_bias_rank",
        "age_bias",
        "age_bias_rank",
        "mae",
        "mae_rank",
        "note",
        "members",
        "rank_interval",
        "tied_with_neighbour",
    ]
    assert rows[0]["note"] is None
    assert rows[0]["members"] is None  # a participant competing alone
    assert response.headers["x-fairboard-split"] == "public"
    assert response.headers["x-fairboard-tie-policy"] == "dense"
    assert response.headers["x-fairboard-entry-selection"] == "latest"


def test_hidden_leaderboard_is_for_organizers_only(client: TestClient, world: World) -> None:
    world.update_phase(leaderboard_public=False)
    alice = world.user("alice")
    submit(client, world, alice, world.truth().age)
    assert board(client, world).status_code == 403
    assert (
        client.get(
            f"/api/v1/phases/{world.phase_id}/leaderboard", headers=world.headers(alice)
        ).status_code
        == 403
    )
    organizer = client.get(
        f"/api/v1/phases/{world.phase_id}/leaderboard", headers=world.headers(world.organizer)
    )
    assert organizer.status_code == 200
    assert len(organizer.json()) == 1


@pytest.mark.parametrize(
    ("selection", "expected_mae"),
    [(EntrySelection.LATEST, 4.0), (EntrySelection.BEST, 1.0), (EntrySelection.CHOSEN, 4.0)],
)
def test_entry_selection_picks_one_submission_per_participant(
    client: TestClient, world: World, selection: EntrySelection, expected_mae: float
) -> None:
    world.update_phase(entry_selection=selection)
    alice = world.user("alice")
    truth = world.truth()
    for offset in (2.0, 1.0, 4.0):
        submit(client, world, alice, truth.age + offset)
    rows = board(client, world).json()
    assert len(rows) == 1
    assert rows[0]["entries"] == 3
    assert rows[0]["mae"] == pytest.approx(expected_mae)


def test_chosen_entry_replaces_the_latest(client: TestClient, world: World) -> None:
    world.update_phase(entry_selection=EntrySelection.CHOSEN)
    alice = world.user("alice")
    truth = world.truth()
    first = submit(client, world, alice, truth.age + 2.0)
    submit(client, world, alice, truth.age + 3.0)
    chosen = client.post(f"/api/v1/submissions/{first['id']}/choose", headers=world.headers(alice))
    assert chosen.status_code == 200
    assert chosen.json()["is_chosen"] is True
    assert board(client, world).json()[0]["mae"] == pytest.approx(2.0)


def test_nobody_can_choose_another_participants_submission(
    client: TestClient, world: World
) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    first = submit(client, world, alice, world.truth().age)
    response = client.post(f"/api/v1/submissions/{first['id']}/choose", headers=world.headers(bob))
    assert response.status_code == 404


def test_leaderboard_csv_has_the_scores_and_ranks(client: TestClient, world: World) -> None:
    submit(client, world, world.user("alice"), world.truth().age + 1.0)
    response = board(client, world, format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["participant"] == "alice"
    assert float(rows[0]["mae"]) == pytest.approx(1.0)
    assert rows[0]["mae_rank"] == "1"
    assert list(rows[0])[:5] == ["position", "participant", "entries", "last_entry_at", "ranking"]


def test_failed_submissions_count_as_entries_but_never_rank(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    assert post_file(client, world, world.headers(alice), b"garbage").status_code == 422
    assert board(client, world).json() == []
    submit(client, world, alice, world.truth().age)
    rows = board(client, world).json()
    assert rows[0]["entries"] == 2


def test_competition_shows_phases_and_the_callers_quota(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    submit(client, world, alice, world.truth().age)
    body = client.get(
        f"/api/v1/competitions/{world.competition_id}", headers=world.headers(alice)
    ).json()
    assert body["joined"] is True
    phase = body["phases"][0]
    assert phase["name"] == "Task 1"
    assert phase["quota"]["used_today"] == 1
    assert phase["quota"]["remaining_today"] == 4
    assert phase["n_items"] == len(world.truth())
    anonymous = client.get(f"/api/v1/competitions/{world.competition_id}").json()
    assert anonymous["phases"][0]["quota"] is None
    listing = client.get("/api/v1/competitions").json()
    assert [c["id"] for c in listing] == [world.competition_id]


def test_joining_twice_is_a_conflict(client: TestClient, world: World) -> None:
    newcomer = world.user("newcomer", join=False)
    headers = world.headers(newcomer)
    assert (
        client.post(
            f"/api/v1/competitions/{world.competition_id}/join", headers=headers
        ).status_code
        == 201
    )
    again = client.post(f"/api/v1/competitions/{world.competition_id}/join", headers=headers)
    assert again.status_code == 409


def test_errors_are_json_with_code_and_message(client: TestClient) -> None:
    response = client.get("/api/v1/competitions/999")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "competition 999 not found"}
