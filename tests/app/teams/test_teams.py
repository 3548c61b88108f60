"""Teams: forming one, the rules an organizer relies on, and the team as the competitor."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from app.models import Split, TeamMode
from app.services import teams
from tests.app.conftest import World
from tests.app.teams.helpers import (
    create_team,
    form_team,
    join,
    owls_who_submitted,
    submit,
    team_mode,
)


def test_creating_a_team_makes_the_creator_its_captain_and_returns_an_invite_code(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice = world.user("alice")
    response = create_team(client, world, alice, name="  The   Owls ")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "The Owls"
    assert body["members"] == ["alice"]
    assert body["captain"] == "alice"
    assert len(body["invite_code"]) >= 16
    assert body["frozen"] is False


def test_teams_cannot_be_formed_when_the_competition_is_not_played_in_teams(
    client: TestClient, world: World
) -> None:
    response = create_team(client, world, world.user("alice"))
    assert response.status_code == 409
    assert response.json()["message"] == teams.TEAMS_OFF


def test_a_team_name_is_unique_within_the_competition_and_not_empty(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    assert create_team(client, world, world.user("alice"), name="Owls").status_code == 201
    taken = create_team(client, world, world.user("bob"), name="Owls")
    assert taken.status_code == 409
    assert taken.json()["message"] == teams.TEAM_NAME_TAKEN.format(name="Owls")
    empty = create_team(client, world, world.user("carol"), name="   ")
    assert empty.status_code == 422
    assert empty.json()["message"] == teams.TEAM_NAME_REQUIRED


def test_only_participants_of_the_competition_form_teams(client: TestClient, world: World) -> None:
    team_mode(world)
    response = create_team(client, world, world.user("visitor", join=False))
    assert response.status_code == 403
    assert response.json()["message"] == teams.NOT_JOINED_TEAM


def test_joining_with_the_invite_code_adds_the_member(client: TestClient, world: World) -> None:
    team_mode(world)
    alice, bob = world.user("alice"), world.user("bob")
    code = create_team(client, world, alice).json()["invite_code"]
    response = join(client, world, bob, code)
    assert response.status_code == 200, response.text
    assert response.json()["members"] == ["alice", "bob"]
    assert response.json()["captain"] == "alice"


def test_a_wrong_invite_code_is_refused(client: TestClient, world: World) -> None:
    team_mode(world)
    response = join(client, world, world.user("bob"), "not-a-code")
    assert response.status_code == 404
    assert response.json()["message"] == teams.BAD_INVITE_CODE.format(code="not-a-code")


def test_a_participant_is_in_at_most_one_team_per_competition(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice, bob = world.user("alice"), world.user("bob")
    create_team(client, world, alice, name="Owls")
    code = create_team(client, world, bob, name="Larks").json()["invite_code"]
    response = join(client, world, alice, code)
    assert response.status_code == 409
    assert response.json()["message"] == teams.ALREADY_IN_TEAM.format(name="Owls")
    again = create_team(client, world, alice, name="Crows")
    assert again.json()["message"] == teams.ALREADY_IN_TEAM.format(name="Owls")


def test_a_full_team_takes_no_more_members(client: TestClient, world: World) -> None:
    team_mode(world, size=2)
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    code = create_team(client, world, alice).json()["invite_code"]
    assert join(client, world, bob, code).status_code == 200
    response = join(client, world, carol, code)
    assert response.status_code == 409
    assert response.json()["message"] == teams.TEAM_FULL.format(name="Owls", size=2)


def test_the_captaincy_passes_on_when_the_captain_leaves_and_the_last_member_ends_the_team(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice, bob = world.user("alice"), world.user("bob")
    team = form_team(client, world, alice, bob)
    left = client.post(f"/api/v1/teams/{team['id']}/leave", headers=world.headers(alice))
    assert left.status_code == 204, left.text
    after = client.get(f"/api/v1/teams/{team['id']}", headers=world.headers(bob)).json()
    assert after["members"] == ["bob"] and after["captain"] == "bob"
    client.post(f"/api/v1/teams/{team['id']}/leave", headers=world.headers(bob))
    gone = client.get(f"/api/v1/teams/{team['id']}", headers=world.headers(bob))
    assert gone.status_code == 404


def test_the_captain_removes_members_and_hands_over_the_captaincy(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    team = form_team(client, world, alice, bob, carol)
    url = f"/api/v1/teams/{team['id']}"
    refused = client.post(f"{url}/members/carol/remove", headers=world.headers(bob))
    assert refused.status_code == 403
    assert refused.json()["message"] == teams.NOT_CAPTAIN.format(name="Owls")
    removed = client.post(f"{url}/members/carol/remove", headers=world.headers(alice))
    assert removed.json()["members"] == ["alice", "bob"]
    handed = client.post(f"{url}/captain", json={"username": "bob"}, headers=world.headers(alice))
    assert handed.json()["captain"] == "bob"
    assert client.post(f"{url}/members/bob/remove", headers=world.headers(alice)).status_code == 403


def test_membership_is_frozen_once_the_team_has_submitted(client: TestClient, world: World) -> None:
    team_mode(world)
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    team = form_team(client, world, alice, bob)
    assert submit(client, world, bob).status_code == 201
    frozen = teams.TEAM_FROZEN.format(name="Owls", phase="Task 1")
    url = f"/api/v1/teams/{team['id']}"
    joined = join(client, world, carol, team["invite_code"])
    left = client.post(f"{url}/leave", headers=world.headers(bob))
    removed = client.post(f"{url}/members/bob/remove", headers=world.headers(alice))
    for response in (joined, left, removed):
        assert response.status_code == 409
        assert response.json()["message"] == frozen
    assert client.get(url, headers=world.headers(alice)).json()["frozen"] is True


def test_an_organizer_may_still_remove_a_member_of_a_team_that_submitted(
    client: TestClient, world: World
) -> None:
    team = owls_who_submitted(client, world)
    response = client.post(
        f"/api/v1/teams/{team['id']}/members/bob/remove", headers=world.headers(world.organizer)
    )
    assert response.status_code == 200, response.text
    assert response.json()["members"] == ["alice"]


def test_someone_who_submitted_alone_cannot_join_a_team_with_a_fresh_quota(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice, bob = world.user("alice"), world.user("bob")
    code = create_team(client, world, alice).json()["invite_code"]
    assert submit(client, world, bob).status_code == 201
    response = join(client, world, bob, code)
    assert response.status_code == 409
    assert response.json()["message"] == teams.SUBMITTED_ALONE


def test_in_required_mode_a_participant_without_a_team_cannot_submit(
    client: TestClient, world: World
) -> None:
    team_mode(world, TeamMode.REQUIRED)
    response = submit(client, world, world.user("alice"))
    assert response.status_code == 403
    assert response.json() == {"code": "team_required", "message": teams.TEAM_REQUIRED}


def test_a_team_is_seen_by_its_members_and_organizers_only(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    team = form_team(client, world, world.user("alice"))
    url = f"/api/v1/teams/{team['id']}"
    assert client.get(url, headers=world.headers(world.organizer)).status_code == 200
    outsider = client.get(url, headers=world.headers(world.user("mallory")))
    assert outsider.status_code == 404
    assert "invite_code" not in outsider.text


def test_a_members_submission_records_the_team_and_every_member_sees_it(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice, bob = world.user("alice"), world.user("bob")
    team = form_team(client, world, alice, bob)
    made = submit(client, world, alice).json()
    assert made["team"] == {"id": team["id"], "name": "Owls"}
    seen = client.get(f"/api/v1/submissions/{made['id']}", headers=world.headers(bob))
    assert seen.status_code == 200
    mine = client.get(
        f"/api/v1/phases/{world.phase_id}/submissions/mine", headers=world.headers(bob)
    )
    assert [s["id"] for s in mine.json()] == [made["id"]]
    outsider = world.user("mallory")
    hidden = client.get(f"/api/v1/submissions/{made['id']}", headers=world.headers(outsider))
    assert hidden.status_code == 404


def test_the_quota_is_counted_for_the_whole_team(client: TestClient, world: World) -> None:
    team_mode(world)
    world.update_phase(daily_limit=2)
    alice, bob = world.user("alice"), world.user("bob")
    form_team(client, world, alice, bob)
    assert submit(client, world, alice).status_code == 201
    assert submit(client, world, bob).status_code == 201
    assert submit(client, world, alice).status_code == 429
    competition = client.get(
        f"/api/v1/competitions/{world.competition_id}", headers=world.headers(bob)
    ).json()
    assert competition["phases"][0]["quota"]["used_today"] == 2


def test_the_leaderboard_has_one_row_per_team_named_after_it_with_its_members(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    form_team(client, world, alice, bob)
    submit(client, world, alice, offset=1.0)
    submit(client, world, bob, offset=2.0)
    submit(client, world, carol, offset=3.0)
    rows = client.get(f"/api/v1/phases/{world.phase_id}/leaderboard").json()
    assert [(r["participant"], r["members"], r["entries"]) for r in rows] == [
        ("Owls", ["alice", "bob"], 2),
        ("carol", None, 1),
    ]


def test_entry_selection_works_per_team_and_any_member_chooses(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    world.update_phase(entry_selection="chosen")
    alice, bob = world.user("alice"), world.user("bob")
    form_team(client, world, alice, bob)
    first = submit(client, world, alice, offset=1.0).json()
    submit(client, world, alice, offset=2.0)
    chosen = client.post(f"/api/v1/submissions/{first['id']}/choose", headers=world.headers(bob))
    assert chosen.status_code == 200, chosen.text
    rows = client.get(f"/api/v1/phases/{world.phase_id}/leaderboard").json()
    assert [(r["participant"], r["submission_id"]) for r in rows] == [("Owls", first["id"])]


def test_the_private_board_and_the_exports_show_the_team_as_with_individuals(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    world.update_phase(public_fraction=0.5, split_seed=3)
    alice, bob = world.user("alice"), world.user("bob")
    form_team(client, world, alice, bob)
    submit(client, world, alice)
    organizer = world.headers(world.organizer)
    private = client.get(
        f"/api/v1/phases/{world.phase_id}/leaderboard",
        params={"split": Split.PRIVATE.value},
        headers=organizer,
    ).json()
    assert [(r["participant"], r["members"]) for r in private] == [("Owls", ["alice", "bob"])]
    exported = client.get(f"/api/v1/phases/{world.phase_id}/exports/leaderboard.csv").text
    assert exported.splitlines()[1].split(",")[1] == "Owls"


def test_the_submissions_csv_names_the_team_of_each_submission_and_none_for_individuals(
    client: TestClient, world: World
) -> None:
    owls_who_submitted(client, world)
    alone = submit(client, world, world.user("carol"))
    assert alone.status_code == 201, alone.text
    exported = client.get(
        f"/api/v1/phases/{world.phase_id}/exports/submissions.csv",
        headers=world.headers(world.organizer),
    )
    assert exported.status_code == 200
    rows = csv.DictReader(io.StringIO(exported.text))
    assert [(row["participant"], row["team"]) for row in rows] == [("bob", "Owls"), ("carol", "")]


def test_team_events_are_in_the_audit_log(client: TestClient, world: World) -> None:
    team_mode(world)
    alice, bob = world.user("alice"), world.user("bob")
    team = form_team(client, world, alice, bob)
    client.post(f"/api/v1/teams/{team['id']}/leave", headers=world.headers(bob))
    log = client.get(
        f"/api/v1/competitions/{world.competition_id}/audit",
        headers=world.headers(world.organizer),
    ).json()
    assert [(e["action"], e["actor"], e["target"]) for e in reversed(log)][-3:] == [
        ("team.create", "alice", "team Owls"),
        ("team.join", "bob", "team Owls"),
        ("team.leave", "bob", "team Owls"),
    ]


def test_the_organizer_sets_the_team_mode_and_size(client: TestClient, world: World) -> None:
    organizer = world.headers(world.organizer)
    url = f"/api/v1/competitions/{world.competition_id}"
    response = client.patch(
        url, json={"team_mode": "required", "max_team_size": 3}, headers=organizer
    )
    assert response.status_code == 200, response.text
    assert (response.json()["team_mode"], response.json()["max_team_size"]) == ("required", 3)
    for bad in ({"team_mode": "sometimes"}, {"max_team_size": 0}, {"max_team_size": 51}):
        assert client.patch(url, json=bad, headers=organizer).status_code == 422
