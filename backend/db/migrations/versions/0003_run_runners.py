"""runs record the process (runner) that executes them

With several replicas, a run whose runner stopped sending heartbeats is interrupted by another
replica; runs from before this revision have no runner and count as orphaned.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("runner", sa.String(length=80), nullable=True))
        batch_op.create_index(batch_op.f("ix_runs_runner"), ["runner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_runner"))
        batch_op.drop_column("runner")
