"""Phases: creating one with its settings, changing them, revealing the private leaderboard.

Settings are validated by :class:`app.phase_settings.PhaseSettings`; every change is audited.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from app import notifications
from app.errors import Conflict
from app.jobs import phase_jobs
from app.models import Phase, Split, Submission, SubmissionStatus, User
from app.phase_settings import PhaseSettings
from app.services import audit, competitions, leaderboard, standings, testsets, webhooks

SPLIT_FROZEN = (
    "the public/private split of phase {phase!r} cannot change once it has submissions "
    "(public_fraction and split_seed are fixed)"
)
NO_PRIVATE_SPLIT = "phase {phase!r} has no private split (public_fraction is not set)"
UNAUDITED_VALUES = ("description", "split_seed")
"""Settings whose change is audited without their values (long text, a secret)."""


def require_organized(session: Session, phase_id: int, actor: User) -> Phase:
    """The phase, when the actor organizes its competition."""
    phase = competitions.get_phase(session, phase_id)
    competitions.require_organizer(session, phase.competition_id, actor)
    return phase


def list_phases(session: Session, competition_id: int) -> list[Phase]:
    """A competition's phases in order, with their competition and test set loaded."""
    return list(
        session.scalars(
            select(Phase)
            .where(Phase.competition_id == competition_id)
            .options(selectinload(Phase.competition), selectinload(Phase.testset))
            .order_by(Phase.position, Phase.id)
        )
    )


def require_leaderboard_visible(
    session: Session, phase_id: int, viewer: User | None, split: Split, *, now: datetime
) -> Phase:
    """The phase, when ``viewer`` may see its leaderboard on ``split`` (organizers: always)."""
    return leaderboard_access(session, phase_id, viewer, split, now=now)[0]


def leaderboard_access(
    session: Session, phase_id: int, viewer: User | None, split: Split, *, now: datetime
) -> tuple[Phase, bool]:
    """:func:`require_leaderboard_visible`'s phase, and whether ``viewer`` organizes it."""
    phase = competitions.get_phase(session, phase_id)
    organizer = competitions.is_organizer(session, phase.competition_id, viewer)
    leaderboard.check_visible(phase, split, organizer=organizer, now=now)
    return phase, organizer


def create_phase(
    session: Session,
    competition_id: int,
    actor: User,
    settings: Mapping[str, Any],
    *,
    now: datetime,
) -> Phase:
    """Append a phase with validated settings; its split seed is random unless given."""
    competition = competitions.require_organizer(session, competition_id, actor)
    cleaned = PhaseSettings.check(dict(settings)).model_dump()
    if cleaned["testset_id"] is not None:
        testsets.require_usable(session, cleaned["testset_id"], actor, competition.id)
    # A random seed: the split must not be reproducible from the open-source code alone.
    if cleaned["split_seed"] is None:
        cleaned["split_seed"] = secrets.randbelow(2**31)
    phase = competitions.add_phase(session, competition, **cleaned)
    audit.record(
        session,
        actor,
        "phase.create",
        competition_id=competition.id,
        target=f"phase {phase.id}",
        now=now,
        settings={k: v for k, v in cleaned.items() if k not in UNAUDITED_VALUES},
    )
    return competitions.get_phase(session, phase.id)


def _has_submissions(session: Session, phase_id: int) -> bool:
    return bool(
        session.scalar(select(func.count()).where(Submission.phase_id == phase_id).limit(1))
    )


def update_phase(
    session: Session, phase_id: int, actor: User, changes: Mapping[str, Any], *, now: datetime
) -> Phase:
    """Change some of a phase's settings; the whole result is validated as one."""
    phase = require_organized(session, phase_id, actor)
    current = {field: getattr(phase, field) for field in PhaseSettings.model_fields}
    cleaned = PhaseSettings.check(current | dict(changes)).model_dump()
    if cleaned["split_seed"] is None:
        cleaned["split_seed"] = current["split_seed"]  # a phase always has its seed
    diff = {
        field: {"from": current[field], "to": cleaned[field]}
        for field in PhaseSettings.model_fields
        if cleaned[field] != current[field]
    }
    if ("public_fraction" in diff or "split_seed" in diff) and _has_submissions(session, phase.id):
        raise Conflict(SPLIT_FROZEN.format(phase=phase.name))
    if "testset_id" in diff and cleaned["testset_id"] is not None:
        testsets.require_usable(session, cleaned["testset_id"], actor, phase.competition_id)
    for field in diff:
        setattr(phase, field, cleaned[field])
    if "testset_id" in diff:
        # Submissions still waiting in the queue are scored on the version the phase now uses.
        session.execute(
            update(Submission)
            .where(Submission.phase_id == phase.id, Submission.status == SubmissionStatus.QUEUED)
            .values(testset_id=cleaned["testset_id"])
        )
    session.flush()
    if diff:
        for field in UNAUDITED_VALUES:
            if field in diff:
                diff[field] = {"changed": True}
        action = "phase.repoint" if set(diff) == {"testset_id"} else "phase.update"
        audit.record(
            session,
            actor,
            action,
            competition_id=phase.competition_id,
            target=f"phase {phase.id}",
            now=now,
            changes=diff,
        )
        phase_jobs.request(session, phase.id, standings.PHASE_CHANGED, now=now)
    session.expire(phase)
    return competitions.get_phase(session, phase.id)


def reveal_private(session: Session, phase_id: int, actor: User, *, now: datetime) -> Phase:
    """Publish a phase's private leaderboard; revealing twice changes nothing."""
    phase = require_organized(session, phase_id, actor)
    if phase.public_fraction is None:
        raise Conflict(NO_PRIVATE_SPLIT.format(phase=phase.name))
    if phase.private_revealed_at is None:
        phase.private_revealed_at = now
        session.flush()
        audit.record(
            session,
            actor,
            "phase.reveal",
            competition_id=phase.competition_id,
            target=f"phase {phase.id}",
            now=now,
        )
        webhooks.queue_leaderboard_changed(
            session, phase, cause=webhooks.CAUSE_REVEALED, submission_id=None, now=now
        )
        phase_jobs.request(session, phase.id, standings.PRIVATE_REVEALED, now=now)
        notifications.queue_revealed(session, phase)
    return phase
