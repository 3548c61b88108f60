"""The re-score report leads with its summary and lists only what changed unless asked."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.app.conftest import World
from tests.app.organizer.conftest import log_in, submit
from tests.app.organizer.test_pages import HTML


def rescored(client: TestClient, world: World) -> int:
    """Re-score the phase on its own test set and wait until every re-run is done."""
    organizer = world.headers(world.organizer)
    run = client.post(f"/api/v1/phases/{world.phase_id}/rescore", headers=organizer).json()
    deadline = time.monotonic() + 60
    while not client.get(f"/api/v1/rescores/{run['id']}", headers=organizer).json()["complete"]:
        assert time.monotonic() < deadline, "the re-runs did not finish"
        time.sleep(0.1)
    return int(run["id"])


def test_a_rescore_that_changed_nothing_says_so_and_lists_nobody(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    submission_id = submit(client, world, world.headers(alice), world.truth().age + 2.0).json()[
        "id"
    ]
    rescore_id = rescored(client, world)
    log_in(client, "lecturer")

    changed_only = client.get(f"/organize/rescores/{rescore_id}", headers=HTML).text
    everything = client.get(f"/organize/rescores/{rescore_id}?show=all", headers=HTML).text

    assert "data-nothing-changed" in changed_only
    assert f'data-submission="{submission_id}"' not in changed_only
    assert changed_only.index('id="rescore-summary"') < changed_only.index("data-nothing-changed")
    assert f'data-submission="{submission_id}"' in everything
    assert "MAE" in everything and ">mae before" not in everything
