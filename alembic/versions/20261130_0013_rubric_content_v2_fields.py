"""rubric content v2: competency quadrant and leadership dimensions, recommendation levels and
kind of work (all nullable: versions published before keep NULL, read as "not declared")

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("competency", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quadrant", sqlmodel.sql.sqltypes.AutoString(length=32),
                                      nullable=True))
        batch_op.add_column(sa.Column("leadership_dimensions", sa.JSON(), nullable=True))
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("levels", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("kind_of_work",
                                      sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        batch_op.drop_column("kind_of_work")
        batch_op.drop_column("levels")
    with op.batch_alter_table("competency", schema=None) as batch_op:
        batch_op.drop_column("leadership_dimensions")
        batch_op.drop_column("quadrant")
