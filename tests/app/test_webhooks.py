"""Outbound webhooks, delivered to a real HTTP receiver by the embedded job runner."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook as Verifier

from app.config import Settings
from app.errors import InvalidInput
from app.models import Role
from app.services import webhooks
from tests.app.conftest import World, prediction_csv
from tests.support.receiver import Receiver, receiver

ALL_EVENTS = ["submission.finished", "submission.failed", "leaderboard.changed"]


def register(client: TestClient, headers: dict[str, str], url: str, events: Any = None) -> Any:
    response = client.post(
        "/api/v1/webhooks", json={"url": url, "events": events or ALL_EVENTS}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def submit(client: TestClient, world: World, headers: dict[str, str], data: bytes) -> Any:
    return client.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("p.csv", data)},
        headers=headers,
    )


def good_predictions(world: World) -> bytes:
    truth = world.truth()
    return prediction_csv(truth.ids, truth.age + 1.0)


def without_intervals(body: dict[str, Any]) -> dict[str, Any]:
    """The submission less its intervals: the leaderboard job adds them a moment after the
    result, so a read after the event may already show them."""
    background = ("intervals", "private_intervals", "intervals_note", "rank_move")
    return {k: v for k, v in body.items() if k not in background}


def settled_log(
    client: TestClient, hook_id: int, headers: dict[str, str], *, seconds: float = 20.0
) -> list[Any]:
    """The webhook's delivery log once no delivery in it is pending: the runner records an
    attempt's outcome just after the receiver has counted it."""
    deadline = time.monotonic() + seconds
    while True:
        log: list[Any] = client.get(
            f"/api/v1/webhooks/{hook_id}/deliveries", headers=headers
        ).json()
        if all(d["status"] != "pending" for d in log) or time.monotonic() > deadline:
            return log
        time.sleep(0.02)


def quiet_for(target: Receiver, seconds: float = 0.5) -> None:
    """Give the delivery loop (polling every 0.05 s in tests) time to send anything it would."""
    time.sleep(seconds)
    assert target.attempts == []


def test_a_finished_submission_is_posted_signed_with_the_submission_as_its_owner_reads_it(
    client: TestClient, world: World
) -> None:
    headers = world.headers(world.user("alice"))
    with receiver() as target:
        hook = register(client, headers, target.url, ["submission.finished"])
        assert hook["secret"].startswith("whsec_")
        submitted = submit(client, world, headers, good_predictions(world))
        assert submitted.status_code == 201, submitted.text
        (delivery,) = target.wait_for(1)
    verified = Verifier(hook["secret"]).verify(delivery.body, delivery.headers)
    assert verified["type"] == "submission.finished"
    own_view = client.get(f"/api/v1/submissions/{submitted.json()['id']}", headers=headers)
    assert without_intervals(verified["data"]) == without_intervals(own_view.json())
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= delivery.headers.keys()


def test_a_tampered_body_does_not_verify(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("alice"))
    with receiver() as target:
        hook = register(client, headers, target.url)
        submit(client, world, headers, good_predictions(world))
        (delivery,) = target.wait_for(1)
    with pytest.raises(Exception, match="No matching signature found"):
        Verifier(hook["secret"]).verify(
            delivery.body.replace(b"finished", b"failed"), delivery.headers
        )


def test_a_rejected_file_sends_submission_failed_with_the_error(
    client: TestClient, world: World
) -> None:
    headers = world.headers(world.user("alice"))
    with receiver() as target:
        register(client, headers, target.url, ["submission.failed"])
        assert submit(client, world, headers, b"id,age\nnobody,3\n").status_code == 422
        (delivery,) = target.wait_for(1)
    assert delivery.event["type"] == "submission.failed"
    assert delivery.event["data"]["status"] == "failed"
    assert delivery.event["data"]["error"]


def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_try(
    client: TestClient, world: World
) -> None:
    headers = world.headers(world.user("alice"))
    with receiver(failures=2) as target:
        hook = register(client, headers, target.url, ["submission.finished"])
        submit(client, world, headers, good_predictions(world))
        target.wait_for(1)
    assert len(target.attempts) == 3
    assert len({attempt.headers["webhook-id"] for attempt in target.attempts}) == 1
    log = settled_log(client, hook["id"], headers)
    assert [(d["status"], d["attempts"], d["last_response_status"]) for d in log] == [
        ("delivered", 3, 204)
    ]


def test_a_delivery_that_keeps_failing_stops_after_the_last_attempt(
    client: TestClient, world: World, settings: Settings
) -> None:
    headers = world.headers(world.user("alice"))
    with receiver(failures=100) as target:
        hook = register(client, headers, target.url)
        client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=headers)
        deadline = time.monotonic() + 20
        while len(target.attempts) < settings.webhook_max_attempts and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    assert len(target.attempts) == settings.webhook_max_attempts
    (entry,) = settled_log(client, hook["id"], headers)
    assert (entry["status"], entry["last_error"]) == ("failed", "the receiver answered 500")


