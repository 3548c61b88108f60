"""Leaderboard recomputations in the scale-out mode: the Celery workers run them, not the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.db import Database
from tests.app.conftest import prediction_csv
from tests.scaleout.cluster import Cluster, wait_for
from tests.scaleout.conftest import seed_competition

pytestmark = pytest.mark.scaleout


def test_a_cpu_worker_computes_score_and_rank_intervals_after_a_new_score(
    cluster: Cluster, shared_settings: Settings, scaleout_source: Path
) -> None:
    db = Database(shared_settings.database_url)
    world = seed_competition(db, shared_settings, scaleout_source)
    cluster.env["FAIRBOARD_INLINE_SCORING_MAX_BYTES"] = "0"
    base_url = cluster.start_api()
    cluster.start_worker("cpu-worker", queues="cpu", concurrency=1)
    cluster.wait_ready("cpu-worker")
    truth = world.truth()
    with httpx.Client(base_url=base_url, timeout=60) as client:
        ids = []
        for offset, name in enumerate(("alice", "bob")):
            response = client.post(
                f"/api/v1/phases/{world.phase_id}/submissions",
                files={"file": ("p.csv", prediction_csv(truth.ids, truth.age + 3 * offset))},
                headers=world.headers(world.user(name)),
            )
            assert response.status_code == 201, response.text
            ids.append(int(response.json()["id"]))

        def board() -> list[Any]:
            url = f"/api/v1/phases/{world.phase_id}/leaderboard"
            return list(client.get(url, headers=world.headers(world.organizer)).json())

        def intervals_of(submission_id: int) -> Any:
            url = f"/api/v1/submissions/{submission_id}"
            return client.get(url, headers=world.headers(world.organizer)).json()["intervals"]

        wait_for(
            lambda: len(rows := board()) == 2 and all(r["rank_interval"] for r in rows),
            timeout=120,
            what="the worker to compute rank intervals",
        )
        assert [row["rank_interval"] for row in board()] == [[1, 1], [2, 2]]
        assert all(intervals_of(submission_id) for submission_id in ids)
