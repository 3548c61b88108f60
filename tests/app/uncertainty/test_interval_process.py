"""The embedded runner computes bootstrap intervals in a lowest-priority child process (issue 15).

The web process serves requests; the leaderboard job's numpy work would take its cores and
GIL. The child is started once per process and reused; a dead one is replaced; the numbers
are the ones computed in place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.services import interval_process, intervals
from scoring.synthetic import make_labels
from scoring.uncertainty import interval_seed, rank_intervals, score_intervals
from tests.support.processes import die_unless_in


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(interval_process, "_isolated", True)
    yield


def test_without_isolation_intervals_are_computed_in_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(interval_process, "_isolated", False)
    assert interval_process.call(os.getpid) == os.getpid()


@pytest.mark.usefixtures("isolated")
def test_isolated_intervals_run_in_one_reused_child_at_the_lowest_priority() -> None:
    child = interval_process.call(os.getpid)
    assert child != os.getpid()
    assert interval_process.call(os.getpid) == child
    assert interval_process.call(os.nice, 0) == interval_process.CHILD_NICENESS


@pytest.mark.usefixtures("isolated")
def test_a_child_that_died_is_replaced_and_its_call_computed_in_place() -> None:
    before = interval_process.call(os.getpid)
    assert interval_process.call(die_unless_in, os.getpid()) == "computed in place"
    after = interval_process.call(os.getpid)
    assert after not in (before, os.getpid())


@pytest.mark.usefixtures("isolated")
def test_the_child_computes_the_same_score_and_rank_intervals_as_this_process() -> None:
    truth = make_labels(n=300, seed=2)
    guesses = truth.age + np.random.default_rng(3).normal(0.0, 4.0, (3, len(truth)))
    stored = intervals.compute(truth, guesses[0], submission_id=11)
    expected = score_intervals(truth, guesses[0], seed=interval_seed(11, truth.fingerprint()))
    assert stored["intervals"] == expected.as_json()
    labels = interval_process.Labels.of(truth)
    in_child = interval_process.call(rank_intervals, labels, guesses, keys=[0, 1, 2], seed=5)
    assert in_child == rank_intervals(truth, guesses, keys=[0, 1, 2], seed=5)


@pytest.mark.usefixtures("isolated")
def test_where_no_child_can_start_intervals_are_computed_in_place_from_then_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(interval_process, "_pool", None)
    monkeypatch.setattr(interval_process.ProcessPoolExecutor, "submit", refuse)
    assert interval_process.call(os.getpid) == os.getpid()
    assert interval_process._isolated is False


@pytest.mark.usefixtures("isolated")
def test_a_server_ends_its_child_when_it_stops_and_test_apps_leave_it_be(settings: Any) -> None:
    """Left running at exit, the child's queue was reported as leaked semaphores."""
    shared = create_app(settings)
    with TestClient(shared):
        child = interval_process.call(os.getpid)
    assert interval_process.call(os.getpid) == child  # a test app leaves the shared child

    served = create_app(settings)
    served.state.serving = True  # as app.main.serving marks it (its heap freeze left out here)
    with TestClient(served):
        assert interval_process.call(os.getpid) == child
    assert interval_process._pool is None
    assert interval_process.call(os.getpid) not in (child, os.getpid())  # a new one on demand
