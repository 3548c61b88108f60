"""Compare: one table of chosen submissions across phases, for reports; who may compare what."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models import Submission, SubmissionStatus, User
from app.services import compare
from app.services import submissions as submission_service
from tests.app.conftest import World, prediction_csv
from tests.app.teams.helpers import form_team, log_in, submit, team_mode


def _three_across_two_phases(client: TestClient, world: World) -> tuple[list[int], int]:
    """Alice's two Task 1 submissions and one Task 2 submission; the Task 2 phase id."""
    alice = world.user("alice")
    task2 = world.add_phase(name="Task 2")
    ids = [
        submit(client, world, alice, offset=1.0, description="baseline-ish").json()["id"],
        submit(client, world, alice, offset=0.5, metadata=json.dumps({"model": "r50"})).json()[
            "id"
        ],
        submit(client, world, alice, phase_id=task2, offset=2.0).json()["id"],
    ]
    return ids, task2


def _compare(
    client: TestClient, world: World, user: User | None, ids: list[int], **params: object
) -> Any:
    """GET /api/v1/compare as ``user`` (None: the organizer)."""
    return client.get(
        "/api/v1/compare",
        params={"submissions": ",".join(map(str, ids)), **params},
        headers=world.headers(user or world.organizer),
    )


def _alice(world: World) -> User:
    with world.db.sessionmaker() as session:
        return session.scalars(select(User).where(User.username == "alice")).one()


def test_three_submissions_across_two_phases_make_one_table_with_the_best_marked(
    client: TestClient, world: World
) -> None:
    ids, _ = _three_across_two_phases(client, world)
    response = _compare(client, world, _alice(world), ids, reference=ids[0])
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["submission_id"], r["phase"]) for r in body["rows"]] == [
        (ids[0], "Task 1"),
        (ids[1], "Task 1"),
        (ids[2], "Task 2"),
    ]
    row = body["rows"][1]
    assert row["metadata"] == {"model": "r50"}
    assert set(row["scores"]) == {
        "mae",
        "age_bias",
        "gender_bias",
        "ethnicity_bias",
        "expression_bias",
    }
    assert body["best"]["mae"] == ids[1]  # off by 0.5 years beats 1 and 2
    assert row["difference"]["mae"] == pytest.approx(0.5 - 1.0)
    assert body["rows"][0]["difference"]["mae"] == 0.0
    assert set(row["groups"]) == {"age", "gender", "ethnicity", "expression"}


def test_a_participant_cannot_compare_someone_elses_submission(
    client: TestClient, world: World
) -> None:
    ids, _ = _three_across_two_phases(client, world)
    response = _compare(client, world, world.user("mallory"), ids)
    assert response.status_code == 404
    assert response.json()["message"] == submission_service.NOT_YOUR_SUBMISSION.format(id=ids[0])


def test_team_members_compare_the_teams_submissions_and_outsiders_cannot(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice, bob = world.user("alice"), world.user("bob")
    form_team(client, world, alice, bob)
    made = [submit(client, world, alice).json()["id"], submit(client, world, bob).json()["id"]]
    assert _compare(client, world, bob, made).status_code == 200
    assert _compare(client, world, world.user("eve"), made).status_code == 404


def test_the_organizer_compares_anyones_entries_and_participants_the_baselines(
    client: TestClient, world: World
) -> None:
    ids, _ = _three_across_two_phases(client, world)
    assert _compare(client, world, None, ids).status_code == 200
    truth = world.truth()
    baseline = client.post(
        f"/api/v1/phases/{world.phase_id}/baselines",
        files={"file": ("b.csv", prediction_csv(truth.ids, truth.age + 5), "text/csv")},
        data={"description": "mean predictor"},
        headers=world.headers(world.organizer),
    ).json()["id"]
    response = _compare(client, world, _alice(world), [baseline, ids[0]])
    assert response.status_code == 200, response.text
    assert response.json()["rows"][0]["participant"] == "Baseline: mean predictor"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", compare.COMPARE_NONE),
        ("1,x", compare.COMPARE_BAD_ID.format(raw="x")),
        ("1,0", compare.COMPARE_BAD_ID.format(raw="0")),
        (str(2**31), compare.COMPARE_BAD_ID.format(raw=str(2**31))),
        (",".join(str(i) for i in range(1, 22)), compare.COMPARE_TOO_MANY.format(count=21)),
    ],
)
def test_a_bad_list_of_submissions_is_refused_with_its_message(
    client: TestClient, world: World, raw: str, message: str
) -> None:
    response = client.get(
        "/api/v1/compare",
        params={"submissions": raw},
        headers=world.headers(world.user("alice")),
    )
    assert response.status_code == 422
    assert response.json()["message"] == message


