"""What a prediction file's values and header may look like, and what to say when they do not.

Used by :mod:`scoring.predictions`; the constants are re-exported there. Each message names the
actual problem and how to fix it: a decimal comma, a bracketed value, a number that Python
would read but SPEC §4 does not allow (``3_0``, other digit sets), NaN or infinity, a value
beyond ±10,000, tab or semicolon separators, a value column without an id column, a third
column, the index column pandas writes by default, or a file that starts with data. Quoted
input is always a short excerpt (:func:`scoring.errors.excerpt`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from scoring.errors import excerpt
from scoring.numbers import MAX_ABS_PREDICTION, parse_decimal, parse_decimals

__all__ = [
    "BRACKETED_VALUE",
    "DECIMAL_COMMA",
    "EMPTY_LINE",
    "HEADER_WITHOUT_ID",
    "MISSING_HEADER",
    "NOT_A_NUMBER",
    "NOT_FINITE",
    "NOT_PLAIN_DECIMAL",
    "OUT_OF_RANGE",
    "PANDAS_INDEX",
    "SEMICOLON_SEPARATED",
    "TAB_SEPARATED",
    "TOO_MANY_COLUMNS",
    "UNKNOWN_HEADER",
    "WRONG_FIELD_COUNT",
    "header_problem",
    "looks_like_a_value",
    "parse_value",
    "row_problem",
    "values_in_range",
]

# Values (one problem per line):
NOT_A_NUMBER: Final = "line {line}: {value!r} is not a number"
NOT_FINITE: Final = "line {line}: {value!r} is not a finite number"
NOT_PLAIN_DECIMAL: Final = (
    "line {line}: {value!r} is not a plain decimal number; write ASCII digits with an optional "
    "sign, decimal point and exponent (34.5 or 3.45e1)"
)
DECIMAL_COMMA: Final = (
    "line {line}: {value!r} has a decimal comma; write the number with a decimal point (34.5)"
)
BRACKETED_VALUE: Final = (
    "line {line}: {value!r} is in brackets; write the bare number (34.5), not a list or an array"
)
OUT_OF_RANGE: Final = "line {line}: {value!r} is beyond ±10,000; a prediction is an age in years"
# Lines and headers:
EMPTY_LINE: Final = "line {line}: the line is empty"
WRONG_FIELD_COUNT: Final = "line {line}: expected 2 fields, found {found}"
TAB_SEPARATED: Final = (
    "line {line}: the fields are separated by tabs; separate the id and the value with a comma"
)
SEMICOLON_SEPARATED: Final = (
    "line {line}: the fields are separated by semicolons; separate the id and the value with a "
    "comma (and write numbers with a decimal point)"
)
HEADER_WITHOUT_ID: Final = (
    "line {line}: the header {header!r} names a value column but no id column; add an id column "
    "(id, file or file_name), or drop the header and give one number per line in test order"
)
TOO_MANY_COLUMNS: Final = (
    "line {line}: the header {header!r} has {count} columns; expected exactly two, an id column "
    "(id, file or file_name) and a value column (age or prediction)"
)
PANDAS_INDEX: Final = (
    "line {line}: the first column has no name ({name!r}), like the index pandas writes; save "
    "the file without it (DataFrame.to_csv(..., index=False))"
)
MISSING_HEADER: Final = (
    "line {line}: {header!r} is data, not a header; start the file with the header line id,age"
)
UNKNOWN_HEADER: Final = (
    "line {line}: unknown header {header!r}; expected an id column (id, file or file_name) "
    "and a value column (age or prediction)"
)

_DECIMAL_COMMA: Final = re.compile(r"[+-]?[0-9]*,[0-9]+(?:[eE][+-]?[0-9]+)?", re.ASCII)
_BRACKETED: Final = re.compile(r"[\[(]\s*[^\[\]()]*[\])]")
_PANDAS_INDEX_NAMES: Final = ("", "unnamed: 0")


def _parses_as_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def looks_like_a_value(line: str) -> bool:
    """Whether a first line is a value (the legacy form), even one written the wrong way.

    Example:
        >>> [looks_like_a_value(t) for t in ("34.5", "34,5", "[34.5]", "nan", "id,age")]
        [True, True, True, True, False]
    """
    text = line.strip()
    return (
        _parses_as_float(text)
        or _DECIMAL_COMMA.fullmatch(text) is not None
        or _BRACKETED.fullmatch(text) is not None
    )


def values_in_range(fields: Sequence[str]) -> npt.NDArray[np.float64] | None:
    """float64 values when every field is a plain decimal within ±10,000, else None.

    Example:
        >>> values_in_range(["20.5", "-3e1"]).tolist()
        [20.5, -30.0]
        >>> values_in_range(["20.5", "1e308"]) is None
        True
    """
    values = parse_decimals(fields)
    if values is None or not (np.abs(values) <= MAX_ABS_PREDICTION).all():
        return None
    return values


def parse_value(field: str, line: int) -> tuple[float, str | None]:
    """(the value, None), or (NaN, the problem) for a field that is not a valid prediction.

    Example:
        >>> parse_value("34.5", 2)
        (34.5, None)
        >>> parse_value("34,5", 2)
        (nan, "line 2: '34,5' has a decimal comma; write the number with a decimal point (34.5)")
    """
    value = parse_decimal(field)
    if value is not None and abs(value) <= MAX_ABS_PREDICTION:
        return value, None
    shown = excerpt(field)
    if value is not None:
        message = OUT_OF_RANGE
    elif _DECIMAL_COMMA.fullmatch(field):
        message = DECIMAL_COMMA
    elif _BRACKETED.fullmatch(field):
        message = BRACKETED_VALUE
    elif not _parses_as_float(field):
        message = NOT_A_NUMBER
    elif math.isfinite(float(field)):
        message = NOT_PLAIN_DECIMAL
    else:
        message = NOT_FINITE
    return math.nan, message.format(line=line, value=shown)


def _separator_problem(text: str, line: int) -> str | None:
    if len(text.split("\t")) > 1:
        return TAB_SEPARATED.format(line=line)
    if len(text.split(";")) > 1:
        return SEMICOLON_SEPARATED.format(line=line)
    return None


def row_problem(fields: Sequence[str], line: int, value_column: int) -> str:
    """The problem of a keyed row that does not have exactly two fields.

    Example:
        >>> row_problem(["a.jpg", "34", "5"], 3, value_column=1)
        "line 3: '34,5' has a decimal comma; write the number with a decimal point (34.5)"
        >>> row_problem(["a.jpg;34.5"], 3, value_column=1)[:50]
        'line 3: the fields are separated by semicolons; se'
    """
    if not "".join(fields).strip():
        return EMPTY_LINE.format(line=line)
    if len(fields) == 1:
        separator = _separator_problem(fields[0], line)
        if separator is not None:
            return separator
    if len(fields) == 3:
        # An unquoted decimal comma splits the value in two; where depends on the column order.
        value = ",".join(fields[1:] if value_column == 1 else fields[:2]).strip()
        if _DECIMAL_COMMA.fullmatch(value):
            return DECIMAL_COMMA.format(line=line, value=excerpt(value))
    return WRONG_FIELD_COUNT.format(line=line, found=len(fields))


def header_problem(
    header: str,
    names: Sequence[str],
    line: int,
    id_columns: Sequence[str],
    value_columns: Sequence[str],
) -> str:
    """Why ``header`` (split into lower-case ``names``) is not an id and a value column.

    Example:
        >>> header_problem("id;age", ["id;age"], 1, ("id",), ("age",))[:47]
        'line 1: the fields are separated by semicolons;'
        >>> header_problem(",id,age", ["", "id", "age"], 1, ("id",), ("age",))[:51]
        "line 1: the first column has no name (''), like the"
    """
    shown = excerpt(header)
    if len(names) == 1:
        separator = _separator_problem(header, line)
        if separator is not None:
            return separator
        if names[0] in value_columns:
            return HEADER_WITHOUT_ID.format(line=line, header=shown)
    if len(names) > 1 and names[0] in _PANDAS_INDEX_NAMES:
        return PANDAS_INDEX.format(line=line, name=excerpt(header.split(",")[0].strip()))
    if len(names) > 2:
        return TOO_MANY_COLUMNS.format(line=line, header=shown, count=len(names))
    if len(names) == 2 and names[0] not in id_columns and _parses_as_float(names[1]):
        return MISSING_HEADER.format(line=line, header=shown)
    return UNKNOWN_HEADER.format(line=line, header=shown)
