"""How sure a score or a rank is: stratified bootstrap intervals (issue 13).

- :func:`interval_seed` derives a reproducible seed from a submission (or leaderboard) key and
  the test-set fingerprint;
- :func:`score_intervals` gives ``(low, high)`` for each of the five scores of one submission
  on one split (pass ``testset.subset(mask)`` for the public or private split), the
  percentiles of :func:`bootstrap_replicates`;
- :func:`rank_intervals` gives, for every leaderboard entry, the interval of each column rank
  and of its overall position, and whether it is statistically tied with a neighbour.

The modules: :mod:`.resampling` (seeds, strata, index matrices, percentiles), :mod:`.scores`
and :mod:`.ranks`. Pure numpy; nothing here touches a database or the web service. The
message constants live in (and are imported from) the module that raises them.
"""

from scoring.uncertainty.ranks import RankInterval, rank_intervals, rank_matrix, tied_neighbours
from scoring.uncertainty.resampling import (
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    ResampledItems,
    UncertaintyError,
    interval_seed,
    joint_strata,
    resample_indices,
)
from scoring.uncertainty.scores import (
    ReplicateScores,
    ScoreIntervals,
    bootstrap_replicates,
    replicate_scores,
    score_intervals,
)

__all__ = [
    "DEFAULT_LEVEL",
    "DEFAULT_RESAMPLES",
    "RankInterval",
    "ReplicateScores",
    "ResampledItems",
    "ScoreIntervals",
    "UncertaintyError",
    "bootstrap_replicates",
    "interval_seed",
    "joint_strata",
    "rank_intervals",
    "rank_matrix",
    "replicate_scores",
    "resample_indices",
    "score_intervals",
    "tied_neighbours",
]
