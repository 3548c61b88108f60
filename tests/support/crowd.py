"""Many participants with one scored entry each, inserted in bulk (for big leaderboards).

Participant ``i`` (0-based) is ``<prefix><i:04d>`` and scores ``i + 1`` on every column, so the
board ranks them in order: participant ``i`` is at position ``i + 1``. The rows go in with
bulk inserts, as no route would write them, so the phase's board version is raised here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.jobs import board_versions
from app.models import (
    Participation,
    Role,
    Split,
    Submission,
    SubmissionKind,
    SubmissionScore,
    SubmissionStatus,
    User,
)
from scoring.groups import SCORE_NAMES


def add_crowd(
    session: Session,
    *,
    competition_id: int,
    phase_id: int,
    count: int,
    password_hash: str,
    report: dict[str, Any],
    prefix: str = "p",
) -> list[int]:
    """Insert ``count`` participants, each with one finished submission; their user ids."""
    now = utcnow()
    names = [f"{prefix}{i:04d}" for i in range(count)]
    session.execute(
        insert(User),
        [
            {
                "username": name,
                "email": f"{name}@example.org",
                "password_hash": password_hash,
                "role": Role.PARTICIPANT,
                "is_active": True,
                "created_at": now,
            }
            for name in names
        ],
    )
    by_name = {
        name: uid
        for name, uid in session.execute(
            select(User.username, User.id).where(User.username.in_(names))
        )
    }
    user_ids = [by_name[name] for name in names]
    session.execute(
        insert(Participation),
        [{"competition_id": competition_id, "user_id": uid, "joined_at": now} for uid in user_ids],
    )
    session.execute(
        insert(Submission),
        [
            {
                "phase_id": phase_id,
                "user_id": uid,
                "kind": SubmissionKind.PREDICTIONS,
                "status": SubmissionStatus.FINISHED,
                "description": "",
                "filename": "p.csv",
                "created_at": now - timedelta(seconds=count - i),
                "size_bytes": 1,
                "sha256": "",
            }
            for i, uid in enumerate(user_ids)
        ],
    )
    submissions = {
        user_id: submission_id
        for user_id, submission_id in session.execute(
            select(Submission.user_id, Submission.id).where(
                Submission.phase_id == phase_id, Submission.user_id.in_(user_ids)
            )
        )
    }
    session.execute(
        insert(SubmissionScore),
        [
            {
                "submission_id": submissions[uid],
                "split": split,
                **dict.fromkeys(SCORE_NAMES, float(i + 1)),
                "report": report,
                "created_at": now,
            }
            for i, uid in enumerate(user_ids)
            for split in Split
        ],
    )
    board_versions.bump(session, phase_id)
    return user_ids
