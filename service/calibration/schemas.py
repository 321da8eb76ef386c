"""Wire shapes of calibration: rater effects of a cohort, calibration sessions."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from ..readiness.schemas import CohortFilters
from ..wire import Strict


class RaterEffectRead(BaseModel):
    rater_id: str
    role: str = Field(description="The role this rater rated in most often in the cohort")
    ratings: int = Field(description="Non-self ratings this rater gave in the cohort")
    ratees: int
    severity: float | None = Field(
        description="Offset in scale steps against the raters of the same people "
                    "(positive = lenient); null when it cannot be estimated")
    se: float | None
    ci95: tuple[float, float] | None
    flag: Literal["lenient", "severe"] | None = Field(
        description="Set when the 95% interval excludes 0 and |severity| >= 0.5 step")
    group: int | None = Field(description="Linkage group: compare severities only within one")
    reason: str | None = Field(default=None, description="Why severity is null")


class SelfRatings(BaseModel):
    """Self ratings are left out of the fit (each person rates only themselves, so they
    cannot be compared across raters); shown apart."""

    ratings: int
    people: int
    mean_gap: float | None = Field(
        description="Mean of self rating minus the mean non-self rating of the same "
                    "person-competency (positive: people rate themselves higher)")


class VarianceShares(BaseModel):
    person: float
    rater: float
    residual: float


class FitRead(BaseModel):
    id: uuid.UUID
    method: str
    converged: bool
    seconds: float


class RaterEffectsReport(BaseModel):
    cohort: CohortFilters
    ratings: int = Field(description="Non-self ratings used in the fit")
    raters: list[RaterEffectRead]
    self_ratings: SelfRatings
    variance: VarianceShares | None
    groups: int
    fit: FitRead


Band = Literal["ready_now", "ready_soon", "developing", "not_yet"]


class CalibrationCreate(Strict):
    cycle: str = Field(min_length=1, max_length=64)
    org_unit: str | None = Field(default=None, max_length=200)
    manager: str | None = Field(default=None, max_length=200)
    rubric: str | None = Field(default=None, max_length=200)
    current_level: str | None = Field(default=None, max_length=64)
    target_level: str | None = Field(default=None, max_length=64)
    # A list on the wire (strict models take no JSON array as a tuple): exactly [min, max].
    guideline: dict[Band, Annotated[list[float], Field(min_length=2, max_length=2)]] | None = Field(
        default=None, description="Per band, the share of people expected in it: "
                                  "[min, max] in percent")

    @field_validator("guideline")
    @classmethod
    def _ranges(cls, value):
        for band, (lo, hi) in (value or {}).items():
            if not 0 <= lo <= hi <= 100:
                raise ValueError(f"{band}: expected 0 <= min <= max <= 100")
        return value


class DecisionCreate(Strict):
    person: str = Field(min_length=1, max_length=200)
    band: Band
    reason: str = Field(min_length=1, max_length=2000)


class FlaggedRater(BaseModel):
    rater_id: str
    flag: Literal["lenient", "severe"]
    severity: float


class CalibrationPerson(BaseModel):
    person: str
    assessment_id: uuid.UUID
    score: float = Field(description="Readiness score as rated (no rater adjustment)")
    band: Band = Field(description="Band as rated")
    adjusted_score: float | None = Field(
        description="Score with each non-self rating corrected for its rater's severity "
                    "(the session's fit, `fit_id`); null when the cycle has no fit")
    adjusted_band: Band | None
    calibrated_band: Band | None
    flagged_raters: list[FlaggedRater] = Field(
        description="This person's raters the cycle's latest rater-effects fit flags")


class BandShare(BaseModel):
    people: int
    percent: float
    guideline: tuple[float, float] | None
    within: bool | None


class HistoryEntry(BaseModel):
    action: str
    by: str
    at: datetime
    person: str | None = None
    band: str | None = None
    reason: str | None = None


class CalibrationSummary(BaseModel):
    id: uuid.UUID
    cycle: str
    cohort: CohortFilters
    guideline: dict[str, tuple[float, float]] | None
    status: Literal["open", "locked"]
    created_by: str
    created_at: datetime
    locked_at: datetime | None


class CalibrationRead(CalibrationSummary):
    people: list[CalibrationPerson]
    distribution: dict[str, BandShare] = Field(
        description="People per band after calibration (calibrated band where decided)")
    fit_id: uuid.UUID | None = Field(
        description="The rater-effects fit (the cycle's latest) behind the flags and the "
                    "adjusted scores")
    history: list[HistoryEntry]
