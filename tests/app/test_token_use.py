"""An API token's last use is recorded aside, committed at once: the request that uses the token
never holds a write lock for it, and a busy database skips the record (minute precision is
all it keeps) instead of stalling the request. On both databases."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select, text, update

from app.db import utcnow
from app.models import ApiToken, User
from app.services import accounts
from app.services.accounts import TOKEN_USE_WAIT_MS
from tests.app.conftest import World

FAST_ENOUGH_SECONDS = TOKEN_USE_WAIT_MS / 1000 + 2.0
"""Far under SQLite's 30 s busy timeout (or PostgreSQL's unbounded lock wait)."""


@contextmanager
def another_writer(world: World) -> Iterator[None]:
    """Another transaction holding the lock a write of the token's row needs, or failing at
    once (timeout 0, NOWAIT) when it cannot get it."""
    url = world.db.url
    if url.startswith("sqlite:///"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
            holder.rollback()
        finally:
            holder.close()
        return
    with world.db.engine.connect() as holder, holder.begin():
        holder.execute(text("SELECT id FROM api_tokens FOR UPDATE NOWAIT"))
        yield


def _age_tokens(world: World) -> None:
    with world.db.transaction() as session:
        session.execute(update(ApiToken).values(last_used_at=utcnow() - timedelta(hours=1)))


def _last_use(world: World) -> object:
    with world.db.sessionmaker() as session:
        return session.scalar(select(ApiToken.last_used_at))


def test_a_stale_last_use_is_committed_at_once_and_the_request_holds_no_write_lock(
    world: World,
) -> None:
    secret = world.token(world.user("alice"))
    _age_tokens(world)
    before = utcnow()
    with world.db.sessionmaker() as session:
        user = accounts.user_for_token(session, secret)
        session.scalar(select(User.id).where(User.id == user.id))  # the request goes on
        with another_writer(world):  # gets in at once: the request's session wrote nothing
            pass
        recorded = _last_use(world)  # committed already, seen from another session
        assert isinstance(recorded, type(before)) and recorded >= before
        assert not session.dirty


def test_a_busy_database_skips_the_record_without_stalling_the_request(world: World) -> None:
    secret = world.token(world.user("alice"))
    _age_tokens(world)
    stale = _last_use(world)
    with another_writer(world), world.db.sessionmaker() as session:
        started = time.monotonic()
        user = accounts.user_for_token(session, secret)
        assert time.monotonic() - started < FAST_ENOUGH_SECONDS
        assert user.username == "alice"
        session.scalar(select(User.id))  # the session is still usable
    assert _last_use(world) == stale
