"""Readiness: turns stored rubrics, policies and ratings into scoring inputs, calls the pure
``scoring`` module, and stores the report of a finalized assessment.

Published rubric versions and policy versions never change, so their scoring forms are cached
per process; only "which version is the latest" is asked of the database each time.
"""

import csv
import io
import json
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

from ..assessments import service as assessments
from ..auth.principal import Principal
from ..cache import LRU, db_key
from ..people import service as people
from ..problems import FieldError, InvalidInput, NotFound, ProblemError
from ..rubrics import service as rubrics
from ..rubrics.models import DRAFT
from ..rubrics.schemas import RubricCreate
from . import scoring
from .models import ReadinessPolicy, ReadinessReport
from .schemas import (
    CohortFilters,
    CohortReport,
    HeatRow,
    PolicyCreate,
    PolicyRead,
    RatingIn,
    ScoreRequest,
    SimulateRequest,
)

DEFAULT_POLICY_NAME = scoring.DEFAULT_POLICY.name


_specs = LRU(256)
_policies = LRU(256)


def clear_caches() -> None:
    _specs.clear()
    _policies.clear()


def invalid(error: scoring.ScoringInputError, prefix: str = "") -> InvalidInput:
    return InvalidInput("The scoring inputs are invalid.", [
        FieldError(field=prefix + path, message=msg) for path, msg in error.errors])


# --- rubrics as scoring input ------------------------------------------------------------------

def to_spec(doc: RubricCreate, version: int) -> scoring.RubricSpec:
    levels = tuple(lv.key for lv in doc.levels)
    competencies = []
    for comp in doc.competencies:
        by_level = {e.level: e for e in comp.expectations}
        competencies.append(scoring.CompetencySpec(
            key=comp.key, weight=comp.weight,
            expected=tuple(by_level[lv].proficiency for lv in levels),
            gates=frozenset(e.level for e in comp.expectations if e.gate),
            recommendations=tuple(scoring.Recommendation(r.kind, r.title, r.detail)
                                  for r in comp.recommendations),
        ))
    return scoring.RubricSpec(key=doc.key, version=version, scale_min=doc.scale.min,
                              scale_max=doc.scale.max, levels=levels,
                              competencies=tuple(competencies))


def rubric_spec(session: Session, key: str, version: int | None = None
                ) -> tuple[scoring.RubricSpec, str]:
    """(scoring form, policy name) of a published (or retired) rubric version."""
    if version is None:
        version = rubrics.latest_published_number(session, key)
    cache_key = (db_key(session), key, version)
    if (cached := _specs.get(cache_key)) is not None:
        return cached
    found = rubrics.get_version(session, key, version)
    if found.status == DRAFT:  # drafts change; only published content is scored (and cached)
        raise InvalidInput.field("rubric.version",
                                 f"version {version} of '{key}' is a draft; publish it first")
    doc = rubrics.to_content(found, key)
    return _specs.put(cache_key, (to_spec(doc, version), doc.policy))


# --- policies ----------------------------------------------------------------------------------

def _policy_row(session: Session, name: str, version: int | None) -> ReadinessPolicy | None:
    query = select(ReadinessPolicy).where(ReadinessPolicy.name == name)
    if version is not None:
        query = query.where(ReadinessPolicy.version == version)
    return session.exec(query.order_by(ReadinessPolicy.version.desc()).limit(1)).first()


def get_policy(session: Session, name: str, version: int | None = None) -> scoring.Policy:
    """A policy by name (latest version unless given). ``progress`` v1 is built in."""
    if version is None:  # one scalar query; the versions themselves never change
        version = session.exec(select(func.max(ReadinessPolicy.version)).where(
            ReadinessPolicy.name == name)).one()
        if version is None and name == DEFAULT_POLICY_NAME:
            return scoring.DEFAULT_POLICY
    cache_key = (db_key(session), name, version)
    if (cached := _policies.get(cache_key)) is not None:
        return cached
    row = _policy_row(session, name, version) if version is not None else None
    if row is None:
        if name == DEFAULT_POLICY_NAME and version == 1:
            return scoring.DEFAULT_POLICY
        raise NotFound(f"No readiness policy '{name}'" + (f" version {version}." if version
                                                          else "."))
    return _policies.put(cache_key, scoring.Policy.from_dict(
        row.body | {"name": name, "version": row.version}))


