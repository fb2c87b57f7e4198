"""event moves

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 10:33:32.781236
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_moves",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_uid", sa.String(length=40), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_uid"], ["events.uid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event_moves", schema=None) as batch_op:
        batch_op.create_index("ix_event_moves_uid", ["event_uid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_moves", schema=None) as batch_op:
        batch_op.drop_index("ix_event_moves_uid")

    op.drop_table("event_moves")
