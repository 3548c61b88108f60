"""Turning models into what the API returns and the pages render.

The one place that decides which scores a viewer may see: private-split scores reach a
participant only after the phase's reveal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import NotFound
from app.models import (
    Competition,
    Phase,
    Split,
    Submission,
    SubmissionScore,
    SubmissionStatus,
    User,
)
from app.schemas import CompetitionOut, OrganizerPhaseOut, PhaseOut
from app.services import competitions, submissions
from app.services.competitions import Quota
from app.services.stored_scores import read_report, read_scores
from scoring.groups import SCORE_NAMES


class PhaseAt:
    """A phase as of ``now``, with the viewer's quota: the attributes ``PhaseOut`` (and
    ``OrganizerPhaseOut``) read; the phase's own columns are read through it unchanged."""

    def __init__(self, phase: Phase, now: datetime, quota: Quota | None = None) -> None:
        self._phase, self._now, self.quota = phase, now, quota
        self.testset = phase.testset

    def __getattr__(self, name: str) -> Any:
        return getattr(self._phase, name)

    @property
    def is_open(self) -> bool:
        return self._phase.is_open(self._now)

    @property
    def private_revealed(self) -> bool:
        phase = self._phase
        return phase.public_fraction is not None and phase.private_is_revealed(self._now)

    @property
    def n_items(self) -> int | None:
        return self.testset.n_items if self.testset else None

    @property
    def testset_is_synthetic(self) -> bool | None:
        return self.testset.is_synthetic if self.testset else None

    @property
    def testset_fingerprint(self) -> str | None:
        return self.testset.fingerprint if self.testset else None

    @property
    def input_size(self) -> list[int] | None:
        return list(self._phase.effective_input_size(self.testset)) if self.testset else None

    @property
    def model_input_size(self) -> list[int] | None:
        height, width = self._phase.model_input_height, self._phase.model_input_width
        return None if height is None or width is None else [height, width]


def phase_out(phase: Phase, *, now: datetime, quota: Quota | None = None) -> PhaseOut:
    """A phase as everyone sees it, with the viewer's quota when they have joined."""
    return PhaseOut.model_validate(PhaseAt(phase, now, quota))


def organizer_phase_out(phase: Phase, *, now: datetime) -> OrganizerPhaseOut:
    """A phase with the settings only its organizers see (split seed, model limits...)."""
    return OrganizerPhaseOut.model_validate(PhaseAt(phase, now))


def _scores(stored: dict[str, Any]) -> dict[str, float | None] | None:
    report = read_report(stored).report
    return report.scores() if report else None


def _groups(stored: dict[str, Any]) -> dict[str, list[dict[str, Any]]] | None:
    report = read_report(stored).report
    if report is None:
        return None
    return {
        attribute.attribute: [
            {"group": g.group, "size": g.size, "mae": g.mae} for g in attribute.groups
        ]
        for attribute in report.attributes
    }


def submission_dict(
    session: Session,
    submission: Submission,
    phase: Phase,
    *,
    organizer: bool,
    now: datetime,
    participant: str | None = None,
    with_timeline: bool = False,
) -> dict[str, Any]:
    scores = submissions.scores_of(session, submission.id)
    public = scores.get(Split.PUBLIC.value)
    private = scores.get(Split.PRIVATE.value)
    show_private = private is not None and (organizer or phase.private_is_revealed(now))
    body: dict[str, Any] = {
        "id": submission.id,
        "phase_id": submission.phase_id,
        "participant": participant,
        "kind": submission.kind.value,
        "status": submission.status.value,
        "error": submission.error,
        "description": submission.description,
        "filename": submission.filename,
        "created_at": submission.created_at,
        "started_at": submission.started_at,
        "finished_at": submission.finished_at,
        "scores": _scores(public.report) if public else None,
        "groups": _groups(public.report) if public else None,
        "split": (None if public is None else ("public" if private is not None else "full")),
        "private_scores": _scores(private.report) if show_private and private else None,
        "private_groups": _groups(private.report) if show_private and private else None,
        "progress": None,
        "queue_position": None,
        "execution_provider": submission.execution_provider,
        "scorer_version": submission.scorer_version,
        "testset_fingerprint": submission.testset_fingerprint,
        "is_chosen": submission.is_chosen,
        "hidden": submission.is_hidden,
        "hidden_reason": submission.hidden_reason if submission.is_hidden else None,
        "preset": submission.preset,
        "output_scale": submission.output_scale,
        "scores_note": scores_note(public, private if show_private else None),
    }
    if submission.kind.value == "model" or submission.progress_total:
        body["progress"] = {"done": submission.progress_done, "total": submission.progress_total}
    if submission.status == SubmissionStatus.QUEUED:
        body["queue_position"] = submissions.queue_position(session, submission)
    if with_timeline:
        body["timeline"] = submissions.timeline_of(session, submission)
    return body


def scores_note(*stored: SubmissionScore | None) -> str | None:
    """Why a submission's stored scores show as n/a, if any of the given splits is unreadable."""
    for score in stored:
        if score is None:
            continue
        note = read_report(score.report).note or read_scores(_columns(score)).note
        if note:
            return note
    return None


def _columns(score: SubmissionScore) -> dict[str, Any]:
    return {name: getattr(score, name) for name in SCORE_NAMES}


def competition_out(
    session: Session, competition_id: int, viewer: User | None, *, now: datetime
) -> CompetitionOut:
    """A competition with its phases (loaded with their test sets up front) and, for a viewer
    who joined, their quota in each."""
    competition = session.scalar(
        select(Competition)
        .where(Competition.id == competition_id)
        .options(selectinload(Competition.phases).selectinload(Phase.testset))
        # Objects already in the session may lack the phases or test sets this response shows.
        .execution_options(populate_existing=True)
    )
    if competition is None:
        raise NotFound(competitions.COMPETITION_NOT_FOUND.format(id=competition_id))
    joined = viewer is not None and (
        competitions.get_participation(session, competition.id, viewer.id) is not None
    )
    return CompetitionOut(
        id=competition.id,
        title=competition.title,
        description=competition.description,
        created_at=competition.created_at,
        joined=joined,
        is_organizer=competitions.is_organizer(session, competition.id, viewer),
        phases=[
            phase_out(
                phase,
                now=now,
                quota=competitions.quota(session, phase, viewer.id, now)
                if joined and viewer is not None
                else None,
            )
            for phase in competition.phases
        ],
    )