def policy_read(policy: scoring.Policy, created_at=None) -> PolicyRead:
    params = {k: v for k, v in policy.to_dict().items() if k not in ("name", "version")}
    return PolicyRead(name=policy.name, version=policy.version, parameters=params,
                      created_at=created_at)


def list_policies(session: Session) -> list[PolicyRead]:
    rows = session.exec(select(ReadinessPolicy).order_by(ReadinessPolicy.name,
                                                         ReadinessPolicy.version)).all()
    out = [policy_read(get_policy(session, r.name, r.version), r.created_at) for r in rows]
    if not any(r.name == DEFAULT_POLICY_NAME for r in rows):
        out.insert(0, policy_read(scoring.DEFAULT_POLICY))
    return out


def create_policy_version(session: Session, data: PolicyCreate) -> PolicyRead:
    """The next version of a policy: the previous version's parameters with these changes."""
    previous = _policy_row(session, data.name, None)
    if previous is not None:
        base = get_policy(session, data.name, previous.version)
    elif data.name == DEFAULT_POLICY_NAME:
        base = scoring.DEFAULT_POLICY
    else:  # a new name starts from the default parameters as its version 1
        base = None
    changes = data.model_dump(exclude={"name"}, exclude_none=True)
    params = {k: v for k, v in (base or scoring.DEFAULT_POLICY).to_dict().items()
              if k not in ("name", "version")} | changes
    version = base.version + 1 if base is not None else 1
    try:
        policy = scoring.Policy.from_dict(params | {"name": data.name, "version": version})
    except scoring.ScoringInputError as exc:
        raise InvalidInput("The policy is invalid.", [
            FieldError(field=path.removeprefix("policy."), message=msg)
            for path, msg in exc.errors]) from exc
    row = ReadinessPolicy(name=data.name, version=version, body=params)
    session.add(row)
    session.flush()
    return policy_read(policy, row.created_at)


def ensure_default_policy(session: Session) -> str:
    """Store ``progress`` v1 as data (idempotent), so it is listed and versioned like others."""
    if _policy_row(session, DEFAULT_POLICY_NAME, 1) is not None:
        return "policy progress: up to date"
    body = {k: v for k, v in scoring.DEFAULT_POLICY.to_dict().items()
            if k not in ("name", "version")}
    session.add(ReadinessPolicy(name=DEFAULT_POLICY_NAME, version=1, body=body))
    session.flush()
    return "policy progress: stored version 1"


# --- scoring -----------------------------------------------------------------------------------

def to_ratings(ratings: Iterable[RatingIn | Any]) -> list[scoring.Rating]:
    return [scoring.Rating(r.competency, r.rater_role, r.rater_id, r.proficiency, r.evidence)
            for r in ratings]


def score(session: Session, rubric_key: str, rubric_version: int | None, current_level: str,
          ratings: Sequence[scoring.Rating], target_level: str | None = None,
          policy: scoring.Policy | None = None) -> dict[str, Any]:
    spec, policy_name = rubric_spec(session, rubric_key, rubric_version)
    policy = policy or get_policy(session, policy_name)
    try:
        return scoring.score(spec, current_level, ratings, target_level, policy)
    except scoring.ScoringInputError as exc:
        raise invalid(exc) from exc


def score_request(session: Session, body: ScoreRequest) -> bytes:
    """The stateless ``POST /v1/readiness:score``: nothing is stored."""
    report = score(session, body.rubric.key, body.rubric.version, body.current_level,
                   to_ratings(body.ratings), body.target_level)
    return scoring.canonical_json(report)


