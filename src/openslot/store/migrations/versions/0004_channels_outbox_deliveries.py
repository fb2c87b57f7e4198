"""push notification channels, the outbox and delivery attempts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 11:14:43.798894
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("application_id", sa.String(length=40), nullable=False),
        sa.Column("callback_url", sa.String(length=2048), nullable=False),
        sa.Column("only_managed", sa.Boolean(), nullable=False),
        sa.Column("calendar_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.create_index("ix_channels_account", ["account_id", "closed_at"], unique=False)

    op.create_table(
        "notification_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("changes_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("webhook_id", sa.String(length=40), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_jobs_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index("ix_notification_jobs_due", ["state", "due_at"], unique=False)
        batch_op.create_index(
            "uq_notification_jobs_pending_change",
            ["channel_id"],
            unique=True,
            sqlite_where=sa.text("state = 'pending' AND kind = 'change'"),
            postgresql_where=sa.text("state = 'pending' AND kind = 'change'"),
        )

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["notification_jobs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_channel", ["channel_id", "attempted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_job_id"))
        batch_op.drop_index("ix_deliveries_channel")

    op.drop_table("deliveries")
    with op.batch_alter_table("notification_jobs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_notification_jobs_pending_change",
            sqlite_where=sa.text("state = 'pending' AND kind = 'change'"),
            postgresql_where=sa.text("state = 'pending' AND kind = 'change'"),
        )
        batch_op.drop_index("ix_notification_jobs_due")
        batch_op.drop_index(batch_op.f("ix_notification_jobs_channel_id"))

    op.drop_table("notification_jobs")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_index("ix_channels_account")

    op.drop_table("channels")
