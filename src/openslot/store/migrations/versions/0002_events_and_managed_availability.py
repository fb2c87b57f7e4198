"""events, availability rules and available periods

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 10:27:22.343071
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "availability_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("tzid", sa.String(length=64), nullable=False),
        sa.Column("calendar_ids", sa.JSON(), nullable=True),
        sa.Column("weekly_periods", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "rule_id", name="uq_availability_rules_account"),
    )
    op.create_table(
        "available_periods",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("period_id", sa.String(length=64), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_tzid", sa.String(length=64), nullable=False),
        sa.Column("end_tzid", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "period_id", name="uq_available_periods_account"),
    )
    with op.batch_alter_table("available_periods", schema=None) as batch_op:
        batch_op.create_index("ix_available_periods_account_start", ["account_id", "start_at"], unique=False)

    op.create_table(
        "events",
        sa.Column("uid", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("calendar_id", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=40), nullable=True),
        sa.Column("event_id", sa.String(length=256), nullable=True),
        sa.Column("summary", sa.String(length=1024), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("start_tzid", sa.String(length=64), nullable=False),
        sa.Column("end_tzid", sa.String(length=64), nullable=False),
        sa.Column("transparency", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendars.id"],
        ),
        sa.PrimaryKeyConstraint("uid"),
        sa.UniqueConstraint("calendar_id", "application_id", "event_id", name="uq_events_managed"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_account_updated", ["account_id", "updated_at"], unique=False)
        batch_op.create_index("ix_events_calendar_start", ["calendar_id", "start_at"], unique=False)

    with op.batch_alter_table("calendars", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_event_seconds", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("calendars", schema=None) as batch_op:
        batch_op.drop_column("max_event_seconds")

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_calendar_start")
        batch_op.drop_index("ix_events_account_updated")

    op.drop_table("events")
    with op.batch_alter_table("available_periods", schema=None) as batch_op:
        batch_op.drop_index("ix_available_periods_account_start")

    op.drop_table("available_periods")
    op.drop_table("availability_rules")
