"""Fairboard's scoring engine: metrics, prediction files, test sets and ranking.

Usable without the web service: ``python -m scoring score --truth ... --predictions ...``
gives exactly the numbers the leaderboard shows.
"""

__version__ = "0.1.0"
