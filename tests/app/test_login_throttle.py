"""Password guessing is throttled per account and address, per account, and per address, on
the token endpoint and the log-in page; the counts move on with time and are shared by every
API replica through Redis in scale-out mode, and counted in each replica's memory while Redis
is down."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import throttle
from app.config import Settings
from app.main import create_app
from app.throttle import LOGIN_THROTTLED, STORE_UNREACHABLE
from tests.app.conftest import PASSWORD, World
from tests.scaleout.cluster import start_redis
from tests.support.pages import csrf_of

WRONG = "not-the-password"
LIMITS = {
    "login_limit_per_account_and_address": "3 per 15 minutes",
    "login_limit_per_account": "5 per 15 minutes",
    "login_limit_per_address": "8 per 15 minutes",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=LIMITS)


def from_address(app: Any, address: str) -> TestClient:
    return TestClient(app, client=(address, 50000), follow_redirects=False)


def token_for(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def page_log_in(browser: TestClient, username: str, password: str) -> int:
    form = browser.get("/login", headers={"accept": "text/html"})
    response = browser.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_of(form)}
    )
    return response.status_code


def assert_retry_after(response: Any, longest: int) -> int:
    """The response's ``Retry-After``: whole seconds, at most ``longest``."""
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= longest
    return retry_after


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    retry_after = assert_retry_after(response, 15 * 60)
    message = LOGIN_THROTTLED.format(minutes=math.ceil(retry_after / 60))
    if response.headers["content-type"].startswith("application/json"):
        assert response.json() == {
            "code": "too_many_login_attempts",
            "message": message,
            "details": {"retry_after": retry_after},
        }
    else:
        alert = re.search(r'role="alert"[^>]*>([^<]*)<', response.text)
        assert alert is not None and unescape(alert.group(1)) == message


def test_the_right_password_is_refused_after_three_wrong_ones_from_one_address(
    client: TestClient, world: World
) -> None:
    world.user("alice")
    for _ in range(3):
        assert token_for(client, "alice", WRONG).status_code == 401
    assert_throttled(token_for(client, "alice", PASSWORD))


def test_the_log_in_page_answers_a_readable_429_page(app: Any, world: World) -> None:
    world.user("alice")
    browser = from_address(app, "10.0.0.1")
    for _ in range(3):
        assert page_log_in(browser, "alice", WRONG) == 401
    form = browser.get("/login", headers={"accept": "text/html"})
    response = browser.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(form)}
    )
    assert_throttled(response)
    assert 'name="password"' in response.text, "the form is shown again"


def test_another_address_may_still_log_in_until_the_looser_account_limit(
    app: Any, world: World
) -> None:
    world.user("alice")
    first, second, third = (from_address(app, f"10.0.0.{n}") for n in (1, 2, 3))
    for _ in range(3):
        token_for(first, "alice", WRONG)
    assert_throttled(token_for(first, "alice", PASSWORD))
    assert token_for(second, "alice", PASSWORD).status_code == 201
    for _ in range(2):
        assert token_for(second, "alice", WRONG).status_code == 401
    # Five failures on the account, from any address: a distributed guess is stopped too.
    assert_throttled(token_for(third, "alice", PASSWORD))


def test_a_crowd_of_addresses_cannot_lock_out_a_browser_that_logged_in_before(
    app: Any, world: World
) -> None:
    world.user("alice")
    own_browser = from_address(app, "192.0.2.1")
    assert page_log_in(own_browser, "alice", PASSWORD) == 303
    for n in range(5):
        assert token_for(from_address(app, f"10.0.1.{n}"), "alice", WRONG).status_code == 401
    assert page_log_in(from_address(app, "192.0.2.2"), "alice", PASSWORD) == 429
    assert page_log_in(own_browser, "alice", PASSWORD) == 303


