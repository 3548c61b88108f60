"""Materialised leaderboards (issue 15): a board is built once per version, then served.

Every change of a board's inputs raises the phase's version in the transaction making it
(``app.jobs.board_versions.bump``). A view asks :func:`materialised` for a board: it is
served from this process's cache when built at the current version, else from the database
snapshot (shared by the API replicas) when that was built at the current version, else built
by ``leaderboard.build_leaderboard`` and stored, in a transaction of its own committed at once
(the one write a service commits: it is a cache, and a view must not hold the write lock).
What the views derive from a board (JSON bytes, Pareto fronts, a search index) is kept with it
(:meth:`Served.memo`), so a view of an unchanged board does no work twice. Who may see a
board is checked before, by the routes, exactly as for a board built on the spot: the board
itself does not depend on the viewer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload

from app.db import upsert_of, utcnow, write_aside
from app.jobs import board_versions
from app.kept import Kept
from app.models import LeaderboardSnapshot, LeaderboardVersion, Phase, Split
from app.services.leaderboard import Leaderboard, LeaderboardRow, build_leaderboard

log = logging.getLogger(__name__)
CACHE_WAIT_MS = 100
"""How long storing a snapshot waits for SQLite's write lock: it is only a cache."""

FORMAT = 1
"""Bumped when the stored shape changes: a snapshot of another format is rebuilt."""
CACHE_SIZE = 64
"""Boards kept in this process (a board of 10,000 rows is a few MB)."""

T = TypeVar("T")


class Served:
    """A board as built at one version, with what views derived from it."""

    def __init__(self, board: Leaderboard, stamp: str | None) -> None:
        self.board = board
        self.stamp = stamp
        """The version it was built at; None for a phase whose board never changed."""
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """``build()`` once per board and key (a duplicate build in a race is harmless)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]


_cache: Kept[tuple[int, Split, str], Served] = Kept(CACHE_SIZE)
_building: dict[tuple[int, Split, str], threading.Lock] = {}
"""The versions being built, each with the lock its builder holds."""
_lock = threading.Lock()
"""Guards ``_building``."""


_PHASE_AND_VERSION = (
    select(Phase, LeaderboardVersion.stamp)
    .outerjoin(LeaderboardVersion, LeaderboardVersion.phase_id == Phase.id)
    .where(Phase.id == bindparam("phase_id"))
    .options(joinedload(Phase.competition), joinedload(Phase.testset))
)
"""Built once: building it costs more than running it."""
UNREAD = "unread"
"""``materialised(stamp=UNREAD)`` reads the board's version itself."""


def read_version(session: Session, phase_id: int) -> tuple[Phase | None, str | None]:
    """The phase (with its competition and test set) and its board's current version, in one
    query. A view reads them first and passes the version to :func:`materialised`; it keeps
    the phase while it works, as the session holds it weakly, so ``competitions.get_phase``
    finds it there. The version is None before the first change; the phase is None when there
    is none (the view's own checks then refuse it)."""
    row = session.execute(_PHASE_AND_VERSION, {"phase_id": phase_id}).first()
    return (None, None) if row is None else (row.Phase, row.stamp)


def materialised(
    session: Session, phase: Phase, *, split: Split, stamp: str | None = UNREAD
) -> Served:
    """The phase's board on ``split`` at its current version (see the module's docstring),
    which :func:`read_version` read, unless ``stamp`` is :data:`UNREAD`."""
    if phase.public_fraction is None:
        split = Split.PUBLIC
    if stamp == UNREAD:
        stamp = board_versions.current(session, phase.id)
    if stamp is None:
        # No change since the versions began (a new phase, rows written in bulk): a version of
        # its own from now on, which the next change raises like any other.
        stamp = _aside(session, lambda side: _first_version(side, phase.id))
    if stamp is None:  # the phase is being deleted, or the write failed: build, keep nothing
        return Served(build_leaderboard(session, phase, split=split), None)
    key = (phase.id, split, stamp)
    served = _cache.get(key)
    if served is not None:
        return served
    with _lock:
        gate = _building.setdefault(key, threading.Lock())
    # One build per version in this process: the views that arrive meanwhile (a rush reads the
    # board after every new score) wait for it instead of each building and storing it again.
    with gate:
        served = _cache.get(key)
        if served is not None:
            return served
        try:
            board = _stored(session, phase, split, stamp)
            if board is None:
                board = build_leaderboard(session, phase, split=split)
                _store(session, phase.id, split, stamp, board)
            served = _cache.put(key, Served(board, stamp))
        finally:
            with _lock:
                _building.pop(key, None)
    return served


