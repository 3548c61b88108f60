"""Score intervals are pinned bit for bit: a faster implementation must draw the same replicates
and add the same numbers in the same order (issue 15).

``interval_goldens.json`` was recorded from the implementation of issue 13 (a boolean-mask
selection and a column sum per group), before any speed work: the bounds as ``float.hex`` and
SHA-256 digests of the index rows and of every replicate's scores, group sizes and group MAEs.
A change in the random stream, or in the order of a single addition, changes a digest.

Regenerate only for an intended change of the stored intervals (it changes every stored one):
``.venv/bin/python -m tests.scoring.test_interval_goldens --write``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from scoring.groups import ATTRIBUTES, SCORE_NAMES
from scoring.splits import public_mask
from scoring.synthetic import make_labels
from scoring.testset import TestSet
from scoring.uncertainty import (
    ReplicateScores,
    bootstrap_replicates,
    replicate_scores,
    score_intervals,
)
from scoring.uncertainty.resampling import DEFAULT_CHUNK_ELEMENTS, replicate_chunks

GOLDENS = Path(__file__).with_name("interval_goldens.json")


@dataclass(frozen=True)
class Case:
    """One pinned call of ``score_intervals``: a test set, predictions and options."""

    truth: Callable[[], TestSet]
    predictions: Callable[[TestSet], npt.NDArray[np.float64]]
    seed: int
    n_resamples: int
    options: dict[str, Any] = field(default_factory=dict)


def noisy(sd: float, seed: int) -> Callable[[TestSet], npt.NDArray[np.float64]]:
    def guesses(truth: TestSet) -> npt.NDArray[np.float64]:
        return truth.age + np.random.default_rng(seed).normal(0.0, sd, len(truth))

    return guesses


def public_split() -> TestSet:
    truth = make_labels(n=1978, seed=0)
    codes = {attribute.name: truth.group_codes(attribute.name) for attribute in ATTRIBUTES}
    return truth.subset(public_mask(codes, 0.5, seed=0))


def labels(
    ages: list[float], gender: list[str], ethnicity: list[str], expression: list[str]
) -> Callable[[], TestSet]:
    # A hand-made test set, for the shapes a synthetic one does not have.
    return lambda: TestSet(
        ids=tuple(f"item-{index}" for index in range(len(ages))),
        age=ages,
        gender=gender,
        ethnicity=ethnicity,
        expression=expression,
    )


CASES: dict[str, Case] = {
    "default size": Case(lambda: make_labels(n=1978, seed=0), noisy(6.0, 1), 7, 1000),
    "public split": Case(public_split, noisy(5.0, 2), 3, 1000),
    "small chunks": Case(
        lambda: make_labels(n=300, seed=3), noisy(5.0, 4), 5, 50, {"max_chunk_elements": 700}
    ),
    "exact predictions": Case(lambda: make_labels(n=200, seed=4), noisy(0.0, 0), 1, 100),
    "integer predictions, many equal errors": Case(
        lambda: make_labels(n=700, seed=5),
        lambda truth: np.round(noisy(4.0, 6)(truth)).clip(0, 100),
        11,
        257,
    ),
    "level 0.5, largest seed": Case(
        lambda: make_labels(n=500, seed=6), noisy(7.0, 7), 2**63 - 1, 333, {"level": 0.5}
    ),
    "empty groups": Case(
        labels(
            [3.0, 25.0, 31.0, 8.0, 27.0, 22.0, 12.0, 35.0] * 5,
            ["female"] * 40,
            ["asian", "caucasian"] * 20,
            ["happy", "happy", "other", "happy"] * 10,
        ),
        noisy(3.0, 8),
        13,
        64,
    ),
    "undefined bias": Case(
        labels(
            [10.0, 30.0, 50.0, 70.0] * 2,
            ["female", "male"] * 4,
            ["asian"] * 8,
            ["happy"] * 4 + ["other"] * 4,
        ),
        noisy(2.0, 9),
        17,
        20,
    ),
    "a single item": Case(
        labels([40.0], ["male"], ["afroamerican"], ["neutral"]), noisy(2.0, 10), 19, 10
    ),
    "two items": Case(
        labels([40.0, 62.0], ["male", "female"], ["asian"] * 2, ["neutral", "happy"]),
        noisy(2.0, 11),
        23,
        5,
    ),
}


def digest(*arrays: npt.ArrayLike) -> str:
    hashed = hashlib.sha256()
    for array in arrays:
        values = np.asarray(array)
        hashed.update(str(values.shape).encode())
        hashed.update(values.astype(values.dtype.newbyteorder("<")).tobytes())
    return hashed.hexdigest()


def replicate_digests(replicates: ReplicateScores) -> dict[str, str]:
    """The digests of everything a replicate holds, by name."""
    pinned = {"scores": digest(*(replicates.scores[name] for name in SCORE_NAMES))}
    for attribute in ATTRIBUTES:
        pinned[f"{attribute.name} group sizes"] = digest(
            replicates.group_sizes[attribute.name].astype(np.int64)
        )
        pinned[f"{attribute.name} group MAEs"] = digest(replicates.group_maes[attribute.name])
    return pinned


def observe(case: Case) -> dict[str, Any]:
    """What the goldens pin for one case, computed with the public functions."""
    truth = case.truth()
    guesses = case.predictions(truth)
    result = score_intervals(
        truth, guesses, seed=case.seed, n_resamples=case.n_resamples, **case.options
    )
    rows = np.concatenate(
        list(
            replicate_chunks(
                truth,
                case.n_resamples,
                case.seed,
                cells_per_resample=len(truth),
                max_cells=case.options.get("max_chunk_elements", DEFAULT_CHUNK_ELEMENTS),
            )
        )
    )
    return {
        "intervals": {
            name: None if bounds is None else [bounds[0].hex(), bounds[1].hex()]
            for name, bounds in result.intervals.items()
        },
        "index rows": digest(rows.astype(np.int64)),
        "replicates": replicate_digests(replicate_scores(truth, guesses, rows, stratified=True)),
    }


def recorded() -> dict[str, Any]:
    goldens: dict[str, Any] = json.loads(GOLDENS.read_text())
    return goldens


@pytest.mark.parametrize("name", list(CASES))
def test_score_intervals_reproduce_the_recorded_bounds_bit_for_bit(name: str) -> None:
    assert observe(CASES[name])["intervals"] == recorded()[name]["intervals"]


@pytest.mark.parametrize("name", list(CASES))
def test_the_bootstrap_draws_the_recorded_index_rows(name: str) -> None:
    assert observe(CASES[name])["index rows"] == recorded()[name]["index rows"]


@pytest.mark.parametrize("name", list(CASES))
def test_every_replicate_adds_the_same_numbers_in_the_same_order(name: str) -> None:
    assert observe(CASES[name])["replicates"] == recorded()[name]["replicates"]


@pytest.mark.parametrize("name", list(CASES))
def test_the_replicates_of_score_intervals_are_the_recorded_ones(name: str) -> None:
    # score_intervals draws and scores its replicates block by block, without index rows.
    case = CASES[name]
    truth = case.truth()
    options = {key: value for key, value in case.options.items() if key != "level"}
    replicates = bootstrap_replicates(
        truth, case.predictions(truth), seed=case.seed, n_resamples=case.n_resamples, **options
    )
    assert replicate_digests(replicates) == recorded()[name]["replicates"]


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    GOLDENS.write_text(
        json.dumps({name: observe(case) for name, case in CASES.items()}, indent=1) + "\n"
    )
