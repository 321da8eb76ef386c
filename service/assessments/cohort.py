"""The cohort read interface of assessments (readiness scores populations through it): each
matching person's latest submitted or finalized assessment with its ratings as arrays, the
people of such a cohort a page at a time, and the rubric versions it pins.

Ratings are read from ``Assessment.ratings_packed``, a derived copy written with
``pack_ratings`` whenever ratings change: reading 10k of these beats joining and converting
hundreds of thousands of rating rows."""

import uuid
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from sqlalchemy import case, func
from sqlmodel import Session, select

from ..rubrics.published import published_rubric
from .models import DRAFT, FINALIZED, SUBMITTED, Assessment, Rating
from .roles import RaterRole


class CohortRow(NamedTuple):
    assessment_id: uuid.UUID
    person: str
    rubric_key: str
    rubric_version: int
    current_level: str
    target_level: str
    cycle: str


class CohortInputs(NamedTuple):
    """Rows, and their ratings as parallel arrays: row index, competency index (in the pinned
    rubric version's order), rater-role code (``RaterRole.code``), proficiency."""

    rows: list[CohortRow]
    r_row: np.ndarray
    r_competency: np.ndarray
    r_role: np.ndarray
    r_proficiency: np.ndarray


def pack_ratings(competencies: Iterable[str], ratings: Iterable[tuple[str, str, float]]
                 ) -> bytes:
    """Ratings as 3 bytes each: competency index, role code, proficiency (scales are 0-100,
    rubrics have at most 100 competencies and role codes are small, so every value fits a
    byte). Role codes never change (roles.py), so stored packs stay valid."""
    index = {key: i for i, key in enumerate(competencies)}
    return bytes(b for c, role, p in ratings
                 for b in (index[c], RaterRole(role).code, int(p)))


def _cohort_query(columns, persons: set[str] | None, filters: dict[str, str | None]):
    """The assessments a cohort chooses among: submitted or finalized, of these persons (None:
    anyone), matching the filters (org_unit, rubric, cycle, current_level, target_level)."""
    A = Assessment
    query = select(*columns).where(A.status.in_((SUBMITTED, FINALIZED)))
    if persons is not None:
        query = query.where(A.person_external_id.in_(sorted(persons)))
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(A, {"rubric": "rubric_key"}.get(name, name)) == value)
    return query


