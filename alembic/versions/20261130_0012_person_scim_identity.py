"""person identity attributes written by SCIM provisioning

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString(length=200)


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_name", _TEXT, nullable=True))
        batch_op.add_column(sa.Column("given_name", _TEXT, nullable=True))
        batch_op.add_column(sa.Column("family_name", _TEXT, nullable=True))
        batch_op.add_column(sa.Column("employee_number", _TEXT, nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_person_user_name"), ["user_name"])


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_person_user_name"), type_="unique")
        batch_op.drop_column("employee_number")
        batch_op.drop_column("family_name")
        batch_op.drop_column("given_name")
        batch_op.drop_column("user_name")
