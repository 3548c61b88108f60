"""Team management on the competition's page and the team settings on the organizer's form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.models import Competition, TeamMode
from app.services import teams
from app.services.competitions import BAD_TEAM_SIZE
from tests.app.conftest import World
from tests.app.teams.helpers import form_team, log_in, owls_who_submitted, submit, team_mode


def _page(client: TestClient, world: World) -> str:
    return client.get(f"/competitions/{world.competition_id}").text


def test_a_participant_creates_a_team_on_the_competition_page_and_sees_its_invite_code(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    world.user("alice")
    csrf = log_in(client, "alice")
    assert 'id="create-team"' in _page(client, world)
    created = client.post(
        f"/competitions/{world.competition_id}/teams", data={"name": "Owls", "csrf_token": csrf}
    )
    assert created.status_code == 200
    assert "Team “Owls” created." in created.text
    assert re.search(r'<code class="invite-code">[\w-]{16,}</code>', created.text)


def test_a_wrong_invite_code_is_explained_on_the_competition_page(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    world.user("bob")
    csrf = log_in(client, "bob")
    response = client.post(
        f"/competitions/{world.competition_id}/teams/join",
        data={"invite_code": "nope", "csrf_token": csrf},
    )
    assert response.status_code == 200
    message = "Not joined: " + teams.BAD_INVITE_CODE.format(code="nope")
    assert message in response.text.replace("&#39;", "'")


def test_the_captain_hands_over_removes_and_a_member_leaves_through_the_page(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    team = form_team(client, world, alice, bob, carol)
    csrf = log_in(client, "alice")
    removed = client.post(f"/teams/{team['id']}/members/carol/remove", data={"csrf_token": csrf})
    assert "carol is no longer in the team." in removed.text
    handed = client.post(
        f"/teams/{team['id']}/captain", data={"username": "bob", "csrf_token": csrf}
    )
    assert '<dd class="captain">bob</dd>' in handed.text
    left = client.post(f"/teams/{team['id']}/leave", data={"csrf_token": csrf})
    assert "You left the team." in left.text
    assert 'id="create-team"' in left.text


def test_the_team_section_is_absent_when_teams_are_off(client: TestClient, world: World) -> None:
    world.user("alice")
    log_in(client, "alice")
    assert 'id="team"' not in _page(client, world)


def test_the_organizer_sets_the_team_mode_on_the_competition_form(
    client: TestClient, world: World
) -> None:
    csrf = log_in(client, "lecturer")
    saved = client.post(
        f"/organize/competitions/{world.competition_id}",
        data={
            "title": "Age estimation",
            "description": "",
            "team_mode": "required",
            "max_team_size": "3",
            "csrf_token": csrf,
        },
    )
    assert "Competition saved." in saved.text
    with world.db.sessionmaker() as session:
        competition = session.get(Competition, world.competition_id)
        assert competition is not None
        assert (competition.team_mode, competition.max_team_size) == (TeamMode.REQUIRED, 3)
    refused = client.post(
        f"/organize/competitions/{world.competition_id}",
        data={"title": "Age estimation", "max_team_size": "many", "csrf_token": csrf},
    )
    assert "Not saved: " + BAD_TEAM_SIZE.format(size="many") in refused.text


def test_every_member_finds_the_teams_row_marked_as_theirs_on_the_leaderboard(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice, bob = world.user("alice"), world.user("bob")
    form_team(client, world, alice, bob)
    submit(client, world, alice)
    log_in(client, "bob")
    page = client.get(f"/phases/{world.phase_id}/leaderboard").text
    row = re.search(r'<tr data-participant="Owls"[^>]*class="([^"]*)"', page, re.S)
    assert row and "mine" in row.group(1)
    assert 'title="Team members: alice, bob"' in page


def test_the_organizer_lists_the_teams_and_removes_a_member_of_a_frozen_team(
    client: TestClient, world: World
) -> None:
    team = owls_who_submitted(client, world)
    listed = client.get(
        f"/api/v1/competitions/{world.competition_id}/teams",
        headers=world.headers(world.organizer),
    ).json()
    assert [(t["name"], t["members"], t["frozen"]) for t in listed] == [
        ("Owls", ["alice", "bob"], True)
    ]
    csrf = log_in(client, "lecturer")
    page = client.get(f"/organize/competitions/{world.competition_id}").text
    assert '<tr data-team="Owls">' in page
    client.post(f"/teams/{team['id']}/members/bob/remove", data={"csrf_token": csrf})
    after = client.get(f"/organize/competitions/{world.competition_id}").text
    assert 'data-member="bob"' not in after
