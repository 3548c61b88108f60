"""The private split: no private-split score reaches a participant before the reveal, through any
route (API, exports, pages, error messages); after the reveal, or at closing, it does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.db import utcnow
from app.models import TestSetVersion
from app.services import leaderboard, phases
from app.services.testsets import split_items
from scoring.metrics import score
from tests.app.conftest import World
from tests.app.organizer.conftest import log_in, submit

PHASE_FRACTION = 0.5


def private_numbers(world: World, values: Any) -> tuple[set[str], set[str]]:
    """Every number a private-split score could be shown as, and those of the public split."""
    truth = world.truth()
    with world.db.sessionmaker() as session:
        testset = session.get(TestSetVersion, world.testset_id)
        assert testset is not None
        phase_seed = _phase_seed(world)
        parts = split_items(world.settings, testset, PHASE_FRACTION, phase_seed)
    public = score(truth.subset(parts.public_index), values[parts.public_index])
    private = score(truth.subset(parts.private_index), values[parts.private_index])

    def shown(report: Any) -> set[str]:
        numbers = [v for v in report.scores().values() if v is not None]
        numbers += [g.mae for a in report.attributes for g in a.groups if g.mae is not None]
        return {form for v in numbers for form in (repr(v), f"{v:.6f}", f"{v:.5f}")}

    public_forms = shown(public)
    return shown(private) - public_forms, public_forms


def _phase_seed(world: World) -> int:
    from app.models import Phase

    with world.db.sessionmaker() as session:
        phase = session.get(Phase, world.phase_id)
        assert phase is not None
        return phase.split_seed


def every_participant_route(
    client: TestClient, world: World, submission_id: int, headers: dict[str, str]
) -> dict[str, Any]:
    """Every route a participant could try, API and pages, keyed by a name for the messages."""
    phase, competition = world.phase_id, world.competition_id
    api = {
        "leaderboard": f"/api/v1/phases/{phase}/leaderboard",
        "leaderboard private": f"/api/v1/phases/{phase}/leaderboard?split=private",
        "leaderboard csv": f"/api/v1/phases/{phase}/leaderboard?format=csv",
        "leaderboard private csv": f"/api/v1/phases/{phase}/leaderboard?split=private&format=csv",
        "export csv": f"/api/v1/phases/{phase}/exports/leaderboard.csv",
        "export md": f"/api/v1/phases/{phase}/exports/leaderboard.md",
        "export tex": f"/api/v1/phases/{phase}/exports/leaderboard.tex",
        "export private csv": f"/api/v1/phases/{phase}/exports/leaderboard.csv?split=private",
        "export private md": f"/api/v1/phases/{phase}/exports/leaderboard.md?split=private",
        "export private tex": f"/api/v1/phases/{phase}/exports/leaderboard.tex?split=private",
        "export submissions": f"/api/v1/phases/{phase}/exports/submissions.csv",
        "submission": f"/api/v1/submissions/{submission_id}",
        "my submissions": f"/api/v1/phases/{phase}/submissions/mine",
        "moderation": f"/api/v1/phases/{phase}/submissions",
        "phase": f"/api/v1/phases/{phase}",
        "phase settings": f"/api/v1/phases/{phase}/settings",
        "rescores": f"/api/v1/phases/{phase}/rescores",
        "competition": f"/api/v1/competitions/{competition}",
        "competitions": "/api/v1/competitions",
        "audit": f"/api/v1/competitions/{competition}/audit",
        "participants": f"/api/v1/competitions/{competition}/participants",
    }
    responses = {name: client.get(url, headers=headers) for name, url in api.items()}
    responses["rerun"] = client.post(f"/api/v1/submissions/{submission_id}/rerun", headers=headers)
    responses["rescore"] = client.post(f"/api/v1/phases/{phase}/rescore", headers=headers)
    responses["reveal"] = client.post(f"/api/v1/phases/{phase}/reveal", headers=headers)
    return responses


def every_page(client: TestClient, world: World, submission_id: int) -> dict[str, Any]:
    html = {"accept": "text/html"}
    pages = {
        "page leaderboard": f"/phases/{world.phase_id}/leaderboard",
        "page private leaderboard": f"/phases/{world.phase_id}/leaderboard?split=private",
        "page submission": f"/submissions/{submission_id}",
        "page my submissions": f"/phases/{world.phase_id}/submissions",
        "page competition": f"/competitions/{world.competition_id}",
        "page organizer": f"/organize/phases/{world.phase_id}",
        "page moderation": f"/organize/phases/{world.phase_id}/submissions",
    }
    return {name: client.get(url, headers=html) for name, url in pages.items()}


@pytest.fixture
def split_world(world: World) -> World:
    world.update_phase(public_fraction=PHASE_FRACTION, split_seed=12345)
    return world


def test_no_private_score_reaches_a_participant_before_the_reveal(
    client: TestClient, split_world: World
) -> None:
    world = split_world
    alice = world.user("alice")
    headers = world.headers(alice)
    truth = world.truth()
    values = truth.age + np.random.default_rng(3).normal(0, 4.0, len(truth))
    created = submit(client, world, headers, values)
    assert created.status_code == 201, created.text
    submission_id = created.json()["id"]
    private_forms, public_forms = private_numbers(world, values)
    assert private_forms, "the private split must have scores of its own"
    assert created.json()["private_scores"] is None

    responses = {"submit": created}
    responses |= every_participant_route(client, world, submission_id, headers)
    responses |= {
        f"anonymous {n}": r
        for n, r in every_participant_route(client, world, submission_id, {}).items()
    }
    log_in(client, "alice")
    responses |= every_page(client, world, submission_id)
    client.cookies.clear()

    for name, response in responses.items():
        leaked = [form for form in private_forms if form in response.text]
        assert not leaked, f"{name} shows private-split scores {leaked}"
    assert responses["leaderboard private"].status_code == 403
    assert responses["leaderboard private"].json()["message"] == (
        leaderboard.PRIVATE_NOT_REVEALED.format(phase="Task 1")
    )
    for name in (
        "leaderboard private csv",
        "export private csv",
        "export private md",
        "export private tex",
        "page private leaderboard",
    ):
        assert responses[name].status_code == 403, name
    for name in (
        "export submissions",
        "moderation",
        "phase settings",
        "rescores",
        "audit",
        "participants",
        "rerun",
        "rescore",
        "reveal",
    ):
        assert responses[name].status_code == 403, name
    # The public split is shown: the test would prove nothing if nothing were shown.
    assert any(form in responses["leaderboard"].text for form in public_forms)
    assert any(form in responses["export md"].text for form in public_forms)
    assert responses["submission"].json()["split"] == "public"

    # The organizers see both splits all along.
    organizer_view = client.get(
        f"/api/v1/submissions/{submission_id}", headers=world.headers(world.organizer)
    ).json()
    assert organizer_view["private_scores"] is not None
    private_board = client.get(
        f"/api/v1/phases/{world.phase_id}/leaderboard?split=private",
        headers=world.headers(world.organizer),
    )
    assert any(form in private_board.text for form in private_forms)


def test_the_reveal_publishes_the_private_split(client: TestClient, split_world: World) -> None:
    world = split_world
    alice = world.user("alice")
    headers = world.headers(alice)
    truth = world.truth()
    values = truth.age + np.random.default_rng(4).normal(0, 3.0, len(truth))
    submission_id = submit(client, world, headers, values).json()["id"]
    private_forms, _ = private_numbers(world, values)

    revealed = client.post(
        f"/api/v1/phases/{world.phase_id}/reveal", headers=world.headers(world.organizer)
    )
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["private_revealed"] is True
    for url in (
        f"/api/v1/submissions/{submission_id}",
        f"/api/v1/phases/{world.phase_id}/submissions/mine",
        f"/api/v1/phases/{world.phase_id}/leaderboard?split=private",
        f"/api/v1/phases/{world.phase_id}/leaderboard?split=private&format=csv",
        f"/api/v1/phases/{world.phase_id}/exports/leaderboard.md?split=private",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert any(form in response.text for form in private_forms), url
    audit = client.get(
        f"/api/v1/competitions/{world.competition_id}/audit?action=phase.reveal",
        headers=world.headers(world.organizer),
    ).json()
    assert [e["actor"] for e in audit] == ["lecturer"]


def test_the_private_split_is_revealed_automatically_at_closing(
    client: TestClient, split_world: World
) -> None:
    world = split_world
    alice = world.user("alice")
    submit(client, world, world.headers(alice), world.truth().age + 1.0)
    url = f"/api/v1/phases/{world.phase_id}/leaderboard?split=private"
    assert client.get(url).status_code == 403
    world.update_phase(closes_at=utcnow() - timedelta(seconds=1))
    assert client.get(url).status_code == 200


def test_a_phase_without_a_private_split_cannot_be_revealed(
    client: TestClient, world: World
) -> None:
    response = client.post(
        f"/api/v1/phases/{world.phase_id}/reveal", headers=world.headers(world.organizer)
    )
    assert response.status_code == 409
    assert response.json()["message"] == phases.NO_PRIVATE_SPLIT.format(phase="Task 1")
