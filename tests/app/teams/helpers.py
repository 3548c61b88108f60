"""Shared steps of the team tests: a competition in team mode, teams formed through the API."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models import TeamMode, User
from tests.app.conftest import PASSWORD, World, prediction_csv


def team_mode(world: World, mode: TeamMode = TeamMode.OPTIONAL, size: int = 4) -> None:
    world.update_competition(team_mode=mode, max_team_size=size)


def create_team(client: TestClient, world: World, captain: User, name: str = "Owls") -> Any:
    return client.post(
        f"/api/v1/competitions/{world.competition_id}/teams",
        json={"name": name},
        headers=world.headers(captain),
    )


def join(client: TestClient, world: World, user: User, code: str) -> Any:
    return client.post(
        f"/api/v1/competitions/{world.competition_id}/teams/join",
        json={"invite_code": code},
        headers=world.headers(user),
    )


def form_team(client: TestClient, world: World, captain: User, *members: User) -> dict[str, Any]:
    created = create_team(client, world, captain)
    assert created.status_code == 201, created.text
    for member in members:
        joined = join(client, world, member, created.json()["invite_code"])
        assert joined.status_code == 200, joined.text
    team: dict[str, Any] = client.get(
        f"/api/v1/teams/{created.json()['id']}", headers=world.headers(captain)
    ).json()
    return team


def owls_who_submitted(client: TestClient, world: World) -> dict[str, Any]:
    """Team "Owls" of alice (captain) and bob, in optional team mode, after bob submitted."""
    team_mode(world)
    team = form_team(client, world, world.user("alice"), world.user("bob"))
    bob = submit(client, world, _user(world, "bob"))
    assert bob.status_code == 201, bob.text
    return team


def _user(world: World, username: str) -> User:
    with world.db.sessionmaker() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return user


def submit(
    client: TestClient,
    world: World,
    user: User,
    *,
    phase_id: int | None = None,
    offset: float = 0.0,
    **form: Any,
) -> Any:
    truth = world.truth()
    return client.post(
        f"/api/v1/phases/{phase_id or world.phase_id}/submissions",
        files={"file": ("p.csv", prediction_csv(truth.ids, truth.age + offset), "text/csv")},
        data=form,
        headers=world.headers(user),
    )


def log_in(client: TestClient, username: str) -> str:
    """Log the test client's browser session in; the CSRF token of its forms."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert found
    return found.group(1)
