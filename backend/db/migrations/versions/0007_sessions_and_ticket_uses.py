"""parents' sessions rotate and can be revoked; child tickets start one story

Refresh tokens become rows (one family per sign-in, rotated on each use, revoked as a whole
when an old one comes back or at logout); a password change raises the parent's credentials
version, which signs out every older token. A child stream ticket that started a story is
recorded, so it cannot start another. Existing tokens carry no version and count as version 0;
existing refresh tokens have no row and must sign in again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("parents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("credentials_version", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["parents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_refresh_tokens_parent_id", "refresh_tokens", ["parent_id"])
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_table(
        "stream_ticket_uses",
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_stream_ticket_uses_expires_at", "stream_ticket_uses", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_stream_ticket_uses_expires_at", table_name="stream_ticket_uses")
    op.drop_table("stream_ticket_uses")
    op.drop_index("ix_refresh_tokens_family_id", table_name="refresh_tokens")
    op.drop_index("ix_refresh_tokens_parent_id", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    with op.batch_alter_table("parents", schema=None) as batch_op:
        batch_op.drop_column("credentials_version")
