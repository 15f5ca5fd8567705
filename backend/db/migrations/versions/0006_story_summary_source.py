"""stories record where their summary came from

A chapter's summary ("the story so far" for the next chapter) is now written by the model in the
chapter's structured ending; when that fails it is still an extract of the chapter. Earlier
chapters' summaries are extracts, but were not marked as such: NULL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary_source", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_column("summary_source")
