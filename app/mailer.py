"""Sending e-mail: real SMTP when ``FAIRBOARD_SMTP_URL`` is set, else files in an outbox folder.

Sending never raises: a mail server that is down must not break a job or a request whose
work has already been committed; the failure is logged instead.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from app.config import Settings

log = logging.getLogger("fairboard.mail")
SMTP_TIMEOUT_SECONDS = 10
OUTBOX_SUFFIX = ".eml"
MAIL_POLICY = policy.default.clone(max_line_length=998)
"""RFC 5322's hard limit: at 78 the library moves a subject of 70-odd characters whole onto a
continuation line, and readers then show it with a leading blank."""


@dataclass(frozen=True)
class Mail:
    """One e-mail to one person; ``link`` is a path on this site, made absolute when sent."""

    to: str
    subject: str
    body: str
    link: str | None = None

    def message(self, settings: Settings) -> EmailMessage:
        text = self.body
        if self.link is not None:
            text += f"\n\n{settings.base_url}{self.link}\n"
        message = EmailMessage(policy=MAIL_POLICY)
        message["From"] = settings.mail_from
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=settings.base_host or "localhost")
        message.set_content(text + "\n\n-- \nFairboard · " + settings.base_url + "\n")
        return message


def _send_smtp(url: str, messages: list[EmailMessage]) -> None:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host,
            parts.port or 465,
            timeout=SMTP_TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(host, parts.port or 587, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        client.ehlo()
        if parts.scheme == "smtp" and client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        for message in messages:
            client.send_message(message)


def _write_outbox(folder: Path, messages: list[EmailMessage]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for message in messages:
        # Named by time first, so the newest sort last.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = folder / f"{stamp}-{uuid.uuid4().hex[:12]}{OUTBOX_SUFFIX}"
        partial = target.with_suffix(".part")
        partial.write_bytes(bytes(message))
        # Renamed into place, so the outbox page never reads half a message.
        partial.replace(target)


@dataclass(frozen=True)
class OutboxMail:
    """One e-mail of the embedded outbox, as the administrators' page shows it."""

    name: str
    to: str
    subject: str
    date: str
    body: str


OUTBOX_PAGE_SIZE = 50


def read_outbox(settings: Settings, *, limit: int = OUTBOX_PAGE_SIZE) -> list[OutboxMail]:
    """The newest ``limit`` e-mails written to the outbox, newest first."""
    folder = settings.outbox_dir
    if not folder.is_dir():
        return []
    names = sorted((p for p in folder.glob(f"*{OUTBOX_SUFFIX}") if p.is_file()), reverse=True)
    found = []
    for path in names[:limit]:
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        try:
            body = str(message.get_content())
        except (LookupError, KeyError, ValueError, AttributeError) as problem:
            # A damaged file is listed with what could be read, never breaking the page.
            body = f"n/a: the body could not be read ({problem})"
        found.append(
            OutboxMail(
                name=path.name,
                to=str(message.get("To", "")),
                subject=str(message.get("Subject", "")),
                date=str(message.get("Date", "")),
                body=body,
            )
        )
    return found


def send(settings: Settings, mails: Iterable[Mail]) -> int:
    """Send ``mails``; the number sent (0 when the server failed, which is logged, not raised)."""
    messages = [mail.message(settings) for mail in mails]
    if not messages:
        return 0
    try:
        if settings.smtp_url is not None:
            _send_smtp(settings.smtp_url.get_secret_value(), messages)
        else:
            _write_outbox(settings.outbox_dir, messages)
    except Exception:
        log.exception("could not send %d e-mail(s)", len(messages))
        return 0
    return len(messages)
