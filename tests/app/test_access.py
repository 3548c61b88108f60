"""Who may call what, for every route the app has.

Each route is given one access policy below; a route added without one fails
``test_every_route_has_an_access_policy``. Then, per policy, every route is called as the
people who must be refused: anonymous visitors, a participant who is not the owner, a
participant who is not an organizer, a participant trying an organizer-role action.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from app.db import utcnow
from app.models import EmailPurpose, Role, TeamMode
from tests.app.conftest import PASSWORD, World, prediction_csv
from tests.support.pages import csrf_of
from tests.support.routes import all_routes


class Policy(Enum):
    PUBLIC = "anyone, logged in or not"
    LOGIN = "any logged-in user, acting on their own account"
    OWNER = "the owner of the submission, and the competition's organizers"
    SELF = "the owner of the submission alone"
    ORGANIZER = "the organizers of the competition (and admins)"
    CREATOR = "users with the organizer or admin role"
    ADMIN = "administrators only"


P, L, OWN, S = Policy.PUBLIC, Policy.LOGIN, Policy.OWNER, Policy.SELF
ORG, C, A = Policy.ORGANIZER, Policy.CREATOR, Policy.ADMIN

POLICIES: dict[tuple[str, str], Policy] = {
    # operations
    ("GET", "/healthz"): P,
    ("GET", "/favicon.ico"): P,
    ("GET", "/readyz"): P,
    ("GET", "/metrics"): P,
    ("GET", "/docs"): P,
    ("GET", "/redoc"): P,
    # accounts
    ("POST", "/api/v1/auth/register"): P,
    ("POST", "/api/v1/auth/token"): P,
    ("GET", "/api/v1/auth/me"): L,
    ("GET", "/api/v1/auth/tokens"): L,
    ("DELETE", "/api/v1/auth/tokens/{token_id}"): L,
    ("POST", "/api/v1/auth/password"): L,
    ("POST", "/api/v1/users/{username}/disable"): A,
    ("POST", "/api/v1/users/{username}/enable"): A,
    ("GET", "/login"): P,
    ("POST", "/login"): P,
    ("GET", "/signup"): P,
    ("POST", "/signup"): P,
    ("POST", "/logout"): P,
    ("GET", "/account/tokens"): L,
    ("POST", "/account/tokens"): L,
    ("POST", "/account/tokens/{token_id}/revoke"): L,
    ("POST", "/account/webhooks/{webhook_id}/test"): L,
    ("POST", "/api/v1/webhooks"): L,
    ("GET", "/api/v1/webhooks"): L,
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): L,
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): L,
    ("POST", "/api/v1/webhooks/{webhook_id}/test"): L,
    ("GET", "/account/password"): L,
    ("POST", "/account/password"): L,
    ("GET", "/account/reset"): P,
    ("POST", "/account/reset"): P,
    ("GET", "/account/reset/{secret}"): P,
    ("POST", "/account/reset/{secret}"): P,
    ("GET", "/account/email"): L,
    ("POST", "/account/email/verify"): L,
    ("GET", "/account/email/verify/{secret}"): P,
    ("POST", "/account/notifications"): L,
    ("GET", "/admin/outbox"): A,
    # competitions and phases, as participants see them
    ("GET", "/"): P,
    ("GET", "/competitions/{competition_id}"): P,
    ("POST", "/competitions/{competition_id}/join"): L,
    ("GET", "/api/v1/competitions"): P,
    ("GET", "/api/v1/competitions/{competition_id}"): P,
    ("POST", "/api/v1/competitions/{competition_id}/join"): L,
    ("GET", "/api/v1/phases/{phase_id}"): P,
    ("GET", "/api/v1/phases/{phase_id}/leaderboard"): P,
    ("GET", "/phases/{phase_id}/leaderboard"): P,
    ("GET", "/help/ranking"): P,
    ("GET", "/api/v1/phases/{phase_id}/exports/leaderboard.{fmt}"): P,
    ("GET", "/api/v1/phases/{phase_id}/files"): P,
    ("GET", "/api/v1/phases/{phase_id}/files/{kind}"): P,
    ("GET", "/api/v1/phases/{phase_id}/inputs"): L,
    ("GET", "/api/v1/phases/{phase_id}/inputs/array"): L,
    # submitting, and one's own submissions
    ("POST", "/api/v1/phases/{phase_id}/submissions"): L,
    ("GET", "/api/v1/phases/{phase_id}/submissions/mine"): L,
    ("GET", "/phases/{phase_id}/submit"): L,
    ("POST", "/phases/{phase_id}/submit"): L,
    ("GET", "/phases/{phase_id}/submissions"): L,
    ("GET", "/api/v1/submissions/{submission_id}"): OWN,
    ("GET", "/api/v1/submissions/{submission_id}/file"): OWN,
    ("POST", "/api/v1/submissions/{submission_id}/choose"): S,
    ("GET", "/submissions/{submission_id}"): OWN,
    ("POST", "/submissions/{submission_id}/choose"): S,
    ("PATCH", "/api/v1/submissions/{submission_id}"): S,
    ("POST", "/submissions/{submission_id}/metadata"): S,
    # teams: joining and leaving act on one's own membership; a team is seen by its members
    ("POST", "/api/v1/competitions/{competition_id}/teams"): L,
    ("POST", "/api/v1/competitions/{competition_id}/teams/join"): L,
    ("GET", "/api/v1/competitions/{competition_id}/teams"): ORG,
    ("GET", "/api/v1/teams/{team_id}"): OWN,
    ("POST", "/api/v1/teams/{team_id}/leave"): OWN,
    ("POST", "/api/v1/teams/{team_id}/members/{username}/remove"): OWN,
    ("POST", "/api/v1/teams/{team_id}/captain"): L,
    ("POST", "/competitions/{competition_id}/teams"): L,
    ("POST", "/competitions/{competition_id}/teams/join"): L,
    ("POST", "/teams/{team_id}/leave"): L,
    ("POST", "/teams/{team_id}/members/{username}/remove"): L,
    ("POST", "/teams/{team_id}/captain"): L,
    # comparing one's own (or one's team's) submissions and the baselines
    ("GET", "/api/v1/compare"): L,
    ("GET", "/competitions/{competition_id}/compare"): L,
    # creating competitions and test sets
    ("POST", "/api/v1/competitions"): C,
    ("GET", "/api/v1/testsets"): L,
    ("POST", "/api/v1/testsets"): C,
    ("GET", "/api/v1/testsets/{testset_id}"): C,
    ("GET", "/organize"): L,
    ("POST", "/organize/competitions"): C,
    ("GET", "/organize/testsets"): L,
    ("POST", "/organize/testsets"): C,
    ("GET", "/organize/testsets/{testset_id}"): C,
    # running a competition
    ("PATCH", "/api/v1/competitions/{competition_id}"): ORG,
    ("GET", "/api/v1/competitions/{competition_id}/audit"): ORG,
    ("GET", "/api/v1/competitions/{competition_id}/organizers"): ORG,
    ("POST", "/api/v1/competitions/{competition_id}/organizers"): ORG,
    ("DELETE", "/api/v1/competitions/{competition_id}/organizers/{username}"): ORG,
    ("GET", "/api/v1/competitions/{competition_id}/participants"): ORG,
    ("POST", "/api/v1/competitions/{competition_id}/participants/{username}/disqualify"): ORG,
    ("POST", "/api/v1/competitions/{competition_id}/participants/{username}/requalify"): ORG,
    ("POST", "/api/v1/competitions/{competition_id}/phases"): ORG,
    ("PATCH", "/api/v1/phases/{phase_id}"): ORG,
    ("GET", "/api/v1/phases/{phase_id}/settings"): ORG,
    ("POST", "/api/v1/phases/{phase_id}/baselines"): ORG,
    ("GET", "/api/v1/phases/{phase_id}/exports/submissions.csv"): ORG,
    ("PUT", "/api/v1/phases/{phase_id}/files/{kind}"): ORG,
    ("DELETE", "/api/v1/phases/{phase_id}/files/{kind}"): ORG,
    ("POST", "/api/v1/phases/{phase_id}/rescore"): ORG,
    ("GET", "/api/v1/phases/{phase_id}/rescores"): ORG,
    ("GET", "/api/v1/rescores/{rescore_id}"): ORG,
    ("POST", "/api/v1/phases/{phase_id}/reveal"): ORG,
    ("GET", "/api/v1/phases/{phase_id}/submissions"): ORG,
    ("POST", "/api/v1/submissions/{submission_id}/hide"): ORG,
    ("POST", "/api/v1/submissions/{submission_id}/unhide"): ORG,
    ("POST", "/api/v1/submissions/{submission_id}/rerun"): ORG,
    ("GET", "/organize/competitions/{competition_id}"): ORG,
    ("POST", "/organize/competitions/{competition_id}"): ORG,
    ("GET", "/organize/competitions/{competition_id}/audit"): ORG,
    ("POST", "/organize/competitions/{competition_id}/organizers"): ORG,
    ("POST", "/organize/competitions/{competition_id}/organizers/{username}/remove"): ORG,
    ("POST", "/organize/competitions/{competition_id}/participants/{username}/disqualify"): ORG,
    ("POST", "/organize/competitions/{competition_id}/participants/{username}/requalify"): ORG,
    ("POST", "/organize/competitions/{competition_id}/phases"): ORG,
    ("GET", "/organize/phases/{phase_id}"): ORG,
    ("POST", "/organize/phases/{phase_id}"): ORG,
    ("POST", "/organize/phases/{phase_id}/baselines"): ORG,
    ("POST", "/organize/phases/{phase_id}/files/{kind}"): ORG,
    ("POST", "/organize/phases/{phase_id}/files/{kind}/delete"): ORG,
    ("POST", "/organize/phases/{phase_id}/rescore"): ORG,
    ("POST", "/organize/phases/{phase_id}/reveal"): ORG,
    ("GET", "/organize/phases/{phase_id}/submissions"): ORG,
    ("GET", "/organize/rescores/{rescore_id}"): ORG,
    ("GET", "/organize/phases/{phase_id}/rescores"): ORG,
    ("POST", "/organize/submissions/{submission_id}/hide"): ORG,
    ("POST", "/organize/submissions/{submission_id}/unhide"): ORG,
    ("POST", "/organize/submissions/{submission_id}/rerun"): ORG,
}


def test_every_route_has_an_access_policy(app: Any) -> None:
    routes = all_routes(app)
    assert routes - POLICIES.keys() == set(), "classify the new route(s) in POLICIES"
    assert POLICIES.keys() - routes == set(), "POLICIES lists route(s) that no longer exist"


@dataclass
class Scene:
    """A competition with an owner's finished submission, a token, a kit and a re-score."""

    world: World
    client: TestClient
    owner_token: str
    other_token: str
    ids: dict[str, Any]

    def url(self, path: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: str(self.ids[m.group(1)]), path)


