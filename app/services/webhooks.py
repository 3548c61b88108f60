"""Outbound webhooks: registering targets, and queueing the events their owners may see.

Events are queued as rows of ``webhook_deliveries`` in the caller's transaction; the delivery
loop (``app.jobs.deliveries``) sends them after the commit, signed per Standard Webhooks.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.errors import InvalidInput, NotFound
from app.models import (
    CompetitionOrganizer,
    DeliveryStatus,
    Phase,
    Role,
    Submission,
    User,
    Webhook,
    WebhookDelivery,
)
from app.services import competitions

SUBMISSION_FINISHED = "submission.finished"
SUBMISSION_FAILED = "submission.failed"
LEADERBOARD_CHANGED = "leaderboard.changed"
TEST_EVENT = "webhook.test"
# Why a leaderboard changed (the ``cause`` of ``leaderboard.changed``).
CAUSE_HIDDEN = "submission.hidden"
CAUSE_UNHIDDEN = "submission.unhidden"
CAUSE_REVEALED = "private.revealed"
EVENTS = (SUBMISSION_FINISHED, SUBMISSION_FAILED, LEADERBOARD_CHANGED)
MAX_WEBHOOKS_PER_USER = 20

UNKNOWN_EVENT = "events: {event!r} is not an event; choose from {choices}"
NO_EVENTS = "events: choose at least one of {choices}"
URL_NOT_HTTP = "url: {url!r} must be an absolute http:// or https:// URL"
URL_NOT_HTTPS = "url: {url!r} must use https:// on this server"
URL_UNRESOLVED = "url: the host {host!r} could not be resolved"
URL_PRIVATE = (
    "url: the host {host!r} resolves to {address}, a private, loopback or reserved address; "
    "webhooks must target a public address"
)
URL_CREDENTIALS = "url: must not contain a user name or password"
TOO_MANY_WEBHOOKS = "you have {count} webhooks, the most allowed; delete one first"
WEBHOOK_NOT_FOUND = "webhook {id} not found"


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` and base64 of 24 bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


@dataclass(frozen=True)
class Target:
    """A webhook URL that may receive events, and the address it was checked at."""

    url: str
    address: str | None = None
    """The checked address the request must go to; None when private targets are allowed
    (``FAIRBOARD_WEBHOOK_ALLOW_PRIVATE``: the name is resolved when sending)."""

    def request(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        """(the URL to send to, headers, httpx extensions): the connection goes to the checked
        address, not to a second DNS answer (which may point inside, "DNS rebinding"), while
        ``Host``, TLS SNI and the certificate check keep the registered name."""
        if self.address is None:
            return self.url, {}, {}
        parts = urlsplit(self.url)
        host = f"[{self.address}]" if ":" in self.address else self.address
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        pinned = urlunsplit(parts._replace(netloc=netloc))
        tls = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        return pinned, {"host": parts.netloc}, tls


def check_target(settings: Settings, url: str) -> Target:
    """The URL when it may receive webhooks: http(s), https in production, public addresses.

    Every address the host resolves to is checked (a name with one public and one private
    address is refused), at registration and again before each delivery, since DNS answers
    change; a delivery is then sent to the address checked (:meth:`Target.request`).
    ``FAIRBOARD_WEBHOOK_ALLOW_PRIVATE`` lifts the address and https rules.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(URL_NOT_HTTP.format(url=url[:200]))
    if parts.username or parts.password:
        raise InvalidInput(URL_CREDENTIALS)
    if settings.webhook_allow_private:
        return Target(url)
    if settings.environment == "production" and parts.scheme != "https":
        raise InvalidInput(URL_NOT_HTTPS.format(url=url[:200]))
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError) as exc:
        raise InvalidInput(URL_UNRESOLVED.format(host=host[:100])) from exc
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if _forbidden_address(address):
            raise InvalidInput(URL_PRIVATE.format(host=host[:100], address=address))
    if not addresses:
        raise InvalidInput(URL_UNRESOLVED.format(host=host[:100]))
    return Target(url, addresses[0])


def _check_events(events: Sequence[str]) -> list[str]:
    choices = ", ".join(EVENTS)
    if not events:
        raise InvalidInput(NO_EVENTS.format(choices=choices))
    for event in events:
        if event not in EVENTS:
            raise InvalidInput(UNKNOWN_EVENT.format(event=event[:64], choices=choices))
    return sorted(set(events), key=EVENTS.index)


def create_webhook(
    session: Session, settings: Settings, user: User, *, url: str, events: Sequence[str]
) -> Webhook:
    """Register a target for some of the user's events."""
    chosen = _check_events(events)
    check_target(settings, url)
    count = len(list_webhooks(session, user))
    if count >= MAX_WEBHOOKS_PER_USER:
        raise InvalidInput(TOO_MANY_WEBHOOKS.format(count=count))
    webhook = Webhook(user_id=user.id, url=url, events=chosen, secret=new_secret())
    session.add(webhook)
    session.flush()
    return webhook


