"""Re-scorings of a phase: what its submissions scored before, so the change can be reported."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Rescore(Base):
    """One re-scoring of a phase's submissions, with the scores and ranks they had before.

    ``before`` holds ``{"submissions": {id: {"status", "testset_fingerprint", "scores":
    {split: {score: value}}}}, "positions": {split: {id: position}}}``; the report compares it
    with the submissions' current state, so it stays correct while re-runs are still queued.
    """

    __tablename__ = "rescores"

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    from_testset_id: Mapped[int | None] = mapped_column(
        ForeignKey("testsets.id", ondelete="SET NULL"), default=None
    )
    to_testset_id: Mapped[int | None] = mapped_column(
        ForeignKey("testsets.id", ondelete="SET NULL"), default=None
    )
    from_fingerprint: Mapped[str | None] = mapped_column(String(80), default=None)
    to_fingerprint: Mapped[str | None] = mapped_column(String(80), default=None)
    submission_ids: Mapped[list[Any]] = mapped_column(default=list)
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