def parse_report(raw: str | bytes) -> dict[str, Any]:
    return json.loads(raw)


# --- assessments -------------------------------------------------------------------------------

def _require_subject_access(principal: Principal, person: str) -> None:
    """Person-bound principals see only their own readiness (404: existence does not leak)."""
    if principal.person is not None and principal.person != person:
        raise NotFound("No such readiness report.")


def _live_report(session: Session, assessment, target_level: str | None,
                 changes: Sequence[scoring.Rating] = ()) -> dict[str, Any]:
    inputs = assessments.scoring_inputs(session, assessment)
    ratings = to_ratings(inputs.ratings)
    if changes:
        ratings = list(scoring.apply_changes(ratings, changes))
    return score(session, inputs.rubric_key, inputs.rubric_version, inputs.current_level,
                 ratings, target_level or inputs.target_level)


def _snapshot(session: Session, assessment_id: uuid.UUID, target_level: str
              ) -> ReadinessReport | None:
    return session.exec(select(ReadinessReport).where(
        ReadinessReport.assessment_id == assessment_id,
        ReadinessReport.target_level == target_level)).first()


def assessment_report(session: Session, assessment_id: uuid.UUID, principal: Principal,
                      target_level: str | None = None) -> bytes:
    """A finalized assessment answers with the report stored when it was finalized."""
    assessment = assessments.get_assessment(session, assessment_id, principal)
    _require_subject_access(principal, assessment.person_external_id)
    if assessment.status == assessments.FINALIZED and target_level in (
            None, assessment.target_level):
        stored = _snapshot(session, assessment.id, assessment.target_level)
        if stored is not None:
            return stored.report.encode()
    return scoring.canonical_json(_live_report(session, assessment, target_level))


def _check_changes(spec: scoring.RubricSpec, changes: Sequence[RatingIn]) -> None:
    known = {c.key for c in spec.competencies}
    errors = []
    for i, change in enumerate(changes):
        if change.competency not in known:
            errors.append(FieldError(field=f"changes[{i}].competency",
                                     message=f"not a competency of {spec.key} v{spec.version}"))
        if not spec.scale_min <= change.proficiency <= spec.scale_max:
            errors.append(FieldError(field=f"changes[{i}].proficiency",
                                     message=f"must be within {spec.scale_min}..{spec.scale_max}"))
    if errors:
        raise InvalidInput("The rating changes are invalid.", errors)


def simulate(session: Session, assessment_id: uuid.UUID, principal: Principal,
             body: SimulateRequest) -> dict[str, Any]:
    """What-if: the report with these rating changes, beside the current one. Stores nothing."""
    assessment = assessments.get_assessment(session, assessment_id, principal)
    _require_subject_access(principal, assessment.person_external_id)
    spec, _ = rubric_spec(session, assessment.rubric_key, assessment.rubric_version)
    _check_changes(spec, body.changes)
    baseline = _live_report(session, assessment, body.target_level)
    report = _live_report(session, assessment, body.target_level, to_ratings(body.changes))
    rank = {band: i for i, band in enumerate(scoring.BANDS)}
    return {"report": report, "baseline": baseline, "delta": {
        "score": round(report["score"] - baseline["score"], 1),
        "band_from": baseline["band"], "band_to": report["band"],
        "band_change": rank[baseline["band"]] - rank[report["band"]],
    }}


def person_report(session: Session, external_id: str, principal: Principal) -> bytes:
    """The report of the person's latest finalized assessment."""
    _require_subject_access(principal, external_id)
    people.get_person(session, external_id)
    latest = session.exec(
        select(ReadinessReport).where(ReadinessReport.person == external_id)
        .order_by(ReadinessReport.created_at.desc(), ReadinessReport.id.desc()).limit(1)
    ).first()
    if latest is None:
        raise NotFound(f"Person '{external_id}' has no finalized assessment yet, so no "
                       "readiness report; GET /v1/assessments/{id}/readiness scores a draft.")
    return latest.report.encode()


