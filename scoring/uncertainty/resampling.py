"""The stratified bootstrap shared by score and rank intervals: seeds, strata, resampled indices.

**Strata.** Items are resampled with replacement *within* the cells of their joint groups
(age group × gender × ethnicity × expression, the cells :func:`scoring.splits.public_mask`
stratifies by). Every cell keeps its size in every replicate, so every group of every
attribute keeps exactly its members' count: a group MAE defined on the test set is defined in
every replicate, and a bias is defined in a replicate exactly when it is defined on the test
set. The intervals are therefore conditional on the test set's composition (its design), which
is fixed by the organizer. The price: an item alone in its cell is drawn in every replicate and
adds no sampling variability, so intervals are slightly narrow where many cells are singletons
(small test sets, or small groups such as ``afroamerican``).

**Seeds.** :func:`interval_seed` hashes a submission key and the test-set fingerprint, so a
rescore of the same submission on the same test set draws the same replicates on any machine.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from scoring.errors import ScoringError, excerpt
from scoring.groups import ATTRIBUTES

__all__ = [
    "BAD_KEY",
    "BAD_LEVEL",
    "BAD_RESAMPLES",
    "BAD_SEED",
    "BLOCK_CELLS",
    "DEFAULT_CHUNK_ELEMENTS",
    "DEFAULT_LEVEL",
    "DEFAULT_RESAMPLES",
    "Groups",
    "ResampledItems",
    "StratifiedDraws",
    "UncertaintyError",
    "check_options",
    "chunk_sizes",
    "interval_seed",
    "joint_strata",
    "percentile_bounds",
    "replicate_chunks",
    "resample_indices",
]

DEFAULT_RESAMPLES: Final = 1000
"""Bootstrap replicates per interval (the issue asks for at least 1,000)."""
DEFAULT_LEVEL: Final = 0.95
"""Coverage of every interval: the 2.5th and 97.5th percentiles of the replicates."""
DEFAULT_CHUNK_ELEMENTS: Final = 1 << 22
"""Largest number of resampled (replicate, item) cells held at once (32 MiB of float64)."""
BLOCK_CELLS: Final = 1 << 18
"""Cells the score bootstrap scores at once (2 MiB of float64): its copies stay in cache."""
SEED_BITS: Final = 63
"""Seeds fit a signed 64-bit database column."""

BAD_RESAMPLES: Final = "n_resamples must be a whole number >= 1, got {value}"
BAD_LEVEL: Final = "level must be a number between 0 and 1 (exclusive), got {value}"
BAD_SEED: Final = "seed must be a whole number >= 0, got {value}"
BAD_KEY: Final = "submission_key must be a str or an int, got {kind}"


class UncertaintyError(ScoringError):
    """Bad bootstrap options: replicates, level, seed or key."""


class Groups(Protocol):
    """What the bootstrap needs from a test set: its size and its group codes."""

    def __len__(self) -> int: ...

    def group_codes(self, attribute: str) -> npt.NDArray[np.intp]: ...


class Labels(Groups, Protocol):
    """A test set with its ages: what :func:`scoring.metrics.score` reads."""

    @property
    def age(self) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class ResampledItems:
    """One bootstrap sample of a test set, repeats allowed, readable by ``metrics.score``.

    ``TestSet.subset`` refuses repeated ids; this view has none to check. Scoring it is the
    slow, obviously correct replicate that the vectorised code is tested and timed against.

    Example:
        >>> from scoring.metrics import score
        >>> from scoring.testset import TestSet
        >>> ts = TestSet(ids=("a", "b"), age=[20.0, 70.0], gender=["female", "male"],
        ...              ethnicity=["asian"] * 2, expression=["happy"] * 2)
        >>> sample = ResampledItems(ts, np.array([1, 1]))
        >>> len(sample), score(sample, [71.0, 72.0]).mae
        (2, 1.5)
    """

    labels: Labels
    rows: npt.NDArray[np.intp]

    @property
    def age(self) -> npt.NDArray[np.float64]:
        """The ages of the sampled items, in sample order."""
        ages: npt.NDArray[np.float64] = self.labels.age[self.rows]
        return ages

    def __len__(self) -> int:
        """The number of sampled items."""
        return len(self.rows)

    def group_codes(self, attribute: str) -> npt.NDArray[np.intp]:
        """The sampled items' group codes for ``attribute``."""
        codes: npt.NDArray[np.intp] = self.labels.group_codes(attribute)[self.rows]
        return codes


