"""Submissions: accepting uploads under the phase's rules, and what a participant may see."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import BinaryIO, cast

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import (
    Conflict,
    Disqualified,
    Forbidden,
    InvalidInput,
    NotFound,
    PhaseClosed,
    SubmissionKindNotAllowed,
    SubmissionLimitReached,
)
from app.jobs import board_versions, state
from app.models import (
    Participation,
    Phase,
    Submission,
    SubmissionKind,
    SubmissionScore,
    SubmissionStatus,
    Team,
    User,
)
from app.services import competitions, teams
from app.services.listing import Pager, WindowT, contains, fetch_page
from app.storage import StoredFile, safe_filename, save_stream
from scoring.inference import PRESETS

PHASE_NOT_OPEN = "phase {phase!r} is not open for submissions"
PHASE_HAS_NO_TESTSET = "phase {phase!r} has no test set yet"
KIND_NOT_ALLOWED = "phase {phase!r} does not accept {kind} submissions (it accepts: {allowed})"
DAILY_LIMIT_REACHED = (
    "daily submission limit of {limit} reached for phase {phase!r}; "
    "the quota resets at {resets_at} (UTC midnight)"
)
TOTAL_LIMIT_REACHED = "total submission limit of {limit} reached for phase {phase!r}"
DISQUALIFIED = "you have been disqualified from this competition: {reason}"
UNKNOWN_PRESET = "unknown preset {preset!r}; expected one of: " + ", ".join(PRESETS)
BAD_OUTPUT_SCALE = "output_scale must be a finite positive number, got {value!r}"
EMPTY_UPLOAD = "the uploaded file is empty"
NOT_YOUR_SUBMISSION = "submission {id} not found"
CHOOSE_NOT_FINISHED = "only a finished submission can be chosen as the leaderboard entry"
WEB_ACTOR = "upload check"


def kind_of_upload(filename: str) -> SubmissionKind:
    """ONNX models are recognised by their extension; everything else is a prediction file."""
    return (
        SubmissionKind.MODEL if filename.lower().endswith(".onnx") else SubmissionKind.PREDICTIONS
    )


@dataclass(frozen=True)
class Upload:
    filename: str
    stream: BinaryIO


def submission_dir(settings: Settings, submission_id: int) -> Path:
    return settings.submissions_dir / str(submission_id)


def stored_file(settings: Settings, submission: Submission) -> Path | None:
    if submission.storage_key is None:
        return None
    return settings.data_dir / submission.storage_key


def stage_upload(settings: Settings, upload: Upload, kind: SubmissionKind) -> StoredFile:
    """Stream an upload into the staging area, refusing it past the size limit for its kind."""
    limit = (
        settings.max_model_file_bytes
        if kind is SubmissionKind.MODEL
        else settings.max_prediction_file_bytes
    )
    staging = settings.uploads_dir / f"{uuid.uuid4().hex}-{safe_filename(upload.filename)}"
    stored = save_stream(upload.stream, staging, limit=limit, what=f"the {kind.value} file")
    if stored.size_bytes == 0:
        stored.path.unlink(missing_ok=True)
        raise InvalidInput(EMPTY_UPLOAD, field="file")
    return stored


def accepted_kinds(phase: Phase) -> list[str]:
    """The kinds a phase accepts: prediction files only when its test inputs are public."""
    return [k for k in phase.submission_kinds if k != "predictions" or phase.inputs_public]


def _check_phase_accepts(phase: Phase, kind: SubmissionKind, now: datetime) -> None:
    if phase.testset_id is None:
        raise PhaseClosed(PHASE_HAS_NO_TESTSET.format(phase=phase.name))
    if not phase.is_open(now):
        raise PhaseClosed(PHASE_NOT_OPEN.format(phase=phase.name))
    allowed = accepted_kinds(phase)
    if kind.value not in allowed:
        raise SubmissionKindNotAllowed(
            KIND_NOT_ALLOWED.format(
                phase=phase.name, kind=kind.value, allowed=", ".join(allowed) or "none"
            )
        )


def _lock_competitor(session: Session, participation: Participation, team: Team | None) -> None:
    """Serialise the competitor's submissions (the team's, or the participant's): a write that
    takes the row (SQLite: database) lock."""
    if team is not None:
        session.execute(_count_one(Team), {"row": team.id})
    else:
        session.execute(_count_one(Participation), {"row": participation.id})


@cache
def _count_one(model: type[Participation] | type[Team]) -> Update:
    """The competitor's counter raised (Core, on the table), built once: building a statement
    costs more than running it."""
    table = cast(Table, model.__table__)
    return (
        update(table)
        .where(table.c.id == bindparam("row"))
        .values(submission_counter=table.c.submission_counter + 1)
    )


def create_submission(
    session: Session,
    settings: Settings,
    *,
    phase: Phase,
    user: User,
    upload: Upload,
    description: str = "",
    preset: str = "raw",
    output_scale: float = 1.0,
    now: datetime,
    as_baseline: bool = False,
    metadata: dict[str, str] | None = None,
    inspect: Callable[[StoredFile, SubmissionKind, str], None] | None = None,
    before_write: Callable[[], None] | None = None,
    counted: Callable[[competitions.Quota], None] | None = None,
) -> Submission:
    """Accept an upload as a queued submission, within the phase's rules and quotas.

    The file is streamed to disk (and shown to ``inspect``) before the participant's lock is
    taken (``before_write`` is called just before), so the lock covers only the quota count
    and the insert. An organizer's baseline
    entry (``as_baseline``) is outside the rules for participants: no joining, no quota, any
    time. ``counted`` is shown the competitor's quota with this submission counted.
    """
    filename = safe_filename(upload.filename, default="predictions.csv")
    kind = kind_of_upload(filename)
    if as_baseline:
        competitions.require_organizer(session, phase.competition_id, user)
        if phase.testset_id is None:
            raise PhaseClosed(PHASE_HAS_NO_TESTSET.format(phase=phase.name))
    else:
        _check_phase_accepts(phase, kind, now)
    if preset not in PRESETS:
        raise InvalidInput(UNKNOWN_PRESET.format(preset=preset), field="preset")
    if not (output_scale > 0 and output_scale < float("inf")):
        raise InvalidInput(BAD_OUTPUT_SCALE.format(value=output_scale), field="output_scale")
    participation, team = None, None
    if not as_baseline:
        participation = competitions.require_participation(session, phase.competition_id, user)
        if participation.disqualified_at is not None:
            raise Disqualified(DISQUALIFIED.format(reason=participation.disqualified_reason or ""))
        team = teams.submitting_team(session, phase.competition, user)

    staged = stage_upload(settings, upload, kind)
    try:
        if inspect is not None:
            inspect(staged, kind, filename)
        if before_write is not None:
            before_write()
        if participation is not None:
            quota = _enforce_quota(session, phase, participation, team, user, now)
            if counted is not None:
                counted(quota.plus_one())
        submission = Submission(
            phase_id=phase.id,
            user_id=user.id,
            team_id=team.id if team is not None else None,
            kind=kind,
            status=SubmissionStatus.QUEUED,
            description=description.strip()[:2000],
            meta=dict(metadata or {}),
            filename=filename,
            size_bytes=staged.size_bytes,
            sha256=staged.sha256,
            preset=preset,
            output_scale=output_scale,
            created_at=now,
            testset_id=phase.testset_id,
            is_baseline=as_baseline,
        )
        session.add(submission)
        session.flush()
        final = submission_dir(settings, submission.id) / filename
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staged.path, final)
        submission.storage_key = str(final.relative_to(settings.data_dir))
        session.flush()
        state.record_creation(session, submission, actor=user.username)
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
    return submission


def _enforce_quota(
    session: Session,
    phase: Phase,
    participation: Participation,
    team: Team | None,
    user: User,
    now: datetime,
) -> competitions.Quota:
    """Refuse a submission over the phase's limits, counted under the competitor's lock; the
    quota before it."""
    _lock_competitor(session, participation, team)
    quota = competitions.quota(
        session, phase, user.id, now, team_id=team.id if team is not None else None
    )
    if quota.exhausted_total:
        raise SubmissionLimitReached(
            TOTAL_LIMIT_REACHED.format(limit=phase.total_limit, phase=phase.name),
            resets_at=None,
        )
    if quota.exhausted_today:
        raise SubmissionLimitReached(
            DAILY_LIMIT_REACHED.format(
                limit=phase.daily_limit,
                phase=phase.name,
                resets_at=quota.resets_at.strftime("%Y-%m-%d %H:%M"),
            ),
            resets_at=quota.resets_at,
        )
    return quota


def get_visible_submission(
    session: Session, submission_id: int, viewer: User
) -> tuple[Submission, Phase, bool]:
    """A submission its owner, their team's members or an organizer may see;
    (submission, phase, viewer_is_organizer).

    Anyone else gets the same 404 as for a missing id, so ids cannot be probed.
    """
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(NOT_YOUR_SUBMISSION.format(id=submission_id))
    phase = competitions.get_phase(session, submission.phase_id)
    organizer = competitions.is_organizer(session, phase.competition_id, viewer)
    if not (organizer or is_competitor(session, submission, viewer)):
        raise NotFound(NOT_YOUR_SUBMISSION.format(id=submission_id))
    return submission, phase, organizer


def is_competitor(session: Session, submission: Submission, viewer: User) -> bool:
    """The viewer made the submission, or is a member of the team it was made for."""
    if submission.user_id == viewer.id:
        return True
    return submission.team_id is not None and teams.is_member(
        session, submission.team_id, viewer.id
    )


def timeline_of(session: Session, submission: Submission) -> list[dict[str, object]]:
    """The submission's transitions, oldest first, as its owner and organizers read them."""
    return [
        {
            "at": event.at,
            "from_status": event.from_status.value if event.from_status else None,
            "status": event.to_status.value,
            "by": event.actor,
            "reason": event.reason,
        }
        for event in state.timeline(session, submission.id)
    ]


