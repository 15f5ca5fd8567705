"""pairing codes for children's reading apps

A parent shows a short code; the reading app claims it once, within minutes, and receives the
child's device token (issue 14). Only the code's digest is stored.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pairing_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_digest"),
    )
    op.create_index("ix_pairing_codes_child_id", "pairing_codes", ["child_id"])
    op.create_index("ix_pairing_codes_expires_at", "pairing_codes", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_pairing_codes_expires_at", table_name="pairing_codes")
    op.drop_index("ix_pairing_codes_child_id", table_name="pairing_codes")
    op.drop_table("pairing_codes")
