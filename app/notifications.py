"""Opt-in e-mail notifications, sent only after the change they tell of has been committed.

Request code queues mails on its session (``queue``); the listener ``install`` puts on the
app's session factory sends them after a commit and drops them on a rollback. Jobs call
``submission_result`` once their state transition has committed.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import mailer
from app.config import Settings
from app.db import Database
from app.mailer import Mail
from app.models import Competition, Participation, Phase, Submission, SubmissionStatus, User

log = logging.getLogger("fairboard.mail")
QUEUE_KEY = "fairboard.mail_queue"

SUBMISSION_FINISHED = "Submission {id} to {competition} finished"
SUBMISSION_FAILED = "Submission {id} to {competition} failed"
DISQUALIFIED = "You have been disqualified from {competition}"
REVEALED = "{competition}: the private leaderboard of {phase} is revealed"


def queue(session: Session, mail: Mail) -> None:
    """Send ``mail`` once this session's transaction commits (never, if it rolls back)."""
    session.info.setdefault(QUEUE_KEY, []).append(mail)


def install(factory: sessionmaker[Session], settings: Settings) -> None:
    """Send queued mail after each commit of sessions made by ``factory``."""
    from sqlalchemy import event

    def after_commit(session: Session) -> None:
        mails = session.info.pop(QUEUE_KEY, [])
        if mails:
            mailer.send(settings, mails)

    def after_rollback(session: Session) -> None:
        session.info.pop(QUEUE_KEY, None)

    event.listen(factory, "after_commit", after_commit)
    event.listen(factory, "after_rollback", after_rollback)


def submission_result(
    db: Database, settings: Settings, submission_id: int, *, session: Session | None = None
) -> None:
    """Tell an opted-in owner that their submission finished or failed; never raises.
    ``session``: a request's own, already committed, read instead of a new one."""
    try:
        if session is not None:
            mail = _result_mail(session, submission_id)
        else:
            with db.sessionmaker() as own:
                mail = _result_mail(own, submission_id)
        if mail is not None:
            mailer.send(settings, [mail])
    except Exception:
        # The job's outcome is already committed; a notification problem must not undo it.
        log.exception("submission %s: could not prepare its notification", submission_id)


def _result_mail(session: Session, submission_id: int) -> Mail | None:
    found = session.execute(
        select(Submission, User, Competition)
        .join(User, User.id == Submission.user_id)
        .join(Phase, Phase.id == Submission.phase_id)
        .join(Competition, Competition.id == Phase.competition_id)
        .where(Submission.id == submission_id)
    ).one_or_none()
    if found is None:
        return None
    submission, user, competition = found
    if not user.notify_results or not user.is_active or submission.is_baseline:
        return None
    fields: dict[str, Any] = {"id": submission.id, "competition": competition.title}
    if submission.status is SubmissionStatus.FINISHED:
        subject = SUBMISSION_FINISHED.format(**fields)
        body = f"Your submission {submission.id} ({submission.filename}) has been scored."
    elif submission.status is SubmissionStatus.FAILED:
        subject = SUBMISSION_FAILED.format(**fields)
        body = (
            f"Your submission {submission.id} ({submission.filename}) could not be scored:\n\n"
            f"{submission.error or 'no reason was recorded'}"
        )
    else:
        return None
    return Mail(user.email, subject, body, link=f"/submissions/{submission.id}")


def queue_disqualified(session: Session, participation: Participation) -> None:
    """Queue the disqualification notice for an opted-in participant."""
    user = session.get(User, participation.user_id)
    competition = session.get(Competition, participation.competition_id)
    if user is None or competition is None or not user.notify_moderation:
        return
    body = (
        f"The organizers of {competition.title} have disqualified you. Your entries no longer "
        f"appear on its leaderboards and you cannot submit.\n\nTheir reason:\n\n"
        f"{participation.disqualified_reason or 'none given'}"
    )
    queue(
        session,
        Mail(
            user.email,
            DISQUALIFIED.format(competition=competition.title),
            body,
            link=f"/competitions/{competition.id}",
        ),
    )


def queue_revealed(session: Session, phase: Phase) -> None:
    """Queue the reveal notice for every opted-in participant of the phase's competition."""
    competition = session.get(Competition, phase.competition_id)
    if competition is None:
        return
    users = session.scalars(
        select(User)
        .join(Participation, Participation.user_id == User.id)
        .where(
            Participation.competition_id == competition.id,
            User.notify_reveals.is_(True),
            User.is_active.is_(True),
        )
        .order_by(User.id)
    )
    subject = REVEALED.format(competition=competition.title, phase=phase.name)
    body = (
        f"The organizers of {competition.title} have revealed the private leaderboard of "
        f"{phase.name}: the final ranking is now public."
    )
    for user in users:
        queue(session, Mail(user.email, subject, body, link=f"/phases/{phase.id}/leaderboard"))
