"""A team's quota holds under concurrency: its members submitting at the same moment against a
live server leave exactly as many accepted as the team's limit (SQLite WAL and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.models import Submission, SubmissionStatus, TeamMode
from tests.app.browser.conftest import LiveServer, live_server  # noqa: F401  (the fixture)
from tests.app.conftest import World, prediction_csv
from tests.support.concurrency import all_in_flight, submit_simultaneously

MEMBERS = 4
ATTEMPTS_EACH = 5
DAILY_LIMIT = 5


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return all_in_flight(settings, ATTEMPTS_EACH)


def test_four_members_submitting_twenty_times_at_once_against_a_limit_of_five_leave_five(
    live_server: LiveServer,  # noqa: F811
) -> None:
    world: World = live_server.world
    world.update_competition(team_mode=TeamMode.REQUIRED, max_team_size=MEMBERS)
    world.update_phase(daily_limit=DAILY_LIMIT, total_limit=None)
    members = [world.user(f"member{n}") for n in range(MEMBERS)]
    headers = [world.headers(member) for member in members]
    with live_server.api() as api:
        team = api.post(
            f"/api/v1/competitions/{world.competition_id}/teams",
            json={"name": "Swarm"},
            headers=headers[0],
        ).json()
        for header in headers[1:]:
            joined = api.post(
                f"/api/v1/competitions/{world.competition_id}/teams/join",
                json={"invite_code": team["invite_code"]},
                headers=header,
            )
            assert joined.status_code == 200, joined.text
    content = prediction_csv(world.truth().ids, world.truth().age)
    attempts = MEMBERS * ATTEMPTS_EACH
    statuses = submit_simultaneously(live_server.url, world.phase_id, content, headers, attempts)

    assert sorted(statuses) == [201] * DAILY_LIMIT + [429] * (attempts - DAILY_LIMIT)
    with world.db.sessionmaker() as session:
        kept = session.scalar(
            select(func.count()).where(
                Submission.team_id == team["id"], Submission.status != SubmissionStatus.FAILED
            )
        )
    assert kept == DAILY_LIMIT
