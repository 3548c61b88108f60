"""Accepting a submission in the request's transaction: the record, its file, the model check.

Nothing here commits or evaluates: ``app.jobs.intake`` does both once the request's work is
complete, so whatever the request writes beside the submission (an audit row) commits with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Phase, Submission, SubmissionKind, User
from app.services import competitions, submissions
from app.services.evaluation import Upfront, evaluate_upload
from app.services.model_runs import check_uploaded_model
from app.storage import StoredFile


@dataclass(frozen=True)
class Accepted:
    """A stored submission and what happens to it after the commit."""

    submission: Submission
    phase: Phase
    """Held here, so the session's (weak) identity map keeps it for the response."""
    kind: SubmissionKind
    inline: bool
    """A small prediction file: scored within the request rather than by a job."""
    problem: str | None = None
    """Why the model was refused at upload; its failed record is kept."""
    upfront: Upfront | None = None
    """An inline file's outcome, scored before the lock: recorded in the request's
    transaction."""
    quota: competitions.Quota | None = None
    """The competitor's quota with this submission counted (None for a baseline)."""

    @property
    def submission_id(self) -> int:
        return self.submission.id


def accept(
    session: Session,
    settings: Settings,
    *,
    phase_id: int,
    user: User,
    upload: submissions.Upload,
    now: datetime,
    description: str = "",
    preset: str = "raw",
    output_scale: float = 1.0,
    as_baseline: bool = False,
    metadata: dict[str, str] | None = None,
    before_write: Callable[[], None] | None = None,
) -> Accepted:
    """Store a submission (queued, or failed when its model is refused); evaluate nothing.

    The participant's lock is held only for the quota check and the insert, up to the
    request's commit (an organizer's baseline, ``as_baseline``, takes no lock and counts in
    no quota).
    """
    phase = competitions.get_phase(session, phase_id)
    upfront: list[Upfront] = []
    quota: list[competitions.Quota] = []

    def score_inline(staged: StoredFile, kind: SubmissionKind, filename: str) -> None:
        # Scored before the participant's lock is taken (and without a record yet), so the
        # lock covers only statements, never the parsing.
        if inline_kind(settings, kind, staged.size_bytes) and phase.testset is not None:
            upfront.append(evaluate_upload(settings, phase, phase.testset, staged.path, filename))

    try:
        submission = submissions.create_submission(
            session,
            settings,
            phase=phase,
            user=user,
            upload=upload,
            description=description,
            preset=preset,
            output_scale=output_scale,
            now=now,
            as_baseline=as_baseline,
            metadata=metadata,
            inspect=score_inline,
            before_write=before_write,
            counted=quota.append,
        )
    except BaseException:
        # Refused after its scoring (over quota, a closed phase): nothing of it is kept.
        for scored in upfront:
            scored.discard()
        raise
    problem = None
    if submission.kind is SubmissionKind.MODEL:
        problem = check_uploaded_model(settings, submission, phase)
        if problem is not None:
            submissions.mark_rejected(session, settings, submission, problem, now=now)
    inline = inline_kind(settings, submission.kind, submission.size_bytes)
    return Accepted(
        submission,
        phase,
        submission.kind,
        inline,
        problem,
        upfront[0] if upfront else None,
        quota[0] if quota else None,
    )


def inline_kind(settings: Settings, kind: SubmissionKind, size_bytes: int) -> bool:
    """A prediction file small enough to be scored within its upload request."""
    return kind is SubmissionKind.PREDICTIONS and size_bytes <= settings.inline_scoring_max_bytes
