"""List routes page with ``limit``/``offset`` (bodies stay JSON lists; ``X-Total-Count`` and
``Link: rel="next"`` describe the rest), and submission routes carry the caller's quota."""

from __future__ import annotations

from datetime import datetime

import httpx
from fastapi.testclient import TestClient

from tests.app.conftest import World, prediction_csv


def submit(
    client: TestClient, world: World, headers: dict[str, str], shift: float
) -> httpx.Response:
    truth = world.truth()
    return client.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("p.csv", prediction_csv(truth.ids, truth.age + shift))},
        headers=headers,
    )


def test_a_list_is_whole_without_limit_and_paged_with_it(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("alice"))
    made = [submit(client, world, headers, shift).json()["id"] for shift in (1.0, 2.0, 3.0)]
    path = f"/api/v1/phases/{world.phase_id}/submissions/mine"
    whole = client.get(path, headers=headers)
    assert [s["id"] for s in whole.json()] == made[::-1]
    assert whole.headers["X-Total-Count"] == "3"
    assert "Link" not in whole.headers
    first = client.get(path, params={"limit": 2}, headers=headers)
    assert [s["id"] for s in first.json()] == made[:0:-1]
    assert first.headers["X-Total-Count"] == "3"
    following = first.links["next"]["url"]
    assert "offset=2" in following and "limit=2" in following
    last = client.get(following, headers=headers)
    assert [s["id"] for s in last.json()] == made[:1]
    assert "Link" not in last.headers


def test_the_leaderboard_stays_a_json_list_when_paged(client: TestClient, world: World) -> None:
    for name, shift in (("alice", 1.0), ("bob", 2.0), ("carol", 3.0)):
        submit(client, world, world.headers(world.user(name)), shift)
    path = f"/api/v1/phases/{world.phase_id}/leaderboard"
    whole = client.get(path).json()
    page = client.get(path, params={"limit": 1, "offset": 1})
    assert page.json() == whole[1:2]
    assert page.headers["X-Total-Count"] == "3"
    assert client.get(page.links["next"]["url"]).json() == whole[2:]
    assert page.headers["X-Fairboard-Split"] == "public"


def test_competitions_tokens_and_webhooks_page_alike(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("alice"))
    for path in ("/api/v1/competitions", "/api/v1/auth/tokens", "/api/v1/webhooks"):
        response = client.get(path, params={"limit": 1}, headers=headers)
        assert response.status_code == 200, path
        assert int(response.headers["X-Total-Count"]) >= len(response.json())


def test_a_limit_out_of_range_is_a_422_naming_it(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/competitions", params={"limit": 0})
    assert response.status_code == 422
    assert response.json()["message"].startswith("invalid request: query.limit:")


def test_submission_routes_carry_the_quota(client: TestClient, world: World) -> None:
    world.update_phase(daily_limit=2)
    headers = world.headers(world.user("alice"))
    made = submit(client, world, headers, 1.0)
    assert made.headers["X-Quota-Remaining"] == "1"
    reset = datetime.fromisoformat(made.headers["X-Quota-Reset"])
    assert reset.tzinfo is not None and (reset.hour, reset.minute) == (0, 0)
    shown = client.get(f"/api/v1/submissions/{made.json()['id']}", headers=headers)
    assert shown.headers["X-Quota-Remaining"] == "1"
    submit(client, world, headers, 2.0)
    refused = submit(client, world, headers, 3.0)
    assert refused.status_code == 429
    assert refused.headers["X-Quota-Remaining"] == "0"
    assert refused.headers["X-Quota-Reset"] == made.headers["X-Quota-Reset"]


def test_an_unlimited_phase_sends_only_the_reset(client: TestClient, world: World) -> None:
    world.update_phase(daily_limit=None, total_limit=None)
    made = submit(client, world, world.headers(world.user("alice")), 1.0)
    assert "X-Quota-Remaining" not in made.headers
    assert "X-Quota-Reset" in made.headers
