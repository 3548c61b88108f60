"""The public/private split of a test set: deterministic and stratified by the four attributes."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from scoring.errors import ScoringError
from scoring.groups import ATTRIBUTES

FRACTION_OUT_OF_RANGE = "public fraction must be between 0 and 1 (exclusive), got {fraction!r}"


class SplitError(ScoringError):
    """An impossible split was asked for."""


def public_mask(
    codes: dict[str, npt.NDArray[np.intp]], fraction: float, *, seed: int
) -> npt.NDArray[np.bool_]:
    """Which items belong to the public split.

    Items are grouped into strata by their (age group, gender, ethnicity, expression) codes.
    Each stratum contributes ``fraction`` of its items, with the remainders of all strata
    allotted by largest remainder so the public split has ``round(fraction * n)`` items. The
    same codes, fraction and seed always give the same mask.

    Example:
        >>> import numpy as np
        >>> codes = {a.name: np.zeros(10, dtype=np.intp) for a in ATTRIBUTES}
        >>> int(public_mask(codes, 0.3, seed=1).sum())
        3
    """
    if not 0.0 < fraction < 1.0:
        raise SplitError(FRACTION_OUT_OF_RANGE.format(fraction=fraction))
    n = len(codes[ATTRIBUTES[0].name])
    if n == 0:
        return np.zeros(0, dtype=bool)
    key = np.zeros(n, dtype=np.int64)
    for attribute in ATTRIBUTES:
        key = key * (len(attribute.groups) + 1) + (codes[attribute.name] + 1)
    strata, inverse, sizes = np.unique(key, return_inverse=True, return_counts=True)
    rng = np.random.default_rng(seed)
    quotas = sizes * fraction
    take = np.floor(quotas).astype(np.int64)
    leftover = round(fraction * n) - int(take.sum())
    if leftover > 0:
        # Largest remainder first; a random tie-break so no stratum is always favoured.
        order = np.lexsort((rng.random(len(strata)), -(quotas - take)))
        take[order[:leftover]] += 1
    mask = np.zeros(n, dtype=bool)
    permutation = rng.permutation(n)
    shuffled_strata = inverse[permutation]
    # Stable sort keeps the random order within each stratum.
    grouped = permutation[np.argsort(shuffled_strata, kind="stable")]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    for stratum, start in enumerate(starts):
        mask[grouped[start : start + take[stratum]]] = True
    return mask
