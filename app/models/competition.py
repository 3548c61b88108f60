"""Competitions, their phases, organizers, participants and phase files."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.models.testset import TestSetVersion


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class EntrySelection(enum.StrEnum):
    LATEST = "latest"
    BEST = "best"
    CHOSEN = "chosen"


class TiePolicy(enum.StrEnum):
    DENSE = "dense"
    MIN = "min"
    AVERAGE = "average"


class TeamMode(enum.StrEnum):
    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"


class SubmissionKind(enum.StrEnum):
    PREDICTIONS = "predictions"
    MODEL = "model"


class Competition(Base):
    __tablename__ = "competitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    """Markdown, rendered safely (no raw HTML): the Overview tab."""
    evaluation: Mapped[str] = mapped_column(Text, default="")
    """Markdown for the Evaluation tab: how entries are scored."""
    terms: Mapped[str] = mapped_column(Text, default="")
    """Markdown for the Terms tab; when set, joining requires accepting them."""
    data: Mapped[str] = mapped_column(Text, default="")
    """Markdown for the Data tab: what the data is and its licence."""
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    team_mode: Mapped[TeamMode] = mapped_column(_enum(TeamMode), default=TeamMode.OFF)
    max_team_size: Mapped[int] = mapped_column(default=4)

    phases: Mapped[list[Phase]] = relationship(
        back_populates="competition", lazy="raise", order_by="Phase.position"
    )


class CompetitionOrganizer(Base):
    __tablename__ = "competition_organizers"
    __table_args__ = (UniqueConstraint("competition_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Participation(Base):
    """A user who joined a competition. Its row is also the lock that serialises quota checks."""

    __tablename__ = "participations"
    __table_args__ = (UniqueConstraint("competition_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    terms_accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the participant accepted the competition's terms (None: it had none)."""
    submission_counter: Mapped[int] = mapped_column(default=0)
    """Bumped by every submission attempt: the write that takes the row lock."""
    disqualified_at: Mapped[datetime | None] = mapped_column(default=None)
    disqualified_reason: Mapped[str | None] = mapped_column(Text, default=None)


class Phase(Base):
    __tablename__ = "phases"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    testset_id: Mapped[int | None] = mapped_column(
        ForeignKey("testsets.id", ondelete="RESTRICT"), default=None
    )
    opens_at: Mapped[datetime | None] = mapped_column(default=None)
    closes_at: Mapped[datetime | None] = mapped_column(default=None)
    daily_limit: Mapped[int | None] = mapped_column(default=None)
    """None means unlimited. (No non-None default here: SQLAlchemy would apply it to an
    explicit None on insert.)"""
    total_limit: Mapped[int | None] = mapped_column(default=None)
    public_fraction: Mapped[float | None] = mapped_column(default=None)
    """Share of the items scored on the public leaderboard; None means no private split."""
    split_seed: Mapped[int] = mapped_column(default=0)
    private_revealed_at: Mapped[datetime | None] = mapped_column(default=None)
    inputs_public: Mapped[bool] = mapped_column(default=True)
    leaderboard_public: Mapped[bool] = mapped_column(default=True)
    entry_selection: Mapped[EntrySelection] = mapped_column(
        _enum(EntrySelection), default=EntrySelection.LATEST
    )
    primary_column: Mapped[str] = mapped_column(String(32), default="mae")
    tie_policy: Mapped[TiePolicy] = mapped_column(_enum(TiePolicy), default=TiePolicy.DENSE)
    submission_kinds: Mapped[list[Any]] = mapped_column(
        default=lambda: [SubmissionKind.PREDICTIONS.value]
    )
    execution_provider: Mapped[str] = mapped_column(String(8), default="auto")
    model_time_limit_seconds: Mapped[int] = mapped_column(default=900)
    model_memory_limit_mb: Mapped[int] = mapped_column(default=4096)
    model_input_height: Mapped[int | None] = mapped_column(default=None)
    model_input_width: Mapped[int | None] = mapped_column(default=None)
    public_policy: Mapped[str] = mapped_column(String(16), default="none")
    """What the public leaderboard reveals: ``none``, ``ladder`` or ``rounding`` (issue 13)."""
    ladder_threshold: Mapped[float] = mapped_column(Float, default=0.0)
    public_decimals: Mapped[int | None] = mapped_column(default=None)
    """Both set or both None; None means models get the test set's stored image size."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    competition: Mapped[Competition] = relationship(back_populates="phases", lazy="raise")
    testset: Mapped[TestSetVersion | None] = relationship(lazy="raise")

    def accepts(self, kind: SubmissionKind) -> bool:
        return kind.value in self.submission_kinds

    def effective_input_size(self, testset: TestSetVersion) -> tuple[int, int]:
        """The (H, W) models get on ``testset``: the phase's own input size, or its stored size."""
        if self.model_input_height is not None and self.model_input_width is not None:
            return self.model_input_height, self.model_input_width
        return testset.image_height, testset.image_width

    def is_open(self, now: datetime) -> bool:
        return (self.opens_at is None or self.opens_at <= now) and (
            self.closes_at is None or now < self.closes_at
        )

    def private_is_revealed(self, now: datetime) -> bool:
        """Private-split scores are public once revealed, or automatically after closing."""
        if self.public_fraction is None:
            return True
        if self.private_revealed_at is not None:
            return True
        return self.closes_at is not None and now >= self.closes_at


class PhaseFile(Base):
    """A starting kit or sample submission an organizer offers for download."""

    __tablename__ = "phase_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
