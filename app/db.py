"""Engine and session factories, and the declarative ``Base`` with a naming convention."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar, cast

from sqlalchemy import JSON, DateTime, MetaData, Table, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

DB_ID_MAX = 2**31 - 1
"""The largest row id: primary keys are ``INTEGER``, 32-bit on PostgreSQL."""
DB_INT_MAX = 2**63 - 1
"""The largest integer the databases take anywhere (``bigint``, SQLite's integers)."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC datetime is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


def utcnow() -> datetime:
    return datetime.now(UTC)


SQLITE_POOL_SIZE, SQLITE_POOL_OVERFLOW = 20, -1
SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another's write lock before giving up."""


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a generous busy timeout."""
    if url.startswith("sqlite"):
        # No cap on connections (20 kept open): a request holds its session's connection from
        # its authentication to its end, waiting for a thread in between, so under a burst a
        # capped pool made requests fail after 30 s instead of waiting their turn. No pre-ping:
        # a file database has no server to drop an idle connection, and the ping cost a round
        # trip per checkout (about 0.7 ms of a 3.7 ms leaderboard page).
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_OVERFLOW,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    """One engine and its session factory; the app and each worker own one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on error."""
        with self.sessionmaker() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def write_aside(session: Session, write: Callable[[Session], T], *, wait_ms: int) -> T:
    """``write`` in a transaction of its own, committed at once, for bookkeeping a request must
    not hold the write lock for until its response (SQLite's lock is the whole file).

    It waits at most ``wait_ms`` for a lock: PostgreSQL's ``lock_timeout`` for this transaction;
    SQLite's busy timeout, set and restored on the driver's connection itself so a failed
    write cannot leave the short wait on a pooled connection.
    A session bound to a connection (tests) writes in a savepoint. Raises ``SQLAlchemyError``
    when the write failed.
    """
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        with session.begin_nested():
            return write(session)
    with Session(bind) as side, side.begin():
        if bind.dialect.name == "postgresql":
            side.execute(text(f"SET LOCAL lock_timeout = {int(wait_ms)}"))
        if bind.dialect.name != "sqlite":
            return write(side)
        raw = side.connection().connection.dbapi_connection
        assert raw is not None
        raw.execute(f"PRAGMA busy_timeout={wait_ms}")
        try:
            return write(side)
        finally:
            raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def upsert_of(model: type[Any], dialect: str) -> tuple[Any, Table]:
    """An insert of ``model``'s table (Core) that takes ``on_conflict_do_update`` on ``dialect``
    (PostgreSQL's or SQLite's), and the table."""
    table = cast(Table, model.__table__)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(table), table
