"""Sessions end for good: logging out, changing the password and an administrator disabling
the account end every session of the user; disabling also stops the user's API tokens."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.services import accounts
from tests.app.conftest import PASSWORD, World
from tests.support.pages import csrf_of

HTML = {"accept": "text/html"}
COOKIE = "fairboard_session"
NEW_PASSWORD = "violet-harbour-tractor"


def browser(app: Any) -> TestClient:
    """Another browser on the same site: its own cookie jar."""
    return TestClient(app, follow_redirects=False)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    form = client.get("/login", headers=HTML)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]


def log_out(client: TestClient) -> None:
    csrf = csrf_of(client.get("/", headers=HTML))
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303


def whoami(client: TestClient, **headers: str) -> int:
    return client.get("/api/v1/auth/me", headers=headers).status_code


def test_a_saved_session_cookie_is_anonymous_after_logging_out(app: Any, world: World) -> None:
    world.user("alice")
    alice = browser(app)
    log_in(alice, "alice")
    saved = alice.cookies[COOKIE]
    assert whoami(alice) == 200

    log_out(alice)

    replay = browser(app)
    replay.cookies.set(COOKIE, saved)
    assert whoami(replay) == 401
    page = replay.get("/account/tokens", headers=HTML)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")


def test_logging_out_in_one_browser_ends_the_session_in_every_other(app: Any, world: World) -> None:
    world.user("alice")
    laptop, phone = browser(app), browser(app)
    log_in(laptop, "alice")
    log_in(phone, "alice")

    log_out(laptop)

    assert whoami(phone) == 401


def test_changing_the_password_ends_other_sessions_and_revokes_api_tokens(
    app: Any, world: World
) -> None:
    alice = world.user("alice")
    token = world.token(alice)
    here, elsewhere = browser(app), browser(app)
    log_in(here, "alice")
    log_in(elsewhere, "alice")
    stolen_cookie = here.cookies[COOKIE]
    form = here.get("/account/password", headers=HTML)

    changed = here.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "csrf_token": csrf_of(form),
        },
    )

    assert changed.status_code == 303
    assert whoami(here) == 200, "the browser that changed it gets a fresh session"
    assert whoami(elsewhere) == 401
    replay = browser(app)
    replay.cookies.set(COOKIE, stolen_cookie)
    assert whoami(replay) == 401
    assert whoami(browser(app), authorization=f"Bearer {token}") == 401
    old = browser(app).post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    assert old.status_code == 401
    new = browser(app).post(
        "/api/v1/auth/token", json={"username": "alice", "password": NEW_PASSWORD}
    )
    assert new.status_code == 201


def change_password(client: TestClient, headers: dict[str, str], current: str) -> Any:
    return client.post(
        "/api/v1/auth/password",
        json={"current_password": current, "new_password": NEW_PASSWORD},
        headers=headers,
    )


def test_a_password_change_with_a_wrong_current_password_changes_nothing(
    client: TestClient, world: World
) -> None:
    headers = world.headers(world.user("alice"))
    response = change_password(client, headers, "not-my-password")
    assert response.status_code == 422
    assert response.json() == {
        "code": "current_password_wrong",
        "message": accounts.CURRENT_PASSWORD_WRONG,
        "details": {"field": "current_password"},
    }
    assert whoami(client, **headers) == 200


def test_a_password_change_to_a_weak_password_is_refused_on_the_page(
    app: Any, world: World
) -> None:
    world.user("alice")
    alice = browser(app)
    log_in(alice, "alice")
    form = alice.get("/account/password", headers=HTML)
    response = alice.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "12345678",
            "csrf_token": csrf_of(form),
        },
    )
    assert response.status_code == 422
    assert accounts.PASSWORD_TOO_WEAK.replace("'", "&#39;") in response.text
    assert whoami(alice) == 200


def test_an_api_password_change_revokes_every_token_including_the_callers(
    client: TestClient, world: World
) -> None:
    headers = world.headers(world.user("alice"))
    response = change_password(client, headers, PASSWORD)
    assert response.status_code == 204
    assert whoami(client, **headers) == 401


def disable(client: TestClient, world: World, username: str, action: str = "disable") -> Any:
    return client.post(f"/api/v1/users/{username}/{action}", headers=world.headers(world.admin))


def test_an_administrator_disabling_an_account_ends_its_sessions_and_stops_its_tokens(
    app: Any, client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    token = {"authorization": f"Bearer {world.token(alice)}"}
    session = browser(app)
    log_in(session, "alice")

    disabled = disable(client, world, "alice")

    assert disabled.status_code == 200
    assert disabled.json()["is_active"] is False
    assert whoami(session) == 401
    assert whoami(client, **token) == 401
    refused = client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    assert refused.status_code == 401

    assert disable(client, world, "alice", "enable").json()["is_active"] is True
    assert whoami(client, **token) == 200, "enabling gives the tokens back"
    assert whoami(session) == 401, "the sessions ended stay ended"


def test_only_an_administrator_disables_and_never_their_own_account(
    client: TestClient, world: World
) -> None:
    world.user("alice")
    by_organizer = client.post(
        "/api/v1/users/alice/disable", headers=world.headers(world.organizer)
    )
    assert by_organizer.status_code == 403
    assert by_organizer.json()["message"] == accounts.ADMIN_ONLY
    itself = disable(client, world, "root")
    assert itself.status_code == 422
    assert itself.json()["message"] == accounts.CANNOT_DISABLE_SELF
    ghost = disable(client, world, "ghost")
    assert ghost.status_code == 404
    assert ghost.json()["message"] == accounts.USER_NOT_FOUND.format(username="ghost")
