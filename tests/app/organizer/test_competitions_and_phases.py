"""Creating and editing competitions and phases through the API, and who may do it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import phase_settings
from app.db import utcnow
from app.models import Role
from app.services import competitions, phases, testsets
from tests.app.conftest import World
from tests.app.organizer.conftest import submit


def new_competition(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post(
        "/api/v1/competitions",
        json={"title": "Fair ages", "description": "# Rules"} | body,
        headers=headers,
    )


def new_phase(
    client: TestClient, world: World, headers: dict[str, str], competition_id: int, **body: Any
) -> Any:
    return client.post(
        f"/api/v1/competitions/{competition_id}/phases",
        json={"name": "Task 2", "testset_id": world.testset_id} | body,
        headers=headers,
    )


def test_organizer_creates_a_competition_and_becomes_its_organizer(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    response = new_competition(client, organizer_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["title"] == "Fair ages"
    assert body["description"] == "# Rules"
    assert body["is_organizer"] is True
    organizers = client.get(
        f"/api/v1/competitions/{body['id']}/organizers", headers=organizer_headers
    ).json()
    assert [o["username"] for o in organizers] == ["lecturer"]


def test_participants_cannot_create_competitions(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    response = new_competition(client, world.headers(alice))
    assert response.status_code == 403
    assert response.json()["message"] == competitions.CANNOT_CREATE


def test_an_empty_title_is_refused(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    response = new_competition(client, organizer_headers, title="   ")
    assert response.status_code == 422
    assert response.json()["message"] == competitions.TITLE_REQUIRED


def test_only_the_competitions_organizers_change_it(client: TestClient, world: World) -> None:
    other = world.user("other_lecturer", role=Role.ORGANIZER, join=False)
    url = f"/api/v1/competitions/{world.competition_id}"
    refused = client.patch(url, json={"title": "Mine now"}, headers=world.headers(other))
    assert refused.status_code == 403
    assert refused.json()["message"] == competitions.NOT_ORGANIZER
    changed = client.patch(
        url,
        json={"title": "Age estimation 2026", "description": "New *rules*"},
        headers=world.headers(world.organizer),
    )
    assert changed.status_code == 200
    assert changed.json()["title"] == "Age estimation 2026"
    assert changed.json()["description"] == "New *rules*"
    admin = client.patch(
        url, json={"description": "admins may"}, headers=world.headers(world.admin)
    )
    assert admin.status_code == 200


def test_phase_is_created_with_all_its_settings(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    opens, closes = utcnow() - timedelta(hours=1), utcnow() + timedelta(days=7)
    response = new_phase(
        client,
        world,
        organizer_headers,
        world.competition_id,
        opens_at=opens.isoformat(),
        closes_at=closes.isoformat(),
        daily_limit=3,
        total_limit=20,
        public_fraction=0.4,
        inputs_public=False,
        entry_selection="best",
        tie_policy="min",
        submission_kinds=["model"],
        model_time_limit_seconds=120,
        model_memory_limit_mb=2048,
        description="Reduce the *bias*",
    )
    assert response.status_code == 201, response.text
    phase = response.json()
    assert phase["daily_limit"] == 3
    assert phase["total_limit"] == 20
    assert phase["public_fraction"] == 0.4
    assert phase["entry_selection"] == "best"
    assert phase["tie_policy"] == "min"
    assert phase["submission_kinds"] == ["model"]
    assert phase["inputs_public"] is False
    assert phase["is_open"] is True
    assert phase["private_revealed"] is False
    assert phase["model_time_limit_seconds"] == 120
    assert phase["input_size"] == [32, 32]
    public = client.get(f"/api/v1/competitions/{world.competition_id}").json()
    assert [p["name"] for p in public["phases"]] == ["Task 1", "Task 2"]
    assert "split_seed" not in public["phases"][1]


def test_a_competition_answers_every_phase_with_its_test_set_facts_and_quota(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    created = new_phase(client, world, organizer_headers, world.competition_id, daily_limit=2)
    assert created.status_code == 201, created.text
    alice = world.user("alice")
    body = client.get(
        f"/api/v1/competitions/{world.competition_id}", headers=world.headers(alice)
    ).json()
    assert body["joined"] is True
    assert body["is_organizer"] is False
    first, second = body["phases"]
    assert set(first) == {
        "id",
        "name",
        "description",
        "opens_at",
        "closes_at",
        "is_open",
        "daily_limit",
        "total_limit",
        "inputs_public",
        "leaderboard_public",
        "public_fraction",
        "private_revealed",
        "entry_selection",
        "tie_policy",
        "submission_kinds",
        "testset_id",
        "n_items",
        "testset_is_synthetic",
        "input_size",
        "quota",
        "inputs",
        "public_policy",
        "ladder_threshold",
        "public_decimals",
    }
    assert (first["n_items"], first["testset_is_synthetic"], first["input_size"]) == (
        60,
        True,
        [32, 32],
    )
    assert second["quota"]["daily_limit"] == 2
    assert second["quota"]["remaining_today"] == 2
    anonymous = client.get(f"/api/v1/competitions/{world.competition_id}").json()
    assert [phase["quota"] for phase in anonymous["phases"]] == [None, None]


def test_a_phase_without_limits_is_unlimited(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    response = new_phase(
        client, world, organizer_headers, world.competition_id, daily_limit=None, total_limit=None
    )
    assert response.status_code == 201, response.text
    assert response.json()["daily_limit"] is None
    assert response.json()["total_limit"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": " "}, phase_settings.NAME_REQUIRED),
        (
            {"daily_limit": 0},
            phase_settings.LIMIT_NOT_POSITIVE.format(field="daily_limit", value=0),
        ),
        (
            {"total_limit": -2},
            phase_settings.LIMIT_NOT_POSITIVE.format(field="total_limit", value=-2),
        ),
        ({"public_fraction": 1.0}, phase_settings.FRACTION_OUT_OF_RANGE.format(value=1.0)),
        ({"public_fraction": 0.0}, phase_settings.FRACTION_OUT_OF_RANGE.format(value=0.0)),
        ({"submission_kinds": []}, phase_settings.KINDS_EMPTY),
        (
            {"submission_kinds": ["predictions", "video"]},
            phase_settings.UNKNOWN_KIND.format(kind="video"),
        ),
        (
            {"entry_selection": "worst"},
            phase_settings.UNKNOWN_CHOICE.format(
                field="entry_selection", choices="latest, best, chosen", value="worst"
            ),
        ),
        (
            {"tie_policy": "max"},
            phase_settings.UNKNOWN_CHOICE.format(
                field="tie_policy", choices="dense, min, average", value="max"
            ),
        ),
        (
            {"model_time_limit_seconds": 0},
            phase_settings.POSITIVE_REQUIRED.format(field="model_time_limit_seconds", value=0),
        ),
        (
            {"inputs_public": False, "submission_kinds": ["predictions"]},
            phase_settings.PREDICTIONS_NEED_INPUTS,
        ),
        ({"model_input_height": 48}, phase_settings.MODEL_INPUT_SIZE_INCOMPLETE),
        ({"model_input_width": 48}, phase_settings.MODEL_INPUT_SIZE_INCOMPLETE),
        (
            {"daily_limit": 2**70},
            phase_settings.NUMBER_TOO_LARGE.format(
                field="daily_limit", high=phase_settings.MAX_COUNT, value=2**70
            ),
        ),
        (
            {"split_seed": -1},
            phase_settings.SEED_NOT_NATURAL.format(value=-1),
        ),
        ({"testset_id": 2**64}, phase_settings.TESTSET_NOT_FOUND.format(id=2**64)),
        (
            {"model_input_height": 15, "model_input_width": 48},
            phase_settings.IMAGE_SIZE_OUT_OF_RANGE.format(
                field="model_input_height", low=16, high=1024, value=15
            ),
        ),
        (
            {"model_input_height": 48, "model_input_width": 1025},
            phase_settings.IMAGE_SIZE_OUT_OF_RANGE.format(
                field="model_input_width", low=16, high=1024, value=1025
            ),
        ),
    ],
)
def test_invalid_phase_settings_are_refused_with_a_clear_message(
    client: TestClient,
    world: World,
    organizer_headers: dict[str, str],
    body: dict[str, Any],
    message: str,
) -> None:
    response = new_phase(client, world, organizer_headers, world.competition_id, **body)
    assert response.status_code == 422, response.text
    assert response.json()["message"] == message


def test_closing_before_opening_is_refused(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    opens = utcnow().replace(microsecond=0)
    closes = opens - timedelta(days=1)
    response = new_phase(
        client,
        world,
        organizer_headers,
        world.competition_id,
        opens_at=opens.isoformat(),
        closes_at=closes.isoformat(),
    )
    assert response.status_code == 422
    assert response.json()["message"] == phase_settings.CLOSES_BEFORE_OPENS.format(
        closes=closes.isoformat(), opens=opens.isoformat()
    )


def test_patch_changes_only_the_fields_sent_and_validates_the_result(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    url = f"/api/v1/phases/{world.phase_id}"
    changed = client.patch(
        url, json={"daily_limit": 2, "tie_policy": "average"}, headers=organizer_headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["daily_limit"] == 2
    assert changed.json()["tie_policy"] == "average"
    assert changed.json()["name"] == "Task 1"
    # The phase opened yesterday: closing it before that is refused as a whole.
    refused = client.patch(
        url,
        json={"closes_at": (utcnow() - timedelta(days=2)).isoformat()},
        headers=organizer_headers,
    )
    assert refused.status_code == 422
    seed = client.get(f"{url}/settings", headers=organizer_headers).json()["split_seed"]
    cleared = client.patch(
        url,
        json={"daily_limit": None, "closes_at": None, "split_seed": None},
        headers=organizer_headers,
    )
    assert cleared.json()["split_seed"] == seed
    assert cleared.json()["daily_limit"] is None
    assert cleared.json()["closes_at"] is None


def test_a_phase_sets_its_own_model_input_size_and_clears_it(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    created = new_phase(
        client,
        world,
        organizer_headers,
        world.competition_id,
        model_input_height=48,
        model_input_width=64,
    )
    assert created.status_code == 201, created.text
    assert created.json()["model_input_size"] == [48, 64]
    assert created.json()["input_size"] == [48, 64]
    url = f"/api/v1/phases/{created.json()['id']}"
    settings = client.get(f"{url}/settings", headers=organizer_headers).json()
    assert settings["model_input_size"] == [48, 64]
    public = client.get(f"/api/v1/competitions/{world.competition_id}").json()
    assert public["phases"][1]["input_size"] == [48, 64]
    assert "model_input_size" not in public["phases"][1]

    half = client.patch(url, json={"model_input_width": None}, headers=organizer_headers)
    assert half.status_code == 422
    assert half.json()["message"] == phase_settings.MODEL_INPUT_SIZE_INCOMPLETE
    cleared = client.patch(
        url,
        json={"model_input_height": None, "model_input_width": None},
        headers=organizer_headers,
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["model_input_size"] is None
    assert cleared.json()["input_size"] == [32, 32]


def test_changing_the_model_input_size_is_allowed_after_submissions_and_audited(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    alice = world.user("alice")
    assert submit(client, world, world.headers(alice), world.truth().age).status_code == 201
    changed = client.patch(
        f"/api/v1/phases/{world.phase_id}",
        json={"model_input_height": 48, "model_input_width": 48},
        headers=organizer_headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["model_input_size"] == [48, 48]
    log = client.get(
        f"/api/v1/competitions/{world.competition_id}/audit", headers=organizer_headers
    ).json()
    update = next(e for e in log if e["action"] == "phase.update")
    assert update["details"]["changes"] == {
        "model_input_height": {"from": None, "to": 48},
        "model_input_width": {"from": None, "to": 48},
    }


def test_the_split_is_fixed_once_the_phase_has_submissions(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    url = f"/api/v1/phases/{world.phase_id}"
    assert (
        client.patch(url, json={"public_fraction": 0.5}, headers=organizer_headers).status_code
        == 200
    )
    alice = world.user("alice")
    assert submit(client, world, world.headers(alice), world.truth().age).status_code == 201
    refused = client.patch(url, json={"public_fraction": 0.3}, headers=organizer_headers)
    assert refused.status_code == 409
    assert refused.json()["message"] == phases.SPLIT_FROZEN.format(phase="Task 1")


def test_only_organizers_change_phases(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    response = client.patch(
        f"/api/v1/phases/{world.phase_id}", json={"daily_limit": 100}, headers=world.headers(alice)
    )
    assert response.status_code == 403
    settings = client.get(f"/api/v1/phases/{world.phase_id}/settings", headers=world.headers(alice))
    assert settings.status_code == 403


def test_co_organizers_are_added_by_username_and_may_then_organize(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    assistant = world.user("assistant", join=False)
    url = f"/api/v1/competitions/{world.competition_id}/organizers"
    added = client.post(url, json={"username": "Assistant"}, headers=organizer_headers)
    assert added.status_code == 201, added.text
    assert [o["username"] for o in added.json()] == ["lecturer", "assistant"]
    patched = client.patch(
        f"/api/v1/phases/{world.phase_id}",
        json={"daily_limit": 9},
        headers=world.headers(assistant),
    )
    assert patched.status_code == 200
    again = client.post(url, json={"username": "assistant"}, headers=organizer_headers)
    assert again.status_code == 409
    assert again.json()["message"] == competitions.ALREADY_ORGANIZER.format(username="assistant")
    missing = client.post(url, json={"username": "nobody"}, headers=organizer_headers)
    assert missing.status_code == 404
    assert missing.json()["message"] == competitions.NO_SUCH_USER.format(username="nobody")
    removed = client.delete(f"{url}/assistant", headers=organizer_headers)
    assert [o["username"] for o in removed.json()] == ["lecturer"]
    last = client.delete(f"{url}/lecturer", headers=organizer_headers)
    assert last.status_code == 409
    assert last.json()["message"] == competitions.LAST_ORGANIZER.format(username="lecturer")


def test_a_participant_cannot_become_a_co_organizer(
    client: TestClient, world: World, organizer_headers: dict[str, str]
) -> None:
    world.user("alice")
    response = client.post(
        f"/api/v1/competitions/{world.competition_id}/organizers",
        json={"username": "alice"},
        headers=organizer_headers,
    )
    assert response.status_code == 409
    assert response.json()["message"] == competitions.PARTICIPANT_CANNOT_ORGANIZE.format(
        username="alice"
    )


def test_another_organizers_test_set_cannot_be_attached(client: TestClient, world: World) -> None:
    stranger = world.user("stranger", role=Role.ORGANIZER, join=False)
    competition = client.post(
        "/api/v1/competitions", json={"title": "Theirs"}, headers=world.headers(stranger)
    ).json()
    response = new_phase(client, world, world.headers(stranger), competition["id"])
    assert response.status_code == 403
    assert response.json()["message"] == testsets.TESTSET_NOT_AVAILABLE.format(id=world.testset_id)
