"""Bench: bootstrap score and rank intervals, vectorised, against a per-replicate Python loop.

Both sides run in the same process, one BLAS thread (one core), on a 1,978-item synthetic
test set (``scoring.synthetic.make_labels``) and the same stratified index matrix:

- score intervals: :func:`scoring.uncertainty.score_intervals` (``--resamples`` replicates,
  five scores) against issue 13's implementation (a frozen copy, ``bench/_intervals_issue13``,
  checked to give the same intervals bit for bit), timed alternately, and against a loop
  calling :func:`scoring.metrics.score` once per replicate; likewise ``resample_indices``;
- rank intervals: :func:`scoring.uncertainty.rank_intervals` for ``--entries`` entries against
  a loop that scores every entry and calls :func:`scoring.ranking.rank_entries` once per
  replicate, timed on ``--loop-replicates`` replicates and extrapolated.

The loop's MAEs are first checked to equal the vectorised ones. Medians of ``--repeat`` runs.

    .venv/bin/python bench/bench_intervals.py [--resamples 1000] [--entries 1000]
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (the thread limits must precede numpy's import)
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _intervals_issue13 as issue13  # noqa: E402
from scoring.metrics import score  # noqa: E402
from scoring.ranking import RankEntry, rank_entries  # noqa: E402
from scoring.synthetic import make_labels  # noqa: E402
from scoring.testset import TestSet  # noqa: E402
from scoring.uncertainty import (  # noqa: E402
    ResampledItems,
    joint_strata,
    rank_intervals,
    replicate_scores,
    resample_indices,
    score_intervals,
)


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def side_by_side(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median seconds of each run, the runs taken in turn so that load shifts hit them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(samples) for name, samples in times.items()}


def loop_scores(truth: TestSet, guesses: npt.NDArray[np.float64], rows: np.ndarray) -> list[float]:
    return [score(ResampledItems(truth, row), guesses[row]).mae for row in rows]


def loop_ranks(truth: TestSet, matrix: npt.NDArray[np.float64], rows: np.ndarray) -> None:
    for row in rows:
        view = ResampledItems(truth, row)
        entries = [
            RankEntry(key, score(view, guesses[row]).scores(), key)
            for key, guesses in enumerate(matrix)
        ]
        rank_entries(entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1978, help="test items")
    parser.add_argument("--resamples", type=int, default=1000, help="score-interval replicates")
    parser.add_argument("--entries", type=int, default=1000, help="leaderboard entries")
    parser.add_argument("--rank-resamples", type=int, default=1000, help="rank replicates")
    parser.add_argument("--loop-replicates", type=int, default=3, help="rank loop, timed")
    parser.add_argument("--repeat", type=int, default=7, help="runs per median")
    args = parser.parse_args()

    truth = make_labels(n=args.n, seed=0)
    rng = np.random.default_rng(1)
    guesses = truth.age + rng.normal(0.0, 6.0, args.n)
    rows = resample_indices(joint_strata(truth), args.resamples, np.random.default_rng(2))
    assert replicate_scores(truth, guesses, rows).scores["mae"].tolist() == loop_scores(
        truth, guesses, rows
    ), "the loop and the vectorised replicates disagree"

    strata = joint_strata(truth)
    assert score_intervals(truth, guesses, seed=3, n_resamples=args.resamples) == (
        issue13.score_intervals(truth, guesses, seed=3, n_resamples=args.resamples)
    ), "issue 13's intervals and these differ"
    assert np.array_equal(
        resample_indices(strata, args.resamples, np.random.default_rng(4)),
        issue13.resample_indices(strata, args.resamples, np.random.default_rng(4)),
    ), "issue 13's index rows and these differ"
    medians = side_by_side(
        {
            "now": lambda: score_intervals(truth, guesses, seed=3, n_resamples=args.resamples),
            "issue 13": lambda: issue13.score_intervals(
                truth, guesses, seed=3, n_resamples=args.resamples
            ),
            "rows now": lambda: resample_indices(strata, args.resamples, np.random.default_rng(3)),
            "rows issue 13": lambda: issue13.resample_indices(
                strata, args.resamples, np.random.default_rng(3)
            ),
        },
        args.repeat * 3,
    )
    vectorised = medians["now"]
    loop = median_seconds(lambda: loop_scores(truth, guesses, rows), max(1, args.repeat // 3))
    print(f"score intervals: {args.n} items × {args.resamples} resamples × 5 scores")
    print(f"  score_intervals now              {vectorised * 1e3:9.1f} ms")
    print(f"  score_intervals of issue 13      {medians['issue 13'] * 1e3:9.1f} ms")
    print(f"  ratio issue 13 / now             {medians['issue 13'] / vectorised:9.1f}×")
    print(f"  resample_indices now             {medians['rows now'] * 1e3:9.1f} ms")
    print(f"  resample_indices of issue 13     {medians['rows issue 13'] * 1e3:9.1f} ms")
    print(
        f"  ratio issue 13 / now             {medians['rows issue 13'] / medians['rows now']:9.1f}×"
    )
    print(f"  loop of metrics.score            {loop * 1e3:9.1f} ms")
    print(f"  ratio loop / now                 {loop / vectorised:9.1f}×")

    spreads = np.linspace(4.0, 8.0, args.entries)[:, None]
    matrix = truth.age[None, :] + rng.normal(0.0, 1.0, (args.entries, args.n)) * spreads
    keys = list(range(args.entries))
    ranked = median_seconds(
        lambda: rank_intervals(truth, matrix, keys=keys, seed=3, n_resamples=args.rank_resamples),
        max(1, args.repeat // 3),
    )
    loop_rows = rows[: args.loop_replicates]
    per_replicate = median_seconds(lambda: loop_ranks(truth, matrix, loop_rows), 1) / len(loop_rows)
    extrapolated = per_replicate * args.rank_resamples
    print(f"rank intervals: {args.entries} entries × {args.n} items × {args.rank_resamples} reps")
    print(f"  vectorised (rank_intervals)      {ranked * 1e3:9.1f} ms")
    print(
        f"  loop of score + rank_entries     {extrapolated * 1e3:9.1f} ms"
        f" (extrapolated from {len(loop_rows)} replicates)"
    )
    print(f"  ratio loop / vectorised          {extrapolated / ranked:9.1f}×")


if __name__ == "__main__":
    main()
