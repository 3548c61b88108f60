"""A phase's leaderboard beyond its point scores: pending recomputations, rank intervals and
the history of positions (issue 13)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.models.submission import Split, _enum


class PhaseJob(Base):
    """One row per phase: a leaderboard recomputation is pending while ``requested > done``.

    Requests only raise ``requested``, so any number of changes coalesce into one pending run;
    a run claims the value it saw (``claimed``) and records it as ``done`` when it ends.
    """

    __tablename__ = "phase_jobs"

    phase_id: Mapped[int] = mapped_column(
        ForeignKey("phases.id", ondelete="CASCADE"), primary_key=True
    )
    requested: Mapped[int] = mapped_column(default=0)
    claimed: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    """What changed last, in words ("a new submission by alice was scored")."""
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    token: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)


class PhaseRanking(Base):
    """Rank intervals of one split of a phase's leaderboard, as last computed in the background."""

    __tablename__ = "phase_rankings"
    __table_args__ = (UniqueConstraint("phase_id", "split"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"))
    split: Mapped[Split] = mapped_column(_enum(Split))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    entries: Mapped[dict[str, Any]]
    """``{submission id: {"rank_interval": [best, worst], "tied_with_neighbour": bool}}``."""


class RankChange(Base):
    """An entry's leaderboard position after a change of the board, when it moved."""

    __tablename__ = "rank_changes"
    __table_args__ = (Index("ix_rank_changes_phase_split_entry", "phase_id", "split", "entry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"))
    split: Mapped[Split] = mapped_column(_enum(Split))
    entry: Mapped[str] = mapped_column(String(32))
    """``user:<id>`` for a participant's entry, ``baseline:<submission id>`` for a baseline."""
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    submission_id: Mapped[int] = mapped_column()
    position: Mapped[int] = mapped_column()
    previous_position: Mapped[int | None] = mapped_column(default=None)
    previous_submission_id: Mapped[int | None] = mapped_column(default=None)
    cause: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
