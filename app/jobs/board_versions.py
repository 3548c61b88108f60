"""Leaderboard versions: one counter per phase, raised by :func:`bump` in the transaction of
every change of a board's inputs (a submission made, scored, failed or re-run, moderation,
settings, reveal, entry choice, team membership, rank intervals).

``app.services.board_snapshots`` serves a board from the snapshot built at the current
version, so a change that does not call :func:`bump` would be served stale: the oracle test
(tests/app/test_board_snapshots.py) drives every kind of change through the routes. Models and
the database only, so ``app.jobs.state`` can call it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import String, bindparam, literal, select
from sqlalchemy.orm import Session

from app.db import upsert_of
from app.models import LeaderboardVersion, Phase

BATCH_KEY = "board_versions.batched"


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """Within: each phase (given by id) is bumped once per transaction, at its first change.

    For a write path that makes several changes to one board in one transaction and reads no
    board in between (an upload recorded with its scores): readers only see the commit, so one
    bump announces all of it. A later transaction of the session bumps again.
    """
    session.info[BATCH_KEY] = {}
    try:
        yield
    finally:
        session.info.pop(BATCH_KEY, None)


def bump(session: Session, phase_ids: int | Any) -> None:
    """Raise the board version of a phase (an id) or of phases (a select of ids)."""
    one = isinstance(phase_ids, int)
    wanted = [phase_ids] if isinstance(phase_ids, int) else list(session.scalars(phase_ids))
    batch: dict[int, object] | None = session.info.get(BATCH_KEY) if one else None
    transaction = session.get_transaction()
    if batch is not None and transaction is not None and batch.get(phase_ids) is transaction:
        return  # raised already in this transaction
    statement = _bump_one(session.get_bind().dialect.name)
    for phase_id in wanted:
        session.execute(statement, {"phase_id": phase_id, "stamp": secrets.token_hex(16)})
    if batch is not None:
        batch[phase_ids] = session.get_transaction()


@cache
def _bump_one(dialect: str) -> Any:
    """:func:`bump` of one phase (Core, on the table), built once per dialect: building a
    statement costs more than running it."""
    insert, table = upsert_of(LeaderboardVersion, dialect)
    statement = insert.from_select(
        ["phase_id", "version", "stamp"],
        select(Phase.id, literal(1), bindparam("stamp", type_=String)).where(
            Phase.id == bindparam("phase_id")
        ),
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.phase_id],
        set_={"version": table.c.version + 1, "stamp": bindparam("stamp")},
    )


def current(session: Session, phase_id: int) -> str | None:
    """The stamp of the phase's current board version; None before its first change."""
    return session.scalar(
        select(LeaderboardVersion.stamp).where(LeaderboardVersion.phase_id == phase_id)
    )
