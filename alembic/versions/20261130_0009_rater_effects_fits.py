"""rater effects fits and calibration sessions with their history

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
    op.create_table(
        "calibration_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cycle", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("guideline", sa.JSON(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration_session")),
    )
    with op.batch_alter_table("calibration_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calibration_session_cycle"), ["cycle"],
                              unique=False)
    op.create_table(
        "calibration_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calibration_id", sa.Uuid(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("principal", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("person", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("assessment_id", sa.Uuid(), nullable=True),
        sa.Column("band", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["calibration_id"], ["calibration_session.id"],
                                name=op.f("fk_calibration_event_calibration_id_calibration_session")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration_event")),
    )
    with op.batch_alter_table("calibration_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calibration_event_calibration_id"),
                              ["calibration_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calibration_event_person"), ["person"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_calibration_event_assessment_id"),
                              ["assessment_id"], unique=False)


def downgrade() -> None:
    op.drop_table("calibration_event")
    op.drop_table("calibration_session")
    with op.batch_alter_table("rater_effects_fit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rater_effects_fit_cycle"))
    op.drop_table("rater_effects_fit")
