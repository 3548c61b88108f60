"""The leaderboard page of SPEC §6 and its analysis views (SPEC §1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from sqlalchemy.orm import Session

from app.deps import DbId, NowDep, OptionalUser, SessionDep, end_reads
from app.errors import Forbidden, InvalidInput
from app.models import Phase, Split, User
from app.routes.conditional import PRIVATE, matches, not_modified
from app.routes.pages.board_page import (
    keep_page,
    kept_page,
    kept_table,
    page_etag,
    page_key,
    search,
    searchable_names,
)
from app.routes.pages.charts import (
    ATTRIBUTE_OF_SCORE,
    BIAS_COLUMNS,
    TradeoffChart,
    chart_data,
    is_viewer,
    pareto_fronts,
    tradeoff_charts,
)
from app.routes.pages.paging import ListingDep
from app.routes.pages.render import render, show_viewer
from app.services import board_snapshots, leaderboard, phases, standings
from app.services.leaderboard import GroupBreakdown, Leaderboard, LeaderboardRow
from scoring.groups import ATTRIBUTES
from scoring.ranking import DEFAULT_TOLERANCE

router = APIRouter()
COLUMNS = [(name, leaderboard.COLUMN_LABELS[name]) for name in leaderboard.COLUMN_ORDER]
"""The score columns of the ranking table, in SPEC §6 order, with their headers."""
T = TypeVar("T")


GROUP_TABS: tuple[tuple[str, str], ...] = tuple((a.name, a.name.capitalize()) for a in ATTRIBUTES)
"""The attributes the per-group table can show, in SPEC §3 order; the first is the default."""

SCORE_OF_ATTRIBUTE: dict[str, str] = {a.name: a.score for a in ATTRIBUTES}

VIEW_LABELS: dict[str, str] = {
    "table": "Leaderboard",
    "tradeoff": "Trade-off",
    "groups": "Groups",
}
"""The views of a phase's leaderboard, as its tabs name them; the first is the default."""
DEFAULT_VIEW = "table"
UNKNOWN_VIEW = "unknown leaderboard view {name!r}; expected one of: {expected}"


@dataclass(frozen=True)
class ScoreCell:
    column: str
    value: float | None
    rank: float
    is_best: bool


@dataclass(frozen=True)
class BoardRow:
    row: LeaderboardRow
    cells: tuple[ScoreCell, ...]
    is_viewer: bool
    pareto: tuple[str, ...] = ()
    """Attributes on whose MAE-against-bias Pareto front the entry lies."""


@dataclass(frozen=True)
class GroupColumn:
    group: str
    smallest: int
    largest: int
    """Group sizes as the entries' reports give them; they differ only across test-set versions."""


@dataclass(frozen=True)
class GroupCell:
    group: str
    mae: float | None
    size: int
    is_best: bool


@dataclass(frozen=True)
class GroupTableRow:
    row: LeaderboardRow
    cells: tuple[GroupCell, ...]
    bias: float | None
    bias_is_best: bool
    is_viewer: bool
    note: str | None = None
    """Why the entry's groups show as n/a (unreadable stored scores or report)."""


@dataclass(frozen=True)
class GroupTable:
    attribute: str
    score: str
    columns: tuple[GroupColumn, ...]
    rows: tuple[GroupTableRow, ...]


def is_best(value: float | None, best: float | None) -> bool:
    """Best of its column, within the tolerance inside which the ranking calls values equal."""
    return value is not None and best is not None and value - best <= DEFAULT_TOLERANCE


def may_see(phase: Phase, split: Split, *, organizer: bool, now: datetime) -> bool:
    """Whether the viewer may open this split's leaderboard (the service decides)."""
    try:
        leaderboard.check_visible(phase, split, organizer=organizer, now=now)
    except Forbidden:
        return False
    return True


def board_rows(
    board: Leaderboard,
    viewer_id: int | None,
    fronts: Mapping[str, frozenset[int]],
    rows: Sequence[LeaderboardRow] | None = None,
) -> list[BoardRow]:
    """The ranking table's rows (all, or those given): each score with its rank, and the
    Pareto fronts it is on; best values are the whole board's."""
    return [
        BoardRow(
            row=row,
            cells=tuple(
                ScoreCell(
                    column=name,
                    value=row.scores[name],
                    rank=row.ranks[name],
                    is_best=is_best(row.scores[name], board.best.get(name)),
                )
                for name in leaderboard.COLUMN_ORDER
            ),
            is_viewer=is_viewer(row, viewer_id),
            pareto=tuple(
                ATTRIBUTE_OF_SCORE[score]
                for score in BIAS_COLUMNS
                if row.submission_id in fronts.get(score, ())
            ),
        )
        for row in (board.rows if rows is None else rows)
    ]


