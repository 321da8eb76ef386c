"""Rubric wire shapes. ``RubricCreate`` is also the import/export document.

Shapes and types are checked here (422 on any request); the cross-field rules (unique keys,
complete and non-decreasing expectations...) are checked when a version is published or
imported, so a draft can be built up in steps."""

from typing import Annotated, Literal, get_args

from pydantic import Field, StringConstraints

from .. import versioning
from ..wire import Key, Name, Strict, Text

Status = versioning.Status
RecommendationKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,63}$")]
# The prioritisation quadrant and the five leadership dimensions of the seeds, and the kinds of
# product work a tour of duty can move into. Outline templates offer the same values.
Quadrant = Literal["improve_products", "improve_relationships", "organisational_debt",
                   "organisational_innovation"]
LeadershipDimension = Literal["self", "people", "organisational_improvement", "time", "value"]
KindOfWork = Literal["feature", "growth", "scaling"]
QUADRANTS, DIMENSIONS, KINDS_OF_WORK = (get_args(t) for t in (Quadrant, LeadershipDimension,
                                                                KindOfWork))
TOUR_OF_DUTY = "tour_of_duty"


class Scale(Strict):
    min: int = Field(ge=0, le=100)
    max: int = Field(ge=0, le=100)
    labels: dict[str, Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=dict, description="Label per scale point, keyed by the number as text")


class Level(Strict):
    key: Key
    name: Name
    order: int = Field(ge=0, le=1000)
    summary: Text = ""


class ExpectationDoc(Strict):
    level: Key
    proficiency: int = Field(ge=0, le=100)
    descriptor: Text = ""
    gate: bool = Field(False, description="Must be met to reach this level")
    gate_reason: Text | None = None


class RecommendationDoc(Strict):
    kind: RecommendationKind = Field(description="e.g. tour_of_duty, mentoring, thought_leadership")
    title: Name
    detail: Text = ""
    levels: list[Key] | None = Field(
        None, max_length=50,
        description="Target levels this advice is written for; left out: every level")
    kind_of_work: KindOfWork | None = Field(
        None, description="A `tour_of_duty` recommendation: the kind of product work the tour "
                          "moves into")


class CompetencyDoc(Strict):
    key: Key
    name: Name
    description: Text = ""
    weight: float = Field(1.0, allow_inf_nan=False)
    quadrant: Quadrant | None = Field(
        None, description="Prioritisation quadrant that work on this competency belongs to")
    leadership_dimensions: list[LeadershipDimension] = Field(
        default_factory=list, max_length=5,
        description="Leadership dimensions that work on this competency exercises")
    expectations: list[ExpectationDoc] = Field(default_factory=list, max_length=100)
    recommendations: list[RecommendationDoc] = Field(default_factory=list, max_length=50)


class RubricContent(Strict):
    name: Name
    description: Text = ""
    policy: Key = Field("progress", description="Readiness policy this rubric is scored with")
    scale: Scale
    levels: list[Level] = Field(default_factory=list, max_length=50)
    competencies: list[CompetencyDoc] = Field(default_factory=list, max_length=100)


class RubricCreate(RubricContent):
    """A rubric document: what create and import take and what export gives."""

    key: Key


class RubricUpdate(RubricContent):
    """Full replacement of a draft's content."""


class RubricVersionRead(versioning.VersionStamps, RubricCreate):
    pass


class VersionSummary(versioning.VersionSummaryBase):
    pass


class RubricSummary(versioning.DocumentSummaryBase):
    pass
