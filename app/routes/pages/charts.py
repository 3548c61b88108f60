"""Geometry of the leaderboard's accuracy/fairness charts: inline SVG, drawn by the template.

Four small multiples plot each entry's MAE (x, shared by all four) against one of its biases
(y, each chart its own scale). This module turns scores into pixel coordinates and picks round
tick values; the Pareto front comes from ``scoring.tradeoff`` and every number is formatted
by the template.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.services.leaderboard import COLUMN_ORDER, Leaderboard, LeaderboardRow
from scoring.groups import ATTRIBUTES
from scoring.tradeoff import pareto_front

WIDTH = 520.0
HEIGHT = 300.0
PLOT_LEFT = 58.0
PLOT_RIGHT = WIDTH - 16.0
PLOT_TOP = 12.0
PLOT_BOTTOM = HEIGHT - 44.0
X_TICKS = 6
Y_TICKS = 5
PADDING = 0.08
"""Share of the data's span left free on each side, so no point sits on an axis."""

LABEL_CHARS = 18
"""Longer names are cut to this many characters in a point's label (the hover title is whole)."""
CHAR_WIDTH = 6.4
"""Estimated width of a label character at the charts' 11px font, to keep labels apart."""
LABEL_HEIGHT = 12.0
POINT_RADIUS = 6.0

BIAS_COLUMNS: tuple[str, ...] = tuple(name for name in COLUMN_ORDER if name != "mae")
"""The charts' y columns, in leaderboard order: gender, expression, ethnicity, age."""

ATTRIBUTE_OF_SCORE: dict[str, str] = {a.score: a.name for a in ATTRIBUTES}


@dataclass(frozen=True)
class Tick:
    value: float
    at: float
    """Pixel coordinate along its axis."""


@dataclass(frozen=True)
class Axis:
    ticks: tuple[Tick, ...]
    decimals: int
    """Enough decimals to tell the tick labels apart, and no more."""


@dataclass(frozen=True)
class ChartPoint:
    row: LeaderboardRow
    mae: float
    bias: float
    x: float
    y: float
    on_front: bool
    is_viewer: bool


@dataclass(frozen=True)
class PointLabel:
    """A participant's name next to a point; ``anchor`` is SVG's text-anchor."""

    text: str
    x: float
    y: float
    anchor: str


@dataclass(frozen=True)
class TradeoffChart:
    """One small multiple: MAE against one bias, its points and its Pareto front."""

    score: str
    attribute: str
    x_axis: Axis
    y_axis: Axis
    points: tuple[ChartPoint, ...]
    """Drawing order: other entries, then the front, then the viewer's own point on top."""
    front: tuple[ChartPoint, ...]
    """The Pareto-optimal points, MAE ascending."""
    steps: tuple[tuple[float, float], ...]
    """The front as a step line in pixels, from its best-MAE point to its best-bias point."""
    reach: tuple[tuple[float, float, float, float], ...]
    """The two segments from the front's ends to the plot's top and right edges."""
    dominated: tuple[tuple[float, float], ...]
    """The region above and right of the front: what some entry on the front beats."""
    labels: tuple[PointLabel, ...]
    """Names of the front's points and of the viewer's own point, placed not to overlap."""
    left_out: tuple[str, ...]
    """Participants whose bias is undefined (n/a), so they have no point here."""

    width: float = WIDTH
    height: float = HEIGHT
    left: float = PLOT_LEFT
    right: float = PLOT_RIGHT
    top: float = PLOT_TOP
    bottom: float = PLOT_BOTTOM


def is_viewer(row: LeaderboardRow, viewer_id: int | None) -> bool:
    """Whether the row is the viewer's own entry or their team's (a baseline never is)."""
    if viewer_id is None or row.is_baseline:
        return False
    return row.user_id == viewer_id or viewer_id in row.member_ids


def nice_step(span: float, *, target: int = Y_TICKS) -> float:
    """The 1, 2 or 5 × 10^k step that cuts ``span`` into about ``target`` pieces (as d3 does)."""
    raw = span / target
    power = 10.0 ** math.floor(math.log10(raw))
    error = raw / power
    if error >= math.sqrt(50):
        return 10.0 * power
    if error >= math.sqrt(10):
        return 5.0 * power
    if error >= math.sqrt(2):
        return 2.0 * power
    return power


