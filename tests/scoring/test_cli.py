"""The offline CLI: ``python -m scoring score|rank|make-testset``, in-process and as a process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scoring.__main__ import (
    DUPLICATE_PARTICIPANT,
    MISSING_COLUMNS,
    NOT_A_SCORE,
    NOT_A_TIMESTAMP,
    main,
)
from scoring.metrics import SCORER_VERSION, score
from scoring.predictions import parse_predictions
from scoring.testset import read_labels

REPO = Path(__file__).resolve().parents[2]

# Six items with hand-computed scores (see test_metrics.hand_computed_truth):
# errors 1, -3, 2, -4, 6, 0 -> mae 16/6; age bias 17/6; gender 4/3; ethnicity 0.25;
# expression 2/3.
LABELS = """id,age,gender,ethnicity,expression
a1.jpg,10,female,asian,happy
a2.jpg,15,female,caucasian,happy
a3.jpg,25,male,caucasian,neutral
a4.jpg,45,male,asian,neutral
a5.jpg,65,female,caucasian,other
a6.jpg,35,male,caucasian,other
"""
PREDICTIONS = "id,age\na6.jpg,35\na1.jpg,11\na2.jpg,12\na3.jpg,27\na4.jpg,41\na5.jpg,71\n"

SPEC_SCORES = """participant,gender_bias,expression_bias,ethnicity_bias,age_bias,mae
a,0.10,0.30,0.20,3.0,6.0
b,0.20,0.20,0.20,2.0,5.0
c,0.10,0.40,0.50,4.0,7.0
"""
HEADER = (
    "position,participant,gender_bias,expression_bias,ethnicity_bias,age_bias,mae,"
    "gender_bias_rank,expression_bias_rank,ethnicity_bias_rank,age_bias_rank,mae_rank,ranking"
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "labels": tmp_path / "labels.csv",
        "predictions": tmp_path / "predictions.csv",
        "scores": tmp_path / "scores.csv",
    }
    paths["labels"].write_text(LABELS)
    paths["predictions"].write_text(PREDICTIONS)
    paths["scores"].write_text(SPEC_SCORES)
    return paths


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- score -------------------------------------------------------------------------------------


def test_score_prints_the_five_scores_and_the_per_group_table(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys, "score", "--truth", str(files["labels"]), "--predictions", str(files["predictions"])
    )
    assert (status, err) == (0, "")
    fingerprint = read_labels(files["labels"]).fingerprint()
    assert out == (
        f"test set  {fingerprint} (6 items)\n"
        f"scorer    {SCORER_VERSION}\n"
        "\n"
        "mae                  2.666667\n"
        "age_bias             2.833333\n"
        "gender_bias          1.333333\n"
        "ethnicity_bias       0.250000\n"
        "expression_bias      0.666667\n"
        "\n"
        "attribute   group          size       MAE\n"
        "age         0-19              2  2.000000\n"
        "age         20-39             2  1.000000\n"
        "age         40-59             1  4.000000\n"
        "age         60+               1  6.000000\n"
        "gender      female            3  3.333333\n"
        "gender      male              3  2.000000\n"
        "ethnicity   asian             2  2.500000\n"
        "ethnicity   afroamerican      0       n/a\n"
        "ethnicity   caucasian         4  2.750000\n"
        "expression  happy             2  2.000000\n"
        "expression  slightlyhappy     0       n/a\n"
        "expression  neutral           2  3.000000\n"
        "expression  other             2  3.000000\n"
    )


def test_score_shows_an_undefined_bias_as_n_a(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "labels.csv").write_text(
        "id,age,gender,ethnicity,expression\nx,30,male,asian,happy\ny,32,male,asian,happy\n"
    )
    (tmp_path / "p.csv").write_text("31\n30\n")
    status, out, _ = run(
        capsys,
        "score",
        "--truth",
        str(tmp_path / "labels.csv"),
        "--predictions",
        str(tmp_path / "p.csv"),
    )
    assert status == 0
    assert "gender_bias               n/a\n" in out
    assert "mae                  1.500000\n" in out


def test_score_json_is_one_object_with_the_scores_groups_version_and_fingerprint(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(
        capsys,
        "score",
        "--truth",
        str(files["labels"]),
        "--predictions",
        str(files["predictions"]),
        "--json",
    )
    assert status == 0
    document = json.loads(out)
    truth = read_labels(files["labels"])
    report = score(truth, parse_predictions(files["predictions"].read_bytes(), truth.ids))
    assert document == {
        **report.to_dict(),
        "scorer_version": SCORER_VERSION,
        "testset_fingerprint": truth.fingerprint(),
    }
    assert document["mae"] == pytest.approx(16 / 6)
    assert document["ethnicity_bias"] == 0.25
    assert document["n_items"] == 6
    ethnicity = document["attributes"][2]
    assert ethnicity["groups"][1] == {"group": "afroamerican", "size": 0, "mae": None}


def test_score_accepts_a_zipped_legacy_file_and_a_test_set_folder(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zipfile

    archive = tmp_path / "predictions.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("predictions.csv", "11\r\n12\r\n27\r\n41\r\n71\r\n35\r\n")
    status, out, _ = run(
        capsys, "score", "--truth", str(tmp_path), "--predictions", str(archive), "--json"
    )
    assert status == 0
    assert json.loads(out)["mae"] == pytest.approx(16 / 6)


def test_score_reports_a_bad_prediction_file_on_stderr_with_status_2(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    files["predictions"].write_text("id,age\na1.jpg,abc\n")
    status, out, err = run(
        capsys, "score", "--truth", str(files["labels"]), "--predictions", str(files["predictions"])
    )
    assert (status, out) == (2, "")
    assert err == (
        "error: 2 problems in predictions.csv: line 2: 'abc' is not a number; "
        "no prediction for 5 ids: 'a2.jpg', 'a3.jpg', 'a4.jpg', ...\n"
    )


def test_score_reports_bad_labels_and_missing_files_with_status_2(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    files["labels"].write_text("id,age,gender,ethnicity,expression\na,30,robot,asian,happy\n")
    status, _, err = run(
        capsys, "score", "--truth", str(files["labels"]), "--predictions", str(files["predictions"])
    )
    assert status == 2 and err.startswith("error: ") and "robot" in err
    status, _, err = run(
        capsys, "score", "--truth", str(files["labels"]), "--predictions", "/nonexistent/p.csv"
    )
    assert status == 2 and err.startswith("error: ")


# --- rank --------------------------------------------------------------------------------------


def test_rank_prints_the_spec_example_in_leaderboard_order(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "rank", str(files["scores"]))
    assert (status, err) == (0, "")
    assert out == (
        f"{HEADER}\n"
        "1,b,0.2,0.2,0.2,2.0,5.0,2,1,1,1,1,1.2\n"
        "2,a,0.1,0.3,0.2,3.0,6.0,1,2,1,2,2,1.6\n"
        "3,c,0.1,0.4,0.5,4.0,7.0,1,3,2,3,3,2.4\n"
    )


def test_rank_applies_the_tie_policy(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "rank", str(files["scores"]), "--ties", "average")
    assert status == 0
    assert out.splitlines()[1:] == [
        "1,b,0.2,0.2,0.2,2.0,5.0,3,1,1.5,1,1,1.5",
        "2,a,0.1,0.3,0.2,3.0,6.0,1.5,2,1.5,2,2,1.8",
        "3,c,0.1,0.4,0.5,4.0,7.0,1.5,3,3,3,3,2.7",
    ]


def test_rank_treats_empty_cells_as_undefined_and_ranks_them_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text(
        "participant,gender_bias,expression_bias,ethnicity_bias,age_bias,mae\n"
        "x,,0.1,n/a,1.5,5.25\n"
        "y,0.3,0.1,0.2,1.5,5.25\n"
    )
    status, out, _ = run(capsys, "rank", str(scores), "--ties", "min")
    assert status == 0
    assert out.splitlines()[1:] == [
        "1,y,0.3,0.1,0.2,1.5,5.25,1,1,1,1,1,1",
        "2,x,,0.1,,1.5,5.25,2,1,2,1,1,1.4",
    ]


def test_rank_breaks_ranking_ties_by_submission_time_then_file_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text(
        "participant,gender_bias,expression_bias,ethnicity_bias,age_bias,mae,submitted_at\n"
        "late,0.1,0.2,0.3,1.0,5.0,2024-05-02T10:00:00Z\n"
        "early,0.2,0.1,0.3,1.0,5.0,2024-05-02T11:00:00+02:00\n"
        "naive,0.3,0.3,0.3,1.0,5.0,2024-05-01 08:00\n"
    )
    status, out, _ = run(capsys, "rank", str(scores))
    assert status == 0
    assert [line.split(",")[1] for line in out.splitlines()[1:]] == ["early", "late", "naive"]
    assert [line.split(",")[-1] for line in out.splitlines()[1:]] == ["1.2", "1.2", "1.8"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "participant,gender_bias,mae\na,1,2\n",
            MISSING_COLUMNS.format(
                file="scores.csv", columns="expression_bias, ethnicity_bias, age_bias"
            ),
        ),
        (
            SPEC_SCORES.replace("7.0", "abc"),
            NOT_A_SCORE.format(file="scores.csv", line=4, column="mae", value="abc"),
        ),
        (
            SPEC_SCORES.replace("6.0", "inf"),
            "scores.csv line 2: mae 'inf' is not a finite number or empty",
        ),
        (
            SPEC_SCORES + "a,1,1,1,1,1\n",
            DUPLICATE_PARTICIPANT.format(file="scores.csv", line=5, participant="a", first=2),
        ),
        (
            SPEC_SCORES.replace("mae\n", "mae,submitted_at\n").replace("6.0\n", "6.0,yesterday\n"),
            NOT_A_TIMESTAMP.format(file="scores.csv", line=2, value="yesterday"),
        ),
        (
            "",
            MISSING_COLUMNS.format(
                file="scores.csv",
                columns=(
                    "participant, gender_bias, expression_bias, ethnicity_bias, age_bias, mae"
                ),
            ),
        ),
    ],
    ids=["missing-columns", "not-a-number", "infinite", "duplicate", "bad-time", "empty"],
)
def test_rank_rejects_a_bad_scores_file_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text(content)
    status, out, err = run(capsys, "rank", str(scores))
    assert (status, out, err) == (2, "", f"error: {expected}\n")


def test_rank_rejects_an_unknown_tie_policy_through_argparse(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "rank", str(files["scores"]), "--ties", "first")
    assert status == 2
    assert "invalid choice: 'first'" in err


# --- make-testset ------------------------------------------------------------------------------


def test_make_testset_writes_a_readable_synthetic_test_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "synthetic"
    status, out, _ = run(capsys, "make-testset", str(out_dir), "--n", "12", "--seed", "3")
    assert status == 0
    assert out == f"wrote a synthetic test set of 12 items to {out_dir}\n"
    assert len(read_labels(out_dir)) == 12
    status, _, err = run(capsys, "make-testset", str(out_dir), "--n", "12")
    assert status == 2 and err.startswith("error: ")
    status, _, err = run(capsys, "make-testset", str(tmp_path / "other"), "--n", "0")
    assert status == 2 and err.startswith("error: ")


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys)
    assert status == 2 and "usage:" in err


# --- as a process ------------------------------------------------------------------------------


def python_m_scoring(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scoring", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_m_scoring_scores_as_a_process(files: dict[str, Path]) -> None:
    result = python_m_scoring(
        "score",
        "--truth",
        str(files["labels"]),
        "--predictions",
        str(files["predictions"]),
        "--json",
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout)["mae"] == pytest.approx(16 / 6)


def test_python_m_scoring_fails_without_a_traceback(files: dict[str, Path]) -> None:
    files["scores"].write_text(SPEC_SCORES.replace("7.0", "abc"))
    result = python_m_scoring("rank", str(files["scores"]))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: scores.csv line 4: mae 'abc' is not a finite number or empty\n"
    assert "Traceback" not in result.stderr