def group_table(
    board: Leaderboard,
    breakdown: GroupBreakdown,
    viewer_id: int | None,
    indexes: Sequence[int] | None = None,
) -> GroupTable:
    """The per-group table: the board's rows in order (all, or those at ``indexes``), the
    best of each column (over the whole board) marked."""
    best = [
        min((m for r in breakdown.rows if (m := r.groups[index].mae) is not None), default=None)
        for index in range(len(breakdown.groups))
    ]
    best_bias = min((r.bias for r in breakdown.rows if r.bias is not None), default=None)
    columns = tuple(
        GroupColumn(
            group=group,
            smallest=min((r.groups[index].size for r in breakdown.rows), default=0),
            largest=max((r.groups[index].size for r in breakdown.rows), default=0),
        )
        for index, group in enumerate(breakdown.groups)
    )
    rows = tuple(
        GroupTableRow(
            row=row,
            cells=tuple(
                GroupCell(
                    group=result.group,
                    mae=result.mae,
                    size=result.size,
                    is_best=is_best(result.mae, best[index]),
                )
                for index, result in enumerate(entry.groups)
            ),
            bias=entry.bias,
            bias_is_best=is_best(entry.bias, best_bias),
            is_viewer=is_viewer(row, viewer_id),
            note=row.note or entry.note,
        )
        for row, entry in _pick(zip(board.rows, breakdown.rows, strict=True), indexes)
    )
    return GroupTable(
        attribute=breakdown.attribute,
        score=SCORE_OF_ATTRIBUTE[breakdown.attribute],
        columns=columns,
        rows=rows,
    )


def _pick(pairs: Iterable[T], indexes: Sequence[int] | None) -> list[T]:
    items = list(pairs)
    return items if indexes is None else [items[index] for index in indexes]


def leaderboard_url(
    phase_id: int,
    *,
    view: str = DEFAULT_VIEW,
    split: str = "public",
    groups: str | None = None,
    page: int = 1,
) -> str:
    """A view of a phase's leaderboard, with only the parameters that differ from the defaults."""
    query = {
        "view": view if view != DEFAULT_VIEW else None,
        "split": split if split != "public" else None,
        "groups": groups,
        "page": page if page != 1 else None,
    }
    given = {name: value for name, value in query.items() if value is not None}
    return f"/phases/{phase_id}/leaderboard" + (f"?{urlencode(given)}" if given else "")


def leaderboard_view(name: str) -> str:
    """The view a leaderboard page is asked for, or the 422 that lists the valid ones."""
    view = name.strip().lower()
    if view not in VIEW_LABELS:
        raise InvalidInput(UNKNOWN_VIEW.format(name=name, expected=", ".join(VIEW_LABELS)))
    return view


