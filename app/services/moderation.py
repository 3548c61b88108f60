"""Moderation: every submission of a phase, hiding entries, disqualifying participants, and
organizer baseline entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from app import notifications
from app.config import Settings
from app.errors import Conflict, InvalidInput, NotFound
from app.jobs import phase_jobs
from app.models import (
    Competition,
    Participation,
    Phase,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    User,
)
from app.services import (
    audit,
    competitions,
    phases,
    standings,
    stored_scores,
    submissions,
    webhooks,
)
from app.services.listing import Pager, WindowT, contains, fetch_page
from app.services.rescore import scores_by_submission
from app.services.submit import Accepted, accept

REASON_REQUIRED = "give a reason; it is kept in the audit log"
NOT_A_PARTICIPANT = "{username!r} does not participate in this competition"
ALREADY_DISQUALIFIED = "{username!r} is already disqualified"
NOT_DISQUALIFIED = "{username!r} is not disqualified"
BASELINE_NEEDS_DESCRIPTION = (
    'describe the baseline; the leaderboard shows it as "Baseline: <description>"'
)
SUBMISSION_NOT_FOUND = "submission {id} not found"
UNKNOWN_FILTER = "{field} must be one of: {choices} (got {value!r})"


@dataclass(frozen=True)
class ModerationRow:
    """A submission as organizers see it in the moderation table (both splits' scores)."""

    submission: Submission
    participant: str
    scores: dict[str, dict[str, float | None]]
    disqualified: bool

    def to_dict(self) -> dict[str, Any]:
        s = self.submission
        return {
            "id": s.id,
            "phase_id": s.phase_id,
            "participant": self.participant,
            "user_id": s.user_id,
            "kind": s.kind.value,
            "status": s.status.value,
            "error": s.error,
            "description": s.description,
            "filename": s.filename,
            "has_file": s.storage_key is not None,
            "size_bytes": s.size_bytes,
            "sha256": s.sha256,
            "created_at": s.created_at.isoformat(),
            "finished_at": s.finished_at.isoformat() if s.finished_at else None,
            "attempts": s.attempts,
            "is_hidden": s.is_hidden,
            "is_baseline": s.is_baseline,
            "is_chosen": s.is_chosen,
            "disqualified": self.disqualified,
            "testset_fingerprint": s.testset_fingerprint,
            "execution_provider": s.execution_provider,
            "scores": self.scores.get("public"),
            "private_scores": self.scores.get("private"),
            "scores_note": stored_scores.note_for(*self.scores.values()),
        }


def _choice(field: str, value: str | None, choices: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in choices:
        raise InvalidInput(
            UNKNOWN_FILTER.format(field=field, choices=", ".join(choices), value=value),
            field=field,
        )
    return value


def _submissions_query(
    session: Session,
    phase_id: int,
    actor: User,
    *,
    status: str | None,
    kind: str | None,
) -> Select[Submission, str, bool]:
    """A phase's submissions with their participant and whether they are disqualified."""
    phase = phases.require_organized(session, phase_id, actor)
    status = _choice("status", status, tuple(s.value for s in SubmissionStatus))
    kind = _choice("kind", kind, tuple(k.value for k in SubmissionKind))
    disqualified = select(Participation.user_id).where(
        Participation.competition_id == phase.competition_id,
        Participation.disqualified_at.is_not(None),
    )
    query = (
        select(Submission, User.username, Submission.user_id.in_(disqualified))
        .join(User, User.id == Submission.user_id)
        .where(Submission.phase_id == phase.id)
        .order_by(Submission.created_at.desc(), Submission.id.desc())
    )
    if status:
        query = query.where(Submission.status == SubmissionStatus(status))
    if kind:
        query = query.where(Submission.kind == SubmissionKind(kind))
    return query


def _moderation_rows(
    session: Session, found: Sequence[Row[Submission, str, bool]]
) -> list[ModerationRow]:
    scores = scores_by_submission(session, [row[0].id for row in found])
    return [
        ModerationRow(
            submission=submission,
            participant=f"Baseline: {submission.description or username}"
            if submission.is_baseline
            else username,
            scores=scores.get(submission.id, {}),
            disqualified=bool(is_disqualified),
        )
        for submission, username, is_disqualified in found
    ]


def list_submissions(
    session: Session,
    phase_id: int,
    actor: User,
    *,
    participant: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    hidden: bool | None = None,
    baseline: bool | None = None,
) -> list[ModerationRow]:
    """All submissions of a phase, newest first, filtered by participant, status, kind, flags."""
    query = _submissions_query(session, phase_id, actor, status=status, kind=kind)
    if participant:
        query = query.where(User.username == participant.strip().lower())
    if hidden is not None:
        query = query.where(Submission.is_hidden.is_(hidden))
    if baseline is not None:
        query = query.where(Submission.is_baseline.is_(baseline))
    return _moderation_rows(session, session.execute(query).all())


def submissions_page(
    session: Session,
    phase_id: int,
    actor: User,
    pager: Pager[WindowT],
    *,
    search: str = "",
    status: str | None = None,
    kind: str | None = None,
) -> tuple[WindowT, list[ModerationRow]]:
    """One page of a phase's submissions, newest first: of one status and kind, and whose
    participant, description or file name holds ``search``."""
    query = _submissions_query(session, phase_id, actor, status=status, kind=kind)
    if search:
        query = query.where(
            contains(search, User.username, Submission.description, Submission.filename)
        )
    window, found = fetch_page(session, query, pager)
    return window, _moderation_rows(session, found)


def moderation_row(session: Session, submission_id: int, actor: User) -> ModerationRow:
    """One submission as the moderation table shows it."""
    submission, phase = _organized_submission(session, submission_id, actor)
    username = session.scalar(select(User.username).where(User.id == submission.user_id)) or ""
    participation = competitions.get_participation(
        session, phase.competition_id, submission.user_id
    )
    return ModerationRow(
        submission=submission,
        participant=f"Baseline: {submission.description or username}"
        if submission.is_baseline
        else username,
        scores=scores_by_submission(session, [submission.id]).get(submission.id, {}),
        disqualified=participation is not None and participation.disqualified_at is not None,
    )


def _organized_submission(
    session: Session, submission_id: int, actor: User
) -> tuple[Submission, Phase]:
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(SUBMISSION_NOT_FOUND.format(id=submission_id))
    phase = phases.require_organized(session, submission.phase_id, actor)
    return submission, phase


def set_hidden(
    session: Session,
    submission_id: int,
    actor: User,
    *,
    hidden: bool,
    reason: str = "",
    now: datetime,
) -> Submission:
    """Hide an entry from the leaderboard (or show it again); the reason goes to the audit log."""
    submission, phase = _organized_submission(session, submission_id, actor)
    reason = (reason or "").strip()
    if hidden and not reason:
        raise InvalidInput(REASON_REQUIRED, field="reason")
    if submission.is_hidden != hidden:
        submission.is_hidden = hidden
        submission.hidden_reason = reason[:2000] if hidden else None
        session.flush()
        audit.record(
            session,
            actor,
            "submission.hide" if hidden else "submission.unhide",
            competition_id=phase.competition_id,
            target=f"submission {submission.id}",
            now=now,
            reason=reason,
            participant_id=submission.user_id,
        )
        cause = webhooks.CAUSE_HIDDEN if hidden else webhooks.CAUSE_UNHIDDEN
        webhooks.queue_leaderboard_changed(
            session, phase, cause=cause, submission_id=submission.id, now=now
        )
        label = session.scalar(select(User.username).where(User.id == submission.user_id))
        change = standings.ENTRY_HIDDEN if hidden else standings.ENTRY_SHOWN
        phase_jobs.request(session, phase.id, change.format(label=label), now=now)
    return submission


def _participation_of(
    session: Session, competition_id: int, username: str
) -> tuple[Participation, User]:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    participation = (
        competitions.get_participation(session, competition_id, user.id) if user else None
    )
    if user is None or participation is None:
        raise NotFound(NOT_A_PARTICIPANT.format(username=username.strip()))
    return participation, user


def disqualify(
    session: Session,
    competition_id: int,
    actor: User,
    username: str,
    *,
    reason: str,
    now: datetime,
) -> Participation:
    """Disqualify a participant: their entries leave every leaderboard and they cannot submit."""
    competitions.require_organizer(session, competition_id, actor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(REASON_REQUIRED, field="reason")
    participation, user = _participation_of(session, competition_id, username)
    if participation.disqualified_at is not None:
        raise Conflict(ALREADY_DISQUALIFIED.format(username=user.username))
    participation.disqualified_at = now
    participation.disqualified_reason = reason[:2000]
    session.flush()
    audit.record(
        session,
        actor,
        "participant.disqualify",
        competition_id=competition_id,
        target=f"user {user.username}",
        now=now,
        reason=participation.disqualified_reason,
    )
    removed = standings.PARTICIPANT_REMOVED.format(label=user.username)
    phase_jobs.request_competition(session, competition_id, removed, now=now)
    notifications.queue_disqualified(session, participation)
    return participation


def requalify(
    session: Session,
    competition_id: int,
    actor: User,
    username: str,
    *,
    reason: str = "",
    now: datetime,
) -> Participation:
    """Lift a disqualification."""
    competitions.require_organizer(session, competition_id, actor)
    participation, user = _participation_of(session, competition_id, username)
    if participation.disqualified_at is None:
        raise Conflict(NOT_DISQUALIFIED.format(username=user.username))
    previous = participation.disqualified_reason
    participation.disqualified_at = None
    participation.disqualified_reason = None
    session.flush()
    audit.record(
        session,
        actor,
        "participant.requalify",
        competition_id=competition_id,
        target=f"user {user.username}",
        now=now,
        reason=(reason or "").strip(),
        previous_reason=previous,
    )
    restored = standings.PARTICIPANT_RESTORED.format(label=user.username)
    phase_jobs.request_competition(session, competition_id, restored, now=now)
    return participation


@dataclass(frozen=True)
class ParticipantRow:
    username: str
    joined_at: datetime
    submissions: int
    disqualified_at: datetime | None
    disqualified_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "joined_at": self.joined_at.isoformat(),
            "submissions": self.submissions,
            "disqualified": self.disqualified_at is not None,
            "disqualified_at": self.disqualified_at.isoformat() if self.disqualified_at else None,
            "disqualified_reason": self.disqualified_reason,
        }


def _participant_rows(
    session: Session, competition: Competition, found: Sequence[Row[Participation, str]]
) -> list[ParticipantRow]:
    """The rows with their number of submissions, counted for these participants only."""
    phase_ids = [phase.id for phase in competition.phases]
    user_ids = [participation.user_id for participation, _ in found]
    counts: dict[int, int] = {}
    if phase_ids and user_ids:
        for user_id, count in session.execute(
            select(Submission.user_id, func.count())
            .where(
                Submission.phase_id.in_(phase_ids),
                Submission.user_id.in_(user_ids),
                Submission.is_baseline.is_(False),
            )
            .group_by(Submission.user_id)
        ):
            counts[user_id] = int(count)
    return [
        ParticipantRow(
            username=username,
            joined_at=participation.joined_at,
            submissions=int(counts.get(participation.user_id, 0)),
            disqualified_at=participation.disqualified_at,
            disqualified_reason=participation.disqualified_reason,
        )
        for participation, username in found
    ]


def _participants_query(competition: Competition) -> Select[Participation, str]:
    return (
        select(Participation, User.username)
        .join(User, User.id == Participation.user_id)
        .where(Participation.competition_id == competition.id)
        .order_by(Participation.joined_at, Participation.id)
    )


def list_participants(session: Session, competition_id: int, actor: User) -> list[ParticipantRow]:
    """Everyone who joined, with their number of submissions and any disqualification."""
    competition = competitions.require_organizer(session, competition_id, actor)
    found = session.execute(_participants_query(competition)).all()
    return _participant_rows(session, competition, found)


def participants_page(
    session: Session, competition_id: int, actor: User, pager: Pager[WindowT], *, search: str = ""
) -> tuple[WindowT, list[ParticipantRow]]:
    """One page of the participants in the order they joined, their username holding
    ``search``."""
    competition = competitions.require_organizer(session, competition_id, actor)
    query = _participants_query(competition)
    if search:
        query = query.where(contains(search, User.username))
    window, found = fetch_page(session, query, pager)
    return window, _participant_rows(session, competition, found)


def add_baseline(
    session: Session,
    settings: Settings,
    *,
    phase_id: int,
    actor: User,
    upload: submissions.Upload,
    description: str,
    now: datetime,
    preset: str = "raw",
    output_scale: float = 1.0,
) -> Accepted:
    """An organizer's baseline entry, outside every quota, and its audit row.

    Evaluated like any submission once the request commits (``app.jobs.intake.start``).
    """
    phase = phases.require_organized(session, phase_id, actor)
    description = (description or "").strip()
    if not description:
        raise InvalidInput(BASELINE_NEEDS_DESCRIPTION, field="description")
    accepted = accept(
        session,
        settings,
        phase_id=phase.id,
        user=actor,
        upload=upload,
        now=now,
        description=description,
        preset=preset,
        output_scale=output_scale,
        as_baseline=True,
    )
    audit.record(
        session,
        actor,
        "baseline.add",
        competition_id=phase.competition_id,
        target=f"submission {accepted.submission_id}",
        now=now,
        phase_id=phase.id,
        description=description,
    )
    return accepted