def list_webhooks(session: Session, user: User) -> list[Webhook]:
    """The user's webhooks, oldest first."""
    return list(
        session.scalars(select(Webhook).where(Webhook.user_id == user.id).order_by(Webhook.id))
    )


def get_webhook(session: Session, user: User, webhook_id: int) -> Webhook:
    """One of the user's webhooks; anyone else's is the 404 of a missing id."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.user_id != user.id:
        raise NotFound(WEBHOOK_NOT_FOUND.format(id=webhook_id))
    return webhook


def delete_webhook(session: Session, user: User, webhook_id: int) -> None:
    """Delete a webhook and every delivery still waiting for it."""
    webhook = get_webhook(session, user, webhook_id)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id))
    session.delete(webhook)


def deliveries_of(
    session: Session, user: User, webhook_id: int, *, limit: int, offset: int
) -> tuple[list[WebhookDelivery], int]:
    """A page of the webhook's delivery log, newest first, and the total count."""
    webhook = get_webhook(session, user, webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
    total = session.scalar(select(func.count()).where(WebhookDelivery.webhook_id == webhook.id))
    rows = session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total or 0)


def event_body(event_type: str, data: dict[str, Any], *, now: datetime) -> str:
    """The JSON body of an event, as signed and sent."""
    return json.dumps(
        {"type": event_type, "timestamp": now.isoformat(), "data": data}, separators=(",", ":")
    )


def _queue(
    session: Session, webhooks: Iterable[Webhook], event_type: str, body: str
) -> list[WebhookDelivery]:
    queued = [
        WebhookDelivery(
            webhook_id=webhook.id,
            message_id="msg_" + secrets.token_hex(12),
            event_type=event_type,
            payload=body,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
        )
        for webhook in webhooks
    ]
    session.add_all(queued)
    session.flush()
    return queued


def _organizer_ids(session: Session, competition_id: int) -> list[int]:
    linked = select(CompetitionOrganizer.user_id).where(
        CompetitionOrganizer.competition_id == competition_id
    )
    admins = select(User.id).where(User.role == Role.ADMIN)
    return [*session.scalars(linked), *session.scalars(admins)]


def _subscribed(session: Session, user_ids: Iterable[int], event_type: str) -> list[Webhook]:
    hooks = session.scalars(select(Webhook).where(Webhook.user_id.in_(list(user_ids))))
    return [hook for hook in hooks if event_type in hook.events]


def queue_test_event(
    session: Session, user: User, webhook_id: int, *, now: datetime
) -> WebhookDelivery:
    """Queue a ``webhook.test`` event to one of the user's webhooks; its delivery record."""
    webhook = get_webhook(session, user, webhook_id)
    body = event_body(TEST_EVENT, {"webhook_id": webhook.id, "username": user.username}, now=now)
    return _queue(session, [webhook], TEST_EVENT, body)[0]


def may_receive_submission_events(session: Session, user_id: int, phase_id: int) -> bool:
    """Whether the owner, an organizer of the phase's competition or an admin has a webhook:
    when none has, a settled submission has no event to queue."""
    competition = select(Phase.competition_id).where(Phase.id == phase_id).scalar_subquery()
    organizers = select(CompetitionOrganizer.user_id).where(
        CompetitionOrganizer.competition_id == competition
    )
    admins = select(User.id).where(User.role == Role.ADMIN)
    receivers = or_(
        Webhook.user_id == user_id, Webhook.user_id.in_(organizers), Webhook.user_id.in_(admins)
    )
    return session.scalar(select(Webhook.id).where(receivers).limit(1)) is not None


def queue_submission_events(
    session: Session, submission: Submission, data: dict[str, Any], *, finished: bool, now: datetime
) -> int:
    """Queue a settled submission's event to its owner's webhooks, and ``leaderboard.changed``
    to the organizers' when it finished. ``data`` is the submission as its owner reads it."""
    event_type = SUBMISSION_FINISHED if finished else SUBMISSION_FAILED
    queued = _queue(
        session,
        _subscribed(session, [submission.user_id], event_type),
        event_type,
        event_body(event_type, data, now=now),
    )
    if finished:
        phase = competitions.get_phase(session, submission.phase_id)
        queued += queue_leaderboard_changed(
            session, phase, cause=SUBMISSION_FINISHED, submission_id=submission.id, now=now
        )
    return len(queued)


def queue_leaderboard_changed(
    session: Session, phase: Phase, *, cause: str, submission_id: int | None, now: datetime
) -> list[WebhookDelivery]:
    """Queue ``leaderboard.changed`` to the webhooks of the phase's organizers (admins too)."""
    body = event_body(
        LEADERBOARD_CHANGED,
        {
            "competition_id": phase.competition_id,
            "phase_id": phase.id,
            "cause": cause,
            "submission_id": submission_id,
        },
        now=now,
    )
    organizers = _organizer_ids(session, phase.competition_id)
    hooks = _subscribed(session, organizers, LEADERBOARD_CHANGED)
    return _queue(session, hooks, LEADERBOARD_CHANGED, body)