@router.get("/phases/{phase_id}/leaderboard", response_class=HTMLResponse)
def leaderboard_page(
    phase_id: DbId,
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    now: NowDep,
    listing: ListingDep,
    split: Annotated[Literal["public", "private"], Query()] = "public",
    view: Annotated[str, Query()] = DEFAULT_VIEW,
    groups: Annotated[str, Query()] = GROUP_TABS[0][0],
) -> Response:
    """One view of the ranked entries: the table or one attribute's group MAEs (50 rows a
    page, searchable by name), or their accuracy/fairness trade-off; served from the
    materialised board, with a 304 when the viewer's copy is current."""
    tagged = tag_page(request, session, user, now, phase_id, split=split, view=view, groups=groups)
    phase, served, shown, attribute = tagged.phase, tagged.served, tagged.view, tagged.attribute
    organizer, private_visible = tagged.organizer, tagged.private_visible
    key, etag, board = tagged.key, tagged.etag, served.board
    if key is not None and etag is not None:
        if matches(request, etag):
            end_reads(session)
            return not_modified(etag, PRIVATE)
        kept = kept_page(request, key, etag)
        if kept is not None:
            end_reads(session)
            return kept
    viewer_id = user.id if user else None
    found = search(served.memo("names", lambda: searchable_names(board)), listing.search)
    pages = listing.pages(len(found))
    on_page = found[pages.offset : pages.last_row]
    own_index = served.memo(
        f"own:{viewer_id}",
        lambda: next((i for i, row in enumerate(board.rows) if is_viewer(row, viewer_id)), None),
    )
    ranking_table = chart_json = Markup()
    has_pareto = False
    charts: list[TradeoffChart] = []
    table: GroupTable | None = None
    if shown == "table":
        fronts = served.memo("pareto", lambda: pareto_fronts(board))
        page_rows = [board.rows[index] for index in on_page]
        has_pareto = any(
            row.submission_id in front for row in page_rows for front in fronts.values()
        )
        own_here = own_index if own_index in on_page else None
        ranking_table = kept_table(
            None
            if served.stamp is None
            else (served.stamp, board.split, listing.search, pages.number, phase.name, own_here),
            lambda: {
                "rows": board_rows(board, viewer_id, fronts, page_rows),
                "board": board,
                "phase": phase,
                "columns": COLUMNS,
            },
        )
    elif shown == "tradeoff":
        charts = served.memo("charts", lambda: tradeoff_charts(board))
        chart_json = served.memo(
            "chart-data", lambda: Markup(htmlsafe_json_dumps(chart_data(board, charts)))
        )
    else:
        assert attribute is not None
        breakdown = served.memo(
            f"groups:{attribute}",
            lambda: leaderboard.group_breakdown(session, board, attribute=attribute),
        )
        table = group_table(board, breakdown, viewer_id, on_page)
    split_value = board.split.value
    context: dict[str, Any] = dict(
        phase=phase,
        competition=phase.competition,
        board=board,
        view=shown,
        view_label=VIEW_LABELS[shown],
        view_tabs=[
            (name, label, leaderboard_url(phase.id, view=name, split=split_value))
            for name, label in VIEW_LABELS.items()
        ],
        tradeoff_url=leaderboard_url(phase.id, view="tradeoff", split=split_value),
        table_url=leaderboard_url(phase.id, split=split_value),
        split_links=[
            (value, leaderboard_url(phase.id, view=shown, split=value, groups=attribute))
            for value in ("public", "private")
        ],
        ranking_table=ranking_table,
        has_pareto=has_pareto,
        column_labels=leaderboard.COLUMN_LABELS,
        charts=charts,
        chart_json=chart_json,
        own_submission=None if own_index is None else board.rows[own_index].submission_id,
        has_own_entry=own_index is not None,
        own_row_url=None
        if own_index is None
        else "#my-row"
        if own_index in on_page
        else leaderboard_url(
            phase.id,
            view=shown,
            split=split_value,
            groups=attribute,
            page=listing.page_of(own_index),
        )
        + "#my-row",
        listing=listing,
        pages=pages,
        search_keep={
            name: value
            for name, value in (("view", view), ("split", split), ("groups", attribute))
            if value is not None
        },
        group_table=table,
        group_tabs=[
            (name, label, leaderboard_url(phase.id, view="groups", split=split_value, groups=name))
            for name, label in GROUP_TABS
        ],
        has_private=phase.public_fraction is not None,
        private_visible=private_visible,
        organizer=organizer,
        own_move=standings.latest_move(session, phase.id, board.split, user.id) if user else None,
    )
    if key is None or etag is None:
        return render(request, "pages/leaderboard.html", **context)
    return keep_page(request, key, etag, context)


@router.get("/help/ranking", response_class=HTMLResponse)
def ranking_help(request: Request, user: OptionalUser) -> HTMLResponse:
    """How the Ranking column is computed (SPEC §6), and why another entry can move yours."""
    show_viewer(request, user)
    return render(request, "pages/help_ranking.html")


@dataclass(frozen=True)
class PageTag:
    """What a view of the page checks and reads before rendering, and the page's tag."""

    phase: Phase
    pinned: Phase | None
    """Keeps the phase's loaded row alive: the session holds it weakly."""
    organizer: bool
    view: str
    attribute: str | None
    served: board_snapshots.Served
    private_visible: bool
    key: str | None
    """The kept page's key (:func:`page_key`); None when it cannot be known yet."""
    etag: str | None


def tag_page(
    request: Request,
    session: Session,
    user: User | None,
    now: datetime,
    phase_id: int,
    *,
    split: str,
    view: str,
    groups: str,
) -> PageTag:
    """The checks of a view (who may see which split; the view asked for) and its tag: what
    :func:`leaderboard_page` does before rendering, and :class:`PageRevalidation` for a 304."""
    show_viewer(request, user)
    chosen = Split(split)
    pinned, stamp = board_snapshots.read_version(session, phase_id)
    phase, organizer = phases.leaderboard_access(session, phase_id, user, chosen, now=now)
    shown = leaderboard_view(view)
    attribute = leaderboard.group_attribute(groups) if shown == "groups" else None
    served = board_snapshots.materialised(session, phase, split=chosen, stamp=stamp)
    private_visible = phase.public_fraction is not None and may_see(
        phase, Split.PRIVATE, organizer=organizer, now=now
    )
    key = page_key(request, served, phase, organizer=organizer, private_visible=private_visible)
    etag = None if key is None else page_etag(request, key)
    return PageTag(phase, pinned, organizer, shown, attribute, served, private_visible, key, etag)
