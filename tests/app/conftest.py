"""Fixtures for the service: settings, the real app (with its job runner) and API clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import security
from app.config import Settings
from app.db import Database, utcnow
from app.jobs import execute
from app.main import create_app
from app.models import Competition, Phase, PhaseJob, Role, TestSetVersion, User
from app.services import accounts, competitions, testsets
from tests.support import seeding

PASSWORD = "correct-horse-battery"
N_ITEMS = 60
IMAGE_SIZE = (32, 32)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at production cost takes ~0.5 s a hash here; the tests need correctness only.

    The one such fixture: it covers every test under tests/app, the live server of the browser
    tests included (it runs in this process).
    """
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture(scope="session")
def synthetic_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scoring.synthetic import make_testset

    return make_testset(
        tmp_path_factory.mktemp("synthetic") / "set", n=N_ITEMS, seed=0, image_size=IMAGE_SIZE
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key",
        model_workers=1,
        scoring_workers=1,
        webhook_allow_private=True,
        webhook_retry_base_seconds=0.05,
        webhook_poll_seconds=0.05,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings) -> Any:
    return create_app(settings)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def site(client: TestClient) -> TestClient:
    """The test client, asking for HTML as a browser does and not following redirects."""
    client.headers["accept"] = "text/html,application/xhtml+xml"
    client.follow_redirects = False
    return client


@dataclass
class World:
    """A competition with one open phase on a small synthetic test set, and its people."""

    db: Database
    settings: Settings
    competition_id: int
    phase_id: int
    testset_id: int
    organizer: User
    admin: User

    def user(self, username: str, *, role: Role = Role.PARTICIPANT, join: bool = True) -> User:
        with self.db.transaction() as session:
            user = accounts.register(
                session,
                username=username,
                password=PASSWORD,
                email=f"{username}@example.org",
                role=role,
            )
            if join:
                competition = competitions.get_competition(session, self.competition_id)
                competitions.join(session, competition, user)
            return user

    def token(self, user: User) -> str:
        with self.db.transaction() as session:
            _, secret = accounts.create_token(session, user)
        return secret

    def headers(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def update_phase(self, **fields: Any) -> None:
        self._update(Phase, self.phase_id, fields)

    def update_competition(self, **fields: Any) -> None:
        self._update(Competition, self.competition_id, fields)

    def _update(self, model: type[Any], row_id: int, fields: dict[str, Any]) -> None:
        with self.db.transaction() as session:
            row = session.get(model, row_id)
            assert row is not None
            for key, value in fields.items():
                setattr(row, key, value)

    def add_phase(self, **fields: Any) -> int:
        with self.db.transaction() as session:
            competition = session.get(Competition, self.competition_id)
            assert competition is not None
            defaults = seeding.open_phase(name="Another phase", testset_id=self.testset_id)
            return competitions.add_phase(session, competition, **(defaults | fields)).id

    def settle(self, timeout: float = 30.0) -> None:
        """Run pending leaderboard recomputations here and wait for any the runner holds."""
        deadline = time.monotonic() + timeout
        while True:
            execute.run_pending_phase_jobs(self.db, self.settings)
            with self.db.sessionmaker() as session:
                busy = session.scalar(
                    select(func.count()).where(PhaseJob.requested > PhaseJob.done)
                )
            if not busy:
                return
            assert time.monotonic() < deadline, "leaderboard recomputations did not settle"
            time.sleep(0.05)

    def truth(self) -> Any:
        with self.db.sessionmaker() as session:
            testset = session.get(TestSetVersion, self.testset_id)
            assert testset is not None
            return testsets.load_truth(self.settings, testset)


def seed_competition(
    db: Database,
    settings: Settings,
    source: Path,
    *,
    title: str = "Age estimation",
    **phase_fields: Any,
) -> World:
    """An organizer, an admin, the test set imported, a competition with one open phase."""
    with db.transaction() as session:
        seeded = seeding.seed_competition(
            session,
            settings,
            source,
            password=PASSWORD,
            title=title,
            description="A *test* competition",
            image_size=IMAGE_SIZE,
            phases=[
                seeding.open_phase(
                    name="Task 1",
                    closes_at=utcnow() + timedelta(days=30),
                    daily_limit=5,
                    submission_kinds=["predictions", "model"],
                )
                | phase_fields
            ],
        )
        admin = accounts.register(
            session, username="root", password=PASSWORD, email="r@example.org", role=Role.ADMIN
        )
        organizer, testset, competition = seeded.organizer, seeded.testset, seeded.competition
        phase = seeded.phases[0]
        return World(db, settings, competition.id, phase.id, testset.id, organizer, admin)


@pytest.fixture
def world(db: Database, settings: Settings, synthetic_source: Path) -> World:
    return seed_competition(db, settings, synthetic_source)


def prediction_csv(ids: tuple[str, ...], values: Any) -> bytes:
    return (
        "id,age\n" + "".join(f"{i},{float(v)!r}\n" for i, v in zip(ids, values, strict=True))
    ).encode()


@pytest.fixture
def html_client(client: TestClient) -> TestClient:
    """The test client as a browser: asking for HTML, not following redirects."""
    client.headers["accept"] = "text/html,application/xhtml+xml"
    client.follow_redirects = False
    return client