def scores_of(session: Session, submission_id: int) -> dict[str, SubmissionScore]:
    """The submission's scores keyed by split name."""
    rows = session.scalars(
        select(SubmissionScore).where(SubmissionScore.submission_id == submission_id)
    )
    return {row.split.value: row for row in rows}


def list_for_participant(session: Session, phase: Phase, user: User) -> list[Submission]:
    """The participant's own submissions in a phase and their team's, newest first."""
    team = teams.team_of(session, phase.competition_id, user.id)
    mine = Submission.user_id == user.id
    return list(
        session.scalars(
            select(Submission)
            .where(
                Submission.phase_id == phase.id,
                mine if team is None else (mine | (Submission.team_id == team.id)),
            )
            .order_by(Submission.created_at.desc(), Submission.id.desc())
        )
    )


def choose_entry(session: Session, submission: Submission, user: User) -> None:
    """Make a finished submission the competitor's leaderboard entry (phases with `chosen`);
    any member of a team chooses among the team's submissions."""
    if not is_competitor(session, submission, user):
        raise Forbidden(NOT_YOUR_SUBMISSION.format(id=submission.id))
    if submission.status != SubmissionStatus.FINISHED:
        raise Conflict(CHOOSE_NOT_FINISHED)
    competitor = (
        Submission.user_id == submission.user_id
        if submission.team_id is None
        else Submission.team_id == submission.team_id
    )
    session.execute(
        update(Submission)
        .where(Submission.phase_id == submission.phase_id, competitor)
        .values(is_chosen=Submission.id == submission.id)
    )
    board_versions.bump(session, submission.phase_id)