def domain(values: Sequence[float]) -> tuple[float, float]:
    """A range holding every value with some room on each side; never below 0 for scores."""
    low, high = min(values), max(values)
    span = high - low
    if span > 1e-9 * max(1.0, abs(high)):
        pad = span * PADDING
    else:
        # One value, or values apart by float noise only (e.g. biases of 1e-15 from a model
        # that is off by the same amount everywhere): a readable range around them.
        pad = abs(low) * 0.1 if abs(low) >= 1e-6 else 1.0
    start = low - pad
    if low >= 0:
        start = max(0.0, start)
    return start, high + pad


def ticks_for(
    low: float, high: float, *, pixels_from: float, pixels_to: float, target: int = Y_TICKS
) -> Axis:
    """Round tick values inside ``[low, high]`` and where they fall between two pixel ends."""
    step = nice_step(high - low, target=target)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    ticks = tuple(
        Tick(value=index * step, at=_scale(index * step, low, high, pixels_from, pixels_to))
        for index in range(first, last + 1)
    )
    return Axis(ticks=ticks, decimals=max(0, -math.floor(math.log10(step) + 1e-9)))


def _scale(value: float, low: float, high: float, pixels_from: float, pixels_to: float) -> float:
    return pixels_from + (value - low) / (high - low) * (pixels_to - pixels_from)


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


def tradeoff_charts(board: Leaderboard, *, viewer_id: int | None) -> list[TradeoffChart]:
    """The four MAE-against-bias charts of a board; empty when the board has no rows."""
    rows = _with_mae(board)
    if not rows:
        return []
    # unreadable stored scores (shown as n/a) have no MAE: named as left out of every chart
    unplaced = tuple(row for row in board.rows if row.scores["mae"] is None)
    x_low, x_high = domain([_mae(row) for row in rows])
    x_axis = ticks_for(x_low, x_high, pixels_from=PLOT_LEFT, pixels_to=PLOT_RIGHT, target=X_TICKS)
    return [
        _chart(rows, score, x_low, x_high, x_axis, viewer_id=viewer_id, unplaced=unplaced)
        for score in BIAS_COLUMNS
    ]


def _with_mae(board: Leaderboard) -> list[LeaderboardRow]:
    """The rows a chart can place: an entry without an MAE has no x."""
    return [row for row in board.rows if row.scores["mae"] is not None]


def _plotted(rows: list[LeaderboardRow], score: str) -> list[tuple[LeaderboardRow, float]]:
    """The rows whose ``score`` bias is defined, with it."""
    return [(row, bias) for row in rows if (bias := row.scores[score]) is not None]


def _mae(row: LeaderboardRow) -> float:
    value = row.scores["mae"]
    assert value is not None
    return value


def _chart(
    rows: list[LeaderboardRow],
    score: str,
    x_low: float,
    x_high: float,
    x_axis: Axis,
    *,
    viewer_id: int | None,
    unplaced: tuple[LeaderboardRow, ...] = (),
) -> TradeoffChart:
    plotted = _plotted(rows, score)
    left_out = tuple(row.participant for row in rows if row.scores[score] is None)
    left_out += tuple(row.participant for row in unplaced)
    attribute = ATTRIBUTE_OF_SCORE[score]
    if not plotted:
        return TradeoffChart(
            score, attribute, x_axis, Axis((), 0), (), (), (), (), (), (), left_out
        )
    y_low, y_high = domain([bias for _, bias in plotted])
    y_axis = ticks_for(y_low, y_high, pixels_from=PLOT_BOTTOM, pixels_to=PLOT_TOP)
    front_order = pareto_front([(_mae(row), bias) for row, bias in plotted])
    on_front = set(front_order)
    points = [
        ChartPoint(
            row=row,
            mae=_mae(row),
            bias=bias,
            x=_scale(_mae(row), x_low, x_high, PLOT_LEFT, PLOT_RIGHT),
            y=_scale(bias, y_low, y_high, PLOT_BOTTOM, PLOT_TOP),
            on_front=index in on_front,
            is_viewer=is_viewer(row, viewer_id),
        )
        for index, (row, bias) in enumerate(plotted)
    ]
    front = tuple(points[index] for index in front_order)
    steps = _steps(front)
    first, last = steps[0], steps[-1]
    return TradeoffChart(
        score=score,
        attribute=attribute,
        x_axis=x_axis,
        y_axis=y_axis,
        points=tuple(sorted(points, key=lambda p: (p.is_viewer, p.on_front))),
        front=front,
        steps=steps,
        reach=((first[0], PLOT_TOP, *first), (*last, PLOT_RIGHT, last[1])),
        dominated=((first[0], PLOT_TOP), *steps, (PLOT_RIGHT, last[1]), (PLOT_RIGHT, PLOT_TOP)),
        labels=_labels(points, front, steps),
        left_out=left_out,
    )


