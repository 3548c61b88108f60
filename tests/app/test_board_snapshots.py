"""Materialised leaderboards (issue 15): after every kind of change, driven through the real
routes, the served board equals one built afresh from the database, on both splits, from this
process's cache and from the stored snapshot alike."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.db import SQLITE_BUSY_TIMEOUT_MS
from app.models import LeaderboardSnapshot, Split
from app.routes.api.phases import LEADERBOARD_ROWS
from app.services import board_snapshots, competitions
from app.services.leaderboard import build_leaderboard
from tests.app.conftest import World, prediction_csv
from tests.app.teams.helpers import form_team, team_mode
from tests.app.teams.helpers import submit as team_submit

WAIT_SECONDS = 30.0


def assert_served_is_fresh(client: TestClient, world: World, step: str) -> None:
    """The API's rows, the cached board and the stored snapshot all equal a fresh build.

    Background recomputations are let finish first, so that nothing changes the board while
    it is compared (a board served during one is newer than its version, never older).
    """
    world.settle()
    organizer = world.headers(world.organizer)
    with world.db.sessionmaker() as session:
        public_fraction = competitions.get_phase(session, world.phase_id).public_fraction
    for split in [Split.PUBLIC] if public_fraction is None else list(Split):
        response = client.get(
            f"/api/v1/phases/{world.phase_id}/leaderboard",
            params={"split": split.value},
            headers=organizer,
        )
        with world.db.sessionmaker() as session:
            phase = competitions.get_phase(session, world.phase_id)
            fresh = build_leaderboard(session, phase, split=split)
            expected = LEADERBOARD_ROWS.dump_python(
                LEADERBOARD_ROWS.validate_python([row.to_dict() for row in fresh.rows]),
                mode="json",
            )
            assert response.json() == expected, f"{step}: served {split.value} rows are stale"
            cached = board_snapshots.materialised(session, phase, split=split)
            assert cached.board == fresh, f"{step}: cached {split.value} board is stale"
            board_snapshots._cache.clear()  # as another replica would: from the stored snapshot
            stored = board_snapshots.materialised(session, phase, split=split)
            assert stored.board == fresh, f"{step}: stored {split.value} board is stale"


def submit(client: TestClient, world: World, user: Any, offset: float) -> dict[str, Any]:
    truth = world.truth()
    response = client.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("p.csv", prediction_csv(truth.ids, truth.age + offset), "text/csv")},
        headers=world.headers(user),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def wait_finished(client: TestClient, world: World, submission_id: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    url = f"/api/v1/submissions/{submission_id}"
    while client.get(url, headers=world.headers(world.organizer)).json()["status"] != "finished":
        assert time.monotonic() < deadline, f"submission {submission_id} did not finish"
        time.sleep(0.05)


def test_the_served_board_equals_a_fresh_one_after_every_kind_of_change(
    client: TestClient, world: World
) -> None:
    org = world.headers(world.organizer)
    phase_url = f"/api/v1/phases/{world.phase_id}"
    split = client.patch(phase_url, json={"public_fraction": 0.5}, headers=org)
    assert split.status_code == 200, split.text
    assert_served_is_fresh(client, world, "empty board with a private split")

    alice, bob, carol, dave = (world.user(name) for name in ("alice", "bob", "carol", "dave"))
    first = submit(client, world, alice, 1.0)
    assert_served_is_fresh(client, world, "a scored submission")
    failed = client.post(
        f"{phase_url}/submissions",
        files={"file": ("p.csv", b"garbage", "text/csv")},
        headers=world.headers(bob),
    )
    assert failed.status_code == 422
    assert_served_is_fresh(client, world, "a failed submission (counted in Entries)")
    bobs = submit(client, world, bob, -2.0)
    assert_served_is_fresh(client, world, "a second participant")
    world.settle()
    assert_served_is_fresh(client, world, "rank intervals computed in the background")

    hidden = f"/api/v1/submissions/{first['id']}"
    assert client.post(f"{hidden}/hide", json={"reason": "leak"}, headers=org).status_code == 200
    assert_served_is_fresh(client, world, "hide")
    assert client.post(f"{hidden}/unhide", json={"reason": "ok"}, headers=org).status_code == 200
    assert_served_is_fresh(client, world, "unhide")

    people = f"/api/v1/competitions/{world.competition_id}/participants/bob"
    reason = {"reason": "shared accounts"}
    assert client.post(f"{people}/disqualify", json=reason, headers=org).status_code == 200
    assert_served_is_fresh(client, world, "disqualify")
    assert client.post(f"{people}/requalify", json=reason, headers=org).status_code == 200
    assert_served_is_fresh(client, world, "requalify")

    settings = {"entry_selection": "chosen", "tie_policy": "min"}
    assert client.patch(phase_url, json=settings, headers=org).status_code == 200
    assert_served_is_fresh(client, world, "phase settings")
    submit(client, world, alice, 0.5)
    assert_served_is_fresh(client, world, "a newer entry under 'chosen'")
    chosen = client.post(f"{hidden}/choose", headers=world.headers(alice))
    assert chosen.status_code == 200, chosen.text
    assert_served_is_fresh(client, world, "the chosen entry")

    truth = world.truth()
    baseline = client.post(
        f"{phase_url}/baselines",
        files={"file": ("mean.csv", prediction_csv(truth.ids, truth.age + 3.0), "text/csv")},
        data={"description": "predict the truth plus three"},
        headers=org,
    )
    assert baseline.status_code == 201, baseline.text
    assert_served_is_fresh(client, world, "a baseline")

    team_mode(world)
    team = form_team(client, world, carol, dave)
    assert team_submit(client, world, dave, offset=0.25).status_code == 201
    assert_served_is_fresh(client, world, "a team's entry")
    removed = client.post(f"/api/v1/teams/{team['id']}/members/carol/remove", headers=org)
    assert removed.status_code == 200, removed.text
    assert_served_is_fresh(client, world, "a member removed from a team")

    rerun = client.post(f"/api/v1/submissions/{bobs['id']}/rerun", headers=org)
    assert rerun.status_code == 202, rerun.text
    assert_served_is_fresh(client, world, "a re-run queued")
    wait_finished(client, world, bobs["id"])
    assert_served_is_fresh(client, world, "a re-run finished")

    same_testset = {"testset_id": world.testset_id}
    rescore = client.post(f"{phase_url}/rescore", json=same_testset, headers=org)
    assert rescore.status_code == 202, rescore.text
    for submission_id in (first["id"], bobs["id"]):
        wait_finished(client, world, submission_id)
    assert_served_is_fresh(client, world, "a re-score")

    assert client.post(f"{phase_url}/reveal", headers=org).status_code == 200
    world.settle()
    assert_served_is_fresh(client, world, "reveal and its recomputation")


def test_an_unreadable_stored_snapshot_is_rebuilt_not_served(
    client: TestClient, world: World
) -> None:
    submit(client, world, world.user("alice"), 1.0)
    assert_served_is_fresh(client, world, "a scored submission")
    with world.db.transaction() as session:
        for snapshot in session.query(LeaderboardSnapshot):
            snapshot.board = {"format": 1, "rows": "not rows"}
    board_snapshots._cache.clear()
    assert_served_is_fresh(client, world, "a corrupt snapshot")


@pytest.mark.parametrize("split", ["public", "private"])
def test_a_snapshot_round_trips_to_an_equal_board(
    client: TestClient, world: World, split: str
) -> None:
    client.patch(
        f"/api/v1/phases/{world.phase_id}",
        json={"public_fraction": 0.5},
        headers=world.headers(world.organizer),
    )
    for offset, name in ((1.0, "alice"), (-1.0, "bob")):
        submit(client, world, world.user(name), offset)
    world.settle()
    with world.db.sessionmaker() as session:
        phase = competitions.get_phase(session, world.phase_id)
        board = build_leaderboard(session, phase, split=Split(split))
    stored = board_snapshots.board_to_dict(board)
    assert board_snapshots.board_from_dict(world.phase_id, stored) == board


def test_a_view_whose_own_request_holds_the_sqlite_write_lock_does_not_wait_to_keep_its_board(
    world: World,
) -> None:
    if world.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock only")
    with world.db.sessionmaker() as session:
        phase = competitions.get_phase(session, world.phase_id)
        session.execute(text("UPDATE phases SET name = name WHERE id = :id"), {"id": phase.id})
        started = time.monotonic()

        served = board_snapshots.materialised(session, phase, split=Split.PUBLIC)

        assert time.monotonic() - started < 5.0  # not the 30 s busy timeout
        assert served.board.rows == []
        session.rollback()
    # The short wait stays with that one store: pooled connections wait as configured again.
    with world.db.engine.connect() as connection:
        waits = {connection.exec_driver_sql("PRAGMA busy_timeout").scalar() for _ in range(3)}
    assert waits == {SQLITE_BUSY_TIMEOUT_MS}


def test_views_arriving_while_a_version_is_built_wait_for_that_one_build(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rush reads the board after every new score: one build per version and process."""
    submit(client, world, world.user("alice"), 1.0)
    world.settle()
    board_snapshots._cache.clear()
    with world.db.transaction() as session:
        session.query(LeaderboardSnapshot).delete()
    builds: list[int] = []
    real_build = board_snapshots.build_leaderboard

    def slow_build(session: Any, phase: Any, *, split: Split) -> Any:
        builds.append(phase.id)
        time.sleep(0.3)  # long enough for every view below to arrive meanwhile
        return real_build(session, phase, split=split)

    monkeypatch.setattr(board_snapshots, "build_leaderboard", slow_build)
    boards: list[Any] = []

    def view() -> None:
        with world.db.sessionmaker() as session:
            phase = competitions.get_phase(session, world.phase_id)
            boards.append(board_snapshots.materialised(session, phase, split=Split.PUBLIC).board)

    threads = [threading.Thread(target=view) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert builds == [world.phase_id]
    assert len(boards) == 5 and all(board == boards[0] for board in boards)
    assert board_snapshots._building == {}
