"""Fairness wire shapes: attributes (read by their owner or a fairness reader only), the
adverse-impact answer, and the audit log."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel

from ..readiness.schemas import Band, CohortFilters

Source = Literal["self", "provided"]
Basis = Literal["raw", "adjusted", "calibrated"]


class AttributesWrite(RootModel[dict[str, str]]):
    """Attribute name -> category, e.g. `{"gender": "woman"}`; replaces every attribute the
    person had. Names and categories come from the configured lists (a 422 otherwise, which
    never repeats the value sent)."""

    root: dict[str, str] = Field(max_length=50)


class AttributesRead(BaseModel):
    external_id: str
    attributes: dict[str, str] = Field(description="Attribute name -> category")
    sources: dict[str, Source] = Field(
        description="`self`: declared with the person's own credential; `provided`: by HR")
    updated_at: datetime | None


class GroupRate(BaseModel):
    group: str = Field(description="The category (two attributes: `first/second`)")
    suppressed: bool = Field(description="Fewer people than `min_group`: figures withheld")
    n: int | None
    selected: int | None = Field(description="People whose band is one of `outcome`")
    rate: float | None
    impact_ratio: float | None = Field(description="rate / the highest shown group's rate")
    four_fifths: bool | None = Field(description="True when impact_ratio is below 0.8")
    fisher_p: float | None = Field(description="Two-sided Fisher exact test of the group "
                                               "against every other declared person")


class UndeclaredRead(BaseModel):
    n: int
    selected: int
    rate: float | None


class SelectionRead(BaseModel):
    groups: list[GroupRate]
    undeclared: UndeclaredRead = Field(description="People who declared nothing (for two "
                                                   "attributes: not both); never compared")
    highest: str | None = Field(description="The reference group: highest rate shown")


class GapDifference(BaseModel):
    group: str
    n: int
    mean_gap: float | None
    rest_mean_gap: float | None = Field(description="Every other declared person's mean gap")
    difference: float | None = Field(description="mean_gap - rest_mean_gap (positive: the "
                                                 "group is further from the target level)")
    ci95: tuple[float, float] | None = Field(description="Welch's t 95% interval")


class CompetencyGaps(BaseModel):
    competency: str
    groups: list[GapDifference]


class RaterDifference(BaseModel):
    rater_id: str
    group: str
    ratees: int
    mean_difference: float = Field(
        description="Mean of (this rater's rating - other raters' mean for the same ratee "
                    "and competency), per ratee of the group")
    ci95: tuple[float, float] = Field(description="One-sample t 95% interval over the ratees")
    flag: bool = Field(description="The interval excludes 0")
    overall_difference: float = Field(description="The same over all of the rater's ratees")


class AdverseImpactReport(BaseModel):
    cohort: CohortFilters
    attributes: list[str]
    outcome: list[Band]
    min_group: int
    people: int
    selection: dict[Basis, SelectionRead] = Field(
        description="`raw`: the bands as rated; `adjusted`: rater-adjusted with the fits "
                    "`rater_adjustment` names (present when a fit applies to anyone); "
                    "`calibrated`: with locked calibration decisions applied to the raw bands "
                    "(present when the cohort has any)")
    rater_adjustment: dict[str, str | None] | None = Field(
        description="With `selection.adjusted`: per cycle, the id of the stored "
                    "rater-effects fit used (null: the cycle has no fit, nothing adjusted)")
    competencies: list[CompetencyGaps]
    raters: list[RaterDifference]
    notes: list[str]


class AuditEntry(BaseModel):
    id: int
    at: datetime
    principal: str
    action: str
    person: str | None
    query: dict[str, Any]
