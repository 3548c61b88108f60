"""The leaderboard's accuracy/fairness charts: what the vendored uPlot plots, and the tables
shown without scripts (issue 16, item 7).

Four small multiples plot every entry of the whole board, not one page of it: its MAE across,
one of its biases up. The page carries the points as one JSON island (:func:`chart_data`),
which app/static/tradeoff.js hands to uPlot; without scripts each chart is a plain table of
its Pareto front. The front comes from ``scoring.tradeoff``; numbers are formatted by the
template and the script, and all geometry is uPlot's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.services.leaderboard import COLUMN_ORDER, Leaderboard, LeaderboardRow
from scoring.groups import ATTRIBUTES
from scoring.tradeoff import pareto_front

BIAS_COLUMNS: tuple[str, ...] = tuple(name for name in COLUMN_ORDER if name != "mae")
"""The charts' y columns, in leaderboard order: gender, expression, ethnicity, age."""

ATTRIBUTE_OF_SCORE: dict[str, str] = {a.score: a.name for a in ATTRIBUTES}


@dataclass(frozen=True)
class ChartPoint:
    row: LeaderboardRow
    mae: float
    bias: float
    on_front: bool


@dataclass(frozen=True)
class TradeoffChart:
    """One small multiple: MAE against one bias, its points and its Pareto front."""

    score: str
    attribute: str
    points: tuple[ChartPoint, ...]
    """Every entry with both scores defined, in leaderboard order."""
    front: tuple[ChartPoint, ...]
    """The Pareto-optimal points, MAE ascending."""
    left_out: tuple[str, ...]
    """Participants whose bias (or MAE) is undefined (n/a), so they have no point here."""


def is_viewer(row: LeaderboardRow, viewer_id: int | None) -> bool:
    """Whether the row is the viewer's own entry or their team's (a baseline never is)."""
    if viewer_id is None or row.is_baseline:
        return False
    return row.user_id == viewer_id or viewer_id in row.member_ids


def pareto_fronts(board: Leaderboard) -> dict[str, frozenset[int]]:
    """Per bias column, the submission ids on its MAE-against-bias Pareto front.

    Needs only the board's scores, so the ranking table can show its Pareto badges without
    drawing any chart.
    """
    rows = _with_mae(board)
    fronts = {}
    for score in BIAS_COLUMNS:
        plotted = _plotted(rows, score)
        front = pareto_front([(_mae(row), bias) for row, bias in plotted])
        fronts[score] = frozenset(plotted[index][0].submission_id for index in front)
    return fronts


def tradeoff_charts(board: Leaderboard) -> list[TradeoffChart]:
    """The four MAE-against-bias charts of a board (the same for every viewer); empty when no
    entry has an MAE."""
    rows = _with_mae(board)
    if not rows:
        return []
    # unreadable stored scores (shown as n/a) have no MAE: named as left out of every chart
    unplaced = tuple(row.participant for row in board.rows if row.scores["mae"] is None)
    charts = []
    for score in BIAS_COLUMNS:
        plotted = _plotted(rows, score)
        order = pareto_front([(_mae(row), bias) for row, bias in plotted])
        on_front = set(order)
        points = tuple(
            ChartPoint(row, _mae(row), bias, index in on_front)
            for index, (row, bias) in enumerate(plotted)
        )
        left_out = tuple(row.participant for row in rows if row.scores[score] is None)
        charts.append(
            TradeoffChart(
                score=score,
                attribute=ATTRIBUTE_OF_SCORE[score],
                points=points,
                front=tuple(points[index] for index in order),
                left_out=left_out + unplaced,
            )
        )
    return charts


def chart_data(board: Leaderboard, charts: list[TradeoffChart]) -> dict[str, Any]:
    """What tradeoff.js plots, compactly: every entry with an MAE once, then per chart each
    entry's bias (None: not plotted) and the indexes of its front, MAE ascending."""
    rows = _with_mae(board)
    index_of = {row.submission_id: index for index, row in enumerate(rows)}
    return {
        "entries": [
            {
                "name": row.participant,
                "position": row.position,
                "submission": row.submission_id,
                "mae": row.scores["mae"],
                "baseline": row.is_baseline,
            }
            for row in rows
        ],
        "charts": {
            chart.score: {
                "attribute": chart.attribute,
                "bias": [row.scores[chart.score] for row in rows],
                "front": [index_of[point.row.submission_id] for point in chart.front],
            }
            for chart in charts
        },
    }


def _with_mae(board: Leaderboard) -> list[LeaderboardRow]:
    """The rows a chart can place: an entry without an MAE has no x."""
    return [row for row in board.rows if row.scores["mae"] is not None]


def _plotted(rows: list[LeaderboardRow], score: str) -> list[tuple[LeaderboardRow, float]]:
    """The rows whose ``score`` bias is defined, with it."""
    return [(row, bias) for row, bias in ((r, r.scores[score]) for r in rows) if bias is not None]


def _mae(row: LeaderboardRow) -> float:
    value = row.scores["mae"]
    assert value is not None
    return value
