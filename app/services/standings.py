"""A phase's stored rank intervals and position history, read for display (issue 13).

Written in the background by ``app.services.standings_job``; views only read, and a stored
record that cannot be read is left out, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import PhaseRanking, RankChange, Split

ENTRY_ADDED = "entry {label} was added: its column ranks shifted the average"
ENTRY_HIDDEN = "entry {label} was hidden: without its column ranks the average shifted"
ENTRY_SHOWN = "entry {label} was shown again: its column ranks shifted the average"
PARTICIPANT_REMOVED = "{label} was disqualified: without their column ranks the average shifted"
PARTICIPANT_RESTORED = "{label} was requalified: their column ranks shifted the average"
PHASE_CHANGED = "the phase's settings changed"
PRIVATE_REVEALED = "the private leaderboard was revealed"
OWN_ENTRY = "You moved from {before} to {after} when your entry changed to submission {id}."
MOVED = "You moved from {before} to {after} when {cause}."


def ordinal(position: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd``..."""
    suffix = (
        "th" if 10 <= position % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(position % 10, "th")
    )
    return f"{position}{suffix}"


@dataclass(frozen=True)
class RankIntervals:
    """A board's stored rank intervals, read for display; empty when none is stored yet."""

    computed_at: datetime | None
    entries: dict[int, tuple[tuple[int, int], bool]]
    """``{submission id: ((best, worst), tied_with_neighbour)}``, readable entries only."""


def _read_entry(value: Any) -> tuple[tuple[int, int], bool] | None:
    if not isinstance(value, dict):
        return None
    bounds, tied = value.get("rank_interval"), value.get("tied_with_neighbour")
    if not isinstance(bounds, list) or len(bounds) != 2 or not isinstance(tied, bool):
        return None
    best, worst = bounds
    if any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in bounds):
        return None
    return ((best, worst), tied) if best <= worst else None


def stored_rank_intervals(session: Session, phase_id: int, split: Split) -> RankIntervals:
    """The last computed rank intervals of a board; an entry that cannot be read is left out."""
    ranking = session.scalar(
        select(PhaseRanking).where(PhaseRanking.phase_id == phase_id, PhaseRanking.split == split)
    )
    if ranking is None:
        return RankIntervals(None, {})
    entries: dict[int, tuple[tuple[int, int], bool]] = {}
    stored = ranking.entries if isinstance(ranking.entries, dict) else {}
    for key, value in stored.items():
        read = _read_entry(value)
        if read is not None and str(key).isascii() and str(key).isdigit():  # not "²"
            entries[int(key)] = read
    return RankIntervals(ranking.computed_at, entries)


def latest_move(session: Session, phase_id: int, split: Split, user_id: int) -> str | None:
    """Why the participant's position last changed, in one sentence; None if it never moved."""
    change = session.scalar(
        select(RankChange)
        .where(
            RankChange.phase_id == phase_id,
            RankChange.split == split,
            RankChange.entry == f"user:{user_id}",
        )
        .order_by(RankChange.id.desc())
        .limit(1)
    )
    if change is None or change.previous_position is None:
        return None
    before, after = ordinal(change.previous_position), ordinal(change.position)
    if change.previous_submission_id != change.submission_id:
        return OWN_ENTRY.format(before=before, after=after, id=change.submission_id)
    return MOVED.format(before=before, after=after, cause=change.cause or PHASE_CHANGED)
