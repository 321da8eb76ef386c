"""fairness: attributes held apart, the audit of their reads, four-fifths state per cycle

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "fairness_attribute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person", _text(length=200), nullable=False),
        sa.Column("name", _text(length=64), nullable=False),
        sa.Column("category", _text(length=64), nullable=False),
        sa.Column("source", _text(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fairness_attribute")),
        sa.UniqueConstraint("person", "name", name=op.f("uq_fairness_attribute_person_name")),
    )
    with op.batch_alter_table("fairness_attribute", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fairness_attribute_person"), ["person"],
                              unique=False)
    op.create_table(
        "fairness_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("principal", _text(length=200), nullable=False),
        sa.Column("action", _text(length=32), nullable=False),
        sa.Column("person", _text(length=200), nullable=True),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fairness_audit")),
    )
    with op.batch_alter_table("fairness_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fairness_audit_principal"), ["principal"],
                              unique=False)
    op.create_table(
        "fairness_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle", _text(length=64), nullable=False),
        sa.Column("attribute", _text(length=64), nullable=False),
        sa.Column("below", sa.JSON(), nullable=False),
        sa.Column("seen", _text(length=200), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fairness_state")),
        sa.UniqueConstraint("cycle", "attribute", name=op.f("uq_fairness_state_cycle_attribute")),
    )


def downgrade() -> None:
    op.drop_table("fairness_state")
    with op.batch_alter_table("fairness_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fairness_audit_principal"))
    op.drop_table("fairness_audit")
    with op.batch_alter_table("fairness_attribute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fairness_attribute_person"))
    op.drop_table("fairness_attribute")