def test_a_deleted_webhook_gets_nothing(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("alice"))
    with receiver() as kept, receiver() as deleted:
        register(client, headers, kept.url)
        gone = register(client, headers, deleted.url)
        assert client.delete(f"/api/v1/webhooks/{gone['id']}", headers=headers).status_code == 204
        submit(client, world, headers, good_predictions(world))
        kept.wait_for(1)
        quiet_for(deleted)
    assert [h["id"] for h in client.get("/api/v1/webhooks", headers=headers).json()] != [gone["id"]]


def test_nobody_receives_events_about_another_participants_submissions(
    client: TestClient, world: World
) -> None:
    alice, bob = world.headers(world.user("alice")), world.headers(world.user("bob"))
    with receiver() as alices, receiver() as bobs:
        register(client, alice, alices.url)
        bob_hook = register(client, bob, bobs.url)
        submit(client, world, alice, good_predictions(world))
        alices.wait_for(1)
        quiet_for(bobs)
    assert client.get(f"/api/v1/webhooks/{bob_hook['id']}/deliveries", headers=bob).json() == []


def test_organizers_hear_that_the_leaderboard_changed(client: TestClient, world: World) -> None:
    organizer = world.headers(world.organizer)
    alice = world.headers(world.user("alice"))
    with receiver() as target:
        register(client, organizer, target.url, ["leaderboard.changed"])
        submitted = submit(client, world, alice, good_predictions(world)).json()
        (delivery,) = target.wait_for(1)
    assert delivery.event["type"] == "leaderboard.changed"
    assert delivery.event["data"] == {
        "competition_id": world.competition_id,
        "phase_id": world.phase_id,
        "cause": "submission.finished",
        "submission_id": submitted["id"],
    }


def test_organizers_hear_of_hidden_entries_and_of_the_reveal(
    client: TestClient, world: World
) -> None:
    organizer = world.headers(world.organizer)
    alice = world.headers(world.user("alice"))
    submitted = submit(client, world, alice, good_predictions(world)).json()
    world.update_phase(public_fraction=0.5)
    with receiver() as target:
        register(client, organizer, target.url, ["leaderboard.changed"])
        hidden = client.post(
            f"/api/v1/submissions/{submitted['id']}/hide",
            json={"reason": "duplicate account"},
            headers=organizer,
        )
        assert hidden.status_code == 200, hidden.text
        client.post(f"/api/v1/submissions/{submitted['id']}/unhide", headers=organizer)
        assert client.post(f"/api/v1/phases/{world.phase_id}/reveal", headers=organizer).is_success
        received = target.wait_for(3)
    assert [(r.event["data"]["cause"], r.event["data"]["submission_id"]) for r in received] == [
        ("submission.hidden", submitted["id"]),
        ("submission.unhidden", submitted["id"]),
        ("private.revealed", None),
    ]


def test_a_participant_cannot_subscribe_to_leaderboard_changes_of_others(
    client: TestClient, world: World
) -> None:
    alice = world.headers(world.user("alice"))
    bob = world.headers(world.user("bob"))
    with receiver() as target:
        register(client, alice, target.url, ["leaderboard.changed"])
        submit(client, world, bob, good_predictions(world))
        quiet_for(target, 0.8)


def test_the_test_event_button_sends_a_signed_test_event(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("alice"))
    with receiver() as target:
        hook = register(client, headers, target.url)
        sent = client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=headers)
        assert sent.status_code == 202, sent.text
        (delivery,) = target.wait_for(1)
    event = Verifier(hook["secret"]).verify(delivery.body, delivery.headers)
    assert event["type"] == "webhook.test"
    assert event["data"] == {"webhook_id": hook["id"], "username": "alice"}


def test_the_secret_is_shown_once(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("alice"))
    register(client, headers, "http://127.0.0.1:9/hook")
    (listed,) = client.get("/api/v1/webhooks", headers=headers).json()
    assert "secret" not in listed