def interval_seed(submission_key: str | int, testset_fingerprint: str) -> int:
    """A bootstrap seed in ``[0, 2**63)`` from a submission key and a test-set fingerprint.

    SHA-256 of both (the key's type is part of it, so ``7`` and ``"7"`` differ): the same
    on every process, platform and Python version, unlike ``hash()``.

    Example:
        >>> seed = interval_seed(42, "sha256:ab")
        >>> seed == interval_seed(42, "sha256:ab"), seed != interval_seed("42", "sha256:ab")
        (True, True)
        >>> 0 <= seed < 2**63
        True
    """
    if isinstance(submission_key, bool) or not isinstance(submission_key, str | int):
        raise UncertaintyError(BAD_KEY.format(kind=type(submission_key).__name__))
    kind = "int" if isinstance(submission_key, int) else "str"
    payload = f"fairboard-interval-seed-v1\x00{kind}:{submission_key}\x00{testset_fingerprint}"
    digest = hashlib.sha256(payload.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - SEED_BITS)


def check_options(n_resamples: int, level: float, seed: int) -> None:
    """Raise :class:`UncertaintyError` unless the bootstrap options make sense.

    Example:
        >>> check_options(1000, 0.95, 7)
        >>> check_options(1000, 1.5, 7)
        Traceback (most recent call last):
        ...
        scoring.uncertainty.resampling.UncertaintyError: level must be a number between 0 and 1 ...
    """
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise UncertaintyError(BAD_RESAMPLES.format(value=excerpt(repr(n_resamples))))
    if (
        isinstance(level, bool)
        or not isinstance(level, int | float)
        or not (math.isfinite(level) and 0.0 < level < 1.0)
    ):
        raise UncertaintyError(BAD_LEVEL.format(value=excerpt(repr(level))))
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UncertaintyError(BAD_SEED.format(value=excerpt(repr(seed))))


def joint_strata(testset: Groups) -> npt.NDArray[np.intp]:
    """The bootstrap stratum of every item: the code of its joint (age, gender, ethn., expr.) cell.

    Example:
        >>> from scoring.testset import TestSet
        >>> ts = TestSet(ids=("a", "b", "c"), age=[5.0, 6.0, 70.0], gender=["male"] * 3,
        ...              ethnicity=["asian"] * 3, expression=["happy"] * 3)
        >>> strata = joint_strata(ts)
        >>> bool(strata[0] == strata[1]), bool(strata[0] == strata[2])
        (True, False)
    """
    codes = tuple(testset.group_codes(attribute.name) for attribute in ATTRIBUTES)
    dims = tuple(len(attribute.groups) for attribute in ATTRIBUTES)
    return np.ravel_multi_index(codes, dims).astype(np.intp, copy=False)


@dataclass(frozen=True)
class StratifiedDraws:
    """Where each column of a stratified bootstrap draws its items (:func:`resample_indices`).

    ``slots`` lists the items stratum by stratum, each stratum followed by its last item once
    more; column ``j`` draws ``slots[first_slot[j] + floor(u * stratum_size[j])]`` for a
    uniform ``u`` in ``[0, 1)``. Should ``u * size`` round up to ``size``, the repeated slot
    gives the stratum's last item, as a clamp would, without a pass over every cell.
    ``columns`` is the item each column stands for (the items stratum by stratum).

    Example:
        >>> draws = StratifiedDraws.of([1, 0, 1])
        >>> draws.columns.tolist(), draws.slots.tolist(), draws.first_slot.tolist()
        ([1, 0, 2], [1, 1, 0, 2, 2], [0, 2, 2])
    """

    columns: npt.NDArray[np.intp]
    slots: npt.NDArray[np.intp]
    first_slot: npt.NDArray[np.intp]
    stratum_size: npt.NDArray[np.float64]

    @classmethod
    def of(cls, strata: npt.ArrayLike) -> StratifiedDraws:
        """The draws of a test set whose item ``i`` is in stratum ``strata[i]``."""
        codes = np.asarray(strata, dtype=np.intp)
        order = np.argsort(codes, kind="stable")
        _, starts, sizes = np.unique(codes[order], return_index=True, return_counts=True)
        stratum_of_column = np.repeat(np.arange(len(sizes)), sizes)
        stops = starts + sizes
        return cls(
            columns=order,
            slots=np.insert(order, stops, order[stops - 1]),
            first_slot=(starts + np.arange(len(sizes)))[stratum_of_column],
            stratum_size=sizes[stratum_of_column].astype(np.float64),
        )

    def slot_rows(self, n_resamples: int, rng: np.random.Generator) -> npt.NDArray[np.intp]:
        """An ``(n_resamples, n)`` matrix of positions in ``slots``, one bootstrap sample a row.

        One uniform per cell, row by row: ``rng`` advances as :func:`resample_indices` says.
        """
        uniforms = rng.random((n_resamples, len(self.columns)))
        uniforms *= self.stratum_size
        positions = uniforms.astype(np.intp)
        positions += self.first_slot
        return positions


