"""Opt-in notifications and address verification, received by a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import update

from app.config import Settings
from app.main import create_app
from app.models import Submission, SubmissionStatus, User
from app.notifications import DISQUALIFIED, REVEALED, SUBMISSION_FAILED, SUBMISSION_FINISHED
from app.routes.pages.email import EMAIL_VERIFIED, NOTIFICATIONS_SAVED
from app.services.email_links import LINK_INVALID, VERIFY_SUBJECT
from tests.app.conftest import World, prediction_csv
from tests.app.email.conftest import Inbox, body_of, free_port, link_in
from tests.app.test_pages import csrf_of, log_in

TITLE = "Age estimation"


@pytest.fixture
def site(smtp_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(smtp_settings)) as client:
        client.headers["accept"] = "text/html"
        client.follow_redirects = False
        yield client


def opt_in(site: TestClient, username: str, **choices: str) -> Any:
    log_in(site, username)
    form = site.get("/account/email")
    return site.post("/account/notifications", data={"csrf_token": csrf_of(form), **choices})


def submit(site: TestClient, world: World, user: User, content: bytes) -> Any:
    return site.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("p.csv", content, "text/csv")},
        headers=world.headers(user) | {"accept": "application/json"},
    )


def disqualify_bob(site: TestClient, world: World, reason: str) -> Any:
    world.user("bob")
    opt_in(site, "bob", moderation="1")
    return site.post(
        f"/api/v1/competitions/{world.competition_id}/participants/bob/disqualify",
        json={"reason": reason},
        headers=world.headers(world.organizer) | {"accept": "application/json"},
    )


def good_file(world: World) -> bytes:
    truth = world.truth()
    return prediction_csv(truth.ids, truth.age + 1.0)


def test_an_opted_in_participant_hears_that_a_submission_finished(
    site: TestClient, world: World, inbox: Inbox
) -> None:
    alice = world.user("alice")
    saved = opt_in(site, "alice", results="1")
    assert saved.status_code == 303
    assert NOTIFICATIONS_SAVED in site.get("/account/email").text

    submission_id = submit(site, world, alice, good_file(world)).json()["id"]

    [message] = inbox.messages
    assert message["To"] == "alice@example.org"
    assert message["Subject"] == SUBMISSION_FINISHED.format(id=submission_id, competition=TITLE)
    assert f"/submissions/{submission_id}" in body_of(message)


def test_a_failed_submission_mail_gives_the_reason(
    site: TestClient, world: World, inbox: Inbox
) -> None:
    alice = world.user("alice")
    opt_in(site, "alice", results="1")

    refused = submit(site, world, alice, b"id,age\nnot-an-id,3\n")

    assert refused.status_code == 422
    submission_id = refused.json()["details"]["submission_id"]
    [message] = inbox.messages
    assert message["Subject"] == SUBMISSION_FAILED.format(id=submission_id, competition=TITLE)
    assert "unknown id 'not-an-id'" in body_of(message)


def test_no_mail_without_opting_in(site: TestClient, world: World, inbox: Inbox) -> None:
    alice = world.user("alice")

    submit(site, world, alice, good_file(world))

    assert inbox.messages == []


def test_a_mail_server_that_is_down_does_not_break_the_job(
    settings: Settings, world: World
) -> None:
    unreachable = settings.model_copy(
        update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{free_port()}")}
    )
    alice = world.user("alice")
    with world.db.transaction() as session:
        session.execute(update(User).where(User.id == alice.id).values(notify_results=True))

    with TestClient(create_app(unreachable)) as client:
        response = submit(client, world, alice, good_file(world))

    assert response.status_code == 201
    with world.db.sessionmaker() as session:
        stored = session.get(Submission, response.json()["id"])
        assert stored is not None and stored.status is SubmissionStatus.FINISHED


def test_a_disqualified_participant_is_told_the_reason(
    site: TestClient, world: World, inbox: Inbox
) -> None:
    response = disqualify_bob(site, world, "shared the test labels")

    assert response.status_code == 200, response.text
    [message] = inbox.messages
    assert message["Subject"] == DISQUALIFIED.format(competition=TITLE)
    assert "shared the test labels" in body_of(message)


def test_a_refused_disqualification_sends_nothing(
    site: TestClient, world: World, inbox: Inbox
) -> None:
    response = disqualify_bob(site, world, "  ")

    assert response.status_code == 422
    assert inbox.messages == []


def test_opted_in_participants_hear_of_the_reveal(
    site: TestClient, world: World, inbox: Inbox
) -> None:
    world.user("alice")
    world.user("carol")
    opt_in(site, "alice", reveals="1")
    world.update_phase(public_fraction=0.5)

    response = site.post(
        f"/api/v1/phases/{world.phase_id}/reveal",
        headers=world.headers(world.organizer) | {"accept": "application/json"},
    )

    assert response.status_code == 200, response.text
    assert [m["To"] for m in inbox.messages] == ["alice@example.org"]
    assert inbox.messages[0]["Subject"] == REVEALED.format(competition=TITLE, phase="Task 1")


def test_the_verification_link_confirms_the_address_once(
    site: TestClient, world: World, inbox: Inbox
) -> None:
    world.user("alice")
    log_in(site, "alice")
    form = site.get("/account/email")
    assert 'data-verified="no"' in form.text

    site.post("/account/email/verify", data={"csrf_token": csrf_of(form)})

    [message] = inbox.messages
    assert message["Subject"] == VERIFY_SUBJECT
    path = link_in(body_of(message))
    assert site.get(path).headers["location"] == "/account/email"
    confirmed = site.get("/account/email").text
    assert EMAIL_VERIFIED.format(email="alice@example.org") in confirmed
    assert 'data-verified="yes"' in confirmed
    assert LINK_INVALID in site.get(path).text
