"""A real SMTP server on a free local port (aiosmtpd), and helpers that read the mail."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from pydantic import SecretStr

from app.config import Settings

LINK = re.compile(r"http://\S+?(/account/\S+)")


@dataclass
class Inbox:
    """What the SMTP server received, in order."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    """A real SMTP server for this test: its URL and what it received."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: tuple[str, Inbox]) -> Settings:
    """The test's settings, sending e-mail to the test's SMTP server."""
    return settings.model_copy(update={"smtp_url": SecretStr(smtp_server[0])})


@pytest.fixture
def inbox(smtp_server: tuple[str, Inbox]) -> Inbox:
    return smtp_server[1]


def body_of(message: EmailMessage) -> str:
    return str(message.get_content())


def link_in(text: str) -> str:
    """The site path of the one account link in an e-mail's text."""
    found = LINK.findall(text)
    assert len(found) == 1, text
    return str(found[0])
