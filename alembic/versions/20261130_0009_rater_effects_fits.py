"""rater effects fits (calibration)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rater_effects_fit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cycle", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("ratings", sa.Integer(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("severities", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rater_effects_fit")),
    )
    with op.batch_alter_table("rater_effects_fit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rater_effects_fit_cycle"), ["cycle"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rater_effects_fit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rater_effects_fit_cycle"))
    op.drop_table("rater_effects_fit")