def test_one_address_guessing_many_accounts_is_stopped(app: Any, world: World) -> None:
    world.user("alice")
    sprayer = from_address(app, "10.0.0.9")
    for n in range(8):
        assert token_for(sprayer, f"user{n}", WRONG).status_code == 401
    assert_throttled(token_for(sprayer, "alice", PASSWORD))
    assert token_for(from_address(app, "10.0.0.10"), "alice", PASSWORD).status_code == 201


def test_a_successful_log_in_forgets_the_pairs_failures(client: TestClient, world: World) -> None:
    world.user("alice")
    for _ in range(2):
        for _ in range(2):
            assert token_for(client, "alice", WRONG).status_code == 401
        assert token_for(client, "alice", PASSWORD).status_code == 201


def test_a_wrong_current_password_counts_as_a_guess(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("alice"))
    body = {"current_password": WRONG, "new_password": "violet-harbour-tractor"}
    for _ in range(3):
        assert client.post("/api/v1/auth/password", json=body, headers=headers).status_code == 422
    assert_throttled(client.post("/api/v1/auth/password", json=body, headers=headers))


def test_the_window_moves_on_so_a_real_user_is_not_locked_out_for_long(world: World) -> None:
    settings = world.settings.model_copy(
        update={"login_limit_per_account_and_address": "2 per 1 second"}
    )
    with TestClient(create_app(settings, start_jobs=False)) as client:
        for _ in range(2):
            token_for(client, "lecturer", WRONG)
        assert token_for(client, "lecturer", PASSWORD).status_code == 429
        time.sleep(1.2)
        assert token_for(client, "lecturer", PASSWORD).status_code == 201


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = start_redis(tmp_path / "redis-logs")
    yield server.url
    server.stop()


def test_two_api_replicas_share_the_counts_through_redis(world: World, redis_url: str) -> None:
    shared = world.settings.model_copy(update=LIMITS | {"rate_limit_storage_url": redis_url})
    replica_a = TestClient(create_app(shared, start_jobs=False))
    replica_b = TestClient(create_app(shared, start_jobs=False))
    for _ in range(3):
        assert token_for(replica_a, "lecturer", WRONG).status_code == 401
    assert_throttled(token_for(replica_b, "lecturer", PASSWORD))


def test_scale_out_counts_in_the_brokers_redis_unless_told_otherwise() -> None:
    assert Settings().limit_storage_url == "memory://"
    broker = "redis://queue.internal:6379/0"
    assert Settings(broker_url=broker).limit_storage_url == broker
    other = "redis://limits.internal:6379/2"
    assert Settings(broker_url=broker, rate_limit_storage_url=other).limit_storage_url == other


def test_while_redis_is_down_log_ins_work_and_are_counted_in_memory_until_it_is_back(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(throttle, "STORE_RETRY_SECONDS", 0.0)  # try Redis again at every count
    redis_server = start_redis(tmp_path / "redis-logs")
    shared = world.settings.model_copy(update=LIMITS | {"rate_limit_storage_url": redis_server.url})
    replica_a = TestClient(create_app(shared, start_jobs=False))
    redis_server.stop()
    try:
        assert token_for(replica_a, "lecturer", PASSWORD).status_code == 201
        for _ in range(3):
            assert token_for(replica_a, "lecturer", WRONG).status_code == 401
        assert_throttled(token_for(replica_a, "lecturer", PASSWORD))
        unreachable = STORE_UNREACHABLE.split("(")[0]
        assert any(unreachable in record.getMessage() for record in caplog.records)

        # Back on the same address: the replicas share their counts there again.
        redis_server = start_redis(tmp_path / "redis-logs", port=redis_server.port)
        world.user("grace")
        replica_b = TestClient(create_app(shared, start_jobs=False))
        for _ in range(3):
            assert token_for(replica_b, "grace", WRONG).status_code == 401
        assert_throttled(token_for(replica_a, "grace", PASSWORD))
    finally:
        redis_server.stop()
