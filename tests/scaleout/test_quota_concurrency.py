"""Quotas under concurrent writers: the participant's row lock serialises the check and insert."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.db import Database
from app.models import Submission, SubmissionStatus
from tests.app.conftest import prediction_csv
from tests.scaleout.cluster import Cluster
from tests.scaleout.conftest import seed_competition

pytestmark = pytest.mark.scaleout

SIMULTANEOUS = 50
DAILY_LIMIT = 5


def test_fifty_simultaneous_submissions_against_a_daily_limit_of_five_accept_exactly_five(
    cluster: Cluster, shared_settings: Settings, scaleout_source: Path
) -> None:
    db = Database(shared_settings.database_url)
    world = seed_competition(db, shared_settings, scaleout_source, daily_limit=DAILY_LIMIT)
    # Every attempt in flight at once, past a caller's share of the upload places (app.admission).
    cluster.env["FAIRBOARD_MAX_CONCURRENT_SUBMISSIONS_PER_USER"] = str(SIMULTANEOUS)
    # Two API processes on one PostgreSQL database: the lock has to hold across processes.
    apis = [cluster.start_api("api-1"), cluster.start_api("api-2")]
    alice = world.user("alice")
    tokens = [world.token(alice) for _ in range(SIMULTANEOUS)]
    truth = world.truth()
    files = [
        prediction_csv(truth.ids, truth.age + np.random.default_rng(i).normal(0, 5, len(truth)))
        for i in range(SIMULTANEOUS)
    ]

    def submit(index: int) -> int:
        with httpx.Client(base_url=apis[index % 2], timeout=120) as client:
            response = client.post(
                f"/api/v1/phases/{world.phase_id}/submissions",
                files={"file": (f"predictions-{index}.csv", files[index], "text/csv")},
                headers={"Authorization": f"Bearer {tokens[index]}"},
            )
        return response.status_code

    with ThreadPoolExecutor(SIMULTANEOUS) as pool:
        codes = list(pool.map(submit, range(SIMULTANEOUS)))

    assert sorted(codes) == [201] * DAILY_LIMIT + [429] * (SIMULTANEOUS - DAILY_LIMIT)
    with db.sessionmaker() as session:
        stored = session.scalar(
            select(func.count()).where(
                Submission.user_id == alice.id, Submission.status != SubmissionStatus.FAILED
            )
        )
    assert stored == DAILY_LIMIT
    db.dispose()
