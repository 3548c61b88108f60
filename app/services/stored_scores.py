"""Reading stored scores for display: a record that cannot be shown becomes n/a with a reason.

Scores are checked where they are written, but a row written by an older scorer, a hand edit
or a bug must still never take a page down. Every view reads scores through here: a value
that is not a finite number in the range a real score can take makes the whole record
unreadable (its five scores are shown as n/a, with :data:`NOT_AVAILABLE`'s reason), and the
rest of the page renders as usual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scoring.errors import ScoringError
from scoring.groups import SCORE_NAMES
from scoring.metrics import ScoreReport

SCORE_LIMIT = 100_000.0
"""No true score reaches this: predictions are bounded to ±10,000 years (SPEC §4) and ages to a
human lifetime, so an MAE or bias stays below about 10,200."""

NOT_AVAILABLE = "n/a: {reason}"
MISSING_MAE = "the stored MAE is missing"
NOT_A_NUMBER = "the stored {name} is not a finite number"
OUT_OF_RANGE = "the stored {name} is outside 0 to 100,000"
UNREADABLE_REPORT = "the stored per-group report is unreadable"
UNREADABLE_SCORES = "the stored scores are unreadable"


@dataclass(frozen=True)
class ReadScores:
    """The five scores of SPEC §3 as a view may show them; all None when ``note`` says why."""

    scores: dict[str, float | None]
    note: str | None = None

    @property
    def readable(self) -> bool:
        return self.note is None


def _problem(name: str, value: Any) -> str | None:
    if value is None:
        return MISSING_MAE if name == "mae" else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return NOT_A_NUMBER.format(name=name)
    if not math.isfinite(value):
        return NOT_A_NUMBER.format(name=name)
    if not 0.0 <= value <= SCORE_LIMIT:
        return OUT_OF_RANGE.format(name=name)
    return None


def read_scores(values: Mapping[str, Any]) -> ReadScores:
    """The five scores from a stored row's columns (or any mapping), checked for display."""
    for name in SCORE_NAMES:
        problem = _problem(name, values.get(name))
        if problem is not None:
            return unreadable(problem)
    return ReadScores(
        {name: float(values[name]) if values[name] is not None else None for name in SCORE_NAMES}
    )


def unreadable(reason: str) -> ReadScores:
    """Five n/a scores and the note saying why."""
    return ReadScores(dict.fromkeys(SCORE_NAMES), NOT_AVAILABLE.format(reason=reason))


@dataclass(frozen=True)
class ReadReport:
    """A stored :class:`ScoreReport` as a view may show it: None when ``note`` says why."""

    report: ScoreReport | None
    note: str | None = None


def read_report(stored: Any) -> ReadReport:
    """The per-group report of a stored score row, or why it cannot be shown."""
    if not isinstance(stored, Mapping):
        return ReadReport(None, NOT_AVAILABLE.format(reason=UNREADABLE_REPORT))
    try:
        report = ScoreReport.from_dict(stored)
    except (ScoringError, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return ReadReport(None, NOT_AVAILABLE.format(reason=UNREADABLE_REPORT))
    checked = read_scores(report.scores())
    if not checked.readable:
        return ReadReport(None, checked.note)
    values = [
        value
        for attribute in report.attributes
        for value in (attribute.bias, *(group.mae for group in attribute.groups))
    ]
    sizes_ok = all(group.size >= 0 for a in report.attributes for group in a.groups)
    if not sizes_ok or any(_problem("group MAE", v) for v in values if v is not None):
        return ReadReport(None, NOT_AVAILABLE.format(reason=UNREADABLE_REPORT))
    return ReadReport(report)


def note_for(*scores: Mapping[str, float | None]) -> str | None:
    """The note for scores already read by :func:`read_scores`: five None means unreadable,
    since a readable record always has its MAE."""
    if any(all(value is None for value in split.values()) for split in scores):
        return NOT_AVAILABLE.format(reason=UNREADABLE_SCORES)
    return None
