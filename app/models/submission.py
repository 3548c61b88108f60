"""Submissions and the scores they earned on each split of the test set."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.models.competition import SubmissionKind


class SubmissionStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class Split(enum.StrEnum):
    PUBLIC = "public"
    """The whole test set when the phase has no private split."""
    PRIVATE = "private"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_phase_user_created", "phase_id", "user_id", "created_at"),
        Index("ix_submissions_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None, index=True
    )
    """The submitter's team when they made it: the team is the competitor."""
    kind: Mapped[SubmissionKind] = mapped_column(_enum(SubmissionKind))
    status: Mapped[SubmissionStatus] = mapped_column(
        _enum(SubmissionStatus), default=SubmissionStatus.QUEUED
    )
    error: Mapped[str | None] = mapped_column(Text, default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    """Key/value pairs (model, augmentation, loss...) validated by ``submission_metadata``."""
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str | None] = mapped_column(String(255), default=None)
    """Path of the stored upload under the data dir; None once a rejected file is dropped."""
    size_bytes: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    preset: Mapped[str] = mapped_column(String(32), default="raw")
    output_scale: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    execution_provider: Mapped[str | None] = mapped_column(String(64), default=None)
    inference_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    scorer_version: Mapped[str | None] = mapped_column(String(64), default=None)
    testset_id: Mapped[int | None] = mapped_column(
        ForeignKey("testsets.id", ondelete="SET NULL"), default=None
    )
    testset_fingerprint: Mapped[str | None] = mapped_column(String(80), default=None)
    is_chosen: Mapped[bool] = mapped_column(default=False)
    is_hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str | None] = mapped_column(Text, default=None)
    """The organizers' reason for hiding the entry, shown to its owner; None when shown."""
    is_baseline: Mapped[bool] = mapped_column(default=False)
    job_token: Mapped[str | None] = mapped_column(String(64), default=None)
    """Identifies the dispatch that owns a running job, so a stale worker cannot finish it."""
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    """A running job's lease: its holder renews it while it works; once past, the job is
    taken back and queued again (``app.jobs.sweep``)."""
    worker: Mapped[str | None] = mapped_column(String(128), default=None)
    """The worker process that holds (or last held) the job, e.g. ``host:pid``."""

    scores: Mapped[list[SubmissionScore]] = relationship(
        back_populates="submission", lazy="raise", cascade="all, delete-orphan"
    )

    @property
    def is_done(self) -> bool:
        return self.status in (SubmissionStatus.FINISHED, SubmissionStatus.FAILED)


class SubmissionScore(Base):
    """The five scores and per-group breakdown of one submission on one split."""

    __tablename__ = "submission_scores"
    __table_args__ = (UniqueConstraint("submission_id", "split"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    split: Mapped[Split] = mapped_column(_enum(Split))
    mae: Mapped[float] = mapped_column(Float)
    age_bias: Mapped[float | None] = mapped_column(Float)
    gender_bias: Mapped[float | None] = mapped_column(Float)
    ethnicity_bias: Mapped[float | None] = mapped_column(Float)
    expression_bias: Mapped[float | None] = mapped_column(Float)
    report: Mapped[dict[str, Any]]
    """``scoring.metrics.ScoreReport.to_dict()``: the per-group MAEs and sizes."""
    intervals: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    """95% bootstrap intervals (``app.services.intervals``); NULL until computed in the
    background after the scores are stored."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="scores", lazy="raise")


class SubmissionEvent(Base):
    """One transition of a submission's status: when, by which process, and why."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_status: Mapped[SubmissionStatus | None] = mapped_column(
        _enum(SubmissionStatus), default=None
    )
    to_status: Mapped[SubmissionStatus] = mapped_column(_enum(SubmissionStatus))
    actor: Mapped[str] = mapped_column(String(128), default="")
    """The worker process, ``web``, or the organizer who asked for it."""
    reason: Mapped[str] = mapped_column(Text, default="")
