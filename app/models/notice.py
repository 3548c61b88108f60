"""Phase e-mails already sent: the record that keeps each one from going out twice."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class PhaseEvent(enum.StrEnum):
    OPENED = "opened"
    CLOSING_SOON = "closing_soon"
    CLOSED = "closed"


class PhaseNotice(Base):
    """One phase e-mail to one participant. The unique key holds the date the mail announced,
    so a date the organizers move is announced again, and the same date never twice."""

    __tablename__ = "phase_notices"
    __table_args__ = (UniqueConstraint("phase_id", "event", "moment", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"))
    event: Mapped[PhaseEvent] = mapped_column(
        Enum(
            PhaseEvent,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    moment: Mapped[datetime]
    """The phase date the mail announced: when it opened, or when it closes."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