@pytest.fixture
def scene(client: TestClient, world: World) -> Iterator[Scene]:
    owner, other = world.user("owner"), world.user("other")
    owner_token, other_token = world.token(owner), world.token(other)
    organizer = {"Authorization": f"Bearer {world.token(world.organizer)}"}
    truth = world.truth()
    submitted = client.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("p.csv", prediction_csv(truth.ids, truth.age))},
        headers={"Authorization": f"Bearer {owner_token}"},
    )
    assert submitted.status_code == 201, submitted.text
    kit = client.put(
        f"/api/v1/phases/{world.phase_id}/files/starting_kit",
        files={"file": ("kit.zip", b"PK\x05\x06" + b"\x00" * 18)},
        headers=organizer,
    )
    assert kit.status_code in (200, 201), kit.text
    rescore = client.post(f"/api/v1/phases/{world.phase_id}/rescore", headers=organizer)
    assert rescore.status_code in (200, 202), rescore.text
    with world.db.sessionmaker() as session:
        from app.services import accounts, email_links

        token_id = accounts.list_tokens(session, owner)[0].id
        # A live reset link of "other": the public reset form answers as for a real visitor.
        reset_secret = email_links.issue_link(
            session,
            other,
            EmailPurpose.PASSWORD_RESET,
            lifetime=timedelta(hours=1),
            now=utcnow(),
        )
        session.commit()
    world.update_competition(team_mode=TeamMode.OPTIONAL)
    team = client.post(
        f"/api/v1/competitions/{world.competition_id}/teams",
        json={"name": "Captains"},
        headers=world.headers(world.user("captain")),
    )
    assert team.status_code == 201, team.text
    yield Scene(
        world=world,
        client=client,
        owner_token=owner_token,
        other_token=other_token,
        ids={
            "competition_id": world.competition_id,
            "phase_id": world.phase_id,
            "submission_id": submitted.json()["id"],
            "token_id": token_id,
            "testset_id": world.testset_id,
            "username": "owner",
            "kind": "starting_kit",
            "rescore_id": rescore.json()["id"],
            "team_id": team.json()["id"],
            "fmt": "csv",
            "webhook_id": 1,
            "secret": reset_secret,
        },
    )


