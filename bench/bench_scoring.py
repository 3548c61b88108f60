"""Bench: Fairboard's parse + score against a plain pandas implementation, in the same run.

Builds a 1,978-item synthetic ground truth straight from ``scoring.groups`` (no images, no
test-set files) and a keyed prediction CSV in shuffled row order, checks that both
implementations give the same numbers, then prints the median time of each and their ratio.

    .venv/bin/python bench/bench_scoring.py [--n 1978] [--repeat 50] [--number 10]
"""

from __future__ import annotations

import argparse
import io
import itertools
import statistics
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring.groups import (
    ATTRIBUTES,
    CATEGORICAL_ATTRIBUTES,
    ETHNICITY,
    EXPRESSION,
    GENDER,
    age_group_codes,
    category_codes,
)
from scoring.metrics import ScoreReport, score
from scoring.predictions import parse_predictions

# Group proportions of the course's validation split (SPEC §2).
GENDER_SHARES = (716, 766)
ETHNICITY_SHARES = (116, 50, 1316)
EXPRESSION_SHARES = (403, 476, 492, 111)


@dataclass(frozen=True)
class BenchTruth:
    """The ground truth as score() sees it: ids, ages and per-attribute group codes."""

    ids: tuple[str, ...]
    age: npt.NDArray[np.float64]
    categories: dict[str, npt.NDArray[np.str_]]
    codes: dict[str, npt.NDArray[np.intp]]

    def __len__(self) -> int:
        return len(self.ids)

    def group_codes(self, attribute: str) -> npt.NDArray[np.intp]:
        return self.codes[attribute]


def make_truth(n: int, rng: np.random.Generator) -> BenchTruth:
    ids = tuple(f"{index:06d}.jpg" for index in range(1, n + 1))
    age = np.round(np.clip(rng.gamma(4.0, 7.5, n), 1.0, 95.0), 2).astype(np.float64)

    def draw(groups: tuple[str, ...], shares: tuple[int, ...]) -> npt.NDArray[np.str_]:
        weights = np.asarray(shares, dtype=np.float64)
        return rng.choice(np.asarray(groups), size=n, p=weights / weights.sum())

    categories = {
        GENDER.name: draw(GENDER.groups, GENDER_SHARES),
        ETHNICITY.name: draw(ETHNICITY.groups, ETHNICITY_SHARES),
        EXPRESSION.name: draw(EXPRESSION.groups, EXPRESSION_SHARES),
    }
    codes = {"age": age_group_codes(age)}
    for attribute in CATEGORICAL_ATTRIBUTES:
        codes[attribute.name] = category_codes(attribute, categories[attribute.name])
    return BenchTruth(ids=ids, age=age, categories=categories, codes=codes)


def make_prediction_csv(truth: BenchTruth, rng: np.random.Generator) -> bytes:
    predictions = truth.age + rng.normal(0.0, 6.0, len(truth)) * (1 + truth.codes["gender"])
    order = rng.permutation(len(truth))
    values = predictions.tolist()
    rows = "".join(f"{truth.ids[i]},{values[i]!r}\n" for i in order.tolist())
    return ("id,prediction\n" + rows).encode()


def fairboard(truth: BenchTruth, data: bytes) -> ScoreReport:
    return score(truth, parse_predictions(data, truth.ids))


def truth_frame(truth: BenchTruth) -> pd.DataFrame:
    labels = ATTRIBUTES[0].groups
    frame = pd.DataFrame({"id": truth.ids, "age": truth.age, **truth.categories})
    frame["age_group"] = np.asarray(labels)[truth.codes["age"]]
    return frame


def pandas_baseline(frame: pd.DataFrame, data: bytes) -> dict[str, float | None]:
    """What one would write with pandas: read, align by id, group, average pairwise gaps."""
    predictions = pd.read_csv(io.BytesIO(data), dtype={"id": "str", "prediction": "float64"})
    merged = frame.merge(predictions, on="id", how="left", validate="one_to_one")
    if merged["prediction"].isna().any() or len(predictions) != len(frame):
        raise ValueError("predictions do not cover the test set exactly")
    error = (merged["prediction"] - merged["age"]).abs()
    result: dict[str, float | None] = {"mae": float(error.mean())}
    for attribute in ATTRIBUTES:
        column = "age_group" if attribute.name == "age" else attribute.name
        group_maes = error.groupby(merged[column]).mean().dropna()
        gaps = [abs(a - b) for a, b in itertools.combinations(group_maes.tolist(), 2)]
        result[attribute.score] = float(np.mean(gaps)) if gaps else None
    return result


def median_ms(call: Callable[[], object], *, repeat: int, number: int) -> float:
    return statistics.median(timeit.repeat(call, repeat=repeat, number=number)) / number * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1978, help="items in the test set (1978)")
    parser.add_argument("--repeat", type=int, default=50, help="timed repeats (50)")
    parser.add_argument("--number", type=int, default=10, help="calls per repeat (10)")
    args = parser.parse_args()

    rng = np.random.default_rng(2024)
    truth = make_truth(args.n, rng)
    data = make_prediction_csv(truth, rng)
    frame = truth_frame(truth)

    ours = fairboard(truth, data).scores()
    theirs = pandas_baseline(frame, data)
    for name, value in ours.items():
        other = theirs[name]
        same = (value is None and other is None) or (
            value is not None and other is not None and np.isclose(value, other, rtol=1e-12)
        )
        assert same, f"{name}: fairboard {value!r} != pandas {other!r}"

    predictions = parse_predictions(data, truth.ids)
    timings = {
        "fairboard parse + score": median_ms(
            lambda: fairboard(truth, data), repeat=args.repeat, number=args.number
        ),
        "  parse_predictions only": median_ms(
            lambda: parse_predictions(data, truth.ids), repeat=args.repeat, number=args.number
        ),
        "  score only": median_ms(
            lambda: score(truth, predictions), repeat=args.repeat, number=args.number
        ),
        "pandas read_csv + merge + groupby": median_ms(
            lambda: pandas_baseline(frame, data), repeat=args.repeat, number=args.number
        ),
    }
    print(
        f"scoring bench: {args.n} items, keyed CSV of {len(data) / 1024:.1f} KiB in shuffled "
        f"order, median of {args.repeat} repeats x {args.number} calls; same numbers: yes"
    )
    for label, milliseconds in timings.items():
        print(f"{label:<36}{milliseconds:9.3f} ms")
    ratio = timings["pandas read_csv + merge + groupby"] / timings["fairboard parse + score"]
    print(f"{'ratio pandas / fairboard':<36}{ratio:9.1f} x")


if __name__ == "__main__":
    main()
