"""Wire shapes of calibration: rater effects of a cohort."""

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from ..readiness.schemas import CohortFilters


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