def resample_indices(
    strata: npt.ArrayLike, n_resamples: int, rng: np.random.Generator
) -> npt.NDArray[np.intp]:
    """An ``(n_resamples, n)`` matrix of item indices, each row one stratified bootstrap sample.

    Column ``j`` always draws, with replacement, from one stratum (items are taken stratum by
    stratum), so every stratum keeps its size in every row. Drawing ``a`` rows then ``b`` rows
    from one generator gives the same rows as drawing ``a + b`` at once.

    Example:
        >>> rows = resample_indices([0, 0, 1], 4, np.random.default_rng(0))
        >>> rows.shape, bool((rows[:, 2] == 2).all()), bool((rows[:, :2] < 2).all())
        ((4, 3), True, True)
    """
    draws = StratifiedDraws.of(strata)
    rows: npt.NDArray[np.intp] = draws.slots[draws.slot_rows(n_resamples, rng)]
    return rows


def chunk_sizes(n_resamples: int, cells_per_resample: int, max_cells: int) -> Iterator[int]:
    """Replicates per chunk so that one chunk holds at most ``max_cells`` cells (at least one).

    Example:
        >>> list(chunk_sizes(10, 3, 12))
        [4, 4, 2]
    """
    step = max(1, max_cells // max(1, cells_per_resample))
    for start in range(0, n_resamples, step):
        yield min(step, n_resamples - start)


def replicate_chunks(
    testset: Groups, n_resamples: int, seed: int, *, cells_per_resample: int, max_cells: int
) -> Iterator[npt.NDArray[np.intp]]:
    """The index matrices of ``testset``'s stratified bootstrap, a chunk of replicates each.

    The chunks hold at most ``max_cells`` cells in all (:func:`chunk_sizes`); stacked, they
    are the same rows for any chunk size.

    Example:
        >>> from scoring.testset import TestSet
        >>> ts = TestSet(ids=("a", "b"), age=[5.0, 6.0], gender=["male"] * 2,
        ...              ethnicity=["asian"] * 2, expression=["happy"] * 2)
        >>> [rows.shape for rows in replicate_chunks(ts, 5, 1, cells_per_resample=2, max_cells=4)]
        [(2, 2), (2, 2), (1, 2)]
    """
    draws = StratifiedDraws.of(joint_strata(testset))
    rng = np.random.default_rng(seed)
    for size in chunk_sizes(n_resamples, cells_per_resample, max_cells):
        yield draws.slots[draws.slot_rows(size, rng)]


def percentile_bounds(
    replicates: npt.ArrayLike,
    level: float,
    point: npt.ArrayLike,
    *,
    discrete: bool = False,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Percentile interval of each column of ``replicates``, widened to include ``point``.

    The bounds are the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles (linearly
    interpolated, or the observed values just below and above when ``discrete``, for ranks).
    A bootstrap of an absolute gap is biased upward, so for a bias near zero the point estimate
    can fall below every replicate; the interval is then widened to reach it, never shifted.

    Example:
        >>> low, high = percentile_bounds(np.array([[1.0], [2.0], [3.0]]), 0.5, [0.5])
        >>> low.tolist(), high.tolist()
        ([0.5], [2.5])
    """
    tail = (1.0 - level) / 2.0
    values = np.asarray(replicates, dtype=np.float64)
    if discrete:
        low = np.quantile(values, tail, axis=0, method="lower")
        high = np.quantile(values, 1.0 - tail, axis=0, method="higher")
    else:
        low, high = np.quantile(values, [tail, 1.0 - tail], axis=0)
    estimate = np.asarray(point, dtype=np.float64)
    return np.fmin(low, estimate), np.fmax(high, estimate)
