"""busy events index

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BUSY_EVENT_CONDITION = "deleted = false AND transparency <> 'transparent' AND status <> 'cancelled'"


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_busy",
            ["calendar_id", "start_at"],
            unique=False,
            postgresql_include=["end_at", "all_day", "application_id"],
            postgresql_where=sa.text(BUSY_EVENT_CONDITION),
            sqlite_where=sa.text(BUSY_EVENT_CONDITION),
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_busy")
