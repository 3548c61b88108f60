"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import re

import numpy as np
from fastapi.testclient import TestClient

from tests.app.conftest import World, prediction_csv


def sample(text: str, name: str, default: float | None = None, **labels: str) -> float:
    """The value of one sample in Prometheus exposition text (labels in any order)."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    if default is not None:
        return default
    raise AssertionError(f"no sample {name}{labels} in the metrics")


def test_healthz_and_readyz_answer_when_the_database_and_data_dir_work(
    client: TestClient,
) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_metrics_count_submissions_by_state_and_time_what_this_process_scored(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    truth = world.truth()
    before = client.get("/metrics").text
    # A labelled series appears once observed; other tests in this process may have done so.
    scored_before = sample(before, "fairboard_scoring_seconds_count", 0.0, kind="predictions")
    for seed in range(2):
        values = truth.age + np.random.default_rng(seed).normal(0, 3, len(truth))
        response = client.post(
            f"/api/v1/phases/{world.phase_id}/submissions",
            files={"file": ("p.csv", prediction_csv(truth.ids, values), "text/csv")},
            headers=world.headers(alice),
        )
        assert response.status_code == 201, response.text
    rejected = client.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("p.csv", b"id,age\nnobody,3\n", "text/csv")},
        headers=world.headers(alice),
    )
    assert rejected.status_code == 422

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert sample(text, "fairboard_submissions", state="finished", kind="predictions") == 2
    assert sample(text, "fairboard_submissions", state="failed", kind="predictions") == 1
    assert sample(text, "fairboard_submissions", state="queued", kind="model") == 0
    assert sample(text, "fairboard_queue_depth", kind="predictions") == 0
    assert sample(text, "fairboard_oldest_queued_seconds", kind="model") == 0
    # Inline scoring ran in this process: three evaluations observed (histograms and counters
    # are process-wide, so compare with the count before).
    assert sample(text, "fairboard_scoring_seconds_count", kind="predictions") == scored_before + 3
