"""The base of every error the scoring engine raises for bad input, and how messages are bounded.

A message may quote what a participant or an organizer sent (a value, an id, a header, a zip
entry's name), but only a short excerpt of it (:func:`excerpt`), and a whole message never
exceeds :data:`MAX_MESSAGE_CHARS`: a 15 MB number must not become a 15 MB stored error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = [
    "ELLIPSIS",
    "EXCERPT_CHARS",
    "MAX_LISTED_PROBLEMS",
    "MAX_MESSAGE_CHARS",
    "MORE_PROBLEMS",
    "PROBLEMS",
    "MetricInputError",
    "ScoringError",
    "bounded",
    "excerpt",
    "summarise",
]

MAX_MESSAGE_CHARS: Final = 2000
"""The longest message any :class:`ScoringError` carries; longer ones are cut."""
EXCERPT_CHARS: Final = 40
"""The longest excerpt of user input a message quotes."""
ELLIPSIS: Final = "..."
MAX_LISTED_PROBLEMS: Final = 5
"""Problems listed in a message that collects them; the rest are counted."""

# The message of every error that collects problems (prediction files, test sets, zips).
PROBLEMS: Final = "{count} {noun} in {where}: {listed}"
MORE_PROBLEMS: Final = "; and {count} more"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` itself when short, else its first characters and an ellipsis, ``limit`` in all.

    Example:
        >>> excerpt("34.5")
        '34.5'
        >>> excerpt("1" * 100, limit=10)
        '1111111...'
    """
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(ELLIPSIS))] + ELLIPSIS


def bounded(message: str) -> str:
    """``message`` cut to :data:`MAX_MESSAGE_CHARS` (with an ellipsis) when longer.

    Example:
        >>> len(bounded("x" * 10_000)) == MAX_MESSAGE_CHARS
        True
    """
    return excerpt(message, MAX_MESSAGE_CHARS)


def summarise(problems: Sequence[str], where: str) -> str:
    """The message of an error that collects problems: a count, then the first few.

    Example:
        >>> summarise(["a", "b", "c", "d", "e", "f", "g"], "p.csv")
        '7 problems in p.csv: a; b; c; d; e; and 2 more'
        >>> summarise(["line 2: 'x' is not a number"], "p.csv")
        "1 problem in p.csv: line 2: 'x' is not a number"
    """
    listed = "; ".join(problems[:MAX_LISTED_PROBLEMS])
    if len(problems) > MAX_LISTED_PROBLEMS:
        listed += MORE_PROBLEMS.format(count=len(problems) - MAX_LISTED_PROBLEMS)
    noun = "problem" if len(problems) == 1 else "problems"
    return PROBLEMS.format(count=len(problems), noun=noun, where=where, listed=listed)


class ScoringError(ValueError):
    """Bad input to the scoring engine; the message says what was wrong and where.

    The message is bounded to :data:`MAX_MESSAGE_CHARS`.

    Example:
        >>> len(str(ScoringError("x" * 10_000)))
        2000
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(bounded(str(message)))


class MetricInputError(ScoringError):
    """Bad input to a metric (wrong shape, length, dtype or values), or an invalid score report.

    Raised by :mod:`scoring.metrics` and :mod:`scoring.reports`; defined here so both share it.
    """
