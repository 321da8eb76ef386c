"""delivery lease tokens, the maintenance lease, and indexes for retention purges

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maintenance_lease",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_maintenance_lease")),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "lease_token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_event_created_at"), ["created_at"],
                              unique=False)
    with op.batch_alter_table("bulk_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulk_job_finished_at"), ["finished_at"],
                              unique=False)
    with op.batch_alter_table("assessment_event", schema=None) as batch_op:
        batch_op.create_index("ix_assessment_event_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assessment_event", schema=None) as batch_op:
        batch_op.drop_index("ix_assessment_event_at")
    with op.batch_alter_table("bulk_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulk_job_finished_at"))
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_event_created_at"))
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_column("lease_token")
    op.drop_table("maintenance_lease")