def test_unfinished_submissions_and_foreign_references_are_refused(
    client: TestClient, world: World
) -> None:
    ids, _ = _three_across_two_phases(client, world)
    with world.db.transaction() as session:
        submission = session.get(Submission, ids[2])
        assert submission is not None
        submission.status = SubmissionStatus.QUEUED
    queued = _compare(client, world, _alice(world), ids)
    assert queued.json()["message"] == compare.COMPARE_NOT_FINISHED.format(
        id=ids[2], status="queued"
    )
    reference = _compare(client, world, _alice(world), ids[:2], reference=ids[2])
    assert reference.status_code == 422
    assert reference.json()["message"] == compare.REFERENCE_NOT_COMPARED.format(id=ids[2])


def test_private_scores_appear_only_under_the_existing_rules(
    client: TestClient, world: World
) -> None:
    world.update_phase(public_fraction=0.5, split_seed=1)
    ids, _ = _three_across_two_phases(client, world)
    participant = _compare(client, world, _alice(world), ids[:1]).json()["rows"][0]
    organizer = _compare(client, world, None, ids[:1]).json()["rows"][0]
    assert participant["private_scores"] is None
    assert organizer["private_scores"]["mae"] is not None


def test_the_table_downloads_as_csv_markdown_and_latex_with_the_best_in_bold(
    client: TestClient, world: World
) -> None:
    ids, _ = _three_across_two_phases(client, world)
    rows = list(
        csv.reader(io.StringIO(_compare(client, world, _alice(world), ids, format="csv").text))
    )
    assert rows[0][:5] == ["Submission", "Phase", "Participant", "Description", "model"]
    assert [row[0] for row in rows[1:]] == [f"#{i}" for i in ids]
    markdown = _compare(client, world, _alice(world), ids, format="md").text
    assert f"| \\#{ids[1]} | Task 1 | alice |  | r50 |" in markdown
    assert "**0.500**" in markdown
    latex = _compare(client, world, _alice(world), ids, format="tex", groups="true")
    assert latex.headers["content-disposition"].endswith('.tex"')
    text = latex.text
    for part in (r"\toprule", r"\midrule", r"\bottomrule", r"\textbf{", r"\#" + str(ids[1])):
        assert part in text
    assert "MAE age 0-19" in text
    best_row = next(line for line in text.splitlines() if line.startswith(rf"\#{ids[1]} "))
    assert r"\textbf{0.500} (" not in best_row  # no reference: no differences
    assert r"\textbf{0.500}" in best_row


def test_the_compare_page_lists_candidates_and_shows_the_table(
    client: TestClient, world: World
) -> None:
    ids, _ = _three_across_two_phases(client, world)
    log_in(client, "alice")
    page = client.get(
        f"/competitions/{world.competition_id}/compare",
        params=[("submissions", str(i)) for i in ids] + [("reference", str(ids[0]))],
    )
    assert page.status_code == 200
    for submission_id in ids:
        assert f'data-candidate="{submission_id}"' in page.text
        assert f'<tr data-submission="{submission_id}"' in page.text
    assert 'id="download-tex"' in page.text
