"""A delivery is sent to the address its target was checked at, never to a second DNS answer:
a name that resolves to a public address for the check and to an inside one a moment later
("DNS rebinding") cannot turn a webhook into a request inside the network."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from app.config import Settings
from app.jobs import deliveries
from app.models import Webhook, WebhookDelivery
from app.services import webhooks
from tests.support.receiver import receiver

STRICT = Settings(environment="test", webhook_allow_private=False)
NAME = "rebinding.test"


def test_the_request_goes_to_the_checked_address_with_the_registered_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = socket.getaddrinfo
    answers: list[str] = []

    def rebinding_dns(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != NAME:
            return real(host, port, *args, **kwargs)
        # First the address that passes the check, then one where nothing listens.
        answers.append("127.0.0.1" if not answers else "127.0.0.2")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answers[-1], port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    # Stand 127.0.0.1 in for a public address: the check lets it through, and only it.
    monkeypatch.setattr(webhooks, "_forbidden_address", lambda address: address != "127.0.0.1")
    with receiver() as target:
        port = target.url.split(":")[2].split("/")[0]
        hook = Webhook(url=f"http://{NAME}:{port}/hook", secret=webhooks.new_secret())
        delivery = WebhookDelivery(message_id="msg_pinned", payload='{"type":"webhook.test"}')
        assert deliveries._send(STRICT, hook, delivery) == (204, "")
        [received] = target.wait_for(1)
    assert received.headers["host"] == f"{NAME}:{port}"
    assert answers == ["127.0.0.1"], "the name was resolved once, for the check"


def test_an_https_target_keeps_its_name_for_sni_and_the_certificate() -> None:
    target = webhooks.Target("https://hooks.example.org:8443/in?x=1", "2001:db8::7")
    assert target.request() == (
        "https://[2001:db8::7]:8443/in?x=1",
        {"host": "hooks.example.org:8443"},
        {"sni_hostname": "hooks.example.org"},
    )
    allowed = webhooks.Target("http://127.0.0.1:9/hook")  # FAIRBOARD_WEBHOOK_ALLOW_PRIVATE
    assert allowed.request() == ("http://127.0.0.1:9/hook", {}, {})
