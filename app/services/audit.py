"""The audit log: every organizer action, with who did it, when, and the details."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.models import AuditLogEntry, User
from app.schemas import AuditEntryOut
from app.services.listing import Pager, WindowT, contains, fetch_page


def _json_safe(value: Any) -> Any:
    """Details are stored as JSON: datetimes as ISO strings, enums as their values."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    return value


def record(
    session: Session,
    actor: User | None,
    action: str,
    *,
    competition_id: int | None,
    target: str = "",
    now: datetime | None = None,
    **details: Any,
) -> AuditLogEntry:
    """Append one entry to the audit log."""
    entry = AuditLogEntry(
        competition_id=competition_id,
        actor_id=actor.id if actor else None,
        action=action,
        target=target[:200],
        details=_json_safe(details),
        created_at=now or utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def _entries_query(
    competition_id: int, *, action: str | None, search: str = ""
) -> Select[AuditLogEntry, str]:
    query = (
        select(AuditLogEntry, User.username)
        .outerjoin(User, User.id == AuditLogEntry.actor_id)
        .where(AuditLogEntry.competition_id == competition_id)
        .order_by(AuditLogEntry.created_at.desc(), AuditLogEntry.id.desc())
    )
    if action:
        query = query.where(AuditLogEntry.action == action)
    if search:
        query = query.where(contains(search, User.username, AuditLogEntry.target))
    return query


def _entry_out(entry: AuditLogEntry, username: str | None) -> AuditEntryOut:
    return AuditEntryOut(
        id=entry.id,
        created_at=entry.created_at,
        actor=username,
        action=entry.action,
        target=entry.target,
        details=dict(entry.details or {}),
    )


def entries(
    session: Session,
    competition_id: int,
    *,
    action: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[AuditEntryOut]:
    """A competition's audit log, newest first, optionally of one kind of action."""
    query = _entries_query(competition_id, action=action).limit(limit).offset(offset)
    return [_entry_out(entry, username) for entry, username in session.execute(query)]


def entries_page(
    session: Session,
    competition_id: int,
    pager: Pager[WindowT],
    *,
    action: str | None = None,
    search: str = "",
) -> tuple[WindowT, list[AuditEntryOut]]:
    """One page of a competition's audit log, newest first: of one kind of action, and whose
    actor or target holds ``search``."""
    query = _entries_query(competition_id, action=action, search=search)
    window, found = fetch_page(session, query, pager)
    return window, [_entry_out(entry, username) for entry, username in found]
