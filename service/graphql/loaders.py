"""DataLoaders, made afresh for every request (never module-level: they cache what one
principal may see). Each batch function makes one call to a domain service's batch function,
so a page of N people costs the same number of SQL statements whatever N is.

Batch functions convert ORM rows to GraphQL objects inside ``Context.run`` (the thread that
holds the session), so resolvers never touch the ORM.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.dataloader import DataLoader

from ..assessments import service as assessments
from ..calibration import locked, sessions
from ..outlines import service as outlines
from ..people import service as people
from ..problems import NotFound, ProblemError
from ..readiness import reports as readiness
from ..rubrics import service as rubrics
from ..rubrics.schemas import RubricVersionRead
from .types import (
    Assessment,
    Band,
    CalibratedBand,
    CalibrationDetail,
    CalibrationPerson,
    Outline,
    Person,
    ReadinessReport,
    Rubric,
)

if TYPE_CHECKING:
    from .context import Context

K = TypeVar("K")
V = TypeVar("V")


# --- conversions (ORM rows to GraphQL objects, by the services' own read models) -------------

def person_of(row) -> Person:
    return Person.of(people.to_read(row), people.person_etag(row))


def assessment_of(row, ctx: "Context") -> Assessment:
    return Assessment.of(assessments.to_read(row, ctx.principal), assessments.assessment_etag(row))


def outline_of(row) -> Outline:
    return Outline.of(outlines.to_read(row), outlines.outline_etag(row))


def report_of(value: dict[str, Any] | ProblemError | None) -> ReadinessReport | ProblemError | None:
    return value if value is None or isinstance(value, ProblemError) else ReadinessReport.of(value)


# --- batch functions (run in the session's thread) ---------------------------------------------

def _people(ctx: "Context", ids: list[str]) -> list[Person | None]:
    found = people.get_people(ctx.session, ids, ctx.principal)
    return [person_of(found[i]) if i in found else None for i in ids]


def _reports(ctx: "Context", managers: list[str]) -> list[list[Person]]:
    found = people.reports_of_many(ctx.session, managers, ctx.principal)
    return [[person_of(p) for p in found[m]] for m in managers]


def _assessments_of(ctx: "Context", persons: list[str]) -> list[list[Assessment]]:
    found = assessments.assessments_of_people(ctx.session, persons, ctx.principal)
    return [[assessment_of(a, ctx) for a in found[p]] for p in persons]


def _assessments(ctx: "Context", ids: list[uuid.UUID]) -> list[Assessment | ProblemError]:
    found = assessments.get_assessments(ctx.session, ids, ctx.principal)
    return [assessment_of(found[i], ctx) if i in found
            else NotFound(f"No assessment with id '{i}'.") for i in ids]


def _assessment_readiness(ctx: "Context", keys: list[readiness.ReportKey]
                          ) -> list[ReadinessReport | ProblemError | None]:
    found = readiness.assessment_reports(ctx.session, keys, ctx.principal)
    return [report_of(found[k]) for k in keys]


def _person_readiness(ctx: "Context", persons: list[str]
                      ) -> list[ReadinessReport | ProblemError | None]:
    found = readiness.latest_reports(ctx.session, persons, ctx.principal)
    return [report_of(found[p]) for p in persons]


def _calibrated_bands(ctx: "Context", persons: list[str]) -> list[CalibratedBand | None]:
    found = locked.calibrated_people(ctx.session, ctx.principal, persons)
    return [CalibratedBand(band=Band(found[p][0]), calibration_id=found[p][1])
            if p in found else None for p in persons]


def _band(value: str | None) -> Band | None:
    return None if value is None else Band(value)


def _calibrations(ctx: "Context", ids: list[uuid.UUID]
                  ) -> list[CalibrationDetail | ProblemError]:
    """Each session's people (the REST answer's, same service call)."""
    out: list[CalibrationDetail | ProblemError] = []
    for i in ids:
        try:
            read = sessions.read(ctx.session, ctx.principal,
                                 sessions.get(ctx.session, ctx.principal, i))
        except ProblemError as exc:
            out.append(exc)
            continue
        out.append(CalibrationDetail(fit_id=read.fit_id, people=[CalibrationPerson(
            person=p.person, assessment_id=p.assessment_id, score=p.score, band=Band(p.band),
            adjusted_score=p.adjusted_score, adjusted_band=_band(p.adjusted_band),
            calibrated_band=_band(p.calibrated_band)) for p in read.people]))
    return out


def _outlines_of_person(ctx: "Context", persons: list[str]) -> list[list[Outline]]:
    found = outlines.outlines_about(ctx.session, persons, ctx.principal)
    return [[outline_of(o) for o in found[p]] for p in persons]


def _outlines_of_assessment(ctx: "Context", ids: list[uuid.UUID]) -> list[list[Outline]]:
    found = outlines.outlines_of_assessments(ctx.session, ids, ctx.principal)
    return [[outline_of(o) for o in found[i]] for i in ids]


def _rubrics(ctx: "Context", keys: list[tuple[str, int | None]]) -> list[Rubric | ProblemError]:
    """One rubric document per distinct (key, version): a page of people shares a few."""
    out: list[Rubric | ProblemError] = []
    for key, version in keys:
        try:
            body, _ = rubrics.document(ctx.session, key, version)
        except ProblemError as exc:
            out.append(exc)
        else:
            out.append(Rubric.of(RubricVersionRead.model_validate_json(body)))
    return out


def _loader(ctx: "Context", batch: Callable[["Context", list[K]], Sequence[V]]
            ) -> DataLoader[K, V]:
    def load(keys: list[K]) -> Awaitable[Sequence[V]]:
        return ctx.run(batch, ctx, list(keys))
    return DataLoader(load_fn=load)


@dataclass(frozen=True)
class Loaders:
    person: DataLoader[str, Person | None]
    reports: DataLoader[str, list[Person]]
    assessments_of_person: DataLoader[str, list[Assessment]]
    assessment: DataLoader[uuid.UUID, Assessment]
    assessment_readiness: DataLoader[readiness.ReportKey, ReadinessReport]
    person_readiness: DataLoader[str, ReadinessReport | None]
    outlines_of_person: DataLoader[str, list[Outline]]
    outlines_of_assessment: DataLoader[uuid.UUID, list[Outline]]
    rubric: DataLoader[tuple[str, int | None], Rubric]
    calibrated_band: DataLoader[str, CalibratedBand | None]
    calibration: DataLoader[uuid.UUID, CalibrationDetail]

    @classmethod
    def create(cls, ctx: "Context") -> "Loaders":
        return cls(
            person=_loader(ctx, _people),
            reports=_loader(ctx, _reports),
            assessments_of_person=_loader(ctx, _assessments_of),
            assessment=_loader(ctx, _assessments),
            assessment_readiness=_loader(ctx, _assessment_readiness),
            person_readiness=_loader(ctx, _person_readiness),
            outlines_of_person=_loader(ctx, _outlines_of_person),
            outlines_of_assessment=_loader(ctx, _outlines_of_assessment),
            rubric=_loader(ctx, _rubrics),
            calibrated_band=_loader(ctx, _calibrated_bands),
            calibration=_loader(ctx, _calibrations),
        )
