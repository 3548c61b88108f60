"""Exports (leaderboard as CSV, Markdown and LaTeX; every submission's scores with per-group
MAEs) and the starting kit and sample submission of a phase."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.services import exports, kits
from scoring.metrics import score
from tests.app.conftest import World
from tests.app.organizer.conftest import submit


@pytest.fixture
def scored(client: TestClient, world: World) -> dict[str, Any]:
    """Three participants whose best columns differ, one with a LaTeX-hostile name."""
    truth = world.truth()
    rng = np.random.default_rng(11)
    predictions = {
        "alice": truth.age + rng.normal(0, 2.0, len(truth)),
        "bob_2": truth.age + rng.normal(0, 4.0, len(truth)),
        "carol": truth.age + rng.normal(3, 1.0, len(truth)),
    }
    for name, values in predictions.items():
        assert submit(client, world, world.headers(world.user(name)), values).status_code == 201
    return {name: score(truth, values) for name, values in predictions.items()}


def export(client: TestClient, world: World, name: str, **params: str) -> Any:
    return client.get(f"/api/v1/phases/{world.phase_id}/exports/{name}", params=params)


def test_markdown_table_has_the_spec_columns_ranks_and_the_best_values_in_bold(
    client: TestClient, world: World, scored: dict[str, Any]
) -> None:
    response = export(client, world, "leaderboard.md")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    header = next(line for line in lines if line.startswith("| #"))
    assert header == (
        "| # | Participant | Entries | Date of last entry | Ranking | Gender (bias) | "
        "Expression (bias) | Ethnicity (bias) | Age (bias) | MAE |"
    )
    table = [line for line in lines if line.startswith("| ") and line != header]
    assert len(table) == 3
    assert any("bob\\_2" in line for line in table)
    for column, label in exports.COLUMN_LABELS.items():
        best = min(report.scores()[column] for report in scored.values())
        index = [
            "Gender (bias)",
            "Expression (bias)",
            "Ethnicity (bias)",
            "Age (bias)",
            "MAE",
        ].index(label) + 5
        cells = [line.split(" | ")[index].strip(" |") for line in table]
        assert sum(cell.startswith("**") for cell in cells) == 1, column
        bold = next(cell for cell in cells if cell.startswith("**"))
        assert bold == f"**{best:.6f}** (1)"
    assert "synthetic test set" in response.text  # the world's test set is synthetic


def test_latex_table_escapes_names_and_bolds_the_best_values(
    client: TestClient, world: World, scored: dict[str, Any]
) -> None:
    response = export(client, world, "leaderboard.tex")
    assert response.status_code == 200
    text = response.text
    assert text.startswith("\\begin{table}")
    assert "\\begin{tabular}{rlrlrrrrrr}" in text
    assert "bob\\_2" in text
    best_mae = min(report.mae for report in scored.values())
    assert f"\\textbf{{{best_mae:.6f}}} (1)" in text
    assert text.count("\\textbf{") == 6  # one per score column, and the best Ranking
    body = [line for line in text.splitlines() if line.endswith("\\\\")]
    assert len(body) == 4  # header and three rows


def test_leaderboard_csv_export_matches_the_leaderboard(
    client: TestClient, world: World, scored: dict[str, Any]
) -> None:
    exported = export(client, world, "leaderboard.csv").text
    assert (
        exported
        == client.get(f"/api/v1/phases/{world.phase_id}/leaderboard", params={"format": "csv"}).text
    )
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {r["participant"] for r in rows} == set(scored)


def test_submissions_csv_has_every_split_and_group_mae(
    client: TestClient, world: World, scored: dict[str, Any]
) -> None:
    refused = export(client, world, "submissions.csv")
    assert refused.status_code == 401
    response = client.get(
        f"/api/v1/phases/{world.phase_id}/exports/submissions.csv",
        headers=world.headers(world.organizer),
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 3
    assert list(rows[0])[:13] == [
        "submission_id",
        "participant",
        "team",
        "kind",
        "status",
        "created_at",
        "is_baseline",
        "is_hidden",
        "disqualified",
        "testset_fingerprint",
        "scorer_version",
        "split",
        "n_items",
    ]
    for row in rows:
        report = scored[row["participant"]]
        assert row["split"] == "public"
        assert float(row["mae"]) == pytest.approx(report.mae)
        for attribute in report.attributes:
            for group in attribute.groups:
                key = f"{attribute.attribute}:{group.group}"
                assert int(row[f"{key}:n"]) == group.size
                if group.mae is None:
                    assert row[f"{key}:mae"] == ""
                else:
                    assert float(row[f"{key}:mae"]) == pytest.approx(group.mae)


def test_with_a_private_split_the_submissions_csv_has_a_row_per_split(
    client: TestClient, world: World
) -> None:
    world.update_phase(public_fraction=0.5)
    submit(client, world, world.headers(world.user("alice")), world.truth().age + 1.0)
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    f"/api/v1/phases/{world.phase_id}/exports/submissions.csv",
                    headers=world.headers(world.organizer),
                ).text
            )
        )
    )
    assert [r["split"] for r in rows] == ["public", "private"]
    assert int(rows[0]["n_items"]) + int(rows[1]["n_items"]) == len(world.truth())


def test_starting_kit_and_sample_submission_are_uploaded_and_downloaded(
    client: TestClient, world: World
) -> None:
    organizer = world.headers(world.organizer)
    base = f"/api/v1/phases/{world.phase_id}/files"
    assert client.get(base).json() == []
    missing = client.get(f"{base}/starting_kit")
    assert missing.status_code == 404
    assert missing.json()["message"] == kits.KIT_NOT_FOUND.format(
        phase="Task 1", label="starting kit"
    )
    first = client.put(
        f"{base}/starting_kit",
        files={"file": ("kit-v1.zip", b"v1", "application/zip")},
        headers=organizer,
    )
    assert first.status_code == 201, first.text
    client.put(
        f"{base}/sample_submission",
        files={"file": ("predictions.csv", b"id,age\n", "text/csv")},
        headers=organizer,
    )
    replaced = client.put(
        f"{base}/starting_kit",
        files={"file": ("kit-v2.zip", b"version 2", "application/zip")},
        headers=organizer,
    )
    assert replaced.json()["filename"] == "kit-v2.zip"
    listing = client.get(base).json()
    assert [(f["kind"], f["filename"]) for f in listing] == [
        ("starting_kit", "kit-v2.zip"),
        ("sample_submission", "predictions.csv"),
    ]
    alice = world.user("alice")
    download = client.get(listing[0]["url"], headers=world.headers(alice))
    assert download.status_code == 200
    assert download.content == b"version 2"
    assert "kit-v2.zip" in download.headers["content-disposition"]
    stored = sorted(p.name for p in (world.settings.kits_dir / str(world.phase_id)).iterdir())
    assert len(stored) == 2, "the replaced kit's file must be gone"
    refused = client.put(
        f"{base}/starting_kit",
        files={"file": ("x.zip", b"x", "application/zip")},
        headers=world.headers(alice),
    )
    assert refused.status_code == 403
    deleted = client.delete(f"{base}/sample_submission", headers=organizer)
    assert deleted.status_code == 204
    assert [f["kind"] for f in client.get(base).json()] == ["starting_kit"]
    empty = client.put(
        f"{base}/sample_submission", files={"file": ("e.csv", b"", "text/csv")}, headers=organizer
    )
    assert empty.status_code == 422
    assert empty.json()["message"] == kits.EMPTY_KIT
    assert len(list((world.settings.kits_dir / str(world.phase_id)).iterdir())) == 1


@pytest.mark.parametrize("escape", [exports.markdown_escape, exports.latex_escape])
def test_a_table_cell_stays_on_one_line_whatever_line_break_its_text_holds(escape: Any) -> None:
    for text in ("Owls\nand larks", "Owls\r\nand larks", "Owls\rand larks", "Owls\u2028and larks"):
        assert escape(text) == "Owls and larks", repr(text)
