"""The demo competition, modelled on the course: three phases on the synthetic test set."""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from app.config import Settings
from app.db import Database, utcnow
from app.jobs.execute import run_submission
from app.models import Competition, EntrySelection, Role, SubmissionStatus, TeamMode, User
from app.services import accounts, competitions, testsets
from app.services.submissions import Upload, create_submission
from scoring.inference.builders import build_red_mean_model
from scoring.synthetic import baseline_predictions, make_testset

BASELINES_UNFINISHED = "demo baseline submission(s) {ids} did not finish; see the log"
DEMO_TITLE = "Apparent age estimation: accuracy and bias"
DEMO_DESCRIPTION = """\
Estimate the **apparent age** of a face, and do it fairly: you are ranked on accuracy (MAE)
and on four bias scores (age, gender, ethnicity, expression), each the mean pairwise gap
between the MAEs of the groups. The leaderboard ranks every column and averages the ranks.

> This demo runs on a **synthetic** test set: abstract patterns, not faces. The red channel
> of each image carries its age signal.

Submit a prediction file (`id,age` CSV, or one number per line in the order of `ids.csv`)
or an ONNX model. Score your validation predictions offline with exactly the leaderboard's
code: `python -m scoring score --truth labels.csv --predictions predictions.csv`.
"""
DEMO_PHASES = (
    ("Task 1", "Reduce bias with data augmentation."),
    ("Task 2", "Reduce bias with a custom loss."),
    ("Optional", "Both together: augmentation and a custom loss."),
)
DEMO_TEAM_SIZE = 4
"""The demo is played in optional team mode, as the course's groups of up to four."""
BASELINE_METADATA = {"model": "red-channel-mean", "augmentation": "none", "loss": "none"}
"""The organizer's baseline carries metadata, so the compare table shows its columns."""


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role


DEMO_ACCOUNTS = (
    DemoAccount("admin", "fairboard-admin", Role.ADMIN),
    DemoAccount("lecturer", "fairboard-lecturer", Role.ORGANIZER),
    DemoAccount("alice", "fairboard-alice", Role.PARTICIPANT),
    DemoAccount("bob", "fairboard-bob", Role.PARTICIPANT),
    DemoAccount("carol", "fairboard-carol", Role.PARTICIPANT),
)


def demo_exists(db: Database) -> bool:
    with db.sessionmaker() as session:
        return bool(session.scalar(select(func.count()).select_from(Competition)))


def _prediction_file(ids: tuple[str, ...], values: np.ndarray) -> bytes:
    lines = ["id,age"] + [f"{item},{value:.4f}" for item, value in zip(ids, values, strict=True)]
    return ("\n".join(lines) + "\n").encode()


def seed_demo(db: Database, settings: Settings, *, n_items: int = 1978) -> list[DemoAccount]:
    """Create the demo competition, accounts and baseline entries; returns the accounts."""
    now = utcnow()
    with tempfile.TemporaryDirectory(prefix="fairboard-demo-") as tmp:
        source = make_testset(Path(tmp) / "synthetic", n=n_items, seed=0)
        with db.transaction() as session:
            users = {
                account.username: accounts.register(
                    session,
                    username=account.username,
                    password=account.password,
                    email=f"{account.username}@example.org",
                    role=account.role,
                )
                for account in DEMO_ACCOUNTS
            }
            testset = testsets.import_into_store(
                session,
                settings,
                source,
                name="Synthetic APPA-REAL-like test set (seed 0)",
                created_by=users["lecturer"],
                is_synthetic=True,
            )
            competition = competitions.insert_competition(
                session, users["lecturer"], title=DEMO_TITLE, description=DEMO_DESCRIPTION
            )
            competition.team_mode = TeamMode.OPTIONAL
            competition.max_team_size = DEMO_TEAM_SIZE
            phase_ids = []
            for index, (name, description) in enumerate(DEMO_PHASES):
                phase = competitions.add_phase(
                    session,
                    competition,
                    name=name,
                    description=description,
                    testset_id=testset.id,
                    opens_at=now - timedelta(days=1),
                    closes_at=now + timedelta(days=60),
                    daily_limit=5,
                    inputs_public=True,
                    submission_kinds=["predictions", "model"],
                    entry_selection=EntrySelection.LATEST if index < 2 else EntrySelection.BEST,
                )
                phase_ids.append(phase.id)
            for username in ("alice", "bob", "carol"):
                competitions.join(session, competition, users[username])
            testset_id = testset.id
        _submit_baselines(db, settings, phase_ids, testset_id)
    # The test-inputs downloads are built by the server's start-up (services.inputs), off the
    # seeding path.
    return list(DEMO_ACCOUNTS)


def _submit_baselines(
    db: Database, settings: Settings, phase_ids: list[int], testset_id: int
) -> None:
    """Three participants with different accuracy/fairness trade-offs, and the organizer's ONNX
    baseline model run on the hidden images, all scored for real."""
    with db.sessionmaker() as session:
        testset = testsets.get_testset(session, testset_id)
        truth = testsets.load_truth(settings, testset)
        images = np.load(testsets.images_path(settings, testset), mmap_mode="r")
    recovered = baseline_predictions(images)
    rng = np.random.default_rng(7)
    entries = {
        "alice": recovered,
        "bob": recovered + rng.normal(0.0, 4.0, len(recovered)),
        "carol": 0.5 * recovered + 0.5 * float(np.mean(truth.age)),
    }
    submitted: list[int] = []
    for phase_id in phase_ids:
        for username, values in entries.items():
            with db.transaction() as session:
                user = session.scalar(select(User).where(User.username == username))
                assert user is not None
                phase = competitions.get_phase(session, phase_id)
                submission = create_submission(
                    session,
                    settings,
                    phase=phase,
                    user=user,
                    upload=Upload(
                        "predictions.csv", io.BytesIO(_prediction_file(truth.ids, values))
                    ),
                    description=f"{username}'s demo baseline",
                    now=utcnow(),
                )
                submitted.append(submission.id)
    for phase_id in phase_ids:
        with db.transaction() as session:
            lecturer = session.scalar(select(User).where(User.username == "lecturer"))
            assert lecturer is not None
            model = create_submission(
                session,
                settings,
                phase=competitions.get_phase(session, phase_id),
                user=lecturer,
                upload=Upload("red-channel-baseline.onnx", io.BytesIO(build_red_mean_model())),
                description="ONNX red-channel model",
                now=utcnow(),
                as_baseline=True,
                metadata=BASELINE_METADATA,
            )
            submitted.append(model.id)
    outcomes = {sid: run_submission(db, settings, sid, worker="demo") for sid in submitted}
    failed = [sid for sid, outcome in outcomes.items() if outcome is not SubmissionStatus.FINISHED]
    if failed:
        raise RuntimeError(BASELINES_UNFINISHED.format(ids=failed))
