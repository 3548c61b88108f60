"""Webhook deliveries as jobs: queue a settled submission's events, send due deliveries.

The ``webhook_deliveries`` table is the queue (as the submissions table is for evaluations):
a delivery is claimed by a conditional ``UPDATE`` that pushes its next attempt past the
request timeout, so two loops (web process, Celery workers) never send one attempt twice.
A failed attempt is retried after ``base * 2**(attempt - 1)`` seconds, up to
``webhook_max_attempts``. The loop also prunes the log: settled deliveries older than
``webhook_delivery_retention_days`` go, a bounded batch at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook as Signer

from app.config import Settings
from app.db import Database, utcnow
from app.errors import AppError
from app.models import (
    DeliveryStatus,
    Submission,
    SubmissionStatus,
    User,
    Webhook,
    WebhookDelivery,
)
from app.presenters import submission_dict
from app.schemas import SubmissionOut
from app.services import competitions, webhooks

log = logging.getLogger("fairboard.webhooks")
USER_AGENT = "Fairboard-Webhooks/1"
BATCH = 50
PRUNE_BATCH = 500
"""The most deliveries one pruning round deletes: a short transaction however large the log."""
PRUNE_EVERY_SECONDS = 600.0


def submission_settled(db: Database, submission_id: int, *, session: Session | None = None) -> int:
    """Queue the events of a submission that just finished or failed; how many were queued.

    Called by the job path after the transition's transaction committed, so a receiver never
    hears of a result that was rolled back. The data is the submission exactly as
    ``GET /api/v1/submissions/{id}`` returns it to its owner. ``session``: a request's own,
    already committed, used (and committed) instead of a new one.
    """
    if session is not None:
        queued = _queue_settled(session, submission_id)
        session.commit()
        return queued
    with db.transaction() as own:
        return _queue_settled(own, submission_id)


def _queue_settled(session: Session, submission_id: int) -> int:
    now = utcnow()
    submission = session.get(Submission, submission_id)
    if submission is None or submission.status not in (
        SubmissionStatus.FINISHED,
        SubmissionStatus.FAILED,
    ):
        return 0
    if not webhooks.may_receive_submission_events(session, submission.user_id, submission.phase_id):
        return 0
    phase = competitions.get_phase(session, submission.phase_id)
    owner = session.get(User, submission.user_id)
    owner_organizes = competitions.is_organizer(session, phase.competition_id, owner)
    body = submission_dict(
        session, submission, phase, organizer=owner_organizes, now=now, with_timeline=True
    )
    data = SubmissionOut.model_validate(body).model_dump(mode="json")
    return webhooks.queue_submission_events(
        session,
        submission,
        data,
        finished=submission.status is SubmissionStatus.FINISHED,
        now=now,
    )


def notify_settled(db: Database, submission_id: int, *, session: Session | None = None) -> None:
    """``submission_settled`` for the job path: a failure to queue never fails the job."""
    try:
        submission_settled(db, submission_id, session=session)
    except Exception:
        log.exception("submission %s: its webhook events could not be queued", submission_id)
        if session is not None:
            session.rollback()


def _claim_due(db: Database, settings: Settings, now: datetime) -> list[int]:
    hold = now + timedelta(seconds=settings.webhook_timeout_seconds * 3)
    claimed = []
    with db.transaction() as session:
        due = session.execute(
            select(WebhookDelivery.id, WebhookDelivery.next_attempt_at)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(BATCH)
        ).all()
        for delivery_id, seen in due:
            taken = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.next_attempt_at == seen,
                )
                .values(next_attempt_at=hold)
            )
            if getattr(taken, "rowcount", 0) == 1:
                claimed.append(delivery_id)
    return claimed


def _send(
    settings: Settings, webhook: Webhook, delivery: WebhookDelivery
) -> tuple[int | None, str]:
    """One attempt: (HTTP status or None, error text or "")."""
    try:
        url, pinned_headers, extensions = webhooks.check_target(settings, webhook.url).request()
    except AppError as exc:
        return None, exc.message
    sent_at = utcnow()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Signer(webhook.secret).sign(
            delivery.message_id, sent_at, delivery.payload
        ),
    }
    try:
        with httpx.Client(timeout=settings.webhook_timeout_seconds) as client:
            response = client.post(
                url,
                content=delivery.payload.encode("utf-8"),
                headers=headers | pinned_headers,
                extensions=extensions,
                follow_redirects=False,
            )
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"the receiver answered {response.status_code}"


def deliver(db: Database, settings: Settings, delivery_id: int) -> DeliveryStatus | None:
    """Make one attempt at a claimed delivery and record it; None when its webhook is gone."""
    with db.sessionmaker() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        webhook = session.get(Webhook, delivery.webhook_id) if delivery else None
        if delivery is None or webhook is None:
            return None
        session.expunge_all()
    code, error = _send(settings, webhook, delivery)
    attempts = delivery.attempts + 1
    now = utcnow()
    values: dict[str, object] = {
        "attempts": attempts,
        "last_response_status": code,
        "last_error": error or None,
    }
    if not error:
        values |= {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    elif attempts >= settings.webhook_max_attempts:
        values |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
    else:
        delay = settings.webhook_retry_base_seconds * 2 ** (attempts - 1)
        values |= {"next_attempt_at": now + timedelta(seconds=delay)}
    with db.transaction() as session:
        session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values)
        )
    status = values.get("status", DeliveryStatus.PENDING)
    assert isinstance(status, DeliveryStatus)
    return status


def deliver_due(db: Database, settings: Settings) -> int:
    """Send every delivery that is due now; how many attempts were made."""
    claimed = _claim_due(db, settings, utcnow())
    for delivery_id in claimed:
        deliver(db, settings, delivery_id)
    return len(claimed)


def prune_deliveries(db: Database, settings: Settings, now: datetime) -> int:
    """Delete up to ``PRUNE_BATCH`` settled deliveries older than the retention; how many."""
    cutoff = now - timedelta(days=settings.webhook_delivery_retention_days)
    with db.transaction() as session:
        # A pending delivery is still owed to its receiver, however old: only settled ones go.
        old = list(
            session.scalars(
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.status != DeliveryStatus.PENDING,
                    WebhookDelivery.created_at < cutoff,
                )
                .order_by(WebhookDelivery.id)
                .limit(PRUNE_BATCH)
            )
        )
        if old:
            session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old)))
    return len(old)


class DeliveryLoop:
    """A thread that sends due deliveries every ``webhook_poll_seconds`` (web or worker)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fairboard-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_timeout_seconds + 5)

    def _run(self) -> None:
        next_prune = time.monotonic()
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_prune:
                    pruned = prune_deliveries(self.db, self.settings, utcnow())
                    # A full batch means more are waiting: take the next one next round.
                    wait = 0.0 if pruned == PRUNE_BATCH else PRUNE_EVERY_SECONDS
                    next_prune = time.monotonic() + wait
                sent = deliver_due(self.db, self.settings)
            except Exception:
                log.exception("webhook deliveries failed; retrying shortly")
                sent = 0
            if not sent:
                self._stop.wait(self.settings.webhook_poll_seconds)
