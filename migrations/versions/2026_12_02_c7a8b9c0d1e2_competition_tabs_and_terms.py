"""competition tabs (evaluation, terms, data) and accepted terms

Revision ID: c7a8b9c0d1e2
Revises: b6f7a8b9c0d1
Create Date: 2026-12-02 18:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "c7a8b9c0d1e2"
down_revision: str | None = "b6f7a8b9c0d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("competitions", schema=None) as batch_op:
        for name in ("evaluation", "terms", "data"):
            batch_op.add_column(sa.Column(name, sa.Text(), server_default="", nullable=False))
    with op.batch_alter_table("participations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("terms_accepted_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("participations", schema=None) as batch_op:
        batch_op.drop_column("terms_accepted_at")
    with op.batch_alter_table("competitions", schema=None) as batch_op:
        for name in ("data", "terms", "evaluation"):
            batch_op.drop_column(name)
