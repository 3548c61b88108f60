"""Phase e-mails: a phase opened, closes soon, has closed; each sent at most once per person.

A tick (``PhaseNoticeLoop``: a thread of the embedded job runner, and of each Celery worker's
sweeper) finds the phase dates that have passed and, per phase, records one ``PhaseNotice``
row per opted-in participant with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, in the
transaction after whose commit it sends the mails. Only the rows a tick inserted are mailed:
two ticks at once (replicas, workers) or a tick after a restart never send a mail twice. A
mail server that fails after the commit loses those mails: at most once, never twice.

The rule (``due_notices``), at ``now``, for a phase that opens at ``opens_at`` (or, without
one, at its creation) and closes at ``closes_at`` (or never):

- opened: once it opened, while it is still open and at most ``LATE_LIMIT`` late; only to
  participants who joined before it opened (the others joined an open phase);
- closing soon: from ``FAIRBOARD_PHASE_CLOSING_NOTICE_HOURS`` before it closes until it
  closes (a late reminder is still true), once it is open, unless it is open for no longer
  than that lead (its opening mail said when it closes);
- closed: once it closed, at most ``LATE_LIMIT`` late.

Each mail is keyed by the date it announced: a date the organizers move is announced again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, literal, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import mailer
from app.config import Settings
from app.db import Database, UTCDateTime, utcnow
from app.mailer import Mail
from app.models import Competition, Participation, Phase, PhaseEvent, PhaseNotice, User

log = logging.getLogger("fairboard.mail")

LATE_LIMIT = timedelta(hours=24)
"""How late a missed opening or closing is still announced (the server was down); later,
such a mail is noise and is dropped."""
TICK_SECONDS = 60.0
"""How often each runner looks for phase dates that have passed."""

PHASE_OPENED = "{competition}: {phase} is open"
PHASE_OPENED_BODY = "{phase} of {competition} opened on {opened}; you can submit to it now."
PHASE_CLOSES_AT = "It closes on {closes}."
PHASE_NEVER_CLOSES = "It has no closing date."
PHASE_CLOSING_SOON = "{competition}: {phase} closes on {closes}"
PHASE_CLOSING_SOON_BODY = (
    "{phase} of {competition} closes on {closes}. Submissions made after that are refused."
)
PHASE_CLOSED = "{competition}: {phase} has closed"
PHASE_CLOSED_BODY = "{phase} of {competition} closed on {closes}; it takes no more submissions."

_EVENT_TYPE = PhaseNotice.__table__.c.event.type


def written_out(moment: datetime) -> str:
    """A time as mails say it: ``Thursday 3 December 2026 at 18:00 UTC``."""
    moment = moment.astimezone(UTC)
    return f"{moment:%A} {moment.day} {moment:%B %Y} at {moment:%H:%M} UTC"


@dataclass(frozen=True)
class DueNotice:
    """One phase e-mail worth sending now, and the date it announces."""

    event: PhaseEvent
    moment: datetime


def due_notices(phase: Phase, *, now: datetime, lead: timedelta) -> list[DueNotice]:
    """The phase e-mails the rule (see the module) calls for at ``now``."""
    opened = phase.opens_at or phase.created_at
    closes = phase.closes_at
    due = []
    if opened <= now < opened + LATE_LIMIT and (closes is None or now < closes):
        due.append(DueNotice(PhaseEvent.OPENED, opened))
    if closes is not None:
        if opened < closes - lead <= now < closes:
            due.append(DueNotice(PhaseEvent.CLOSING_SOON, closes))
        if closes <= now < closes + LATE_LIMIT:
            due.append(DueNotice(PhaseEvent.CLOSED, closes))
    return due


def _candidates(now: datetime, lead: timedelta) -> Select[int]:
    """Phases with a date near enough to ``now`` that a notice may be due."""
    recent = now - LATE_LIMIT
    return (
        select(Phase.id)
        .where(
            or_(
                Phase.opens_at.between(recent, now),
                Phase.opens_at.is_(None) & Phase.created_at.between(recent, now),
                Phase.closes_at.between(recent, now + lead),
            )
        )
        .order_by(Phase.id)
    )


def _record(session: Session, phase: Phase, notice: DueNotice, now: datetime) -> list[int]:
    """Record the notice for every recipient not yet sent it; the users recorded now."""
    recipients = (
        select(
            literal(phase.id),
            literal(notice.event, _EVENT_TYPE),
            literal(notice.moment, UTCDateTime()),
            Participation.user_id,
            literal(now, UTCDateTime()),
        )
        .select_from(Participation)
        .join(User, User.id == Participation.user_id)
        .where(
            Participation.competition_id == phase.competition_id,
            Participation.disqualified_at.is_(None),
            User.notify_phases.is_(True),
            User.is_active.is_(True),
            # The others joined a phase that was already open.
            Participation.joined_at <= notice.moment
            if notice.event is PhaseEvent.OPENED
            else true(),
        )
    )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(PhaseNotice)
        .from_select(["phase_id", "event", "moment", "user_id", "sent_at"], recipients)
        .on_conflict_do_nothing()
        .returning(PhaseNotice.user_id)
    )
    return list(session.scalars(statement))


def _mail_text(phase: Phase, competition: Competition, notice: DueNotice) -> tuple[str, str]:
    names = {"competition": competition.title, "phase": phase.name}
    when = written_out(notice.moment)
    if notice.event is PhaseEvent.OPENED:
        closing = (
            PHASE_NEVER_CLOSES
            if phase.closes_at is None
            else PHASE_CLOSES_AT.format(closes=written_out(phase.closes_at))
        )
        body = PHASE_OPENED_BODY.format(opened=when, **names)
        return PHASE_OPENED.format(**names), f"{body} {closing}"
    if notice.event is PhaseEvent.CLOSING_SOON:
        subject = PHASE_CLOSING_SOON.format(closes=when, **names)
        return subject, PHASE_CLOSING_SOON_BODY.format(closes=when, **names)
    return PHASE_CLOSED.format(**names), PHASE_CLOSED_BODY.format(closes=when, **names)


def _due_mails(session: Session, phase_id: int, *, now: datetime, lead: timedelta) -> list[Mail]:
    """Record the phase's due notices in ``session``; the mails to send once it commits."""
    found = session.execute(
        select(Phase, Competition)
        .join(Competition, Competition.id == Phase.competition_id)
        .where(Phase.id == phase_id)
    ).one_or_none()
    if found is None:
        return []
    phase, competition = found
    mails: list[Mail] = []
    for notice in due_notices(phase, now=now, lead=lead):
        user_ids = _record(session, phase, notice, now)
        if not user_ids:
            continue
        subject, body = _mail_text(phase, competition, notice)
        addresses = session.scalars(
            select(User.email).where(User.id.in_(user_ids)).order_by(User.id)
        )
        link = f"/competitions/{competition.id}"
        mails.extend(Mail(address, subject, body, link=link) for address in addresses)
    return mails


def send_phase_notices(db: Database, settings: Settings, *, now: datetime) -> int:
    """Send the phase e-mails due at ``now`` that no tick has sent yet; how many were sent."""
    lead = timedelta(hours=settings.phase_closing_notice_hours)
    with db.sessionmaker() as session:
        phase_ids = list(session.scalars(_candidates(now, lead)))
    sent = 0
    for phase_id in phase_ids:
        try:
            with db.transaction() as session:
                mails = _due_mails(session, phase_id, now=now, lead=lead)
            sent += mailer.send(settings, mails)
        except Exception:
            # One phase's trouble must not hold back the others' mails. Unrecorded notices
            # are tried again next tick; recorded ones are not (at most once).
            log.exception("phase %s: could not send its notices", phase_id)
    return sent


class PhaseNoticeLoop:
    """A thread that sends due phase e-mails at start and every ``TICK_SECONDS``."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        interval: float = TICK_SECONDS,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fairboard-phase-mail", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=mailer.SMTP_TIMEOUT_SECONDS + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                send_phase_notices(self.db, self.settings, now=self.clock())
            except Exception:
                log.exception("phase e-mails failed; retrying in %s s", self.interval)
            self._stop.wait(self.interval)