def _stored(session: Session, phase: Phase, split: Split, stamp: str) -> Leaderboard | None:
    """The database snapshot when built at ``stamp`` and readable; None means build it."""
    stored = session.scalar(
        select(LeaderboardSnapshot.board).where(
            LeaderboardSnapshot.phase_id == phase.id,
            LeaderboardSnapshot.split == split,
            LeaderboardSnapshot.stamp == stamp,
        )
    )
    if stored is None:
        return None
    try:
        return board_from_dict(phase.id, stored)
    except (KeyError, TypeError, ValueError, AttributeError):
        log.warning("phase %s: unreadable %s leaderboard snapshot, rebuilt", phase.id, split.value)
        return None


def _store(session: Session, phase_id: int, split: Split, stamp: str, board: Leaderboard) -> None:
    """Keep the board for other processes; a failed write only costs them a build."""
    insert, table = upsert_of(LeaderboardSnapshot, session.get_bind().dialect.name)
    values = {"stamp": stamp, "built_at": utcnow(), "board": board_to_dict(board)}
    upsert = insert.values(phase_id=phase_id, split=split, **values).on_conflict_do_update(
        index_elements=[table.c.phase_id, table.c.split], set_=values
    )
    _aside(session, lambda side: side.execute(upsert))


def _first_version(session: Session, phase_id: int) -> str | None:
    board_versions.bump(session, phase_id)
    return board_versions.current(session, phase_id)


def _aside(session: Session, write: Callable[[Session], T]) -> T | None:
    """``write`` in a transaction of its own, committed at once: a view must not hold the
    database's write lock (SQLite's is the whole file) until its response is sent, for what
    is only a cache; nor wait long for another's (the viewer's own session may hold it). None
    when the write failed (logged; the view goes on without it)."""
    try:
        return write_aside(session, write, wait_ms=CACHE_WAIT_MS)
    except SQLAlchemyError:
        log.warning("could not keep a leaderboard snapshot or version", exc_info=True)
        return None


def board_to_dict(board: Leaderboard) -> dict[str, Any]:
    """A board as JSON-safe data; :func:`board_from_dict` gives back an equal board."""
    return {
        "format": FORMAT,
        "split": board.split.value,
        "tie_policy": board.tie_policy,
        "entry_selection": board.entry_selection,
        "best": board.best,
        "intervals_computed_at": _iso(board.intervals_computed_at),
        "public_policy": board.public_policy,
        "rows": [_row_to_dict(row) for row in board.rows],
    }


def board_from_dict(phase_id: int, data: dict[str, Any]) -> Leaderboard:
    """The board :func:`board_to_dict` stored; KeyError/TypeError/ValueError when it cannot."""
    if data["format"] != FORMAT:
        raise ValueError(f"snapshot format {data['format']!r}")
    computed = data["intervals_computed_at"]
    return Leaderboard(
        phase_id=phase_id,
        split=Split(data["split"]),
        tie_policy=str(data["tie_policy"]),
        entry_selection=str(data["entry_selection"]),
        rows=[_row_from_dict(row) for row in data["rows"]],
        best=dict(data["best"]),
        intervals_computed_at=None if computed is None else datetime.fromisoformat(computed),
        public_policy=str(data["public_policy"]),
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _row_to_dict(row: LeaderboardRow) -> dict[str, Any]:
    return {
        "position": row.position,
        "participant": row.participant,
        "user_id": row.user_id,
        "submission_id": row.submission_id,
        "entries": row.entries,
        "last_entry_at": row.last_entry_at.isoformat(),
        "ranking": row.ranking,
        "scores": row.scores,
        "ranks": row.ranks,
        "is_baseline": row.is_baseline,
        "note": row.note,
        "team_id": row.team_id,
        "members": row.members,
        "member_ids": list(row.member_ids),
        "rank_interval": None if row.rank_interval is None else list(row.rank_interval),
        "tied_with_neighbour": row.tied_with_neighbour,
    }


def _row_from_dict(data: dict[str, Any]) -> LeaderboardRow:
    interval = data["rank_interval"]
    return LeaderboardRow(
        **{
            **data,
            "last_entry_at": datetime.fromisoformat(data["last_entry_at"]),
            "scores": dict(data["scores"]),
            "ranks": dict(data["ranks"]),
            "members": None if data["members"] is None else list(data["members"]),
            "member_ids": tuple(data["member_ids"]),
            "rank_interval": None if interval is None else (interval[0], interval[1]),
        }
    )
