"""Accounts created are counted per client address, on the API and the sign-up page: past the
limit a sign-up is refused with 429 and ``Retry-After``, and nothing is created; a sign-up
refused for its own reasons (a taken name) is not counted, and other addresses go on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.config import Settings
from app.models import User
from app.throttle import SIGN_UPS_THROTTLED
from tests.app.conftest import PASSWORD, World
from tests.app.test_login_throttle import assert_retry_after, from_address
from tests.support.live_server import serve
from tests.support.pages import sign_up


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"signup_limit_per_address": "2 per hour"})


def register(client: TestClient | httpx.Client, username: str) -> Any:
    body = {"username": username, "password": PASSWORD, "email": f"{username}@example.org"}
    return client.post("/api/v1/auth/register", json=body)


def accounts_named(world: World, *names: str) -> int:
    with world.db.sessionmaker() as session:
        return int(session.scalar(select(func.count()).where(User.username.in_(names))) or 0)


def test_an_address_past_its_limit_creates_no_account_and_others_still_can(
    app: Any, world: World
) -> None:
    script = from_address(app, "10.0.0.7")
    assert register(script, "bot1").status_code == 201
    assert register(script, "bot1").status_code == 409, "a taken name is refused, not counted"
    assert register(script, "bot2").status_code == 201

    refused = register(script, "bot3")
    assert refused.status_code == 429
    retry_after = assert_retry_after(refused, 3600)
    assert refused.json() == {
        "code": "too_many_sign_ups",
        "message": SIGN_UPS_THROTTLED.format(minutes=-(-retry_after // 60)),
        "details": {"retry_after": retry_after},
    }
    assert accounts_named(world, "bot3") == 0

    assert register(from_address(app, "10.0.0.8"), "carol").status_code == 201


def test_the_sign_up_page_answers_a_readable_429_and_keeps_what_was_typed(
    app: Any, world: World
) -> None:
    browser = from_address(app, "10.0.0.9")
    for name in ("dora", "erin"):
        assert register(browser, name).status_code == 201
    response = sign_up(browser, "frank", PASSWORD)
    assert response.status_code == 429
    retry_after = assert_retry_after(response, 3600)
    assert SIGN_UPS_THROTTLED.format(minutes=-(-retry_after // 60)) in response.text
    assert 'value="frank@example.org"' in response.text, "the form is shown again, filled in"
    assert accounts_named(world, "frank") == 0


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted_and_elsewhere_the_peer(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under uvicorn as ``fairboard serve`` runs it (its proxy headers on): ``X-Forwarded-For``
    names the client only when the peer is in ``FORWARDED_ALLOW_IPS`` (docs/SECURITY.md)."""

    def sign_ups(url: str, names: list[str], forwarded_for: str) -> list[int]:
        headers = {"X-Forwarded-For": forwarded_for}
        with httpx.Client(base_url=url, headers=headers) as client:
            return [register(client, name).status_code for name in names]

    # The default trusts a proxy on this host: each forwarded client has its own count.
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    with serve(app) as url:
        assert sign_ups(url, ["fw1", "fw2", "fw3"], "203.0.113.5") == [201, 201, 429]
        assert sign_ups(url, ["fw4"], "203.0.113.6") == [201]
    # Trusting another proxy only: the header is ignored and the peer (127.0.0.1) is counted.
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "192.0.2.1")
    with serve(app) as url:
        assert sign_ups(url, ["pe1", "pe2"], "203.0.113.7") == [201, 201]
        assert sign_ups(url, ["pe3"], "203.0.113.8") == [429]
