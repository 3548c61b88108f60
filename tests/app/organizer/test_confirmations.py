"""Irreversible organizer actions ask first: without the confirmation nothing happens, and the
page that asks says what will happen; confirming runs the action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.routes.pages import confirmations
from app.routes.pages.confirmations import filled
from app.routes.pages.forms import Confirmation
from tests.app.conftest import World
from tests.app.organizer.conftest import log_in, submit
from tests.app.organizer.test_pages import HTML, post_form


@dataclass(frozen=True)
class Action:
    """One irreversible page action: where its form is, what it posts, how to see it ran."""

    page: str
    action: str
    fields: dict[str, str]
    confirmation: Confirmation
    happened: Callable[[TestClient, World], bool]


def _audit_actions(site: TestClient, world: World) -> list[str]:
    entries = site.get(
        f"/api/v1/competitions/{world.competition_id}/audit",
        headers=world.headers(world.organizer),
    ).json()
    return [entry["action"] for entry in entries]


def _logged(action: str) -> Callable[[TestClient, World], bool]:
    return lambda site, world: action in _audit_actions(site, world)


def actions(world: World, submission_id: int) -> dict[str, Action]:
    phase = f"/organize/phases/{world.phase_id}"
    competition = f"/organize/competitions/{world.competition_id}"
    return {
        "reveal": Action(
            phase, f"{phase}/reveal", {}, confirmations.REVEAL, _logged("phase.reveal")
        ),
        "disqualify": Action(
            competition,
            f"{competition}/participants/alice/disqualify",
            {"reason": "shared labels"},
            filled(confirmations.DISQUALIFY, username="alice"),
            _logged("participant.disqualify"),
        ),
        "hide": Action(
            f"{phase}/submissions",
            f"/organize/submissions/{submission_id}/hide",
            {"reason": "duplicate account"},
            filled(confirmations.HIDE, id=submission_id),
            _logged("submission.hide"),
        ),
        "withdraw kit": Action(
            phase,
            f"{phase}/files/starting_kit/delete",
            {},
            filled(confirmations.WITHDRAW_KIT, label="starting kit"),
            lambda site, world: site.get(f"/api/v1/phases/{world.phase_id}/files").json() == [],
        ),
        "remove co-organizer": Action(
            competition,
            f"{competition}/organizers/helper/remove",
            {},
            filled(confirmations.REMOVE_ORGANIZER, username="helper"),
            _logged("organizer.remove"),
        ),
        "re-score": Action(
            phase, f"{phase}/rescore", {}, confirmations.RESCORE, _logged("phase.rescore")
        ),
    }


@pytest.fixture
def scene(client: TestClient, world: World) -> tuple[TestClient, World, int]:
    """An organizer logged in; alice's submission, a co-organizer, a kit, a private split."""
    site = client
    alice = world.user("alice")
    world.user("helper", join=False)
    truth = world.truth()
    submission_id = submit(site, world, world.headers(alice), truth.age + 2.0).json()["id"]
    organizer = world.headers(world.organizer)
    site.post(
        f"/api/v1/competitions/{world.competition_id}/organizers",
        json={"username": "helper"},
        headers=organizer,
    )
    site.put(
        f"/api/v1/phases/{world.phase_id}/files/starting_kit",
        files={"file": ("kit.zip", b"PK\x05\x06" + b"\x00" * 18, "application/zip")},
        headers=organizer,
    )
    world.update_phase(public_fraction=0.5)
    log_in(site, "lecturer")
    return site, world, submission_id


NAMES = ["reveal", "disqualify", "hide", "withdraw kit", "remove co-organizer", "re-score"]


@pytest.mark.parametrize("name", NAMES)
def test_an_irreversible_action_without_confirmation_only_asks(
    scene: tuple[TestClient, World, int], name: str
) -> None:
    site, world, submission_id = scene
    action = actions(world, submission_id)[name]

    asked = post_form(site, action.page, action.action, **action.fields)

    assert asked.status_code == 200
    assert "data-confirm-page" in asked.text
    assert action.confirmation.consequences.replace("'", "&#39;") in asked.text
    assert 'name="confirmed" value="yes"' in asked.text
    assert not action.happened(site, world)


@pytest.mark.parametrize("name", NAMES)
def test_confirming_runs_the_action(scene: tuple[TestClient, World, int], name: str) -> None:
    site, world, submission_id = scene
    action = actions(world, submission_id)[name]

    done = post_form(site, action.page, action.action, confirmed="yes", **action.fields)

    assert done.status_code == 200, done.text[:300]
    assert action.happened(site, world)


def test_the_confirmation_page_keeps_what_was_typed(scene: Any) -> None:
    site, world, submission_id = scene
    action = actions(world, submission_id)["hide"]

    asked = post_form(site, action.page, action.action, **action.fields)

    assert 'name="reason" value="duplicate account"' in asked.text
    assert site.get(action.page, headers=HTML).status_code == 200