# --- cohorts -----------------------------------------------------------------------------------

QUANTILES = (("min", 0), ("p10", 10), ("p25", 25), ("median", 50), ("p75", 75), ("p90", 90),
             ("max", 100))


@dataclass
class CohortResult:
    """Everyone's score, band and gaps, plus the aggregate answer (CohortReport)."""

    report: CohortReport
    rows: list[Any]  # assessments.CohortRow, in the order of the arrays below
    scores: np.ndarray
    bands: np.ndarray
    gate_unmet: np.ndarray
    competencies: list[str]
    gaps: np.ndarray  # people x competencies (NaN where a person's rubric lacks it)


def _score_group(session: Session, key: str, version: int, inputs, members: np.ndarray
                 ) -> tuple[scoring.CohortScores, scoring.RubricSpec]:
    """Score every assessment of one rubric version at once (arrays in, arrays out)."""
    spec, policy_name = rubric_spec(session, key, version)
    policy = get_policy(session, policy_name)
    level = {lv: i for i, lv in enumerate(spec.levels)}
    rows = [inputs.rows[i] for i in members]
    local = np.full(len(inputs.rows), -1)
    local[members] = np.arange(len(members))
    mine = local[inputs.r_row] >= 0
    # Stored role indices follow assessments.RATER_ROLES; the policy orders roles its own way.
    policy_role = {r: i for i, (r, _) in enumerate(policy.role_weights)}
    role_map = np.array([policy_role[r] for r in assessments.RATER_ROLES])
    try:
        return scoring.score_cohort(
            spec,
            np.fromiter((level[r.current_level] for r in rows), np.int64, len(rows)),
            np.fromiter((level[r.target_level] for r in rows), np.int64, len(rows)),
            local[inputs.r_row[mine]], inputs.r_competency[mine],
            role_map[inputs.r_role[mine]], inputs.r_proficiency[mine], policy,
        ), spec
    except scoring.ScoringInputError as exc:  # stored data no longer fits (should not happen)
        raise invalid(exc, prefix="cohort.") from exc


def _cohort_persons(session: Session, principal: Principal, filters: CohortFilters,
                    only: Collection[str] | None = None) -> set[str] | None:
    """Whom a cohort may include (None: anyone): a manager's reports, a person-bound
    principal's own person, ``only`` (a page of a streamed report)."""
    persons = None
    for allowed in (people.reports_of(session, filters.manager) if filters.manager else None,
                    {principal.person} if principal.person is not None else None,
                    set(only) if only is not None else None):
        if allowed is not None:
            persons = allowed if persons is None else persons & allowed
    return persons


def cohort(session: Session, principal: Principal, filters: CohortFilters,
           only: Collection[str] | None = None) -> CohortResult:
    """Readiness of a population: the latest submitted or finalized assessment of each person
    matching the filters, scored together per rubric version (a few queries, no per-row I/O)."""
    persons = _cohort_persons(session, principal, filters, only)
    inputs = assessments.cohort_inputs(
        session, persons=persons, org_unit=filters.org_unit, rubric=filters.rubric,
        cycle=filters.cycle, current_level=filters.current_level,
        target_level=filters.target_level)

    groups: dict[tuple[str, int], list[int]] = {}
    for i, row in enumerate(inputs.rows):
        groups.setdefault((row.rubric_key, row.rubric_version), []).append(i)

    order: list[int] = []
    scores, bands, gates, gap_blocks, competencies = [], [], [], [], {}
    for (key, version), members in groups.items():
        result, spec = _score_group(session, key, version, inputs, np.array(members))
        for c in spec.competencies:
            competencies.setdefault(c.key, len(competencies))
        order += members
        scores.append(result.score)
        bands.append(result.band)
        gates.append(result.gate_unmet)
        gap_blocks.append((spec, result.gap))

    keys = list(competencies)
    gaps = np.full((len(order), len(keys)), np.nan)
    start = 0
    for spec, block in gap_blocks:
        cols = [competencies[c.key] for c in spec.competencies]
        gaps[start:start + len(block), cols] = block
        start += len(block)
    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    all_bands = np.concatenate(bands) if bands else np.zeros(0, np.int8)
    rows = [inputs.rows[i] for i in order]
    report = CohortReport(
        filters=filters, people=len(rows),
        bands={b: int((all_bands == i).sum()) for i, b in enumerate(scoring.BANDS)},
        score=_distribution(all_scores),
        heat_map=[_heat_row(k, gaps[:, j], all_bands) for j, k in enumerate(keys)],
        rubrics=[{"key": k, "version": v} for k, v in groups],
    )
    return CohortResult(report, rows, all_scores, all_bands,
                        np.concatenate(gates) if gates else np.zeros(0, bool), keys, gaps)


