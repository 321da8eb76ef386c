"""Readiness tables: named, versioned scoring policies, and the report snapshots stored when an
assessment is finalized (so later reads are exactly what was decided)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ..models import created_at_field


class ReadinessPolicy(SQLModel, table=True):
    """Immutable once written: a change is a new version of the same name."""

    __tablename__ = "readiness_policy"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    version: int
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = created_at_field()


class ReadinessReport(SQLModel, table=True):
    """The report of a finalized assessment, stored byte for byte."""

    __tablename__ = "readiness_report"
    __table_args__ = (UniqueConstraint("assessment_id", "target_level"),
                      Index("ix_readiness_report_created_at_id", "created_at", "id"))

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: uuid.UUID = Field(index=True)
    person: str = Field(max_length=200, index=True)
    target_level: str = Field(max_length=64)
    score: float
    band: str = Field(max_length=16)
    policy_name: str = Field(max_length=64)
    policy_version: int
    inputs_digest: str = Field(max_length=80)
    report: str = Field(sa_column=Column(Text, nullable=False), description="Canonical JSON")
    created_at: datetime = created_at_field()
