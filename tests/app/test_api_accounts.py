"""Registration, tokens and authentication through the REST API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.services import accounts
from app.services.demo import DEMO_ACCOUNTS, DemoAccount
from tests.app.conftest import PASSWORD, World


def register(client: TestClient, username: str = "alice", password: str = PASSWORD) -> dict:
    response = client.post(
        "/api/v1/auth/register",
        json={"username": username, "password": password, "email": f"{username}@example.org"},
    )
    return {"status": response.status_code, "body": response.json()}


def test_register_then_exchange_credentials_for_a_token(client: TestClient) -> None:
    assert register(client)["status"] == 201
    response = client.post("/api/v1/auth/token", json={"username": "Alice", "password": PASSWORD})
    assert response.status_code == 201
    token = response.json()["token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert me.json()["role"] == "participant"


def test_usernames_are_unique_case_insensitively(client: TestClient) -> None:
    register(client, "alice")
    second = register(client, "ALICE")
    assert second["status"] == 409
    assert second["body"] == {
        "code": "conflict",
        "message": accounts.USERNAME_TAKEN.format(username="alice"),
        "details": {"field": "username"},
    }


def test_short_password_is_refused_with_its_message(client: TestClient) -> None:
    result = register(client, "bob", password="short")
    assert result["status"] == 422
    assert result["body"]["message"] == accounts.PASSWORD_TOO_SHORT


def test_wrong_password_gets_no_token(client: TestClient) -> None:
    register(client)
    response = client.post(
        "/api/v1/auth/token", json={"username": "alice", "password": "nope-nope"}
    )
    assert response.status_code == 401
    assert response.json() == {"code": "invalid_credentials", "message": accounts.LOGIN_FAILED}


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "ghost", "password": PASSWORD})
    assert response.status_code == 401
    assert response.json()["message"] == accounts.LOGIN_FAILED


def test_revoked_token_no_longer_authenticates(client: TestClient, world: World) -> None:
    user = world.user("carol")
    token = world.token(user)
    headers = {"Authorization": f"Bearer {token}"}
    tokens = client.get("/api/v1/auth/tokens", headers=headers).json()
    assert [t["prefix"] for t in tokens] == [token[:10]]
    assert "token" not in tokens[0]
    assert (
        client.delete(f"/api/v1/auth/tokens/{tokens[0]['id']}", headers=headers).status_code == 200
    )
    after = client.get("/api/v1/auth/me", headers=headers)
    assert after.status_code == 401
    assert after.json()["message"] == accounts.TOKEN_INVALID


def test_tokens_are_stored_hashed(world: World) -> None:
    user = world.user("dave")
    secret = world.token(user)
    with world.db.sessionmaker() as session:
        stored = accounts.list_tokens(session, user)[0]
    assert secret not in stored.token_hash
    assert stored.token_hash != secret


def test_a_user_cannot_revoke_someone_elses_token(client: TestClient, world: World) -> None:
    owner, other = world.user("erin"), world.user("frank")
    world.token(owner)
    with world.db.sessionmaker() as session:
        token_id = accounts.list_tokens(session, owner)[0].id
    response = client.delete(f"/api/v1/auth/tokens/{token_id}", headers=world.headers(other))
    assert response.status_code == 404
    assert response.json()["message"] == accounts.TOKEN_NOT_FOUND.format(id=token_id)


def test_anonymous_calls_to_protected_routes_are_refused(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("bob", "12345678"),
        ("bob", "aaaaaaaaaa"),
        ("bob", " " * 8),
        ("margarethe", "margarethe2024"),
        ("alice", "alice12345"),
    ],
    ids=["digits", "repeated-letter", "eight-spaces", "username-plus-digits", "alice-plus-digits"],
)
def test_easily_guessed_passwords_are_refused_with_what_to_do_instead(
    client: TestClient, username: str, password: str
) -> None:
    result = register(client, username, password=password)
    assert result["status"] == 422
    assert result["body"] == {
        "code": "invalid_input",
        "message": accounts.PASSWORD_TOO_WEAK,
        "details": {"field": "password"},
    }


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda account: account.username)
def test_the_demo_accounts_passwords_are_strong_enough(account: DemoAccount) -> None:
    accounts.check_new_password(
        account.password, username=account.username, email=f"{account.username}@example.org"
    )


def test_a_very_long_password_is_judged_by_its_start(client: TestClient) -> None:
    assert register(client, "bob", password="a" * 1000)["status"] == 422
    assert register(client, "carol", password=PASSWORD + "a" * 1000)["status"] == 201