def _mean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return round(float(values.mean()), 2) if values.size else None


def _distribution(scores: np.ndarray) -> dict[str, float | None]:
    if scores.size == 0:
        return {name: None for name, _ in QUANTILES} | {"mean": None}
    points = np.percentile(scores, [q for _, q in QUANTILES])
    return ({name: round(float(p), 1) for (name, _), p in zip(QUANTILES, points, strict=True)}
            | {"mean": round(float(scores.mean()), 1)})


def _heat_row(key: str, gaps: np.ndarray, bands: np.ndarray) -> HeatRow:
    return HeatRow(competency=key, mean_gap=_mean(gaps) or 0.0,
                   by_band={b: _mean(gaps[bands == i]) for i, b in enumerate(scoring.BANDS)})


def cohort_csv(result: CohortResult) -> Iterator[str]:
    """One row per person: who, which assessment, score, band, and the gap per competency."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["external_id", "assessment_id", "rubric", "rubric_version", "cycle",
                     "current_level", "target_level", "score", "band", "gate_unmet",
                     *[f"gap:{k}" for k in result.competencies]])
    for i, row in enumerate(result.rows):
        writer.writerow([row.person, row.assessment_id, row.rubric_key, row.rubric_version,
                         row.cycle, row.current_level, row.target_level,
                         f"{result.scores[i]:.1f}", scoring.BANDS[result.bands[i]],
                         str(bool(result.gate_unmet[i])).lower(),
                         *["" if np.isnan(g) else f"{g:.4g}" for g in result.gaps[i]]])
        if i % 500 == 499:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


COHORT_PAGE = 1000


def cohort_csv_pages(engine, principal: Principal, filters: CohortFilters) -> Iterator[str]:
    """``cohort_csv`` at constant memory, whatever the cohort's size: people a page at a time
    (each page scored by ``cohort``, in a short session of its own), the gap columns those of
    every rubric version the cohort pins (known before the first row)."""
    from ..assessments import batch as assessment_pages
    from ..db import open_session

    wanted = filters.model_dump(exclude={"manager"})
    with open_session(engine) as session:
        persons = _cohort_persons(session, principal, filters)
        keys: dict[str, int] = {}
        for key, version in assessment_pages.cohort_versions(session, persons=persons,
                                                             **wanted):
            for c in rubric_spec(session, key, version)[0].competencies:
                keys.setdefault(c.key, len(keys))
    yield "".join(cohort_csv(CohortResult(None, [], *(np.zeros(0),) * 3, list(keys),
                                          np.zeros((0, len(keys))))))  # the header
    after = None
    while True:
        with open_session(engine) as session:
            page = assessment_pages.cohort_people(session, after=after, limit=COHORT_PAGE,
                                                  persons=persons, **wanted)
            if not page:
                return
            result = cohort(session, principal, filters, only=page)
        gaps = np.full((len(result.rows), len(keys)), np.nan)
        gaps[:, [keys[k] for k in result.competencies]] = result.gaps
        chunks = cohort_csv(CohortResult(result.report, result.rows, result.scores,
                                         result.bands, result.gate_unmet, list(keys), gaps))
        yield next(chunks).split("\n", 1)[1]  # less its header, written once above
        yield from chunks
        after = page[-1]


def assessment_subject(session: Session, assessment_id: uuid.UUID) -> str:
    """The external id of the person an assessment is about (callers have authorised)."""
    return assessments.get_assessment(session, assessment_id, None).person_external_id


# --- batches (GraphQL DataLoaders: a constant number of queries for a whole page) ----------------

ReportKey = tuple[uuid.UUID, str | None]  # (assessment id, target level or None: its own)


def assessment_reports(session: Session, wanted: Collection[ReportKey], principal: Principal
                       ) -> dict[ReportKey, dict[str, Any] | ProblemError]:
    """``assessment_report`` for many (assessment, target level) pairs at once: the snapshots of
    finalized assessments in one query, everything else scored in memory, with rubric specs
    and policies resolved once per version and name rather than once per assessment. A pair
    that ``assessment_report`` would refuse gets its error as the value."""
    found = assessments.get_assessments(session, {a for a, _ in wanted}, principal)
    finalized = [a.id for a in found.values() if a.status == assessments.FINALIZED]
    stored = {(r.assessment_id, r.target_level): r.report for r in session.exec(
        select(ReadinessReport).where(ReadinessReport.assessment_id.in_(finalized)))
    } if finalized else {}
    policies: dict[str, scoring.Policy] = {}
    out: dict[ReportKey, dict[str, Any] | ProblemError] = {}
    for key in wanted:
        assessment_id, target_level = key
        assessment = found.get(assessment_id)
        try:
            if assessment is None:
                raise NotFound(f"No assessment with id '{assessment_id}'.")
            _require_subject_access(principal, assessment.person_external_id)
            snapshot = stored.get((assessment.id, assessment.target_level)) if (
                assessment.status == assessments.FINALIZED
                and target_level in (None, assessment.target_level)) else None
            out[key] = (parse_report(snapshot) if snapshot is not None
                        else _live_with(session, assessment, target_level, policies))
        except ProblemError as exc:
            out[key] = exc
    return out


def _live_with(session: Session, assessment, target_level: str | None,
               policies: dict[str, scoring.Policy]) -> dict[str, Any]:
    """``_live_report`` with the policy looked up once per batch (``get_policy`` asks the
    database for the latest version on every call)."""
    inputs = assessments.scoring_inputs(session, assessment)
    _, policy_name = rubric_spec(session, inputs.rubric_key, inputs.rubric_version)
    if policy_name not in policies:
        policies[policy_name] = get_policy(session, policy_name)
    return score(session, inputs.rubric_key, inputs.rubric_version, inputs.current_level,
                 to_ratings(inputs.ratings), target_level or inputs.target_level,
                 policies[policy_name])


def latest_reports(session: Session, persons: Collection[str], principal: Principal
                   ) -> dict[str, dict[str, Any] | ProblemError | None]:
    """``person_report`` for many people in one query: the report of each one's latest
    finalized assessment, None when there is none yet, and NotFound where a person-bound
    principal reaches for someone else."""
    allowed = [p for p in persons if principal.person in (None, p)]
    out: dict[str, dict[str, Any] | ProblemError | None] = {
        p: NotFound("No such readiness report.") for p in persons if p not in allowed}
    out |= {p: None for p in allowed}
    if allowed:
        latest = func.row_number().over(
            partition_by=ReadinessReport.person,
            order_by=(ReadinessReport.created_at.desc(), ReadinessReport.id.desc())
        ).label("latest")
        ranked = select(ReadinessReport.person, ReadinessReport.report, latest).where(
            ReadinessReport.person.in_(sorted(allowed))).subquery()
        for person, report in session.exec(
                select(ranked.c.person, ranked.c.report).where(ranked.c.latest == 1)):
            out[person] = parse_report(report)
    return out
