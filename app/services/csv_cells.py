"""CSV that a spreadsheet opens as data: a text cell that would start a formula is kept as text.

Team names, descriptions and metadata are the participants' own words, and the exports that
carry them are opened in spreadsheets by organizers and other participants; a cell such as
``=HYPERLINK("https://…")`` or ``@SUM(…)`` would run there (CSV injection, OWASP). Such a cell
gets a leading apostrophe, which spreadsheets read as "text" and do not show. Numbers are left
as numbers: only strings are changed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t")
"""What a spreadsheet reads as the start of a formula (or, after a tab, may)."""


def as_text(value: object) -> object:
    """``value``, with an apostrophe in front when it is a string that starts a formula, and
    its line breaks as ``\\n``.

    >>> as_text("=1+1"), as_text("-team"), as_text("Owls"), as_text(-1.5)
    ("'=1+1", "'-team", 'Owls', -1.5)
    >>> as_text("two\\r\\nlines\\r")
    'two\\nlines\\n'
    """
    if not isinstance(value, str):
        return value
    # A bare carriage return would end the row for a reader (the writer only quotes a cell
    # holding its own line end, "\n"): line breaks inside a cell are written as "\n".
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class Writer:
    """``csv.writer`` (``\\n`` line ends) whose text cells never start a formula."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([as_text(cell) for cell in row])


class DictWriter(csv.DictWriter):  # (csv.DictWriter[str] fails at run time)
    """``csv.DictWriter`` whose text cells never start a formula."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({key: as_text(value) for key, value in rowdict.items()})
