"""GraphQL object types: the REST read models field for field (camelCase), plus the relations
portals walk (person -> assessments -> readiness -> gaps -> outlines, person -> manager ->
reports), each resolved through the request's DataLoaders.

Relations are nullable: one the caller may not see (a scope it lacks, a person-bound rule) is
null with an error of its own, and the rest of the answer stands.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar, get_args

import strawberry
from strawberry.scalars import JSON

from .. import versioning
from ..assessments import roles
from ..assessments import schemas as assessment_schemas
from ..assessments.schemas import AssessmentRead
from ..outlines import schemas as outline_schemas
from ..outlines.schemas import OutlineRead, TemplateVersionRead
from ..outlines.schemas import TemplateSummary as TemplateSummaryRead
from ..people.schemas import PersonRead
from ..readiness import schemas as readiness_schemas
from ..readiness.schemas import CohortReport
from ..rubrics.schemas import RubricSummary as RubricSummaryRead
from ..rubrics.schemas import RubricVersionRead

if TYPE_CHECKING:
    from .context import Context  # noqa: F401  (named in the string below; a cycle at runtime)

Info = strawberry.Info["Context", None]  # what resolvers get: info.context is our Context
T = TypeVar("T")


# --- enums (the REST values, so answers compare one to one) ----------------------------------

def enum_of(name: str, values: Iterable[str]) -> type[Enum]:
    """A GraphQL enum whose names are the wire values (``get_args`` of a schema's Literal)."""
    return strawberry.enum(Enum(name, {v: v for v in values}))


VersionStatus = enum_of("VersionStatus", get_args(versioning.Status))
AssessmentStatus = enum_of("AssessmentStatus", get_args(assessment_schemas.Status))
RaterRole = enum_of("RaterRole", (r.value for r in roles.RaterRole))
Band = enum_of("Band", get_args(readiness_schemas.Band))
ConfidenceLevel = enum_of("ConfidenceLevel", get_args(readiness_schemas.ConfidenceLevel))
ReadinessFlag = enum_of("ReadinessFlag", get_args(readiness_schemas.Flag))
OutlineStatus = enum_of("OutlineStatus", get_args(outline_schemas.OutlineStatus))
FieldType = enum_of("FieldType", get_args(outline_schemas.FieldType))


# --- pagination (Relay-style connections over the REST cursors) ------------------------------

@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(description="Always false: pages go forward")
    start_cursor: str | None
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page")


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field(description="The nodes of the edges, for clients that need no cursors")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(cls, items: list[tuple[str, Any]], next_cursor: str | None) -> "Connection":
        """``items``: (cursor, node) pairs in order; ``next_cursor`` from the service."""
        edges = [Edge(cursor=c, node=n) for c, n in items]
        return cls(edges=edges, page_info=PageInfo(
            has_next_page=next_cursor is not None, has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=next_cursor or (edges[-1].cursor if edges else None)))


# --- rubrics -----------------------------------------------------------------------------------

@strawberry.type
class VersionRef:
    key: str
    version: int


@strawberry.type
class ScaleLabel:
    value: str = strawberry.field(description="The scale point, as REST keys it")
    label: str


@strawberry.type
class Scale:
    min: int
    max: int
    labels: list[ScaleLabel]


@strawberry.type
class Level:
    key: str
    name: str
    order: int
    summary: str


@strawberry.type
class Expectation:
    level: str
    proficiency: int
    descriptor: str
    gate: bool
    gate_reason: str | None


@strawberry.type
class Recommendation:
    kind: str
    title: str
    detail: str
    levels: list[str] | None = strawberry.field(
        default=None, description="Target levels the advice is written for; null: every level")
    kind_of_work: str | None = strawberry.field(
        default=None, description="A tour of duty's kind of work: feature, growth or scaling")


@strawberry.type
class Competency:
    key: str
    name: str
    description: str
    weight: float
    quadrant: str | None = strawberry.field(
        description="Prioritisation quadrant of work on this competency")
    leadership_dimensions: list[str]
    expectations: list[Expectation]
    recommendations: list[Recommendation]


def _document(read: RubricVersionRead | TemplateVersionRead) -> dict[str, Any]:
    """What a versioned document's GraphQL type shares: identity, name and lifecycle."""
    return {"key": read.key, "version": read.version, "status": VersionStatus(read.status),
            "name": read.name, "description": read.description,
            **{stamp: getattr(read, stamp)
               for stamp in ("created_at", "updated_at", "published_at", "retired_at")}}


@strawberry.type(description="A rubric version: the ladder of levels and what each expects")
class Rubric:
    key: str
    version: int
    status: VersionStatus
    name: str
    description: str
    policy: str
    scale: Scale
    levels: list[Level]
    competencies: list[Competency]
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    retired_at: datetime | None

    @classmethod
    def of(cls, r: RubricVersionRead) -> "Rubric":
        return cls(
            **_document(r), policy=r.policy,
            scale=Scale(min=r.scale.min, max=r.scale.max,
                        labels=[ScaleLabel(value=k, label=v) for k, v in r.scale.labels.items()]),
            levels=[Level(key=lv.key, name=lv.name, order=lv.order, summary=lv.summary)
                    for lv in r.levels],
            competencies=[Competency(
                key=c.key, name=c.name, description=c.description, weight=c.weight,
                quadrant=c.quadrant, leadership_dimensions=list(c.leadership_dimensions),
                expectations=[Expectation(level=e.level, proficiency=e.proficiency,
                                          descriptor=e.descriptor, gate=e.gate,
                                          gate_reason=e.gate_reason) for e in c.expectations],
                recommendations=[Recommendation(
                    kind=x.kind, title=x.title, detail=x.detail, levels=x.levels,
                    kind_of_work=x.kind_of_work) for x in c.recommendations])
                for c in r.competencies])


@strawberry.type
class RubricSummary:
    key: str
    name: str
    description: str
    latest_version: int
    published_version: int | None
    draft_version: int | None

    @classmethod
    def of(cls, s: RubricSummaryRead | TemplateSummaryRead) -> "RubricSummary":
        return cls(**s.model_dump())


@strawberry.type
class TemplateSummary(RubricSummary):
    pass


# --- readiness ---------------------------------------------------------------------------------

# Types that are a read model field for field derive from it; only enum fields are restated.
@strawberry.experimental.pydantic.type(model=readiness_schemas.Confidence, all_fields=True)
class Confidence:
    level: ConfidenceLevel


@strawberry.experimental.pydantic.type(model=readiness_schemas.CompetencyResult, all_fields=True)
class CompetencyReadiness:
    flags: list[ReadinessFlag]


@strawberry.type
class Gate:
    competency: str
    level: str | None = strawberry.field(description="Rules 2: the level the gate belongs to")
    bar: int | None = strawberry.field(description="Rules 2: the expectation to reach")
    observed_without_self: float | None = strawberry.field(
        description="Rules 2: the competency's value from non-self ratings alone")
    met: bool


@strawberry.type
class UnratedCompetency:
    competency: str
    missing: list[RaterRole] = strawberry.field(description="The roles whose rating is missing")


@strawberry.type
class TopGap:
    competency: str
    gap: float
    recommendations: list[Recommendation]


@strawberry.type
class PathStep:
    competency: str
    from_: float | None = strawberry.field(name="from")
    to: int


@strawberry.type
class PolicyRef:
    name: str
    version: int


@strawberry.type(description="The rater-effects fit an adjusted report was scored with")
class RaterAdjustment:
    fit_id: str | None = strawberry.field(description="null: no fit existed, nothing adjusted")
    raters: int


@strawberry.type(description="The readiness report of DESIGN.md, as REST answers it")
class ReadinessReport:
    score: float
    band: Band
    coverage: float
    current_level: str
    target_level: str
    confidence: Confidence
    competencies: list[CompetencyReadiness] = strawberry.field(
        resolver=lambda root: [CompetencyReadiness.from_pydantic(
            readiness_schemas.CompetencyResult.model_validate(x)) for x in root.raw_competencies])
    gates: list[Gate]
    top_gaps: list[TopGap]
    unrated: list[UnratedCompetency] | None = strawberry.field(
        description="Rules 2: competencies nobody rated (never in topGaps)")
    path_to_ready: list[PathStep]
    path_to_ready_reason: str | None
    policy: PolicyRef
    rubric: VersionRef
    inputs_digest: str
    rater_adjustment: RaterAdjustment | None = None
    # Converted when a query asks for them: most ask for the score and band only.
    raw_competencies: strawberry.Private[list[dict[str, Any]]] = field(
        default_factory=list)

    @classmethod
    def of(cls, r: dict[str, Any]) -> "ReadinessReport":
        return cls(
            score=r["score"], band=Band(r["band"]), coverage=r["coverage"],
            current_level=r["current_level"], target_level=r["target_level"],
            confidence=Confidence.from_pydantic(
                readiness_schemas.Confidence.model_validate(r["confidence"])),
            raw_competencies=r["competencies"],
            gates=[Gate(competency=g["competency"], level=g.get("level"), bar=g.get("bar"),
                        observed_without_self=g.get("observed_without_self"), met=g["met"])
                   for g in r["gates"]],
            top_gaps=[TopGap(competency=g["competency"], gap=g["gap"], recommendations=[
                Recommendation(kind=x["kind"], title=x["title"], detail=x.get("detail", ""))
                for x in g["recommendations"]]) for g in r["top_gaps"]],
            unrated=None if "unrated" not in r else [UnratedCompetency(
                competency=u["competency"], missing=[RaterRole(m) for m in u["missing"]])
                for u in r["unrated"]],
            path_to_ready=[PathStep(competency=p["competency"], from_=p["from"], to=p["to"])
                           for p in r["path_to_ready"]],
            path_to_ready_reason=r.get("path_to_ready_reason"),
            policy=PolicyRef(**r["policy"]), rubric=VersionRef(**r["rubric"]),
            inputs_digest=r["inputs_digest"],
            rater_adjustment=RaterAdjustment(**r["rater_adjustment"])
            if r.get("rater_adjustment") else None)


@strawberry.type
class ReadinessDelta:
    score: float = strawberry.field(description="Simulated score minus current score")
    band_from: Band
    band_to: Band
    band_change: int = strawberry.field(description="Bands gained (+) or lost (-)")


@strawberry.type
class Simulation:
    report: ReadinessReport
    baseline: ReadinessReport
    delta: ReadinessDelta

    @classmethod
    def of(cls, result: dict[str, Any]) -> "Simulation":
        d = result["delta"]
        return cls(report=ReadinessReport.of(result["report"]),
                   baseline=ReadinessReport.of(result["baseline"]),
                   delta=ReadinessDelta(score=d["score"], band_from=Band(d["band_from"]),
                                        band_to=Band(d["band_to"]),
                                        band_change=d["band_change"]))


@strawberry.experimental.pydantic.type(model=readiness_schemas.CohortFilters, all_fields=True)
class CohortFilters:
    pass


@strawberry.type
class BandCount:
    band: Band
    people: int


@strawberry.type
class ScoreDistribution:
    min: float | None
    p10: float | None
    p25: float | None
    median: float | None
    p75: float | None
    p90: float | None
    max: float | None
    mean: float | None


@strawberry.type
class BandGap:
    band: Band
    mean_gap: float | None


@strawberry.type
class HeatRow:
    competency: str
    mean_gap: float = strawberry.field(description="Mean gap over everyone in the cohort")
    by_band: list[BandGap] = strawberry.field(description="Mean gap of the people in each band")


@strawberry.type(description="How ready a population is (REST `GET /v1/cohorts/readiness`)")
class CohortReadiness:
    filters: CohortFilters
    people: int
    bands: list[BandCount]
    score: ScoreDistribution
    heat_map: list[HeatRow]
    rubrics: list[VersionRef]
    rater_adjustment: JSON | None = strawberry.field(
        default=None, description="When the scores are rater-adjusted (the rubric's policy "
                                  "says so): per cycle, the id of the fit used")

    @classmethod
    def of(cls, r: CohortReport) -> "CohortReadiness":
        return cls(
            filters=CohortFilters.from_pydantic(r.filters), people=r.people,
            bands=[BandCount(band=Band(b), people=n) for b, n in r.bands.items()],
            score=ScoreDistribution(**r.score),
            heat_map=[HeatRow(competency=h.competency, mean_gap=h.mean_gap,
                              by_band=[BandGap(band=Band(b), mean_gap=g)
                                       for b, g in h.by_band.items()]) for h in r.heat_map],
            rubrics=[VersionRef(key=v.key, version=v.version) for v in r.rubrics],
            rater_adjustment=r.rater_adjustment)


# --- templates and outlines --------------------------------------------------------------------

@strawberry.type
class TemplateField:
    key: str
    label: str
    type: FieldType
    required: bool
    help: str
    options: list[str] | None
    multiple: bool
    min: int | None
    max: int | None
    max_length: int | None
    max_items: int | None
    rubric: str | None
    group: str | None


@strawberry.type(description="A template version: the typed fields outlines are written in")
class Template:
    key: str
    version: int
    status: VersionStatus
    name: str
    description: str
    fields: list[TemplateField]
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    retired_at: datetime | None

    @classmethod
    def of(cls, t: TemplateVersionRead) -> "Template":
        return cls(**_document(t), fields=[
            TemplateField(**(f.model_dump() | {"type": FieldType(f.type)})) for f in t.fields])


@strawberry.experimental.pydantic.type(model=OutlineRead, all_fields=True)
class _OutlineRead:
    template: VersionRef
    status: OutlineStatus
    values: JSON


# OutlineRead's fields (a subclass, so that `etag` comes after them), and the REST ETag.
@strawberry.type(description="A document written from a published template version")
class Outline(_OutlineRead):
    values: JSON = strawberry.field(description="Field key -> value, as the template defines")
    etag: str = strawberry.field(description="The REST `ETag` of this version of the outline")

    @classmethod
    def of(cls, o: OutlineRead, etag: str) -> "Outline":
        return cls(**dict(o), etag=etag)


# --- people and assessments --------------------------------------------------------------------

@strawberry.type
class Rating:
    competency: str
    rater_role: RaterRole
    rater_id: str | None = strawberry.field(
        description="Hidden (null) on peer ratings for the person assessed")
    proficiency: int
    evidence: str | None


@strawberry.type(description="An assessment of a person against a pinned rubric version")
class Assessment:
    id: uuid.UUID
    person: str = strawberry.field(description="External id of the person assessed")
    rubric: VersionRef
    current_level: str
    target_level: str
    cycle: str
    status: AssessmentStatus
    org_unit: str | None
    ratings: list[Rating]
    supersedes: uuid.UUID | None
    superseded_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    finalized_at: datetime | None
    etag: str = strawberry.field(description="Pass as `ifMatch` to setRatings")

    @classmethod
    def of(cls, a: AssessmentRead, etag: str) -> "Assessment":
        return cls(
            id=a.id, person=a.person, rubric=VersionRef(key=a.rubric.key, version=a.rubric.version),
            current_level=a.current_level, target_level=a.target_level, cycle=a.cycle,
            status=AssessmentStatus(a.status), org_unit=a.org_unit,
            ratings=[Rating(competency=r.competency, rater_role=RaterRole(r.rater_role),
                            rater_id=r.rater_id, proficiency=r.proficiency, evidence=r.evidence)
                     for r in a.ratings],
            supersedes=a.supersedes, superseded_by=a.superseded_by, created_at=a.created_at,
            updated_at=a.updated_at, submitted_at=a.submitted_at, finalized_at=a.finalized_at,
            etag=etag)

    @strawberry.field(description="The person assessed (needs `people:read`); null when the "
                                  "caller may not see them")
    async def subject(self, info: Info) -> "Person | None":
        info.context.require("people:read")
        return await info.context.loaders.person.load(self.person)

    @strawberry.field(description="Readiness for the target level, or for `targetLevel` (needs "
                                  "`readiness:read`): the report stored at finalization, else "
                                  "scored now")
    async def readiness(self, info: Info, target_level: str | None = None
                        ) -> ReadinessReport | None:
        info.context.require("readiness:read")
        return await info.context.loaders.assessment_readiness.load((self.id, target_level))

    @strawberry.field(description="Outlines linked to this assessment, e.g. drafted from its "
                                  "gaps; newest first (needs `outlines:read`)")
    async def opportunities(self, info: Info) -> list[Outline] | None:
        info.context.require("outlines:read")
        return await info.context.loaders.outlines_of_assessment.load(self.id)


@strawberry.type(description="A person as the HRIS syncs them, and what portals show of them")
class Person:
    id: uuid.UUID
    external_id: str
    display_name: str
    email: str | None
    org_unit: str | None
    manager_external_id: str | None
    rubric: str | None = strawberry.field(description="Key of the rubric the person is on")
    level: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    etag: str = strawberry.field(description="Pass as `ifMatch` to upsertPerson")

    @classmethod
    def of(cls, p: PersonRead, etag: str) -> "Person":
        return cls(**p.model_dump(), etag=etag)

    @strawberry.field(description="The manager, when synced and the caller may see them")
    async def manager(self, info: Info) -> "Person | None":
        info.context.require("people:read")
        if self.manager_external_id is None:
            return None
        return await info.context.loaders.person.load(self.manager_external_id)

    @strawberry.field(description="Direct reports the caller may see, by external id")
    async def reports(self, info: Info) -> "list[Person] | None":
        info.context.require("people:read")
        return await info.context.loaders.reports.load(self.external_id)

    @strawberry.field(description="Assessments, oldest first (needs `assessments:read`)")
    async def assessments(self, info: Info, status: AssessmentStatus | None = None,
                          cycle: str | None = None) -> list[Assessment] | None:
        info.context.require("assessments:read")
        found = await info.context.loaders.assessments_of_person.load(self.external_id)
        return [a for a in found if status in (None, a.status) and cycle in (None, a.cycle)]

    @strawberry.field(description="The report of the latest finalized assessment; null when "
                                  "there is none yet (needs `readiness:read`)")
    async def readiness(self, info: Info) -> ReadinessReport | None:
        info.context.require("readiness:read")
        return await info.context.loaders.person_readiness.load(self.external_id)

    @strawberry.field(description="The band decided for the person in the latest locked "
                                  "calibration session; null when none, and always for "
                                  "credentials bound to a person (needs `readiness:read`)")
    async def calibrated_band(self, info: Info) -> "CalibratedBand | None":
        info.context.require("readiness:read")
        return await info.context.loaders.calibrated_band.load(self.external_id)

    @strawberry.field(description="Outlines about this person, newest first (needs "
                                  "`outlines:read`)")
    async def outlines(self, info: Info) -> list[Outline] | None:
        info.context.require("outlines:read")
        return await info.context.loaders.outlines_of_person.load(self.external_id)

    @strawberry.field(description="The latest published version of the person's rubric (needs "
                                  "`rubrics:read`)")
    async def ladder(self, info: Info) -> Rubric | None:
        info.context.require("rubrics:read")
        if self.rubric is None:
            return None
        return await info.context.loaders.rubric.load((self.rubric, None))


@strawberry.type(description="A calibrated band and the locked session that decided it")
class CalibratedBand:
    band: Band
    calibration_id: uuid.UUID


@strawberry.type(description="A person in a calibration session: score and band as rated and "
                             "rater-adjusted, and the calibrated band decided there")
class CalibrationPerson:
    person: str
    assessment_id: uuid.UUID
    score: float
    band: Band
    adjusted_score: float | None
    adjusted_band: Band | None
    calibrated_band: Band | None


@strawberry.type(description="A calibration session over a cycle's cohort")
class Calibration:
    id: uuid.UUID
    cycle: str
    status: str
    created_by: str
    created_at: datetime
    locked_at: datetime | None

    @classmethod
    def of(cls, s: Any) -> "Calibration":
        return cls(id=s.id, cycle=s.cycle, status=s.status, created_by=s.created_by,
                   created_at=s.created_at, locked_at=s.locked_at)

    @strawberry.field(description="Everyone in the session's cohort, with their bands; "
                                  "`fitId` names the rater-effects fit behind adjustedScore")
    async def people(self, info: Info) -> list[CalibrationPerson]:
        return (await info.context.loaders.calibration.load(self.id)).people

    @strawberry.field(description="The rater-effects fit (the cycle's latest) used")
    async def fit_id(self, info: Info) -> uuid.UUID | None:
        return (await info.context.loaders.calibration.load(self.id)).fit_id


@dataclass(frozen=True)
class CalibrationDetail:
    """What a session's people resolve from (loaded once per session and request)."""

    people: list[CalibrationPerson]
    fit_id: uuid.UUID | None


@strawberry.type
class UpsertPersonResult:
    person: Person
    created: bool = strawberry.field(description="True when this call created the person")
