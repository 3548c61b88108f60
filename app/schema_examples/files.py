"""Examples of the files (and the comparison) that the export routes answer, as the OpenAPI
reference shows them, keyed by media type."""

from __future__ import annotations

from typing import Any

from app.schema_examples import SCORES

HEADER = "position,participant,mae,age_bias,gender_bias,ethnicity_bias,expression_bias"
ROW = "1,ada,5.1234,0.8123,0.2100,0.5400,0.3300"
LEADERBOARD_CSV = f"{HEADER}\n{ROW}\n"
LEADERBOARD_FILES: dict[str, Any] = {
    "text/csv; charset=utf-8": LEADERBOARD_CSV,
    "text/markdown; charset=utf-8": (
        "| # | participant | MAE |\n|---|---|---|\n| 1 | ada | **5.1234** |\n"
    ),
    "application/x-tex; charset=utf-8": (
        "\\begin{tabular}{rlr}\n\\toprule\n\\# & participant & MAE \\\\\n\\midrule\n"
        "1 & ada & \\textbf{5.1234} \\\\\n\\bottomrule\n\\end{tabular}\n"
    ),
}
SUBMISSIONS_CSV: dict[str, Any] = {
    "text/csv; charset=utf-8": (
        "submission_id,participant,team,kind,status,split,n_items,mae\n"
        "42,ada,Group 7,predictions,finished,public,989,5.1234\n"
    )
}
"""The first columns; then the other scores and each group's MAE and size."""

COMPARISON: dict[str, Any] = {
    "competition_id": 1,
    "reference": 40,
    "rows": [
        {
            "submission_id": 42,
            "phase_id": 1,
            "phase": "Task 1",
            "participant": "Group 7",
            "description": "resnet50, epoch 12",
            "metadata": {"model": "resnet50", "loss": "weighted-l1"},
            "is_baseline": False,
            "scores": SCORES,
            "groups": {"gender": {"female": 5.02, "male": 5.2}},
            "private_scores": None,
            "difference": {name: -0.1 for name in SCORES},
            "note": None,
        }
    ],
    "best": {name: 42 for name in SCORES},
}
COMPARE_FILES: dict[str, Any] = {"application/json": COMPARISON, **LEADERBOARD_FILES}
