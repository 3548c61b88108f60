"""Accounts and their personal API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    ORGANIZER = "organizer"
    PARTICIPANT = "participant"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    """Stored lower-case; unique case-insensitively."""
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    """Stored in every cookie session at log-in; bumping it ends all of the user's sessions."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    email_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the current address was confirmed by a link sent to it; None when it was not."""
    notify_results: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Opt-in e-mail when one of the user's submissions finishes or fails."""
    notify_moderation: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Opt-in e-mail when the user is disqualified from a competition."""
    notify_reveals: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Opt-in e-mail when a competition the user joined reveals its private leaderboard."""
    notify_phases: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Opt-in e-mail when a phase of a competition the user joined opens, closes soon, closed."""

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", lazy="raise")

    @property
    def can_create_competitions(self) -> bool:
        return self.role in (Role.ADMIN, Role.ORGANIZER)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the token; the token itself is shown once and never stored."""
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(back_populates="tokens", lazy="raise")


class EmailPurpose(enum.StrEnum):
    PASSWORD_RESET = "password_reset"
    VERIFY_EMAIL = "verify_email"


class EmailToken(Base):
    """A link sent by e-mail: it works once, until it expires. Only its hash is kept."""

    __tablename__ = "email_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[EmailPurpose] = mapped_column(
        Enum(
            EmailPurpose,
            native_enum=False,
            length=32,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the secret in the link."""
    email: Mapped[str] = mapped_column(String(254))
    """The address the link was sent to: verifying confirms this address, not a later one."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
