"""Calibration tables: each stored rater-effects fit, so reports and sessions can name the fit
they used (its severities are kept as fitted, never recomputed)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from ..models import created_at_field


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
