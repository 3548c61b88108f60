"""Bench: what score intervals add to the inline scoring of a prediction file.

A prediction file of up to ``inline_scoring_max_bytes`` is scored inside the upload request
(``app.services.submit``), and the score intervals are computed in the same evaluation
(``app.services.evaluation``). Side by side, in one process and one BLAS thread, on a
1,978-item synthetic test set split 50/50 into public and private items:

- scoring alone: ``parse_predictions`` then ``metrics.score`` on each split;
- scoring with intervals: the same plus ``app.services.intervals.compute`` (1,000 resamples)
  on each split, which is what the background job adds per submission;
- the same with issue 13's intervals (``bench/_intervals_issue13``), before issue 15.

Medians of ``--repeat`` runs, and the ratio. The request also pays a database round trip
per transaction (a few ms on SQLite), not counted on either side.

    .venv/bin/python bench/bench_inline_intervals.py [--n 1978] [--repeat 15]
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (the thread limits must precede numpy's import)
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.services.intervals import compute  # noqa: E402
from bench import _intervals_issue13 as issue13  # noqa: E402
from bench.bench_intervals import side_by_side  # noqa: E402
from scoring.metrics import score  # noqa: E402
from scoring.predictions import parse_predictions  # noqa: E402
from scoring.synthetic import make_labels  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1978, help="test items")
    parser.add_argument("--repeat", type=int, default=15, help="runs per median")
    args = parser.parse_args()
    truth = make_labels(n=args.n, seed=0)
    rng = np.random.default_rng(1)
    guesses = truth.age + rng.normal(0.0, 5.0, len(truth))
    rows = (f"{i},{float(g)!r}\n" for i, g in zip(truth.ids, guesses, strict=True))
    data = ("id,age\n" + "".join(rows)).encode()
    public = np.flatnonzero(rng.random(len(truth)) < 0.5)
    private = np.setdiff1d(np.arange(len(truth)), public)
    splits = [(truth.subset(index), index) for index in (public, private)]

    def scoring_alone() -> None:
        values = parse_predictions(data, truth.ids)
        for items, index in splits:
            score(items, values[index])

    def with_intervals() -> None:
        values = parse_predictions(data, truth.ids)
        for items, index in splits:
            score(items, values[index])
            compute(items, values[index], submission_id=1)

    def with_issue13_intervals() -> None:
        values = parse_predictions(data, truth.ids)
        for items, index in splits:
            score(items, values[index])
            issue13.score_intervals(items, values[index], seed=1)

    medians = side_by_side(
        {"alone": scoring_alone, "now": with_intervals, "issue 13": with_issue13_intervals},
        args.repeat,
    )
    alone, both, before = medians["alone"], medians["now"], medians["issue 13"]
    print(f"{args.n} items, public/private 50/50, 1,000 resamples per split, one core")
    print(f"  parse + score both splits:              {alone * 1e3:8.1f} ms")
    print(f"  parse + score + intervals both splits:  {both * 1e3:8.1f} ms")
    print(f"  the same, issue 13's intervals:         {before * 1e3:8.1f} ms")
    print(f"  ratio (with / without intervals):       {both / alone:8.2f}x")
    print(f"  ratio (issue 13's / without):           {before / alone:8.2f}x")
    print(f"  intervals add:                          {(both - alone) * 1e3:8.1f} ms")
    print(f"  issue 13's intervals added:             {(before - alone) * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
