"""families, series and chapters

Children made before accounts existed keep a NULL parent: nobody can reach them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:31:56.110533
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
        "parents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "custom_themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["parents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("custom_themes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custom_themes_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "device_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_tokens_child_id"), ["child_id"], unique=False)

    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["child_id"], ["children.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_series_child_id"), ["child_id"], unique=False)

    with op.batch_alter_table("children", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "reading_level", sa.String(length=16), nullable=False, server_default="beginner"
            )
        )
        batch_op.add_column(sa.Column("interests", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("blocked_topics", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("allow_mild_peril", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("story_length", sa.String(length=8), nullable=False, server_default="medium")
        )
        batch_op.add_column(
            sa.Column("allowed_theme_ids", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.create_index(batch_op.f("ix_children_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_children_parent_id", "parents", ["parent_id"], ["id"], ondelete="CASCADE"
        )

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_runs_series_id"), ["series_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_runs_series_id", "series", ["series_id"], ["id"], ondelete="CASCADE"
        )

    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("summary", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("chosen_choice", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("favourite", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_stories_series_id"), ["series_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_stories_series_id", "series", ["series_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_constraint("fk_stories_series_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_stories_series_id"))
        batch_op.drop_column("favourite")
        batch_op.drop_column("read_at")
        batch_op.drop_column("chosen_at")
        batch_op.drop_column("chosen_choice")
        batch_op.drop_column("summary")
        batch_op.drop_column("series_id")

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_runs_series_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_runs_series_id"))
        batch_op.drop_column("series_id")

    with op.batch_alter_table("children", schema=None) as batch_op:
        batch_op.drop_constraint("fk_children_parent_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_children_parent_id"))
        batch_op.drop_column("allowed_theme_ids")
        batch_op.drop_column("story_length")
        batch_op.drop_column("allow_mild_peril")
        batch_op.drop_column("blocked_topics")
        batch_op.drop_column("interests")
        batch_op.drop_column("reading_level")
        batch_op.drop_column("parent_id")

    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_child_id"))

    op.drop_table("series")
    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_tokens_child_id"))

    op.drop_table("device_tokens")
    with op.batch_alter_table("custom_themes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_themes_parent_id"))

    op.drop_table("custom_themes")
    op.drop_table("parents")
