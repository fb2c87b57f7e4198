"""permission requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 12:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "permission_requests",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("permission_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_permission_requests_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_permission_requests_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("permission_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permission_requests_expires_at"))
        batch_op.drop_index(batch_op.f("ix_permission_requests_account_id"))
    op.drop_table("permission_requests")
