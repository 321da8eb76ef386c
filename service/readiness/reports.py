"""Readiness reports: the stateless scorer, live and stored reports of assessments and
people, what-if simulations, and the same for a whole GraphQL page at once. Turns stored
rubrics, policies and ratings into scoring inputs and calls the pure ``scoring`` package."""

import json
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from .. import sync
from ..assessments import service as assessments
from ..auth.principal import Principal
from ..people import service as people
from ..problems import FieldError, InvalidInput, NotFound, ProblemError
from . import scoring
from .adjustment import AS_POLICY, AdjustChoice, adjustment_for
from .models import ReadinessReport
from .policies import get_policy
from .schemas import PolicyChoice, ScoreRatingIn, ScoreRequest, SimulateRequest, StoredReport
from .specs import rubric_spec


def invalid(error: scoring.ScoringInputError, prefix: str = "") -> InvalidInput:
    return InvalidInput("The scoring inputs are invalid.", [
        FieldError(field=prefix + path, message=msg) for path, msg in error.errors])


# --- scoring -----------------------------------------------------------------------------------

def to_ratings(ratings: Iterable[ScoreRatingIn | Any]) -> list[scoring.Rating]:
    return [scoring.Rating(r.competency, r.rater_role, r.rater_id, r.proficiency, r.evidence)
            for r in ratings]


def score(session: Session, rubric_key: str, rubric_version: int | None, current_level: str,
          ratings: Sequence[scoring.Rating], target_level: str | None = None,
          policy: scoring.Policy | PolicyChoice | None = None, *, cycle: str | None = None,
          choice: AdjustChoice = AS_POLICY) -> dict[str, Any]:
    """Score with `policy`: given, chosen by name and version, or (None) the latest version
    of the policy the rubric names; rater-adjusted when the policy or ``choice`` asks, with
    the fit ``choice`` names or the latest one of ``cycle``."""
    spec, policy_name = rubric_spec(session, rubric_key, rubric_version)
    if isinstance(policy, PolicyChoice):
        policy = get_policy(session, policy.name, policy.version)
    policy = policy or get_policy(session, policy_name)
    adjustment = adjustment_for(session, policy, cycle, choice)
    try:
        return scoring.score(spec, current_level, ratings, target_level, policy, adjustment)
    except scoring.ScoringInputError as exc:
        raise invalid(exc) from exc


def score_request(session: Session, body: ScoreRequest) -> bytes:
    """The stateless ``POST /v1/readiness:score``: nothing is stored."""
    report = score(session, body.rubric.key, body.rubric.version, body.current_level,
                   to_ratings(body.ratings), body.target_level, body.policy)
    return scoring.canonical_json(report)


def parse_report(raw: str | bytes) -> dict[str, Any]:
    return json.loads(raw)


# --- assessments -------------------------------------------------------------------------------

def _require_subject_access(principal: Principal, person: str) -> None:
    """Person-bound principals see only their own readiness (404: existence does not leak)."""
    if not people.sees(principal, person):
        raise NotFound("No such readiness report.")


def _live_report(session: Session, assessment, target_level: str | None,
                 changes: Sequence[scoring.Rating] = (), policy: PolicyChoice | None = None,
                 choice: AdjustChoice = AS_POLICY
                 ) -> dict[str, Any]:
    inputs = assessments.scoring_inputs(session, assessment)
    ratings = to_ratings(inputs.ratings)
    if changes:
        ratings = list(scoring.apply_changes(ratings, changes))
    return score(session, inputs.rubric_key, inputs.rubric_version, inputs.current_level,
                 ratings, target_level or inputs.target_level, policy, cycle=assessment.cycle,
                 choice=choice)


def _snapshot(session: Session, assessment_id: uuid.UUID, target_level: str
              ) -> ReadinessReport | None:
    return session.exec(select(ReadinessReport).where(
        ReadinessReport.assessment_id == assessment_id,
        ReadinessReport.target_level == target_level)).first()


def assessment_report(session: Session, assessment_id: uuid.UUID, principal: Principal,
                      target_level: str | None = None, choice: AdjustChoice = AS_POLICY
                      ) -> bytes:
    """A finalized assessment answers with the report stored when it was finalized (unless
    the request asks about rater adjustment: that is scored now)."""
    assessment = assessments.get_assessment(session, assessment_id, principal)
    _require_subject_access(principal, assessment.person_external_id)
    if assessment.status == assessments.FINALIZED and choice.default and target_level in (
            None, assessment.target_level):
        stored = _snapshot(session, assessment.id, assessment.target_level)
        if stored is not None:
            return stored.report.encode()
    return scoring.canonical_json(_live_report(session, assessment, target_level,
                                               choice=choice))


def _check_changes(spec: scoring.RubricSpec, changes: Sequence[ScoreRatingIn]) -> None:
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
    baseline = _live_report(session, assessment, body.target_level, policy=body.policy)
    report = _live_report(session, assessment, body.target_level, to_ratings(body.changes),
                          body.policy)
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


def changed_reports(session: Session, principal: Principal, since: sync.Position, *,
                    limit: int, person: str | None = None) -> sync.Changes:
    """Report snapshots stored after ``since``, oldest first (``service/sync.py``); a
    person-bound principal gets only its own person's."""
    query = select(ReadinessReport)
    for wanted in (person, people.confined_to(principal)):
        if wanted is not None:
            query = query.where(ReadinessReport.person == wanted)
    found = sync.changes(session, query, ReadinessReport.created_at, ReadinessReport.id, since,
                         limit)
    return replace(found, rows=[StoredReport(
        id=r.id, assessment_id=str(r.assessment_id), person=r.person,
        target_level=r.target_level, created_at=r.created_at, report=parse_report(r.report))
        for r in found.rows])


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
                 policies[policy_name], cycle=assessment.cycle)


def latest_reports(session: Session, persons: Collection[str], principal: Principal
                   ) -> dict[str, dict[str, Any] | ProblemError | None]:
    """``person_report`` for many people in one query: the report of each one's latest
    finalized assessment, None when there is none yet, and NotFound where a person-bound
    principal reaches for someone else."""
    allowed = [p for p in persons if people.sees(principal, p)]
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
