"""The public-score policy of a phase: the ladder and rounding hide small public changes from
participants; the private leaderboard and organizers' views keep exact scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import phase_settings
from app.phase_settings import PhaseSettings
from app.routes.pages.render import score as shown
from tests.app.conftest import World
from tests.app.test_api_leaderboard import board, submit


def noisy(world: World, sd: float, seed: int = 0) -> Any:
    truth = world.truth()
    return truth.age + np.random.default_rng(seed).normal(0.0, sd, len(truth))


def exact(client: TestClient, world: World, submission_id: int) -> Any:
    url = f"/api/v1/submissions/{submission_id}"
    return client.get(url, headers=world.headers(world.organizer)).json()


def private_board(client: TestClient, world: World) -> Any:
    url = f"/api/v1/phases/{world.phase_id}/leaderboard"
    headers = world.headers(world.organizer)
    return client.get(url, params={"split": "private"}, headers=headers).json()


def patch(client: TestClient, world: World, **fields: Any) -> Any:
    return client.patch(
        f"/api/v1/phases/{world.phase_id}", json=fields, headers=world.headers(world.organizer)
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"public_policy": "secret"},
            phase_settings.UNKNOWN_CHOICE.format(
                field="public_policy", choices="none, ladder, rounding", value="secret"
            ),
        ),
        (
            {"ladder_threshold": -1},
            phase_settings.THRESHOLD_OUT_OF_RANGE.format(high=1000.0, value=-1),
        ),
        (
            {"public_decimals": 13},
            phase_settings.DECIMALS_OUT_OF_RANGE.format(high=12, value=13),
        ),
        ({"public_policy": "rounding"}, phase_settings.ROUNDING_NEEDS_DECIMALS),
    ],
)
def test_a_bad_public_score_policy_is_refused_with_its_message(
    client: TestClient, world: World, fields: dict[str, Any], message: str
) -> None:
    response = patch(client, world, **fields)
    assert response.status_code == 422, response.text
    assert response.json()["message"] == message


def test_the_organizer_sets_the_policy_through_the_api(client: TestClient, world: World) -> None:
    response = patch(client, world, public_policy="ladder", ladder_threshold=0.5)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["public_policy"], body["ladder_threshold"], body["public_decimals"]) == (
        "ladder",
        0.5,
        None,
    )


def test_the_ladder_keeps_the_public_best_until_beaten_by_more_than_the_threshold(
    client: TestClient, world: World
) -> None:
    world.update_phase(public_fraction=0.5, public_policy="ladder", ladder_threshold=1.0)
    alice = world.user("alice")
    age = world.truth().age
    errors = noisy(world, 4.0) - age
    first = submit(client, world, alice, age + errors)["id"]
    public_first = exact(client, world, first)["scores"]["mae"]
    # A little better everywhere: less than the threshold on the public split.
    slightly = submit(client, world, alice, age + 0.9 * errors)["id"]
    exact_second = exact(client, world, slightly)
    assert public_first - 1.0 < exact_second["scores"]["mae"] < public_first
    public_row = board(client, world).json()[0]
    assert public_row["mae"] == public_first
    private_row = private_board(client, world)
    assert private_row[0]["mae"] == exact_second["private_scores"]["mae"]
    mine = client.get(f"/api/v1/submissions/{slightly}", headers=world.headers(alice)).json()
    assert mine["scores"]["mae"] == public_first
    assert mine["groups"] is None and mine["intervals"] is None
    assert "ladder" in mine["intervals_note"]
    page = client.get(f"/submissions/{slightly}", headers=world.headers(alice)).text
    assert shown(exact_second["scores"]["mae"]) not in page
    assert shown(public_first) in page
    better = submit(client, world, alice, world.truth().age)["id"]
    assert board(client, world).json()[0]["mae"] == exact(client, world, better)["scores"]["mae"]


def test_rounding_shows_public_scores_rounded_and_private_ones_exact(
    client: TestClient, world: World
) -> None:
    world.update_phase(public_fraction=0.5, public_policy="rounding", public_decimals=1)
    alice = world.user("alice")
    submission_id = submit(client, world, alice, noisy(world, 4.0))["id"]
    scores = exact(client, world, submission_id)
    assert board(client, world).json()[0]["mae"] == round(scores["scores"]["mae"], 1)
    private = private_board(client, world)[0]
    assert private["mae"] == scores["private_scores"]["mae"]


def test_without_a_private_split_the_policy_does_not_apply(
    client: TestClient, world: World
) -> None:
    world.update_phase(public_fraction=None, public_policy="rounding", public_decimals=0)
    submission_id = submit(client, world, world.user("alice"), noisy(world, 4.0))["id"]
    assert (
        board(client, world).json()[0]["mae"]
        == exact(client, world, submission_id)["scores"]["mae"]
    )


def test_the_settings_form_offers_and_reads_the_policy_fields(
    client: TestClient, world: World
) -> None:
    page = client.get(f"/organize/phases/{world.phase_id}", headers=world.headers(world.organizer))
    assert page.status_code == 200
    for name in ("public_policy", "ladder_threshold", "public_decimals"):
        assert f'name="{name}"' in page.text
    form = {
        "name": "Task",
        "inputs_public": "on",
        "public_policy": "ladder",
        "ladder_threshold": "0.5",
    }
    settings = PhaseSettings.check(PhaseSettings.from_form(form | {"public_decimals": ""}))
    assert (settings.public_policy, settings.ladder_threshold, settings.public_decimals) == (
        "ladder",
        0.5,
        None,
    )


def test_the_public_group_view_withholds_per_group_maes_under_a_policy(
    client: TestClient, world: World
) -> None:
    world.update_phase(public_fraction=0.5, public_policy="rounding", public_decimals=1)
    submit(client, world, world.user("alice"), noisy(world, 4.0))
    page = client.get(f"/phases/{world.phase_id}/leaderboard", params={"view": "groups"})
    assert page.status_code == 200
    assert "withheld by this phase&#39;s public-score policy" in page.text
    private = client.get(
        f"/phases/{world.phase_id}/leaderboard",
        params={"view": "groups", "split": "private"},
        headers=world.headers(world.organizer),
    )
    assert private.status_code == 200 and "withheld" not in private.text
