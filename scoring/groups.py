"""The protected attributes and their groups (SPEC §3).

Every attribute is a fixed, ordered tuple of groups; group membership is encoded as small
integer codes so that per-group statistics are a single ``np.bincount``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Attribute:
    """A protected attribute: its name, the score it feeds and its ordered groups."""

    name: str
    score: str
    groups: tuple[str, ...]


AGE_BOUNDS: tuple[float, ...] = (20.0, 40.0, 60.0)
"""Upper-exclusive bounds of the age groups ``[0,20)``, ``[20,40)``, ``[40,60)``, ``[60,inf)``."""

AGE = Attribute("age", "age_bias", ("0-19", "20-39", "40-59", "60+"))
GENDER = Attribute("gender", "gender_bias", ("female", "male"))
ETHNICITY = Attribute("ethnicity", "ethnicity_bias", ("asian", "afroamerican", "caucasian"))
EXPRESSION = Attribute(
    "expression", "expression_bias", ("happy", "slightlyhappy", "neutral", "other")
)

ATTRIBUTES: tuple[Attribute, ...] = (AGE, GENDER, ETHNICITY, EXPRESSION)
CATEGORICAL_ATTRIBUTES: tuple[Attribute, ...] = (GENDER, ETHNICITY, EXPRESSION)
ATTRIBUTES_BY_NAME: dict[str, Attribute] = {a.name: a for a in ATTRIBUTES}

SCORE_NAMES: tuple[str, ...] = (
    "mae",
    "age_bias",
    "gender_bias",
    "ethnicity_bias",
    "expression_bias",
)
"""The five scores of SPEC §3, all lower-is-better."""


def age_group_codes(age: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Map apparent ages to age-group codes (indices into ``AGE.groups``).

    Example:
        >>> age_group_codes([0.0, 19.99, 20.0, 59.5, 60.0, 87.0]).tolist()
        [0, 0, 1, 2, 3, 3]
    """
    return np.searchsorted(np.asarray(AGE_BOUNDS), np.asarray(age, dtype=np.float64), side="right")


def category_codes(attribute: Attribute, values: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Map normalised (lower-case) category values to codes; unknown values map to -1.

    Example:
        >>> category_codes(GENDER, ["male", "female", "x"]).tolist()
        [1, 0, -1]
    """
    lookup = {group: code for code, group in enumerate(attribute.groups)}
    return np.fromiter((lookup.get(str(v), -1) for v in np.asarray(values)), dtype=np.intp)
