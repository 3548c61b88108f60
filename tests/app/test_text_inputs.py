"""Text a database cannot store is refused at the door: a NUL character in any field of a
request body is a 422 naming the field (PostgreSQL rejects NUL in text; found by fuzzing)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.schemas import NUL_IN_TEXT
from tests.app.conftest import World


def test_a_nul_character_in_a_body_field_is_422_naming_the_field(
    client: TestClient, world: World
) -> None:
    response = client.patch(
        f"/api/v1/competitions/{world.competition_id}",
        json={"title": "Age\x00estimation"},
        headers=world.headers(world.organizer),
    )
    assert response.status_code == 422
    assert response.json()["message"] == f"invalid request: title: Value error, {NUL_IN_TEXT}"


def test_a_nul_character_in_a_phase_setting_is_422_and_changes_nothing(
    client: TestClient, world: World
) -> None:
    response = client.patch(
        f"/api/v1/phases/{world.phase_id}",
        json={"name": "Task\x001"},
        headers=world.headers(world.organizer),
    )
    assert response.status_code == 422
    assert NUL_IN_TEXT in response.json()["message"]
    settings = client.get(
        f"/api/v1/phases/{world.phase_id}/settings", headers=world.headers(world.organizer)
    )
    assert "\x00" not in settings.json()["name"]
