"""Numbers as participants and organizers write them: plain ASCII decimals only (SPEC §4).

Python's ``float()`` is generous: it accepts ``3_0``, Arabic-Indic and other Unicode digits,
``inf``, ``nan`` and surrounding Unicode blanks. The engine accepts only an optional sign,
ASCII digits with an optional decimal point, and an optional exponent (``34.5``, ``-.5``,
``3.45e1``), with blanks or tabs around. :func:`parse_decimals` checks a whole column at C
speed (``float`` on every field, then one ``str.translate`` over all of them), so the strict
rule costs a valid file almost nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_ABS_PREDICTION", "is_plain_decimal", "parse_decimal", "parse_decimals"]

MAX_ABS_PREDICTION: Final = 10_000.0
"""The largest absolute prediction, in years (SPEC §4, §5): larger is a bug, and could overflow."""

_PLAIN_DECIMAL: Final = re.compile(
    r"[ \t]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*", re.ASCII
)
# Once float() has accepted a field, these are the only characters a plain decimal may hold.
_WITHOUT_DECIMAL_CHARACTERS: Final = str.maketrans("", "", "0123456789+-.eE \t")


def is_plain_decimal(text: str) -> bool:
    """Whether ``text`` is a plain ASCII decimal or scientific-notation number.

    Example:
        >>> [is_plain_decimal(t) for t in ("34.5", " 3.45e1 ", "-.5", "3_0", "٣٠", "inf")]
        [True, True, True, False, False, False]
    """
    return _PLAIN_DECIMAL.fullmatch(text) is not None


def parse_decimal(text: str) -> float | None:
    """The value of a plain decimal (see :func:`is_plain_decimal`), or None for anything else.

    An exponent too large for float64 gives ``inf``; bounds are the caller's to check.

    Example:
        >>> parse_decimal("3.45e1"), parse_decimal("3_0"), parse_decimal("nan")
        (34.5, None, None)
    """
    return float(text) if is_plain_decimal(text) else None


def parse_decimals(fields: Sequence[str]) -> npt.NDArray[np.float64] | None:
    """float64 values of ``fields`` when every one is a plain decimal, else None.

    The fast path for a whole column; on None the caller finds the bad fields one by one.

    Example:
        >>> parse_decimals(["20.5", " 3e1"]).tolist()
        [20.5, 30.0]
        >>> parse_decimals(["20.5", "3_0"]) is None
        True
    """
    try:
        values = np.array(list(map(float, fields)), dtype=np.float64)
    except ValueError:
        return None
    if "".join(fields).translate(_WITHOUT_DECIMAL_CHARACTERS):
        return None
    return values
