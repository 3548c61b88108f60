"""Turning models into the dictionaries the API returns and the pages render.

The one place that decides which scores a viewer may see: private-split scores reach a
participant only after the phase's reveal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import Phase, Split, Submission, SubmissionScore, SubmissionStatus
from app.services import competitions, submissions
from app.services.competitions import Quota
from app.services.stored_scores import read_report, read_scores
from scoring.groups import SCORE_NAMES


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
        "quota": quota.to_dict() if quota else None,
    }


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


def competition_dict(
    session: Session, competition_id: int, viewer_id: int | None, *, now: datetime
) -> dict[str, Any]:
    competition = competitions.get_competition(session, competition_id)
    joined = bool(viewer_id and competitions.get_participation(session, competition.id, viewer_id))
    phases = []
    for phase_summary in competition.phases:
        phase = competitions.get_phase(session, phase_summary.id)
        quota = competitions.quota(session, phase, viewer_id, now) if joined and viewer_id else None
        phases.append(phase_dict(phase, now=now, quota=quota))
    return {
        "id": competition.id,
        "title": competition.title,
        "description": competition.description,
        "created_at": competition.created_at,
        "joined": joined,
        "phases": phases,
    }