def _steps(front: Sequence[ChartPoint]) -> tuple[tuple[float, float], ...]:
    """Right then down from each front point to the next: lower-is-better on both axes."""
    steps = [(front[0].x, front[0].y)]
    for previous, point in itertools.pairwise(front):
        steps += [(point.x, previous.y), (point.x, point.y)]
    return tuple(steps)


Box = tuple[float, float, float, float]


def _labels(
    points: Sequence[ChartPoint],
    front: Sequence[ChartPoint],
    steps: Sequence[tuple[float, float]],
) -> tuple[PointLabel, ...]:
    """Greedy placement: each label takes the first spot around its point that stays inside
    the plot and clear of every point, the step line and earlier labels, else the least
    crowded spot."""
    labelled = [p for p in points if p.is_viewer and not p.on_front] + list(front)
    obstacles = [
        (p.x - POINT_RADIUS, p.y - POINT_RADIUS, p.x + POINT_RADIUS, p.y + POINT_RADIUS)
        for p in points
    ] + [
        (min(x1, x2) - 1.5, min(y1, y2) - 1.5, max(x1, x2) + 1.5, max(y1, y2) + 1.5)
        for (x1, y1), (x2, y2) in itertools.pairwise(steps)
    ]
    # One array of obstacle boxes, so that a 1,000-entry board places its labels in a blink.
    taken = np.array(obstacles, dtype=np.float64).reshape(-1, 4)
    labels = []
    for point in labelled:
        name = point.row.participant
        text = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
        if point.is_viewer:
            text += " (you)"
        best: tuple[float, PointLabel, Box] | None = None
        for label, box in _spots(point, text, len(text) * CHAR_WIDTH):
            crowding = _overlap_with(box, taken) + _outside(box)
            if best is None or crowding < best[0]:
                best = (crowding, label, box)
            if crowding == 0:
                break
        assert best is not None
        labels.append(best[1])
        taken = np.vstack([taken, best[2]])
    return tuple(labels)


def _spots(point: ChartPoint, text: str, width: float) -> list[tuple[PointLabel, Box]]:
    """Around the point, below and left first: no entry lies below and left of the front."""
    gap = POINT_RADIUS + 3
    middle = point.y - LABEL_HEIGHT / 2
    above, below = point.y - gap - LABEL_HEIGHT + 2, point.y + gap - 2
    spots = []
    for dx, top, anchor in (
        (-2, below, "end"),
        (-gap, middle, "end"),
        (2, below, "start"),
        (-2, above, "end"),
        (2, above, "start"),
        (gap, middle, "start"),
    ):
        x = point.x + dx
        left = x if anchor == "start" else x - width
        box = (left, top, left + width, top + LABEL_HEIGHT)
        # The baseline sits a little above the box's bottom, where 11px text's descenders go.
        spots.append((PointLabel(text, x, top + LABEL_HEIGHT - 2, anchor), box))
    return spots


def _overlap_with(box: Box, boxes: npt.NDArray[np.float64]) -> float:
    """Total area that ``box`` shares with the rows (left, top, right, bottom) of ``boxes``."""
    width = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    height = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    return float(np.sum(np.clip(width, 0, None) * np.clip(height, 0, None)))


def _outside(box: Box) -> float:
    """Area of the box outside the plot, weighted so that leaving the plot costs the most."""
    plot = np.array([[PLOT_LEFT, PLOT_TOP, PLOT_RIGHT, PLOT_BOTTOM]])
    inside = _overlap_with(box, plot)
    return 4 * ((box[2] - box[0]) * (box[3] - box[1]) - inside)
