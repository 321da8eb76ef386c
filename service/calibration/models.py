"""Calibration tables: each stored rater-effects fit, so reports and sessions can name the fit
they used (its severities are kept as fitted, never recomputed)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Text, Uuid
from sqlmodel import Field, SQLModel

from ..models import UTCDateTime, created_at_field, row_version_column

_session_row_version = row_version_column()


class RaterEffectsFit(SQLModel, table=True):
    """One fit: the cohort it was fitted on and every rater's estimate."""

    __tablename__ = "rater_effects_fit"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    cycle: str = Field(max_length=64, index=True)
    filters: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    ratings: int
    method: str = Field(max_length=64)
    # {rater_id: {"severity": float | None, "se": ..., "group": ..., "flag": ...}}
    severities: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = created_at_field()


class CalibrationSession(SQLModel, table=True):
    """A calibration session over one cycle's cohort. Open until locked; locked is final."""

    __tablename__ = "calibration_session"
    __mapper_args__ = {"version_id_col": _session_row_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    cycle: str = Field(max_length=64, index=True)
    filters: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    guideline: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: str = Field(max_length=200)
    created_at: datetime = created_at_field()
    locked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_by: str | None = Field(default=None, max_length=200)
    row_version: int | None = Field(default=None, sa_column=_session_row_version)


class CalibrationEvent(SQLModel, table=True):
    """The session's history, append-only: created, decided (a person's calibrated band, with
    the reason and the assessment it calibrates), locked. The latest decision per person wins."""

    __tablename__ = "calibration_event"

    id: int | None = Field(default=None, primary_key=True)
    calibration_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("calibration_session.id"), nullable=False, index=True))
    action: str = Field(max_length=16)
    principal: str = Field(max_length=200)
    person: str | None = Field(default=None, max_length=200, index=True)
    assessment_id: uuid.UUID | None = Field(default=None, index=True)
    band: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = created_at_field()