def routes_with(*policies: Policy) -> list[tuple[str, str]]:
    return sorted(route for route, policy in POLICIES.items() if policy in policies)


def is_api(path: str) -> bool:
    return path.startswith("/api/")


HTML = {"accept": "text/html"}
PUBLIC_FORMS: dict[str, dict[str, str]] = {
    "/login": {"username": "owner", "password": PASSWORD},
    "/signup": {"username": "newcomer", "password": PASSWORD, "email": "n@example.org"},
    "/api/v1/auth/register": {"username": "apinew", "password": PASSWORD, "email": "a@b.org"},
    "/api/v1/auth/token": {"username": "owner", "password": PASSWORD},
    "/account/reset/{secret}": {"new_password": "violet-anchor-meadow-42"},
}
"""Forms a public route needs filled in to answer as it does for real visitors."""


def call(scene: Scene, method: str, path: str, *, token: str | None = None, csrf: str = "") -> Any:
    """Call a route as a client would: the API with a bearer token, pages with a form post."""
    if is_api(path):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return scene.client.request(
            method,
            scene.url(path),
            headers=headers,
            json=PUBLIC_FORMS.get(path) if method == "POST" else None,
            follow_redirects=False,
        )
    data = {"csrf_token": csrf, **PUBLIC_FORMS.get(path, {})} if method == "POST" else None
    return scene.client.request(
        method, scene.url(path), headers=HTML, data=data, follow_redirects=False
    )


