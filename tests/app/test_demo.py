"""The demo competition that the README's serve command seeds on an empty database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db import Database
from app.models import Phase, Split, Submission, SubmissionKind, SubmissionStatus
from app.services import leaderboard
from app.services.demo import DEMO_ACCOUNTS, DEMO_PHASES, demo_exists, seed_demo


def test_demo_seeds_three_phases_with_scored_baselines_and_an_onnx_model(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A relative data directory, as `fairboard serve` uses by default (./var/data).
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url=database_url, data_dir=Path("var/data"), environment="test")
    db = Database(settings.database_url)
    assert not demo_exists(db)
    accounts = seed_demo(db, settings, n_items=40)
    assert demo_exists(db)
    assert [a.username for a in accounts] == [a.username for a in DEMO_ACCOUNTS]
    with db.sessionmaker() as session:
        phases = list(session.scalars(select(Phase).order_by(Phase.position)))
        assert [p.name for p in phases] == [name for name, _ in DEMO_PHASES]
        submissions = list(session.scalars(select(Submission)))
        assert {s.status for s in submissions} == {SubmissionStatus.FINISHED}
        models = [s for s in submissions if s.kind is SubmissionKind.MODEL]
        assert len(models) == len(phases)
        assert {m.execution_provider for m in models} == {"CPUExecutionProvider"}
        for phase in phases:
            assert phase.inputs_public and phase.accepts(SubmissionKind.MODEL)
            board = leaderboard.build_leaderboard(session, phase, split=Split.PUBLIC)
            labels = sorted(row.participant for row in board.rows)
            assert labels == ["Baseline: ONNX red-channel model", "alice", "bob", "carol"]
    assert (tmp_path / "var/data/testsets").is_dir()
    db.dispose()


def test_the_demo_is_played_in_optional_teams_of_four_with_a_baseline_carrying_metadata(
    database_url: str, tmp_path: Path
) -> None:
    from app.models import Competition, TeamMode
    from app.services.demo import BASELINE_METADATA

    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", environment="test")
    db = Database(settings.database_url)
    seed_demo(db, settings, n_items=40)
    with db.sessionmaker() as session:
        competition = session.scalars(select(Competition)).one()
        assert (competition.team_mode, competition.max_team_size) == (TeamMode.OPTIONAL, 4)
        baselines = session.scalars(select(Submission).where(Submission.is_baseline)).all()
        assert baselines and all(b.meta == BASELINE_METADATA for b in baselines)
    db.dispose()
