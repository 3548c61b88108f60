"""Seeding a database for tests and benchmarks: an organizer, a test set imported from a
folder, a competition with its phases. Shared by ``tests/app/conftest.py`` and ``bench/``
(which puts the repository root on ``sys.path``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.models import Competition, Phase, Role, TestSetVersion, User
from app.services import accounts, competitions, testsets


@dataclass(frozen=True)
class Seeded:
    organizer: User
    testset: TestSetVersion
    competition: Competition
    phases: tuple[Phase, ...]


def open_phase(**fields: Any) -> dict[str, Any]:
    """Settings of a phase that opened yesterday, with ``fields`` on top."""
    return {"opens_at": utcnow() - timedelta(days=1)} | fields


def seed_competition(
    session: Session,
    settings: Settings,
    source: Path,
    *,
    password: str,
    title: str,
    phases: Sequence[Mapping[str, Any]],
    description: str = "",
    testset_name: str = "synthetic",
    image_size: tuple[int, int] = (224, 224),
) -> Seeded:
    """The organizer "lecturer", the synthetic test set at ``source``, and a competition whose
    phases (each given by its settings) use that test set unless they name another."""
    organizer = accounts.register(
        session, username="lecturer", password=password, email="l@example.org", role=Role.ORGANIZER
    )
    testset = testsets.import_into_store(
        session,
        settings,
        source,
        name=testset_name,
        created_by=organizer,
        image_size=image_size,
        is_synthetic=True,
    )
    competition = competitions.insert_competition(
        session, organizer, title=title, description=description
    )
    added = tuple(
        competitions.add_phase(session, competition, **({"testset_id": testset.id} | dict(fields)))
        for fields in phases
    )
    return Seeded(organizer, testset, competition, added)
