"""Readiness wire shapes (DESIGN.md "Wire shapes"). Reports are produced by the scoring package as
canonical JSON; these models document them in the OpenAPI."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .. import versioning
from ..assessments.roles import RaterRole
from ..wire import AsText, Key, Strict

Band = Literal["ready_now", "ready_soon", "developing", "not_yet"]
ConfidenceFactor = Literal["manager", "raters", "agreement", "evidence"]
ConfidenceLevel = Literal["high", "medium", "low"]
Flag = Literal["gate_unmet", "blind_spot", "hidden_strength", "raters_disagree", "no_evidence",
               "unrated"]


class ScoreRatingIn(Strict):
    competency: Key
    rater_role: Annotated[RaterRole, AsText]
    rater_id: Annotated[str, StringConstraints(max_length=200)] | None = None
    proficiency: float = Field(ge=0, le=100, allow_inf_nan=False)
    evidence: Annotated[str, StringConstraints(max_length=5000)] | None = None


class ScoreRubricRef(versioning.DocumentRef):
    pass


PolicyName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class PolicyChoice(Strict):
    name: PolicyName
    version: int | None = Field(None, ge=1, le=1_000_000,
                                description="Default: the latest version of the policy")


POLICY_CHOICE = Field(None, description="Score with this policy (e.g. `{\"name\": \"progress\", "
                      "\"version\": 1}` for the rules before v2); default: the latest "
                      "version of the policy the rubric names")


class ScoreRequest(Strict):
    rubric: ScoreRubricRef
    current_level: Key
    target_level: Key | None = Field(None, description="Default: the next level")
    ratings: list[ScoreRatingIn] = Field(default_factory=list, max_length=5000)
    policy: PolicyChoice | None = POLICY_CHOICE


class SimulateRequest(Strict):
    changes: list[ScoreRatingIn] = Field(
        min_length=1, max_length=5000,
        description="Ratings to add, or to replace where (competency, rater_role, rater_id) match")
    target_level: Key | None = None
    policy: PolicyChoice | None = POLICY_CHOICE


# --- the report (documentation of scoring.score's output) ------------------------------------

class Confidence(BaseModel):
    level: ConfidenceLevel
    value: float
    reasons: list[str]


class CompetencyResult(BaseModel):
    key: str
    weight: float
    expected_current: int
    expected_from: int | None = Field(None, description="Policy rules 2: the bar progress is "
                                      "measured from (the level just below the target)")
    expected_target: int
    observed: float | None = Field(description="Weighted mean of the ratings (rater-adjusted "
                                                "when the report names a fit)")
    observed_raw: float | None = Field(
        None, description="As rated, before rater adjustment (only on adjusted reports)")
    gap: float = Field(description="How far observed is below the target bar; under rules 2 "
                       "0 when unrated (no evidence is not a gap: see `unrated`)")
    progress: float
    contribution: float
    flags: list[Flag]


class GateResult(BaseModel):
    competency: str
    level: str | None = Field(None, description="Rules 2: the level the gate belongs to")
    bar: int | None = Field(None, description="Rules 2: the expectation to reach")
    observed_without_self: float | None = Field(
        None, description="Rules 2: the competency's value from non-self ratings alone")
    met: bool


class UnratedCompetency(BaseModel):
    competency: str
    missing: list[Annotated[RaterRole, AsText]] = Field(
        description="The roles whose rating is missing")


class RecommendationOut(BaseModel):
    kind: str
    title: str
    detail: str = ""


class TopGap(BaseModel):
    competency: str
    gap: float
    recommendations: list[RecommendationOut]


class PathStep(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    competency: str
    from_: float | None = Field(alias="from")
    to: int


class PolicyRef(BaseModel):
    name: str
    version: int


class RubricVersionRef(versioning.VersionPin):
    pass


class RaterAdjustmentRef(BaseModel):
    fit_id: str | None = Field(description="The stored rater-effects fit whose severities were "
                                           "taken off; null when no fit exists (nothing adjusted)")
    raters: int = Field(description="Raters of this assessment the fit adjusted")


class Report(BaseModel):
    score: float = Field(description="0-100: competency-weighted progress from current to target")
    band: Band
    coverage: float = Field(description="SuccessFactors-style share of target expectations met")
    current_level: str
    target_level: str
    confidence: Confidence
    competencies: list[CompetencyResult]
    gates: list[GateResult]
    top_gaps: list[TopGap]
    unrated: list[UnratedCompetency] | None = Field(
        None, description="Rules 2: competencies nobody rated (never in top_gaps)")
    path_to_ready: list[PathStep]
    path_to_ready_reason: str | None
    policy: PolicyRef
    rubric: RubricVersionRef
    inputs_digest: str
    rater_adjustment: RaterAdjustmentRef | None = Field(
        None, description="Present when the policy (or the request) asks for rater adjustment")


class Delta(BaseModel):
    score: float = Field(description="Simulated score minus current score")
    band_from: Band
    band_to: Band
    band_change: int = Field(description="Bands gained (+) or lost (-)")


class SimulationResult(BaseModel):
    report: Report
    baseline: Report
    delta: Delta


# --- policies --------------------------------------------------------------------------------

class PolicyBody(Strict):
    """Scoring parameters; omitted ones keep the defaults of the `progress` policy."""

    role_weights: dict[Annotated[RaterRole, AsText], float] | None = None
    ready_now: float | None = None
    ready_soon: float | None = None
    developing: float | None = None
    blind_spot_steps: float | None = None
    hidden_strength_steps: float | None = None
    confidence_weights: dict[ConfidenceFactor, float] | None = None
    confidence_full_raters: int | None = None
    confidence_max_spread: float | None = None
    confidence_high: float | None = None
    confidence_medium: float | None = None
    rater_adjustment: bool | None = Field(
        None, description="Correct each non-self rating for its rater's severity, from the "
                          "latest rater-effects fit of the assessment's cycle (default off)")
    rules: Literal[1, 2] | None = None
    disagreement_steps: float | None = None
    max_unrated_weight: float | None = None


class PolicyCreate(PolicyBody):
    name: PolicyName


class PolicyRead(BaseModel):
    name: str
    version: int
    parameters: dict
    created_at: datetime | None = None


# --- cohorts ---------------------------------------------------------------------------------

class CohortFilters(BaseModel):
    org_unit: str | None = None
    manager: str | None = None
    rubric: str | None = None
    cycle: str | None = None
    current_level: str | None = None
    target_level: str | None = None


class HeatRow(BaseModel):
    competency: str
    mean_gap: float = Field(description="Mean gap over everyone in the cohort")
    by_band: dict[Band, float | None] = Field(description="Mean gap of the people in each band")


class CohortReport(BaseModel):
    filters: CohortFilters
    people: int
    bands: dict[Band, int]
    score: dict[str, float | None] = Field(description="min, p10, p25, median, p75, p90, max, mean")
    heat_map: list[HeatRow]
    rubrics: list[RubricVersionRef]
    rater_adjustment: dict[str, str | None] | None = Field(
        None, description="When scores are rater-adjusted: per cycle, the id of the stored "
                          "rater-effects fit used (null: the cycle has no fit, nothing adjusted)")


class StoredReport(BaseModel):
    """A report snapshot as stored when its assessment was finalized (it never changes)."""

    id: int
    assessment_id: str
    person: str = Field(description="External id of the person it is about")
    target_level: str
    created_at: datetime = Field(description="When it was stored; its place in the change list")
    # As stored, never re-validated: a snapshot keeps the shape of the `Report` of its day.
    report: dict[str, object] = Field(description="The report as stored (see `Report`)")