def queue_position(session: Session, submission: Submission) -> int | None:
    """1-based position among queued jobs of its kind in the fair order, or None if not queued."""
    if submission.status != SubmissionStatus.QUEUED:
        return None
    order = state.fair_queue_order(session, submission.kind)
    try:
        return order.index(submission.id) + 1
    except ValueError:
        return None


def mark_rejected(
    session: Session, settings: Settings, submission: Submission, message: str, *, now: datetime
) -> None:
    """Fail a submission whose file was rejected; the file itself is not kept."""
    path = stored_file(settings, submission)
    state.reject(session, submission.id, message, actor=WEB_ACTOR, now=now)
    if path is not None:
        path.unlink(missing_ok=True)


def page_for_participant(
    session: Session, phase: Phase, user: User, pager: Pager[WindowT], *, search: str = ""
) -> tuple[WindowT, list[Submission]]:
    """One page of the participant's and their team's submissions in a phase, newest first,
    their description or file name holding ``search``."""
    team = teams.team_of(session, phase.competition_id, user.id)
    own = Submission.user_id == user.id
    query = select(Submission).where(
        Submission.phase_id == phase.id,
        own if team is None else own | (Submission.team_id == team.id),
    )
    if search:
        query = query.where(contains(search, Submission.description, Submission.filename))
    query = query.order_by(Submission.created_at.desc(), Submission.id.desc())
    window, rows = fetch_page(session, query, pager)
    return window, [row[0] for row in rows]
