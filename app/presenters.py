"""Turning models into the dictionaries the API returns and the pages render.

The one place that decides which scores a viewer may see: private-split scores reach a
participant only after the phase's reveal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import NotFound
from app.models import Competition, Phase, Split, Submission, SubmissionStatus
from app.schemas import QuotaOut
from app.services import competitions, submissions
from app.services.competitions import Quota
from scoring.metrics import ScoreReport


def phase_dict(phase: Phase, *, now: datetime, quota: Quota | None = None) -> dict[str, Any]:
    testset = phase.testset
    return {
        "id": phase.id,
        "name": phase.name,
        "description": phase.description,
        "opens_at": phase.opens_at,
        "closes_at": phase.closes_at,
        "is_open": phase.is_open(now),
        "daily_limit": phase.daily_limit,
        "total_limit": phase.total_limit,
        "inputs_public": phase.inputs_public,
        "leaderboard_public": phase.leaderboard_public,
        "public_fraction": phase.public_fraction,
        "private_revealed": phase.public_fraction is not None and phase.private_is_revealed(now),
        "entry_selection": phase.entry_selection.value,
        "tie_policy": phase.tie_policy.value,
        "submission_kinds": list(phase.submission_kinds),
        "testset_id": phase.testset_id,
        "n_items": testset.n_items if testset else None,
        "testset_is_synthetic": testset.is_synthetic if testset else None,
        "input_size": list(phase.effective_input_size(testset)) if testset else None,
        "quota": QuotaOut.model_validate(quota) if quota else None,
    }


def _scores(stored: dict[str, Any]) -> dict[str, float | None]:
    return ScoreReport.from_dict(stored).scores()


def _groups(stored: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    report = ScoreReport.from_dict(stored)
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
        "preset": submission.preset,
        "output_scale": submission.output_scale,
    }
    if submission.kind.value == "model" or submission.progress_total:
        body["progress"] = {"done": submission.progress_done, "total": submission.progress_total}
    if submission.status == SubmissionStatus.QUEUED:
        body["queue_position"] = submissions.queue_position(session, submission)
    return body


def organizer_phase_dict(phase: Phase, *, now: datetime) -> dict[str, Any]:
    """A phase with the settings only its organizers see (split seed, model limits...)."""
    return phase_dict(phase, now=now) | {
        "competition_id": phase.competition_id,
        "primary_column": phase.primary_column,
        "split_seed": phase.split_seed,
        "private_revealed_at": phase.private_revealed_at,
        "execution_provider": phase.execution_provider,
        "model_time_limit_seconds": phase.model_time_limit_seconds,
        "model_memory_limit_mb": phase.model_memory_limit_mb,
        "model_input_size": None
        if phase.model_input_height is None or phase.model_input_width is None
        else [phase.model_input_height, phase.model_input_width],
        "testset_fingerprint": phase.testset.fingerprint if phase.testset else None,
    }


def competition_dict(
    session: Session, competition_id: int, viewer_id: int | None, *, now: datetime
) -> dict[str, Any]:
    """A competition with its phases (loaded with their test sets in one query each)."""
    competition = session.scalar(
        select(Competition)
        .where(Competition.id == competition_id)
        .options(selectinload(Competition.phases).selectinload(Phase.testset))
        # Objects already in the session may lack the phases or test sets this response shows.
        .execution_options(populate_existing=True)
    )
    if competition is None:
        raise NotFound(competitions.COMPETITION_NOT_FOUND.format(id=competition_id))
    joined = bool(viewer_id and competitions.get_participation(session, competition.id, viewer_id))
    phases = [
        phase_dict(
            phase,
            now=now,
            quota=competitions.quota(session, phase, viewer_id, now)
            if joined and viewer_id
            else None,
        )
        for phase in competition.phases
    ]
    return {
        "id": competition.id,
        "title": competition.title,
        "description": competition.description,
        "created_at": competition.created_at,
        "joined": joined,
        "phases": phases,
    }
