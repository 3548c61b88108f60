"""score and rank intervals, rank history, public-score policy

Revision ID: e3c4d5e6f7a8
Revises: a5e6f7a8b9c0
Create Date: 2026-12-02 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "e3c4d5e6f7a8"
down_revision: str | None = "a5e6f7a8b9c0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPLIT = sa.Enum("public", "private", name="split", native_enum=False, length=16)


def _phase_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["phase_id"], ["phases.id"], name=op.f(f"fk_{table}_phase_id_phases"), ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("submission_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intervals", sa.JSON(), nullable=True))
    with op.batch_alter_table("phases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public_policy", sa.String(length=16), nullable=False, server_default="none")
        )
        batch_op.add_column(
            sa.Column("ladder_threshold", sa.Float(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("public_decimals", sa.Integer(), nullable=True))
    with op.batch_alter_table("phases", schema=None) as batch_op:
        batch_op.alter_column("public_policy", server_default=None)
        batch_op.alter_column("ladder_threshold", server_default=None)
    op.create_table(
        "phase_jobs",
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", app.db.UTCDateTime(timezone=True), nullable=True),
        _phase_fk("phase_jobs"),
        sa.PrimaryKeyConstraint("phase_id", name=op.f("pk_phase_jobs")),
    )
    op.create_table(
        "phase_rankings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("split", SPLIT, nullable=False),
        sa.Column("computed_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        _phase_fk("phase_rankings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase_rankings")),
        sa.UniqueConstraint("phase_id", "split", name=op.f("uq_phase_rankings_phase_id")),
    )
    op.create_table(
        "rank_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("split", SPLIT, nullable=False),
        sa.Column("entry", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("previous_position", sa.Integer(), nullable=True),
        sa.Column("previous_submission_id", sa.Integer(), nullable=True),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        _phase_fk("rank_changes"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_rank_changes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rank_changes")),
    )
    with op.batch_alter_table("rank_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rank_changes_phase_split_entry", ["phase_id", "split", "entry"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rank_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_rank_changes_phase_split_entry")
    op.drop_table("rank_changes")
    op.drop_table("phase_rankings")
    op.drop_table("phase_jobs")
    with op.batch_alter_table("phases", schema=None) as batch_op:
        batch_op.drop_column("public_decimals")
        batch_op.drop_column("ladder_threshold")
        batch_op.drop_column("public_policy")
    with op.batch_alter_table("submission_scores", schema=None) as batch_op:
        batch_op.drop_column("intervals")
