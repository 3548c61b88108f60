"""A Fairboard server for the benchmarks: the real app plus two bare upload routes.

The no-op route receives the same multipart upload as a submission and discards it, so the
benchmark can subtract what HTTP and multipart parsing cost on their own. The compute route
receives it and does only what no submission can skip: parse the file against the phase's
test set and score every split (no account, quota, record, file or leaderboard): a lower
bound on any implementation of the submission in this process.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import uvicorn
from fastapi import FastAPI, File, UploadFile

from app.config import get_settings
from app.main import create_app, serving
from app.models import Split
from app.services import competitions, evaluation, testsets
from scoring.metrics import score
from scoring.predictions import PredictionLimits, parse_predictions
from scoring.testset import TestSet

Splits = dict[Split, tuple[TestSet, npt.NDArray[np.intp] | None]]


def bench_app() -> FastAPI:
    """The served app with the two bench routes (``uvicorn --factory``)."""
    settings = get_settings()
    app = create_app(settings)
    limits = PredictionLimits(max_file_bytes=settings.max_prediction_file_bytes)
    loaded: dict[int, tuple[TestSet, Splits]] = {}

    def scoring_inputs(phase_id: int) -> tuple[TestSet, Splits]:
        # Read once: the labels and splits are cached per process in the real path too.
        if phase_id not in loaded:
            with app.state.db.transaction() as session:
                phase = competitions.get_phase(session, phase_id)
                assert phase.testset is not None
                truth = testsets.load_truth(settings, phase.testset)
                splits = {
                    split: evaluation.split_truth(settings, phase, phase.testset, truth, split)
                    for split in ((Split.PUBLIC,) if phase.public_fraction is None else Split)
                }
                loaded[phase_id] = truth, splits
        return loaded[phase_id]

    @app.post("/bench/noop")
    def noop(file: Annotated[UploadFile, File()]) -> dict[str, int]:
        return {"bytes": len(file.file.read())}

    @app.post("/bench/compute/{phase_id}")
    def compute(phase_id: int, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        truth, splits = scoring_inputs(phase_id)
        predictions = parse_predictions(
            file.file.read(), truth.ids, filename=file.filename or "", limits=limits
        )
        reports = {
            split: score(items, predictions if index is None else predictions[index])
            for split, (items, index) in splits.items()
        }
        return reports[Split.PUBLIC].to_dict()

    return serving(app)


def main() -> None:
    port = int(sys.argv[1])
    uvicorn.run(bench_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
