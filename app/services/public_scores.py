"""What the public leaderboard reveals under a phase's public-score policy (issue 13).

``none`` shows exact public scores; ``ladder`` reveals a participant's new public best only
when it beats the previous one by more than ``ladder_threshold`` (``scoring.ladder``);
``rounding`` shows public scores rounded to ``public_decimals``. The private leaderboard and
organizers' views always show exact scores.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from app.models import Phase, Split, Submission, SubmissionScore, SubmissionStatus
from app.services.stored_scores import read_scores
from scoring.groups import SCORE_NAMES
from scoring.ladder import PublicScorePolicy

__all__ = ["PublicScorePolicy", "policy_of", "revealed"]

Scores = dict[str, float | None]


def policy_of(phase: Phase) -> PublicScorePolicy | None:
    """The phase's public-score policy, or None when public scores are shown exactly.

    Without a private split the public leaderboard is the final one: no policy applies.
    """
    if phase.public_fraction is None:
        return None
    if phase.public_policy == "ladder":
        return PublicScorePolicy(threshold=phase.ladder_threshold, decimals=phase.public_decimals)
    if phase.public_policy == "rounding" and phase.public_decimals is not None:
        return PublicScorePolicy(decimals=phase.public_decimals)
    return None


def revealed(
    session: Session, phase: Phase, policy: PublicScorePolicy, user_ids: Collection[int]
) -> dict[int, Scores]:
    """For each finished visible submission of these participants, the public scores the
    leaderboard shows once it is in: each score's ladder, run over the submissions in order."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(
            Submission.id,
            Submission.user_id,
            *(getattr(SubmissionScore, name) for name in SCORE_NAMES),
        )
        .join(
            SubmissionScore,
            and_(
                SubmissionScore.submission_id == Submission.id,
                SubmissionScore.split == Split.PUBLIC,
            ),
        )
        .where(
            Submission.phase_id == phase.id,
            Submission.user_id.in_(list(user_ids)),
            Submission.status == SubmissionStatus.FINISHED,
            Submission.is_hidden.is_(False),
        )
        .order_by(Submission.created_at, Submission.id)
    ).all()
    best: dict[int, Scores] = {}
    shown: dict[int, Scores] = {}
    for row in rows:
        read = read_scores({name: getattr(row, name) for name in SCORE_NAMES})
        if not read.readable:
            shown[row.id] = read.scores
            continue
        steps = policy.reveal_scores(best.get(row.user_id), read.scores)
        best[row.user_id] = {
            name: None if step is None else step.best for name, step in steps.items()
        }
        shown[row.id] = dict(best[row.user_id])
    return shown
