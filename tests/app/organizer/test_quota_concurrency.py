"""Daily limits hold under concurrency: simultaneous submissions from one participant against a
live server leave exactly as many accepted as the limit allows (SQLite WAL and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from app.models import Submission, SubmissionStatus
from tests.app.browser.conftest import LiveServer, live_server  # noqa: F401  (the fixture)
from tests.app.conftest import World, prediction_csv

ATTEMPTS = 20
DAILY_LIMIT = 5


def test_twenty_simultaneous_submissions_against_a_limit_of_five_leave_five(
    live_server: LiveServer,  # noqa: F811
) -> None:
    world: World = live_server.world
    world.update_phase(daily_limit=DAILY_LIMIT, total_limit=None)
    alice = world.user("alice")
    headers = world.headers(alice)
    content = prediction_csv(world.truth().ids, world.truth().age)
    start = threading.Barrier(ATTEMPTS)

    def attempt(index: int) -> int:
        with httpx.Client(base_url=live_server.url, timeout=120.0) as client:
            start.wait()
            response = client.post(
                f"/api/v1/phases/{world.phase_id}/submissions",
                files={"file": (f"p{index}.csv", content, "text/csv")},
                headers=headers,
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        statuses = list(pool.map(attempt, range(ATTEMPTS)))

    assert sorted(statuses) == [201] * DAILY_LIMIT + [429] * (ATTEMPTS - DAILY_LIMIT)
    with world.db.sessionmaker() as session:
        kept = session.scalar(
            select(func.count()).where(
                Submission.user_id == alice.id, Submission.status != SubmissionStatus.FAILED
            )
        )
    assert kept == DAILY_LIMIT
