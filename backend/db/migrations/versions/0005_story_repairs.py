"""stories record their repaired sentences

A sentence the streaming gate held back is written again in place; the chapter keeps, for its
parent, how many were and in which categories (never the sentence). Earlier chapters have none.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repairs", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_column("repairs")