def page_session(scene: Scene, username: str | None) -> str:
    """A fresh browser session, logged in as ``username`` (None: anonymous); its CSRF token."""
    scene.client.cookies.clear()
    token = csrf_of(scene.client.get("/login", headers=HTML))
    if username is None:
        return token
    logged_in = scene.client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert logged_in.status_code == 303, logged_in.text[:300]
    return csrf_of(scene.client.get("/", headers=HTML))


def check_routes(
    scene: Scene,
    routes: list[tuple[str, str]],
    *,
    as_user: str | None,
    token: str | None,
    expected: Callable[[Any, str], bool],
) -> None:
    """Call every route as one caller; fail listing each route that answered otherwise."""
    wrong = []
    for method, path in routes:
        csrf = "" if is_api(path) else page_session(scene, as_user)
        response = call(scene, method, path, token=token, csrf=csrf)
        if not expected(response, path) or PASSWORD in response.text:
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:120]!r}")
    assert wrong == [], "\n".join(wrong)


def refused_anonymously(response: Any, path: str) -> bool:
    if is_api(path):
        return bool(response.status_code == 401)
    return response.status_code == 303 and response.headers["location"].startswith("/login")


def test_anonymous_visitors_are_refused_everything_but_public_routes(scene: Scene) -> None:
    check_routes(
        scene,
        routes_with(
            Policy.LOGIN, Policy.OWNER, Policy.SELF, Policy.ORGANIZER, Policy.CREATOR, Policy.ADMIN
        ),
        as_user=None,
        token=None,
        expected=refused_anonymously,
    )


def test_public_routes_answer_anonymous_visitors(scene: Scene) -> None:
    check_routes(
        scene,
        routes_with(Policy.PUBLIC),
        as_user=None,
        token=None,
        expected=lambda response, path: response.status_code < 400,
    )


def test_participants_cannot_reach_someone_elses_submission(scene: Scene) -> None:
    check_routes(
        scene,
        routes_with(Policy.OWNER, Policy.SELF),
        as_user="other",
        token=scene.other_token,
        expected=lambda response, path: response.status_code == 404,
    )


def test_participants_cannot_use_organizer_routes(scene: Scene) -> None:
    check_routes(
        scene,
        routes_with(Policy.ORGANIZER, Policy.CREATOR),
        as_user="other",
        token=scene.other_token,
        expected=lambda response, path: response.status_code in (403, 404),
    )


def test_only_administrators_enable_or_disable_accounts(scene: Scene) -> None:
    for username, token in (
        ("other", scene.other_token),
        ("lecturer", scene.world.token(scene.world.organizer)),
    ):
        check_routes(
            scene,
            routes_with(Policy.ADMIN),
            as_user=username,
            token=token,
            expected=lambda response, path: response.status_code == 403,
        )


def test_organizers_of_another_competition_cannot_run_this_one(scene: Scene) -> None:
    stranger = scene.world.user("stranger", role=Role.ORGANIZER, join=False)
    check_routes(
        scene,
        routes_with(Policy.ORGANIZER),
        as_user="stranger",
        token=scene.world.token(stranger),
        expected=lambda response, path: response.status_code in (403, 404),
    )


def test_the_owner_cannot_use_the_organizers_moderation(scene: Scene) -> None:
    check_routes(
        scene,
        routes_with(Policy.ORGANIZER),
        as_user="owner",
        token=scene.owner_token,
        expected=lambda response, path: response.status_code in (403, 404),
    )


def test_the_competitions_organizer_is_let_through(scene: Scene) -> None:
    check_routes(
        scene,
        routes_with(Policy.OWNER, Policy.ORGANIZER),
        as_user="lecturer",
        token=scene.world.token(scene.world.organizer),
        expected=lambda response, path: response.status_code not in (401, 403),
    )


@pytest.mark.parametrize(
    ("referer", "back"),
    [
        (
            "http://testserver/organize/phases/{phase_id}?tab=kits",
            "/organize/phases/{phase_id}?tab=kits",
        ),
        ("https://elsewhere.example/organize", "/"),
        (None, "/"),
    ],
)
def test_an_anonymous_form_post_returns_to_the_page_it_came_from_after_login(
    client: TestClient, world: World, referer: str | None, back: str
) -> None:
    headers = {"accept": "text/html"} | (
        {"referer": referer.format(phase_id=world.phase_id)} if referer else {}
    )
    response = client.post(
        f"/organize/phases/{world.phase_id}/reveal", headers=headers, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + quote(
        back.format(phase_id=world.phase_id), safe=""
    )
