"""Password reset by an e-mailed link: through a real SMTP server and through the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from app import notifications
from app.config import SMTP_URL_INVALID, Settings
from app.db import utcnow
from app.mailer import read_outbox
from app.main import create_app
from app.models import EmailToken
from app.routes.pages.email import PASSWORD_RESET, RESET_SENT
from app.services import email_links
from app.services.email_links import LINK_INVALID, RESET_SUBJECT
from tests.app.conftest import PASSWORD, World
from tests.app.email.conftest import Inbox, body_of, link_in
from tests.app.test_pages import csrf_of, log_in

NEW_PASSWORD = "violet-anchor-meadow-42"


def browser(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as client:
        client.headers["accept"] = "text/html"
        client.follow_redirects = False
        yield client


@pytest.fixture
def site(app: Any) -> Iterator[TestClient]:
    yield from browser(app)


@pytest.fixture
def smtp_site(settings: Settings, smtp_server: tuple[str, Inbox]) -> Iterator[TestClient]:
    url, _ = smtp_server
    yield from browser(create_app(settings.model_copy(update={"smtp_url": SecretStr(url)})))


def ask_for_reset(site: TestClient, who: str) -> Any:
    form = site.get("/account/reset")
    return site.post("/account/reset", data={"who": who, "csrf_token": csrf_of(form)})


def set_password(site: TestClient, path: str, password: str) -> Any:
    """Post the new-password form of a link (the CSRF token from a form that always has one)."""
    form = site.get("/account/reset")
    return site.post(path, data={"new_password": password, "csrf_token": csrf_of(form)})


def flash_on(site: TestClient, path: str) -> str:
    return site.get(path).text


def test_the_reset_email_arrives_at_a_real_smtp_server_and_its_link_works_once(
    smtp_site: TestClient, smtp_server: tuple[str, Inbox], world: World
) -> None:
    world.user("alice")
    _, inbox = smtp_server

    asked = ask_for_reset(smtp_site, "alice")

    assert asked.status_code == 303 and asked.headers["location"] == "/login"
    assert RESET_SENT.format(minutes=60) in flash_on(smtp_site, "/login")
    [message] = inbox.messages
    assert message["To"] == "alice@example.org"
    assert message["Subject"] == RESET_SUBJECT
    path = link_in(body_of(message))
    assert set_password(smtp_site, path, NEW_PASSWORD).headers["location"] == "/login"
    assert PASSWORD_RESET in flash_on(smtp_site, "/login")
    assert log_in(smtp_site, "alice", NEW_PASSWORD).status_code == 303
    smtp_site.cookies.clear()
    assert LINK_INVALID in smtp_site.get(path).text
    again = set_password(smtp_site, path, NEW_PASSWORD)
    assert again.status_code == 422 and LINK_INVALID in again.text
    assert log_in(smtp_site, "alice", PASSWORD).status_code == 401


def test_without_smtp_the_reset_email_is_in_the_outbox_shown_to_administrators(
    site: TestClient, world: World
) -> None:
    world.user("alice")

    ask_for_reset(site, "alice@example.org")

    [mail] = read_outbox(world.settings)
    assert mail.to == "alice@example.org" and mail.subject == RESET_SUBJECT
    log_in(site, "root")
    outbox = site.get("/admin/outbox")
    assert outbox.status_code == 200 and RESET_SUBJECT in outbox.text
    site.cookies.clear()
    path = link_in(mail.body)
    assert set_password(site, path, NEW_PASSWORD).status_code == 303
    assert set_password(site, path, NEW_PASSWORD).status_code == 422


def test_only_administrators_read_the_outbox(site: TestClient, world: World) -> None:
    world.user("alice")
    log_in(site, "alice")

    assert site.get("/admin/outbox").status_code == 403


def test_an_unknown_account_gets_the_same_answer_and_no_email(
    site: TestClient, world: World
) -> None:
    asked = ask_for_reset(site, "nobody")

    assert asked.status_code == 303
    assert RESET_SENT.format(minutes=60) in flash_on(site, "/login")
    assert read_outbox(world.settings) == []


def test_a_weak_new_password_is_refused_and_leaves_the_link_usable(
    site: TestClient, world: World
) -> None:
    world.user("alice")
    ask_for_reset(site, "alice")
    path = link_in(read_outbox(world.settings)[0].body)

    refused = set_password(site, path, "password")

    assert refused.status_code == 422
    assert set_password(site, path, NEW_PASSWORD).status_code == 303


def test_an_expired_link_is_refused(world: World) -> None:
    alice = world.user("alice")
    notifications.install(world.db.sessionmaker, world.settings)
    asked_at = utcnow() - timedelta(minutes=61)
    with world.db.transaction() as session:
        email_links.request_password_reset(session, world.settings, alice.username, now=asked_at)
    path = link_in(read_outbox(world.settings)[0].body)
    secret = path.rsplit("/", 1)[1]

    with world.db.transaction() as session, pytest.raises(Exception) as refused:
        email_links.reset_password(session, secret, NEW_PASSWORD, now=utcnow())

    assert str(refused.value) == LINK_INVALID


def test_only_a_hash_of_the_link_is_stored(site: TestClient, world: World) -> None:
    world.user("alice")
    ask_for_reset(site, "alice")
    secret = link_in(read_outbox(world.settings)[0].body).rsplit("/", 1)[1]

    with world.db.sessionmaker() as session:
        stored = session.scalars(select(EmailToken)).one()

    assert secret not in (stored.token_hash, stored.email)
    assert len(stored.token_hash) == 64


def test_a_malformed_smtp_url_is_refused_without_repeating_it(settings: Settings) -> None:
    with pytest.raises(ValueError) as refused:
        Settings(smtp_url="http://user:hunter2@mail.example.org")  # type: ignore[arg-type]

    assert SMTP_URL_INVALID in str(refused.value)
    assert "hunter2" not in str(refused.value)
