"""The participant pages, driven through forms as a browser would (without JavaScript)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from app.db import utcnow
from app.main import create_app
from app.models import CompetitionOrganizer, EntrySelection, Role, Submission, User
from app.services import accounts, competitions, leaderboard, submissions
from app.timeutil import next_utc_midnight
from scoring.predictions import PredictionFileError, parse_predictions
from tests.app.conftest import PASSWORD, World, prediction_csv
from tests.support.pages import csrf_of, sign_up

LEADERBOARD_HEADERS = [
    "#",
    "Participant",
    "Attempts",
    "Date of last entry",
    "Ranking ↓",
    "Gender (bias) ↓",
    "Expression (bias) ↓",
    "Ethnicity (bias) ↓",
    "Age (bias) ↓",
    "MAE ↓",
]


# ---- A small reader for the rendered HTML ----------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def clean_text(self) -> str:
        return " ".join(self.text.split())

    def find_all(self, tag: str, **attrs: str) -> list[Element]:
        found = []
        for child in self.children:
            if child.tag == tag and all(child.attrs.get(k) == v for k, v in attrs.items()):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag} {attrs}> found"
        return found[0]


class _TreeBuilder(HTMLParser):
    VOID = frozenset({"input", "br", "meta", "link", "img", "hr", "source"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self.stack[1:]:
            element.text += data


def page(response: Response) -> Element:
    builder = _TreeBuilder()
    builder.feed(response.text)
    return builder.root


# ---- Driving the site ------------------------------------------------------------------------


def log_in(site: TestClient, username: str, password: str = PASSWORD) -> Response:
    form = site.get("/login")
    response = site.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form)},
    )
    return response


def submit_form(
    site: TestClient,
    phase_id: int,
    content: bytes,
    filename: str = "predictions.csv",
    **fields: str,
) -> Response:
    form = site.get(f"/phases/{phase_id}/submit")
    return site.post(
        f"/phases/{phase_id}/submit",
        data={"csrf_token": csrf_of(form), "description": "", **fields},
        files={"file": (filename, content, "text/csv")},
    )


def noisy(world: World, sd: float, seed: int) -> Any:
    truth = world.truth()
    return truth.age + np.random.default_rng(seed).normal(0, sd, len(truth))


def api_submit(site: TestClient, world: World, user: User, values: Any) -> int:
    response = site.post(
        f"/api/v1/phases/{world.phase_id}/submissions",
        files={"file": ("predictions.csv", prediction_csv(world.truth().ids, values), "text/csv")},
        headers=world.headers(user) | {"accept": "application/json"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def leaderboard_rows(response: Response) -> list[Element]:
    return page(response).find("table", id="leaderboard").find("tbody").find_all("tr")


def score_cell(row: Element, column: str) -> Element:
    return row.find("td", **{"data-column": column})


# ---- Accounts ----------------------------------------------------------------------------------


def test_sign_up_logs_in_then_log_out_and_log_in_again(site: TestClient) -> None:
    response = sign_up(site, "Alice", PASSWORD)
    assert response.status_code == 303
    home = site.get(response.headers["location"])
    assert page(home).find("span", **{"data-user": "alice"})

    logout = site.post("/logout", data={"csrf_token": csrf_of(home)})
    assert logout.status_code == 303
    assert 'data-user="alice"' not in site.get("/").text

    before = csrf_of(site.get("/login?next=/account/tokens"))
    response = site.post(
        "/login",
        data={
            "username": "alice",
            "password": PASSWORD,
            "csrf_token": before,
            "next": "/account/tokens",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account/tokens"
    tokens_page = site.get("/account/tokens")
    assert tokens_page.status_code == 200
    assert csrf_of(tokens_page) != before, "logging in must rotate the CSRF token"


def test_failed_log_in_shows_the_error_on_the_form(site: TestClient, world: World) -> None:
    world.user("alice")
    response = log_in(site, "alice", "wrong-password")
    assert response.status_code == 401
    assert page(response).find("p", role="alert").clean_text() == accounts.LOGIN_FAILED
    assert page(response).find("input", id="username").attrs["value"] == "alice"


def test_sign_up_problem_is_shown_on_the_form(site: TestClient) -> None:
    form = site.get("/signup")
    response = site.post(
        "/signup",
        data={
            "username": "bob",
            "email": "bob@example.org",
            "password": "short",
            "csrf_token": csrf_of(form),
        },
    )
    assert response.status_code == 422
    assert page(response).find("p", role="alert").clean_text() == accounts.PASSWORD_TOO_SHORT


def test_log_in_redirect_never_leaves_the_site(site: TestClient, world: World) -> None:
    world.user("alice")
    form = site.get("/login")
    response = site.post(
        "/login",
        data={
            "username": "alice",
            "password": PASSWORD,
            "csrf_token": csrf_of(form),
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/"


def test_form_post_without_the_csrf_token_is_refused(site: TestClient, world: World) -> None:
    world.user("alice", join=False)
    assert log_in(site, "alice").status_code == 303
    response = site.post(f"/competitions/{world.competition_id}/join", data={})
    assert response.status_code == 403
    assert page(response).find("p", **{"data-code": "csrf_failed"})
    wrong = site.post(f"/competitions/{world.competition_id}/join", data={"csrf_token": "forged"})
    assert wrong.status_code == 403
    with world.db.sessionmaker() as session:
        alice = session.query(User).filter_by(username="alice").one()
        assert competitions.get_participation(session, world.competition_id, alice.id) is None


def test_api_tokens_are_created_shown_once_and_revoked(site: TestClient, world: World) -> None:
    world.user("alice")
    log_in(site, "alice")
    tokens_page = site.get("/account/tokens")
    created = site.post(
        "/account/tokens", data={"name": "laptop", "csrf_token": csrf_of(tokens_page)}
    )
    assert created.status_code == 201
    secret = page(created).find("code", id="new-secret").clean_text()
    assert (
        site.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}).json()[
            "username"
        ]
        == "alice"
    )
    listing = site.get("/account/tokens")
    assert secret not in listing.text
    row = page(listing).find("tbody").find_all("tr")[0]
    token_id = row.attrs["data-token"]
    assert "laptop" in row.clean_text()
    revoked = site.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(listing)})
    assert revoked.status_code == 303
    assert "revoked" in page(site.get("/account/tokens")).find("tbody").clean_text()
    refused = site.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401


# ---- Competitions ------------------------------------------------------------------------------


def test_join_through_the_competition_page(site: TestClient, world: World) -> None:
    world.user("alice", join=False)
    log_in(site, "alice")
    overview = site.get(f"/competitions/{world.competition_id}")
    assert overview.status_code == 200
    assert page(overview).find("button", id="join")
    assert f"/phases/{world.phase_id}/submit" not in overview.text
    response = site.post(
        f"/competitions/{world.competition_id}/join", data={"csrf_token": csrf_of(overview)}
    )
    assert response.status_code == 303
    joined = site.get(response.headers["location"])
    tree = page(joined)
    assert tree.find("span", **{"data-joined": "true"})
    assert f'href="/phases/{world.phase_id}/submit"' in joined.text
    assert tree.find("li", **{"data-inputs": "archive"})  # its size once built: test_inputs.py
    quota = tree.find("dd", **{"data-remaining-today": "5"})
    assert "resets" in quota.clean_text()


def test_competition_page_renders_markdown_without_raw_html(site: TestClient, world: World) -> None:
    with world.db.transaction() as session:
        competition = competitions.get_competition(session, world.competition_id)
        competition.description = "Estimate *apparent* age.\n\n<script>alert(1)</script>"
    response = site.get(f"/competitions/{world.competition_id}")
    assert "<em>apparent</em>" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text
    assert page(response).find("span", **{"class": "badge synthetic"})
    assert f"/api/v1/phases/{world.phase_id}/inputs" not in response.text


# ---- Submitting --------------------------------------------------------------------------------


def test_valid_file_submitted_through_the_form_reaches_the_leaderboard(
    site: TestClient, world: World
) -> None:
    bob = world.user("bob")
    api_submit(site, world, bob, noisy(world, 6.0, seed=2))
    world.user("alice")
    log_in(site, "alice")
    truth = world.truth()
    response = submit_form(site, world.phase_id, prediction_csv(truth.ids, noisy(world, 2.0, 1)))
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/submissions/\d+", location)

    detail = page(site.get(location))
    assert detail.find("div", id="submission").attrs["data-status"] == "finished"
    assert detail.find("table", id="scores")
    assert {
        t.attrs["data-attribute"] for t in detail.find_all("table") if "groups" in t.classes
    } == {"age", "gender", "ethnicity", "expression"}
    assert detail.find("code", **{"class": "fingerprint"}).clean_text() == truth.fingerprint()
    for table in (t for t in detail.find_all("table") if "groups" in t.classes):
        rows_by_mae = {
            float(r.find("td", **{"class": "num mae"}).clean_text()): r.classes
            for r in table.find("tbody").find_all("tr")
        }
        assert "best" in rows_by_mae[min(rows_by_mae)], table.attrs["data-attribute"]
        assert "worst" in rows_by_mae[max(rows_by_mae)], table.attrs["data-attribute"]

    board = site.get(f"/phases/{world.phase_id}/leaderboard")
    assert board.status_code == 200
    headers = page(board).find("table", id="leaderboard").find("thead").find_all("th")
    assert [h.clean_text() for h in headers] == LEADERBOARD_HEADERS
    expected = site.get(
        f"/api/v1/phases/{world.phase_id}/leaderboard", headers={"accept": "application/json"}
    ).json()
    rows = leaderboard_rows(board)
    assert [r.attrs["data-participant"] for r in rows] == [e["participant"] for e in expected]
    for row, entry in zip(rows, expected, strict=True):
        cells = [c.clean_text() for c in row.children if c.tag in ("td", "th")]
        assert cells[0] == str(entry["position"])
        assert cells[2] == str(entry["entries"])
        for name in leaderboard.COLUMN_ORDER:
            assert score_cell(row, name).clean_text() == (
                f"{entry[name]:.6f} ({entry[name + '_rank']:g})"
            )
    alice_row = next(r for r in rows if r.attrs["data-participant"] == "alice")
    assert "mine" in alice_row.classes
    assert "n/a" not in alice_row.clean_text()


def test_rejected_file_shows_the_scoring_message_with_422(site: TestClient, world: World) -> None:
    world.user("alice")
    log_in(site, "alice")
    truth = world.truth()
    content = prediction_csv(truth.ids[:-1], truth.age[:-1])
    with pytest.raises(PredictionFileError) as expected:
        parse_predictions(content, truth.ids, filename="predictions.csv")
    response = submit_form(site, world.phase_id, content)
    assert response.status_code == 422
    alert = page(response).find("div", id="submit-error")
    assert alert.attrs["data-code"] == "invalid_submission_file"
    assert alert.find("p", **{"class": "message"}).clean_text() == str(expected.value)
    failed = alert.find("a").attrs["href"]
    detail = page(site.get(failed))
    assert detail.find("div", id="submission").attrs["data-status"] == "failed"
    assert detail.find("p", **{"class": "message submission-error"}).clean_text() == str(
        expected.value
    )


def test_submission_over_the_daily_limit_shows_when_the_quota_resets(
    site: TestClient, world: World
) -> None:
    world.update_phase(daily_limit=1)
    world.user("alice")
    log_in(site, "alice")
    content = prediction_csv(world.truth().ids, noisy(world, 3.0, 0))
    assert submit_form(site, world.phase_id, content).status_code == 303
    response = submit_form(site, world.phase_id, content)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    resets_at = next_utc_midnight(utcnow())
    alert = page(response).find("div", id="submit-error")
    assert alert.find("p", **{"class": "message"}).clean_text() == (
        submissions.DAILY_LIMIT_REACHED.format(
            limit=1, phase="Task 1", resets_at=resets_at.strftime("%Y-%m-%d %H:%M")
        )
    )
    assert alert.find("strong", **{"class": "resets-at"}).clean_text() == resets_at.strftime(
        "%Y-%m-%d %H:%M UTC"
    )


def test_anonymous_visitors_are_sent_to_log_in(site: TestClient, world: World) -> None:
    alice = world.user("alice")
    submission_id = api_submit(site, world, alice, world.truth().age)
    for path in (
        f"/phases/{world.phase_id}/submit",
        f"/submissions/{submission_id}",
        f"/phases/{world.phase_id}/submissions",
    ):
        response = site.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2F"), path
    posted = site.post(f"/phases/{world.phase_id}/submit", files={"file": ("p.csv", b"1\n")})
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/login")


def test_another_participants_submission_page_is_not_found(site: TestClient, world: World) -> None:
    alice = world.user("alice")
    world.user("bob")
    submission_id = api_submit(site, world, alice, world.truth().age)
    log_in(site, "bob")
    response = site.get(f"/submissions/{submission_id}")
    assert response.status_code == 404
    assert page(response).find("p", **{"data-code": "not_found"})
    site.post("/logout", data={"csrf_token": csrf_of(response)})
    log_in(site, "lecturer")
    organizer_view = site.get(f"/submissions/{submission_id}")
    assert organizer_view.status_code == 200
    assert "alice" in page(organizer_view).find("dl").clean_text()


def test_hidden_leaderboard_is_refused_to_participants_but_shown_to_the_organizer(
    site: TestClient, world: World
) -> None:
    world.update_phase(leaderboard_public=False)
    alice = world.user("alice")
    api_submit(site, world, alice, world.truth().age)
    path = f"/phases/{world.phase_id}/leaderboard"
    assert site.get(path).status_code == 403
    log_in(site, "alice")
    refused = site.get(path)
    assert refused.status_code == 403
    assert page(refused).find("p", **{"data-code": "forbidden"}).clean_text() == (
        leaderboard.LEADERBOARD_HIDDEN.format(phase="Task 1")
    )
    site.post("/logout", data={"csrf_token": csrf_of(refused)})
    log_in(site, "lecturer")
    shown = site.get(path)
    assert shown.status_code == 200
    assert [r.attrs["data-participant"] for r in leaderboard_rows(shown)] == ["alice"]


def test_best_value_of_each_column_is_highlighted(site: TestClient, world: World) -> None:
    truth = world.truth()
    for index, (name, sd) in enumerate((("alice", 2.0), ("bob", 5.0), ("carol", 9.0))):
        api_submit(
            site,
            world,
            world.user(name),
            truth.age + np.random.default_rng(index).normal(0, sd, len(truth)),
        )
    rows = leaderboard_rows(site.get(f"/phases/{world.phase_id}/leaderboard"))
    for column in leaderboard.COLUMN_ORDER:
        values = {
            r.attrs["data-participant"]: float(score_cell(r, column).attrs["data-value"])
            for r in rows
        }
        best = min(values.values())
        highlighted = {
            r.attrs["data-participant"] for r in rows if "best" in score_cell(r, column).classes
        }
        assert highlighted == {name for name, value in values.items() if value == best}, column
        assert all(
            " (1)" in score_cell(r, column).clean_text()
            for r in rows
            if r.attrs["data-participant"] in highlighted
        )
    assert not any(
        "best" in c.classes for r in rows for c in r.find_all("td") if "ranking" in c.classes
    )


def test_baseline_rows_are_marked(site: TestClient, world: World) -> None:
    with world.db.transaction() as session:
        organizer = session.get(User, world.organizer.id)
        assert organizer is not None
        competitions.join(
            session, competitions.get_competition(session, world.competition_id), organizer
        )
    baseline_id = api_submit(site, world, world.organizer, np.full(len(world.truth()), 30.0))
    with world.db.transaction() as session:
        baseline = session.get(Submission, baseline_id)
        assert baseline is not None
        baseline.is_baseline = True
        baseline.description = "predict 30"
    api_submit(site, world, world.user("alice"), world.truth().age)
    rows = leaderboard_rows(site.get(f"/phases/{world.phase_id}/leaderboard"))
    marked = [r for r in rows if r.attrs["data-baseline"] == "true"]
    assert [r.attrs["data-participant"] for r in marked] == ["Baseline: predict 30"]
    assert "baseline" in marked[0].classes
    assert marked[0].find("span", **{"class": "badge baseline"})


def test_private_split_switch_appears_for_organizers_and_after_the_reveal(
    site: TestClient, world: World
) -> None:
    world.update_phase(public_fraction=0.5)
    api_submit(site, world, world.user("alice"), world.truth().age + 1.0)
    path = f"/phases/{world.phase_id}/leaderboard"
    log_in(site, "alice")
    public = site.get(path)
    assert 'aria-label="Leaderboard split"' not in public.text
    assert site.get(path + "?split=private").status_code == 403
    site.post("/logout", data={"csrf_token": csrf_of(public)})
    log_in(site, "lecturer")
    organizer_view = site.get(path)
    assert page(organizer_view).find("nav", **{"aria-label": "Leaderboard split"})
    private = site.get(path + "?split=private")
    assert private.status_code == 200
    assert page(private).find("table", id="leaderboard").attrs["data-split"] == "private"
    world.update_phase(private_revealed_at=utcnow())
    site.post("/logout", data={"csrf_token": csrf_of(private)})
    log_in(site, "alice")
    assert site.get(path + "?split=private").status_code == 200


# ---- My submissions ----------------------------------------------------------------------------


def test_participant_chooses_the_leaderboard_entry_from_my_submissions(
    site: TestClient, world: World
) -> None:
    world.update_phase(entry_selection=EntrySelection.CHOSEN)
    world.user("alice")
    log_in(site, "alice")
    truth = world.truth()
    first = submit_form(site, world.phase_id, prediction_csv(truth.ids, truth.age + 1.0))
    second = submit_form(site, world.phase_id, prediction_csv(truth.ids, truth.age + 4.0))
    first_id = first.headers["location"].rsplit("/", 1)[1]
    second_id = second.headers["location"].rsplit("/", 1)[1]

    mine = site.get(f"/phases/{world.phase_id}/submissions")
    rows = {
        r.attrs["data-submission"]: r
        for r in page(mine).find("table", id="my-submissions").find("tbody").find_all("tr")
    }
    assert list(rows) == [second_id, first_id]
    assert rows[second_id].find("span", **{"data-entry": "true"})
    assert score_cell(rows[first_id], "mae").clean_text() == "1.000000"
    choose = rows[first_id].find("form").attrs["action"]
    assert choose == f"/submissions/{first_id}/choose"
    response = site.post(choose, data={"csrf_token": csrf_of(mine)})
    assert response.status_code == 303
    board = leaderboard_rows(site.get(f"/phases/{world.phase_id}/leaderboard"))
    assert [r.attrs["data-submission"] for r in board] == [first_id]


def test_queued_submission_page_shows_progress_and_polls_for_the_result(world: World) -> None:
    alice = world.user("alice")
    with world.db.transaction() as session:
        queued = submissions.create_submission(
            session,
            world.settings,
            phase=competitions.get_phase(session, world.phase_id),
            user=alice,
            now=utcnow(),
            upload=submissions.Upload("predictions.csv", io.BytesIO(b"1\n")),
        )
        submission_id = queued.id
    # No job runner, so the submission stays queued while the page is looked at.
    with TestClient(create_app(world.settings, start_jobs=False)) as quiet:
        quiet.headers["accept"] = "text/html"
        log_in(quiet, "alice")
        detail = page(quiet.get(f"/submissions/{submission_id}"))
    pending = detail.find("section", **{"data-poll-url": f"/api/v1/submissions/{submission_id}"})
    assert pending.find("progress")
    assert pending.find("span", **{"data-queue-position": ""}).clean_text() == "1"
    assert detail.find("div", id="submission").attrs["data-status"] == "queued"


def test_submit_page_offers_model_options_and_the_quota(site: TestClient, world: World) -> None:
    world.user("alice")
    log_in(site, "alice")
    tree = page(site.get(f"/phases/{world.phase_id}/submit"))
    assert [o.attrs["value"] for o in tree.find("select", id="preset").find_all("option")] == [
        "raw",
        "keras-resnet50",
        "imagenet",
    ]
    assert tree.find("input", id="output_scale")
    assert tree.find("label", **{"for": "file"})
    assert "5 of 5 left today" in tree.find("dd", **{"class": "quota"}).clean_text()


def test_closed_phase_refuses_the_form_with_its_message(site: TestClient, world: World) -> None:
    world.update_phase(closes_at=utcnow() - timedelta(minutes=1))
    world.user("alice")
    log_in(site, "alice")
    response = submit_form(site, world.phase_id, b"id,age\n")
    assert response.status_code == 403
    assert page(response).find("div", id="submit-error").attrs["data-code"] == "phase_closed"


def test_organizer_role_is_shown_in_the_top_bar(site: TestClient, world: World) -> None:
    world.user("olga", role=Role.ORGANIZER, join=False)
    log_in(site, "olga")
    assert "organizer" in page(site.get("/")).find("span", **{"data-user": "olga"}).clean_text()


# ---- Navigation --------------------------------------------------------------------------------


def organize_link(response: Response) -> list[Element]:
    return page(response).find("header").find_all("a", **{"data-nav": "organize"})


def test_organize_link_appears_for_organizers_and_not_for_participants(
    site: TestClient, world: World
) -> None:
    alice = world.user("alice")
    log_in(site, "alice")
    participant_view = site.get("/")
    assert not organize_link(participant_view)
    assert 'href="/organize"' not in participant_view.text
    site.post("/logout", data={"csrf_token": csrf_of(participant_view)})

    log_in(site, "lecturer")
    organizer_view = site.get("/")
    [link] = organize_link(organizer_view)
    assert link.attrs["href"] == "/organize"
    site.post("/logout", data={"csrf_token": csrf_of(organizer_view)})

    # A participant added as organizer of a competition organizes something too.
    with world.db.transaction() as session:
        session.add(CompetitionOrganizer(competition_id=world.competition_id, user_id=alice.id))
    log_in(site, "alice")
    [link] = organize_link(site.get(f"/competitions/{world.competition_id}"))
    assert link.attrs["href"] == "/organize"


def test_competition_page_links_its_organizers_to_the_organizer_pages(
    site: TestClient, world: World
) -> None:
    world.user("alice")
    log_in(site, "alice")
    participant_view = site.get(f"/competitions/{world.competition_id}")
    assert "/organize/" not in participant_view.text
    site.post("/logout", data={"csrf_token": csrf_of(participant_view)})
    log_in(site, "lecturer")
    tree = page(site.get(f"/competitions/{world.competition_id}"))
    assert tree.find("a", **{"data-nav": "organize-competition"}).attrs["href"] == (
        f"/organize/competitions/{world.competition_id}"
    )
    phase = tree.find("section", **{"data-phase": str(world.phase_id)})
    assert phase.find("a", **{"data-nav": "organize-phase"}).attrs["href"] == (
        f"/organize/phases/{world.phase_id}"
    )


def test_competition_page_links_the_starting_kit_and_sample_submission_once_uploaded(
    site: TestClient, world: World
) -> None:
    world.user("alice")
    log_in(site, "alice")
    path = f"/competitions/{world.competition_id}"
    assert f"/api/v1/phases/{world.phase_id}/files/" not in site.get(path).text
    organizer = world.headers(world.organizer)
    kit = b"PK\x05\x06" + b"\x00" * 18
    sample = prediction_csv(world.truth().ids, world.truth().age)
    for kind, upload in (
        ("starting_kit", ("kit.zip", kit)),
        ("sample_submission", ("sample.csv", sample)),
    ):
        uploaded = site.put(
            f"/api/v1/phases/{world.phase_id}/files/{kind}",
            files={"file": upload},
            headers=organizer,
        )
        assert uploaded.status_code == 201, uploaded.text

    phase = page(site.get(path)).find("section", **{"data-phase": str(world.phase_id)})
    links = {a.attrs["data-kit"]: a for a in phase.find_all("a") if "data-kit" in a.attrs}
    assert list(links) == ["starting_kit", "sample_submission"]
    assert [a.clean_text() for a in links.values()] == ["Starting kit", "Sample submission"]
    listed = site.get(f"/api/v1/phases/{world.phase_id}/files").json()
    assert [a.attrs["href"] for a in links.values()] == [f["url"] for f in listed]
    downloads = {kind: site.get(a.attrs["href"]) for kind, a in links.items()}
    assert downloads["starting_kit"].content == kit
    assert downloads["sample_submission"].content == sample


# ---- Compression -------------------------------------------------------------------------------


def test_responses_over_a_kilobyte_are_gzipped_for_clients_that_accept_it(
    site: TestClient, world: World
) -> None:
    for name in ("alice", "bob", "carol"):
        api_submit(site, world, world.user(name), noisy(world, 3.0, len(name)))
    world.settle()  # rank intervals land in the background: both fetches must see the same
    path = f"/phases/{world.phase_id}/leaderboard"
    encodings = {}
    for url in (path, f"{path}?view=tradeoff", f"/api/v1{path}", f"/api/v1{path}?format=csv"):
        compressed = site.get(url, headers={"accept-encoding": "gzip"})
        plain = site.get(url, headers={"accept-encoding": "identity"})
        assert compressed.status_code == plain.status_code == 200, url
        assert "content-encoding" not in plain.headers, url
        assert compressed.content == plain.content, url
        encodings[url] = (compressed.headers.get("content-encoding"), len(plain.content) >= 1024)
        if encodings[url][0] == "gzip":
            assert compressed.num_bytes_downloaded < len(plain.content) / 2, url
    assert encodings == {
        path: ("gzip", True),
        f"{path}?view=tradeoff": ("gzip", True),
        f"/api/v1{path}": ("gzip", True),
        # Three rows of CSV fit in one packet: not worth compressing.
        f"/api/v1{path}?format=csv": (None, False),
    }


def test_zip_downloads_are_sent_whole_and_uncompressed(site: TestClient, world: World) -> None:
    kit = b"PK\x05\x06" + bytes(range(256)) * 8
    uploaded = site.put(
        f"/api/v1/phases/{world.phase_id}/files/starting_kit",
        files={"file": ("kit.zip", kit)},
        headers=world.headers(world.organizer),
    )
    assert uploaded.status_code == 201, uploaded.text
    download = site.get(
        f"/api/v1/phases/{world.phase_id}/files/starting_kit", headers={"accept-encoding": "gzip"}
    )
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert "content-encoding" not in download.headers
    assert int(download.headers["content-length"]) == len(kit)
    assert download.content == kit
    assert 'filename="kit.zip"' in download.headers["content-disposition"]
