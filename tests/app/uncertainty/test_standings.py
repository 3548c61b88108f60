"""Rank intervals and position history: recomputed in the background after each change of
the leaderboard, one pending run per phase, never on a page view."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.jobs import execute, phase_jobs
from app.models import PhaseJob, PhaseRanking
from app.services import standings
from tests.app.conftest import World
from tests.app.test_api_leaderboard import board, submit


def noisy(world: World, sd: float, seed: int = 0) -> Any:
    truth = world.truth()
    return truth.age + np.random.default_rng(seed).normal(0.0, sd, len(truth))


def job(world: World) -> PhaseJob | None:
    with world.db.sessionmaker() as session:
        found = session.get(PhaseJob, world.phase_id)
        if found is not None:
            session.expunge(found)
        return found


def computed_at(world: World) -> Any:
    with world.db.sessionmaker() as session:
        return session.scalar(
            select(PhaseRanking.computed_at).where(PhaseRanking.phase_id == world.phase_id)
        )


def test_a_new_score_is_ranked_with_intervals_in_the_background_not_on_a_view(
    client: TestClient, world: World
) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    submit(client, world, alice, noisy(world, 3.0))
    world.settle()
    first = computed_at(world)
    assert first is not None
    requested = job(world).requested  # type: ignore[union-attr]
    for _ in range(3):
        assert board(client, world).status_code == 200
        assert client.get(f"/phases/{world.phase_id}/leaderboard").status_code == 200
    assert job(world).requested == requested  # type: ignore[union-attr]
    assert computed_at(world) == first
    submit(client, world, bob, noisy(world, 6.0, seed=1))
    assert job(world).requested == requested + 1  # type: ignore[union-attr]
    world.settle()
    assert computed_at(world) > first
    rows = board(client, world).json()
    assert [row["rank_interval"] for row in rows] == [[1, 1], [2, 2]]


def test_identical_entries_are_tied_and_a_clearly_worse_one_is_not(
    client: TestClient, world: World
) -> None:
    values = noisy(world, 2.0)
    for name in ("alice", "bob"):
        submit(client, world, world.user(name), values)
    submit(client, world, world.user("carol"), noisy(world, 30.0, seed=5))
    world.settle()
    rows = {row["participant"]: row for row in board(client, world).json()}
    assert rows["alice"]["tied_with_neighbour"] and rows["bob"]["tied_with_neighbour"]
    assert rows["alice"]["rank_interval"] == rows["bob"]["rank_interval"] == [1, 2]
    assert not rows["carol"]["tied_with_neighbour"]
    assert rows["carol"]["rank_interval"] == [3, 3]
    page = client.get(f"/phases/{world.phase_id}/leaderboard")
    assert page.status_code == 200
    tied = [line for line in page.text.splitlines() if 'class="badge tied"' in line]
    assert len(tied) == 3  # alice, bob, and the one-sentence explanation above the table
    assert "could swap places" in page.text
    assert page.text.count("positions 1–2") == 2 and "positions 3–3" in page.text
    assert 'id="rank-intervals-note"' in page.text and "Computed <time" in page.text


def test_the_page_says_computing_until_rank_intervals_are_stored(
    client: TestClient, world: World
) -> None:
    submit(client, world, world.user("alice"), noisy(world, 3.0))
    world.settle()
    with world.db.transaction() as session:
        session.query(PhaseRanking).delete()  # as before the first recomputation ends
    page = client.get(f"/phases/{world.phase_id}/leaderboard")
    assert "Rank intervals: computing…" in page.text
    assert board(client, world).json()[0]["rank_interval"] is None


def test_requests_coalesce_into_one_pending_run_per_phase(world: World) -> None:
    with world.db.transaction() as session:
        for _ in range(3):
            phase_jobs.request(session, world.phase_id, "x")
    pending = job(world)
    assert pending is not None and pending.requested - pending.done >= 3
    assert execute.run_pending_phase_jobs(world.db, world.settings) <= 1
    world.settle()
    assert execute.run_pending_phase_jobs(world.db, world.settings) == 0


def test_a_held_run_is_not_claimed_twice(world: World) -> None:
    world.settle()
    from app.db import utcnow

    with world.db.transaction() as session:
        phase_jobs.request(session, world.phase_id, "x")
        assert phase_jobs.claim(session, world.phase_id, "one", now=utcnow()) == "x"
        assert phase_jobs.claim(session, world.phase_id, "two", now=utcnow()) is None
        assert phase_jobs.finish(session, world.phase_id, "one")


def test_hiding_an_entry_asks_for_a_recomputation(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    submission_id = submit(client, world, alice, noisy(world, 3.0))["id"]
    world.settle()
    before = job(world).requested  # type: ignore[union-attr]
    hidden = client.post(
        f"/api/v1/submissions/{submission_id}/hide",
        json={"reason": "duplicate account"},
        headers=world.headers(world.organizer),
    )
    assert hidden.status_code == 200, hidden.text
    after = job(world)
    assert after is not None and after.requested == before + 1
    assert after.reason == standings.ENTRY_HIDDEN.format(label="alice")


def test_a_participant_is_told_why_their_position_changed(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    mine = submit(client, world, alice, noisy(world, 5.0))["id"]
    world.settle()
    submit(client, world, world.user("bob"), world.truth().age)
    world.settle()
    message = (
        "You moved from 1st to 2nd when entry bob was added: its column ranks shifted the average."
    )
    body = client.get(f"/api/v1/submissions/{mine}", headers=world.headers(alice)).json()
    assert body["rank_move"] == message
    for path in (
        f"/submissions/{mine}",
        f"/phases/{world.phase_id}/submissions",
        f"/phases/{world.phase_id}/leaderboard",
    ):
        page = client.get(path, headers=world.headers(alice))
        assert page.status_code == 200, path
        assert message in page.text, path
        assert 'href="/help/ranking"' in page.text, path
    assert "How the Ranking column is computed" in client.get("/help/ranking").text


def test_a_new_entry_of_ones_own_is_named_as_the_cause(client: TestClient, world: World) -> None:
    alice = world.user("alice")
    submit(client, world, alice, noisy(world, 5.0))
    submit(client, world, world.user("bob"), noisy(world, 3.0, seed=2))
    world.settle()
    better = submit(client, world, alice, world.truth().age)["id"]
    world.settle()
    body = client.get(f"/api/v1/submissions/{better}", headers=world.headers(alice)).json()
    assert body["rank_move"] == standings.OWN_ENTRY.format(before="2nd", after="1st", id=better)


def test_unreadable_stored_rank_intervals_never_break_a_view(
    client: TestClient, world: World
) -> None:
    submit(client, world, world.user("alice"), noisy(world, 3.0))
    world.settle()
    for stored in (
        {"1": "x"},
        {"1": {"rank_interval": [3, 1], "tied_with_neighbour": True}},
        {"x": {"rank_interval": [1, 1], "tied_with_neighbour": "yes"}},
        {"²": {"rank_interval": [1, 1], "tied_with_neighbour": False}},  # a digit int() refuses
        {},
    ):
        with world.db.transaction() as session:
            session.execute(update(PhaseRanking).values(entries=stored))
        assert board(client, world).json()[0]["rank_interval"] is None
        assert client.get(f"/phases/{world.phase_id}/leaderboard").status_code == 200


def test_ordinals_read_as_english() -> None:
    assert [standings.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
    ]
