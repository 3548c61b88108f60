"""Phase e-mails in the scale-out mode: every Celery worker ticks, and each mail goes out once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.db import Database, utcnow
from app.mailer import read_outbox
from app.models import PhaseNotice, User
from app.phase_notifications import PHASE_CLOSING_SOON, written_out
from tests.scaleout.cluster import Cluster, wait_for
from tests.scaleout.conftest import seed_competition

pytestmark = pytest.mark.scaleout


def test_two_workers_tick_at_once_and_each_participant_gets_one_closing_soon_mail(
    cluster: Cluster, shared_settings: Settings, scaleout_source: Path
) -> None:
    db = Database(shared_settings.database_url)
    closes = utcnow() + timedelta(hours=2)
    world = seed_competition(
        db,
        shared_settings,
        scaleout_source,
        opens_at=utcnow() - timedelta(days=2),
        closes_at=closes,
    )
    people = [world.user(f"user{i}") for i in range(3)]
    with db.transaction() as session:
        session.execute(
            update(User).where(User.id.in_([u.id for u in people])).values(notify_phases=True)
        )

    # Each worker's sweeper ticks as soon as the worker is ready: two ticks at the same time.
    cluster.start_worker("worker-a", queues="cpu", concurrency=1)
    cluster.start_worker("worker-b", queues="cpu", concurrency=1)
    cluster.wait_ready("worker-a", "worker-b")
    wait_for(lambda: len(read_outbox(shared_settings)) >= 3, timeout=60, what="three mails")
    cluster.stop()  # a warm shutdown lets a tick in flight finish

    subject = PHASE_CLOSING_SOON.format(
        competition="Age estimation at scale", phase="Task 1", closes=written_out(closes)
    )
    assert sorted((mail.to, mail.subject) for mail in read_outbox(shared_settings)) == [
        (f"user{i}@example.org", subject) for i in range(3)
    ]
    with db.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(PhaseNotice)) == 3
    db.dispose()
