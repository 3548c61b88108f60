"""The first read of a leaderboard after a new score (issue 15, goal 1's last step), in process,
against a read of the same board unchanged, in one run.

The script seeds a phase with one participant and ``--submissions`` scored submissions (the
shape of bench_service.py's live phase), then times, round after round: raising the board's
version and reading the board (the read rebuilds it and stores its snapshot), and reading it
again unchanged (served from this process's cache). It also times ``build_leaderboard`` alone.
Medians of the rounds; the rebuild's ratio to the unchanged read is printed with them.

Run: .venv/bin/python bench/bench_board_rebuild.py [--rounds 300] [--submissions 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db import Database, utcnow  # noqa: E402
from app.jobs import board_versions  # noqa: E402
from app.models import (  # noqa: E402
    Split,
    Submission,
    SubmissionKind,
    SubmissionScore,
    SubmissionStatus,
)
from app.services import board_snapshots, competitions, leaderboard  # noqa: E402
from scoring.groups import SCORE_NAMES  # noqa: E402
from scoring.synthetic import make_testset  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from bench_leaderboard import seed  # noqa: E402


def add_submissions(db: Database, phase_id: int, count: int) -> None:
    """``count`` more scored submissions by the phase's one participant."""
    with db.transaction() as session:
        user_id, report = session.execute(
            select(Submission.user_id, SubmissionScore.report)
            .join(SubmissionScore, SubmissionScore.submission_id == Submission.id)
            .where(Submission.phase_id == phase_id, SubmissionScore.split == Split.PUBLIC)
        ).one()[:2]
        now = utcnow()
        for index in range(count):
            submission_id = session.execute(
                insert(Submission)
                .values(
                    phase_id=phase_id,
                    user_id=user_id,
                    kind=SubmissionKind.PREDICTIONS,
                    status=SubmissionStatus.FINISHED,
                    description="",
                    filename="p.csv",
                    created_at=now - timedelta(seconds=index + 1),
                    size_bytes=1,
                    sha256="",
                )
                .returning(Submission.id)
            ).scalar_one()
            session.execute(
                insert(SubmissionScore),
                [
                    {
                        "submission_id": submission_id,
                        "split": split,
                        **dict.fromkeys(SCORE_NAMES, float(index + 2)),
                        "report": report,
                        "created_at": now,
                    }
                    for split in Split
                ],
            )
        board_versions.bump(session, phase_id)


def median_ms(action: Callable[[], None], rounds: int) -> float:
    for _ in range(20):
        action()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--submissions", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fairboard-bench-rebuild-") as tmp:
        root = Path(tmp)
        source = make_testset(root / "source", n=200, seed=0, image_size=(16, 16))
        settings = Settings(
            database_url=f"sqlite:///{root}/bench.db", data_dir=root / "data", secret_key="bench"
        )
        phase_id = seed(settings, source, 1)
        db = Database(settings.database_url)
        add_submissions(db, phase_id, args.submissions - 1)

        def read() -> None:
            with db.sessionmaker() as session:
                phase = competitions.get_phase(session, phase_id)
                board_snapshots.materialised(session, phase, split=Split.PUBLIC)
                session.commit()

        def changed_then_read() -> None:
            with db.transaction() as session:
                board_versions.bump(session, phase_id)
            read()

        def build() -> None:
            with db.sessionmaker() as session:
                phase = competitions.get_phase(session, phase_id)
                leaderboard.build_leaderboard(session, phase, split=Split.PUBLIC)

        def bump() -> None:
            with db.transaction() as session:
                board_versions.bump(session, phase_id)

        figures = {
            "raise the version": median_ms(bump, args.rounds),
            "raise + first read (rebuild)": median_ms(changed_then_read, args.rounds),
            "read, unchanged": median_ms(read, args.rounds),
            "build_leaderboard alone": median_ms(build, args.rounds),
        }
        db.dispose()
    print()
    print(f"One participant, {args.submissions} submissions, {args.rounds} rounds, medians")
    for label, ms in figures.items():
        print(f"{label:<32}{ms:>8.2f} ms")
    rebuild = figures["raise + first read (rebuild)"] - figures["raise the version"]
    print(
        f"first read after a change: {rebuild:.2f} ms, "
        f"{rebuild / figures['read, unchanged']:.1f}x an unchanged read"
    )


if __name__ == "__main__":
    main()