def cohort_inputs(session: Session, *, persons: set[str] | None = None,
                  org_unit: str | None = None, rubric: str | None = None,
                  cycle: str | None = None, current_level: str | None = None,
                  target_level: str | None = None) -> CohortInputs:
    """Each matching person's latest submitted or finalized assessment with its ratings, in
    one query whatever the cohort size: the packed ratings decode straight into arrays."""
    A = Assessment
    latest = func.row_number().over(partition_by=A.person_external_id,
                                    order_by=(A.created_at.desc(), A.id.desc())).label("latest")
    chosen = _cohort_query(
        [A.id, A.person_external_id, A.rubric_key, A.rubric_version, A.current_level,
         A.target_level, A.cycle, A.ratings_packed, latest], persons,
        {"org_unit": org_unit, "rubric": rubric, "cycle": cycle,
         "current_level": current_level, "target_level": target_level}).subquery()
    found = session.exec(select(*list(chosen.c)[:8]).where(chosen.c.latest == 1)
                         .order_by(chosen.c.person_external_id)).all()
    rows = [CohortRow(*r[:7]) for r in found]
    blobs = [r[7] if r[7] is not None else _repack(session, r) for r in found]
    flat = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(-1, 3)
    counts = np.fromiter((len(b) // 3 for b in blobs), np.int64, len(blobs))
    return CohortInputs(rows, np.repeat(np.arange(len(rows)), counts), flat[:, 0].astype(np.int64),
                        flat[:, 1].astype(np.int64), flat[:, 2].astype(np.float64))


def _repack(session: Session, row) -> bytes:
    """Packed ratings of a row written before the column existed (from the rating rows)."""
    version = published_rubric(session, row.rubric_key, row.rubric_version)
    ratings = session.exec(select(Rating.competency, Rating.rater_role, Rating.proficiency)
                           .where(Rating.assessment_id == row.id)).all()
    return pack_ratings(version.competencies, ratings)


def cohort_people(session: Session, *, after: str | None, limit: int,
                  persons: set[str] | None = None, **filters: str | None) -> list[str]:
    """The next ``limit`` people (by external id, after ``after``) that ``cohort_inputs``
    with these filters would score."""
    query = _cohort_query([Assessment.person_external_id], persons, filters).distinct()
    if after is not None:
        query = query.where(Assessment.person_external_id > after)
    return list(session.exec(query.order_by(Assessment.person_external_id).limit(limit)))


def cohort_versions(session: Session, *, persons: set[str] | None = None,
                    **filters: str | None) -> list[tuple[str, int]]:
    """The rubric versions those assessments pin, so a streamed report knows its columns
    before its first row."""
    query = _cohort_query([Assessment.rubric_key, Assessment.rubric_version], persons, filters)
    return sorted(tuple(r) for r in session.exec(query.distinct()))


class RaterRating(NamedTuple):
    assessment_id: uuid.UUID
    person: str
    competency: str
    rater_role: str
    rater_id: str
    proficiency: int


def cohort_rater_ratings(session: Session, *, persons: set[str] | None = None,
                         **filters: str | None) -> list[RaterRating]:
    """The ratings of the assessments ``cohort_inputs`` would choose (each person's latest
    submitted or finalized one), with who rated: rater effects need the rater, which the
    packed copy leaves out. One query."""
    A = Assessment
    latest = func.row_number().over(partition_by=A.person_external_id,
                                    order_by=(A.created_at.desc(), A.id.desc())).label("latest")
    chosen = _cohort_query([A.id, A.person_external_id, latest], persons, filters).subquery()
    query = (select(chosen.c.id, chosen.c.person_external_id, Rating.competency,
                    Rating.rater_role, Rating.rater_id, Rating.proficiency)
             .join(Rating, Rating.assessment_id == chosen.c.id)
             .where(chosen.c.latest == 1)
             .order_by(chosen.c.person_external_id, Rating.id))
    return [RaterRating(*r) for r in session.exec(query)]


class CycleProgress(NamedTuple):
    open: int  # drafts and submitted assessments still in the cycle
    finalized: int
    last_finalized_at: object  # datetime | None


def cycle_progress(session: Session, cycle: str) -> CycleProgress:
    """How far a cycle has come, in one query: a cycle counts as finalized when none of its
    assessments is still a draft or submitted."""
    A = Assessment
    open_ = func.sum(case((A.status.in_((DRAFT, SUBMITTED)), 1), else_=0))
    done = func.sum(case((A.status == FINALIZED, 1), else_=0))
    row = session.exec(select(open_, done, func.max(A.finalized_at)).where(A.cycle == cycle)).one()
    return CycleProgress(int(row[0] or 0), int(row[1] or 0), row[2])


def cohort_inputs_with_raters(session: Session, rows: list, *, persons: set[str] | None = None,
                              **filters: str | None) -> tuple[CohortInputs, np.ndarray]:
    """The ``cohort_inputs`` of these ``rows`` (read by ``cohort_inputs`` with the same
    filters) built from the rating rows, with the rater of each rating (an object array
    beside the others): rater-adjusted scoring needs who rated, which the packed copy leaves
    out. One more query; slower than the packed path, so only when a fit applies."""
    index = {row.assessment_id: i for i, row in enumerate(rows)}
    order: dict[tuple[str, int], dict[str, int]] = {}
    for row in rows:
        version = (row.rubric_key, row.rubric_version)
        if version not in order:
            order[version] = {c: i for i, c in enumerate(
                published_rubric(session, *version).competencies)}
    ratings = cohort_rater_ratings(session, persons=persons, **filters)
    r_row = np.fromiter((index[r.assessment_id] for r in ratings), np.int64, len(ratings))
    r_comp = np.fromiter((order[rows[i].rubric_key, rows[i].rubric_version][r.competency]
                          for i, r in zip(r_row.tolist(), ratings, strict=True)),
                         np.int64, len(ratings))
    r_role = np.fromiter((RaterRole(r.rater_role).code for r in ratings), np.int64,
                         len(ratings))
    r_prof = np.fromiter((r.proficiency for r in ratings), np.float64, len(ratings))
    raters = np.array([r.rater_id for r in ratings], dtype=object)
    return CohortInputs(rows, r_row, r_comp, r_role, r_prof), raters
