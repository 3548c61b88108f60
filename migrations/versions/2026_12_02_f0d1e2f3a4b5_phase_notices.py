"""phase opening/closing e-mails: the opt-in and the record of what was sent

Revision ID: f0d1e2f3a4b5
Revises: c7a8b9c0d1e2
Create Date: 2026-12-02 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "f0d1e2f3a4b5"
down_revision: str | None = "c7a8b9c0d1e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notify_phases", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "phase_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column(
            "event",
            sa.Enum(
                "opened",
                "closing_soon",
                "closed",
                name="phaseevent",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("moment", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["phases.id"],
            name=op.f("fk_phase_notices_phase_id_phases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_phase_notices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase_notices")),
        sa.UniqueConstraint(
            "phase_id", "event", "moment", "user_id", name=op.f("uq_phase_notices_phase_id")
        ),
    )
    with op.batch_alter_table("phase_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phase_notices_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("phase_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phase_notices_user_id"))
    op.drop_table("phase_notices")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("notify_phases")
