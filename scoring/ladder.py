"""What the public leaderboard reveals: the Ladder mechanism and rounding (issue 13).

A participant who submits many times and keeps what improves the *public* score fits the
public split's noise: the public score falls while the private one does not (adaptive
overfitting; ``bench/simulate_ladder.py`` shows it). Two organizer options make the public
leaderboard less informative to such probing; the private leaderboard is never affected:

- **Ladder** (Blum & Hardt, 2015, "The Ladder: A Reliable Leaderboard for Machine Learning
  Competitions"): a new public score is revealed only when it beats the participant's
  previous public best by more than ``threshold``; otherwise the leaderboard keeps showing the
  previous best, so a submission that is only luckily better tells the participant nothing.
  The trade-off: an honest improvement smaller than the threshold stays invisible until later
  gains add up past it. A threshold near the score's standard error on the public split (its
  bootstrap interval's half-width) hides noise and little else.
- **Rounding** (``decimals``): public scores are shown rounded, so small differences cannot
  be read. Weaker than the Ladder: a probe that crosses a rounding boundary still shows.

Both combine: with a threshold and ``decimals``, a revealed best is shown rounded, as in the
original Ladder. All scores are lower-is-better.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from scoring.errors import ScoringError, excerpt

__all__ = [
    "BAD_DECIMALS",
    "BAD_SCORE",
    "BAD_THRESHOLD",
    "LadderError",
    "PublicScorePolicy",
    "Revealed",
]

BAD_THRESHOLD: Final = "threshold must be a finite number >= 0, got {value}"
BAD_DECIMALS: Final = "decimals must be a whole number from 0 to 12, or None, got {value}"
BAD_SCORE: Final = "{name} must be a finite number, got {value}"
MAX_DECIMALS: Final = 12


class LadderError(ScoringError):
    """A bad public-score policy or a score that is not a finite number."""


@dataclass(frozen=True)
class Revealed:
    """What the public leaderboard shows after one submission.

    ``best`` is the participant's public best from now on (what every public view shows);
    ``improved`` says that this submission revealed it (False: the view did not change).
    """

    best: float
    improved: bool


def _check_score(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LadderError(BAD_SCORE.format(name=name, value=excerpt(repr(value))))
    return float(value)


@dataclass(frozen=True)
class PublicScorePolicy:
    """An organizer's public-score option: Ladder ``threshold`` and/or rounding ``decimals``.

    The default (threshold 0, no rounding) reveals every improvement exactly: the plain
    leaderboard, where the public best is the minimum of all public scores.

    Example:
        >>> ladder = PublicScorePolicy(threshold=0.1, decimals=2)
        >>> ladder.reveal(None, 5.123)
        Revealed(best=5.12, improved=True)
        >>> ladder.reveal(5.12, 5.05)  # better, but not by more than 0.1: nothing shows
        Revealed(best=5.12, improved=False)
        >>> ladder.reveal(5.12, 4.9)
        Revealed(best=4.9, improved=True)
    """

    threshold: float = 0.0
    decimals: int | None = None

    def __post_init__(self) -> None:
        threshold = self.threshold
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not (math.isfinite(threshold) and threshold >= 0)
        ):
            raise LadderError(BAD_THRESHOLD.format(value=excerpt(repr(threshold))))
        decimals = self.decimals
        if decimals is not None and (
            isinstance(decimals, bool)
            or not isinstance(decimals, int)
            or not 0 <= decimals <= MAX_DECIMALS
        ):
            raise LadderError(BAD_DECIMALS.format(value=excerpt(repr(decimals))))

    def shown(self, score: float) -> float:
        """``score`` as the public leaderboard prints it: rounded when ``decimals`` is set.

        Example:
            >>> PublicScorePolicy(decimals=1).shown(4.26), PublicScorePolicy().shown(4.26)
            (4.3, 4.26)
        """
        value = _check_score(score, "score")
        return value if self.decimals is None else round(value, self.decimals)

    def reveal(self, previous_best: float | None, score: float) -> Revealed:
        """The public best after a submission scoring ``score`` (``None``: first submission).

        The score is revealed when there is no previous best, or when it beats the previous
        best by more than ``threshold``: ``score < previous_best - threshold``. A revealed
        score is shown by :meth:`shown`; one that rounds to no lower value is not revealed.

        Example:
            >>> PublicScorePolicy().reveal(4.0, 3.99)
            Revealed(best=3.99, improved=True)
            >>> PublicScorePolicy(decimals=1).reveal(4.0, 3.99)  # rounds to 4.0: no news
            Revealed(best=4.0, improved=False)
        """
        value = _check_score(score, "score")
        if previous_best is None:
            return Revealed(best=self.shown(value), improved=True)
        best = _check_score(previous_best, "previous_best")
        if value < best - self.threshold and self.shown(value) < best:
            return Revealed(best=self.shown(value), improved=True)
        return Revealed(best=best, improved=False)

    def reveal_scores(
        self, previous_best: Mapping[str, float | None] | None, scores: Mapping[str, float | None]
    ) -> dict[str, Revealed | None]:
        """:meth:`reveal` for each score of a leaderboard row, each its own ladder.

        An undefined score (``None``) reveals nothing and keeps its previous best.

        Example:
            >>> policy = PublicScorePolicy(threshold=0.5)
            >>> revealed = policy.reveal_scores({"mae": 5.0, "age_bias": 1.0},
            ...                                 {"mae": 4.0, "age_bias": 0.9})
            >>> revealed["mae"], revealed["age_bias"]
            (Revealed(best=4.0, improved=True), Revealed(best=1.0, improved=False))
        """
        previous = previous_best or {}
        result: dict[str, Revealed | None] = {}
        for name, value in scores.items():
            before = previous.get(name)
            if value is None:
                result[name] = None if before is None else Revealed(best=before, improved=False)
            else:
                result[name] = self.reveal(before, value)
        return result
