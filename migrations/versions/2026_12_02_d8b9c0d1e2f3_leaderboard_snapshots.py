"""materialised leaderboards: a version per phase and a snapshot per split

Revision ID: d8b9c0d1e2f3
Revises: f0d1e2f3a4b5
Create Date: 2026-12-02 20:40:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "d8b9c0d1e2f3"
down_revision: str | None = "f0d1e2f3a4b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPLIT = sa.Enum("public", "private", name="split", native_enum=False, length=16)


def upgrade() -> None:
    op.create_table(
        "leaderboard_versions",
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["phases.id"],
            name=op.f("fk_leaderboard_versions_phase_id_phases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("phase_id", name=op.f("pk_leaderboard_versions")),
    )
    op.create_table(
        "leaderboard_snapshots",
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("split", SPLIT, nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.Column("built_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("board", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["phases.id"],
            name=op.f("fk_leaderboard_snapshots_phase_id_phases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("phase_id", "split", name=op.f("pk_leaderboard_snapshots")),
    )

    # Boards of existing phases get a version of their own, so they are materialised too.
    op.execute(
        "INSERT INTO leaderboard_versions (phase_id, version, stamp) "
        f"SELECT id, 0, '{secrets.token_hex(16)}' FROM phases"
    )


def downgrade() -> None:
    op.drop_table("leaderboard_snapshots")
    op.drop_table("leaderboard_versions")