def test_someone_elses_webhook_is_not_found(client: TestClient, world: World) -> None:
    hook = register(client, world.headers(world.user("alice")), "http://127.0.0.1:9/hook")
    bob = world.headers(world.user("bob"))
    for method, path in [
        ("DELETE", f"/api/v1/webhooks/{hook['id']}"),
        ("GET", f"/api/v1/webhooks/{hook['id']}/deliveries"),
        ("POST", f"/api/v1/webhooks/{hook['id']}/test"),
    ]:
        response = client.request(method, path, headers=bob)
        assert response.json() == {
            "code": "not_found",
            "message": webhooks.WEBHOOK_NOT_FOUND.format(id=hook["id"]),
        }


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            ["submission.done"],
            webhooks.UNKNOWN_EVENT.format(
                event="submission.done", choices=", ".join(webhooks.EVENTS)
            ),
        ),
        ([], webhooks.NO_EVENTS.format(choices=", ".join(webhooks.EVENTS))),
    ],
)
def test_unknown_or_missing_events_are_refused(
    client: TestClient, world: World, events: list[str], message: str
) -> None:
    response = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/", "events": events},
        headers=world.headers(world.user("alice")),
    )
    assert (response.status_code, response.json()["message"]) == (422, message)


STRICT = Settings(environment="test", webhook_allow_private=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/x", webhooks.URL_NOT_HTTP.format(url="ftp://example.org/x")),
        ("http://user:pw@example.org/", webhooks.URL_CREDENTIALS),
        (
            "http://127.0.0.1:8000/hook",
            webhooks.URL_PRIVATE.format(host="127.0.0.1", address="127.0.0.1"),
        ),
        ("http://10.1.2.3/", webhooks.URL_PRIVATE.format(host="10.1.2.3", address="10.1.2.3")),
        ("http://[::1]/", webhooks.URL_PRIVATE.format(host="::1", address="::1")),
        (
            "http://[::ffff:192.168.0.1]/",
            webhooks.URL_PRIVATE.format(host="::ffff:192.168.0.1", address="::ffff:192.168.0.1"),
        ),
        (
            "http://169.254.169.254/",
            webhooks.URL_PRIVATE.format(host="169.254.169.254", address="169.254.169.254"),
        ),
        (
            "http://localhost/",
            webhooks.URL_PRIVATE.format(host="localhost", address="127.0.0.1"),
        ),
        (
            "http://no-such-host.invalid/",
            webhooks.URL_UNRESOLVED.format(host="no-such-host.invalid"),
        ),
    ],
)
def test_targets_on_private_or_loopback_addresses_are_refused(url: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        webhooks.check_target(STRICT, url)
    assert refused.value.message == message


def test_production_accepts_https_targets_only() -> None:
    production = Settings(
        environment="production",
        secret_key="s" * 40,
        base_url="https://fairboard.example.org",
        webhook_allow_private=False,
    )
    with pytest.raises(InvalidInput) as refused:
        webhooks.check_target(production, "http://93.184.215.14/hook")
    assert refused.value.message == webhooks.URL_NOT_HTTPS.format(url="http://93.184.215.14/hook")
    assert webhooks.check_target(production, "https://93.184.215.14/hook")


def test_operators_may_allow_private_targets() -> None:
    allowed = Settings(environment="test", webhook_allow_private=True)
    assert webhooks.check_target(allowed, "http://127.0.0.1:8000/hook")


def test_webhooks_of_organizers_role_see_their_competitions_only(
    client: TestClient, world: World
) -> None:
    stranger = world.headers(world.user("stranger", role=Role.ORGANIZER, join=False))
    alice = world.headers(world.user("alice"))
    with receiver() as target:
        register(client, stranger, target.url, ["leaderboard.changed"])
        submit(client, world, alice, good_predictions(world))
        quiet_for(target, 0.8)


def test_the_account_page_lists_webhooks_and_sends_a_test_event(
    client: TestClient, world: World
) -> None:
    from tests.app.test_pages import csrf_of, log_in

    headers = world.headers(world.user("alice"))
    with receiver() as target:
        hook = register(client, headers, target.url)
        log_in(client, "alice")
        shown = client.get("/account/tokens")
        assert target.url in shown.text
        sent = client.post(
            f"/account/webhooks/{hook['id']}/test",
            data={"csrf_token": csrf_of(shown)},
            follow_redirects=False,
        )
        assert sent.status_code == 303
        (delivery,) = target.wait_for(1)
    assert delivery.event["type"] == "webhook.test"
    assert "webhook.test" in client.get("/account/tokens").text


def test_two_delivery_loops_never_send_one_attempt_twice(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from app.db import utcnow
    from app.jobs.deliveries import deliver_due

    alice = world.user("alice")
    with receiver() as target:
        with world.db.transaction() as session:
            hook = webhooks.create_webhook(
                session, world.settings, alice, url=target.url, events=["submission.finished"]
            )
            for _ in range(20):
                webhooks.queue_test_event(session, alice, hook.id, now=utcnow())
        with ThreadPoolExecutor(4) as pool:
            sent = sum(pool.map(lambda _: deliver_due(world.db, world.settings), range(4)))
        ids = [attempt.headers["webhook-id"] for attempt in target.attempts]
    assert sent == 20
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 20
