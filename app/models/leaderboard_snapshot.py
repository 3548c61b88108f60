"""A phase's leaderboard as last materialised: its version counter and one snapshot per split
(issue 15)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.models.submission import Split, _enum


class LeaderboardVersion(Base):
    """One row per phase, raised by every change of a board's inputs (``app.jobs.board_versions``).

    ``stamp`` is drawn afresh at each raise, so a version names one state of one database's
    board even where process caches outlive a database (tests, restores).
    """

    __tablename__ = "leaderboard_versions"

    phase_id: Mapped[int] = mapped_column(
        ForeignKey("phases.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(default=0)
    stamp: Mapped[str] = mapped_column(String(32), default="")


class LeaderboardSnapshot(Base):
    """The ranked rows of one split of a phase's leaderboard, as built at ``version``."""

    __tablename__ = "leaderboard_snapshots"

    phase_id: Mapped[int] = mapped_column(
        ForeignKey("phases.id", ondelete="CASCADE"), primary_key=True
    )
    split: Mapped[Split] = mapped_column(_enum(Split), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(32))
    """The version's stamp the rows were built at; any other stamp means they are stale."""
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
    board: Mapped[dict[str, Any]]
