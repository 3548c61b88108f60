"""Daily limits hold under concurrency: simultaneous submissions from one participant against a
live server leave exactly as many accepted as the limit allows (SQLite WAL and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.models import Submission, SubmissionStatus
from tests.app.browser.conftest import LiveServer, live_server  # noqa: F401  (the fixture)
from tests.app.conftest import World, prediction_csv
from tests.support.concurrency import all_in_flight, submit_simultaneously

ATTEMPTS = 20
DAILY_LIMIT = 5


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return all_in_flight(settings, ATTEMPTS)


def test_twenty_simultaneous_submissions_against_a_limit_of_five_leave_five(
    live_server: LiveServer,  # noqa: F811
) -> None:
    world: World = live_server.world
    world.update_phase(daily_limit=DAILY_LIMIT, total_limit=None)
    alice = world.user("alice")
    headers = world.headers(alice)
    content = prediction_csv(world.truth().ids, world.truth().age)
    statuses = submit_simultaneously(live_server.url, world.phase_id, content, [headers], ATTEMPTS)

    assert sorted(statuses) == [201] * DAILY_LIMIT + [429] * (ATTEMPTS - DAILY_LIMIT)
    with world.db.sessionmaker() as session:
        kept = session.scalar(
            select(func.count()).where(
                Submission.user_id == alice.id, Submission.status != SubmissionStatus.FAILED
            )
        )
    assert kept == DAILY_LIMIT
