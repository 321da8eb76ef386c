"""Rater effects of a cohort: read who rated what, fit (``effects.fit``, pure), store the fit
so later reports and calibration sessions can name it.

Population: each person's latest submitted or finalized assessment in the cycle that matches
the filters, exactly the assessments ``/v1/cohorts/readiness`` scores, so the severities
describe the ratings behind the scores being calibrated (an older, superseded assessment
does not count twice). Self ratings are left out of the fit and summarised apart.
"""

from collections import Counter, defaultdict

import numpy as np
from sqlmodel import Session

from ..assessments import cohort as assessment_cohort
from ..assessments.roles import RaterRole
from ..auth.principal import Principal
from ..people import service as people
from ..problems import Forbidden
from ..readiness.schemas import CohortFilters
from ..rubrics.published import published_rubric
from . import effects
from .locked import hidden_from
from .models import RaterEffectsFit
from .schemas import (
    FitRead,
    RaterEffectRead,
    RaterEffectsReport,
    SelfRatings,
    VarianceShares,
)


def refuse_person_bound(principal: Principal) -> None:
    """Calibration compares people and raters: nothing of it for a person-bound principal."""
    if hidden_from(principal):
        raise Forbidden("Calibration is not available to credentials bound to a person")


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def rater_effects(session: Session, principal: Principal, filters: CohortFilters
                  ) -> RaterEffectsReport:
    refuse_person_bound(principal)
    persons = people.reports_of(session, filters.manager) if filters.manager else None
    rows = assessment_cohort.cohort_rater_ratings(
        session, persons=persons, **filters.model_dump(exclude={"manager"}))
    others = [r for r in rows if r.rater_role != RaterRole.SELF]
    selves = [r for r in rows if r.rater_role == RaterRole.SELF]

    scales = {(v.scale_min, v.scale_max) for v in (
        published_rubric(session, key, version) for key, version in
        assessment_cohort.cohort_versions(session, persons=persons,
                                          **filters.model_dump(exclude={"manager"})))}
    # Ratings are whole steps; at the ends of the scale they are censored (effects.fit).
    # Rubric versions with different scales: the linear fit alone.
    result = effects.fit([f"{r.assessment_id}/{r.competency}" for r in others],
                         [r.rater_id for r in others],
                         np.array([r.proficiency for r in others], dtype=float),
                         ratee=[r.person for r in others],
                         scale=scales.pop() if len(scales) == 1 else None, step=1.0)
    roles: dict[str, Counter] = defaultdict(Counter)
    for r in others:
        roles[r.rater_id][r.rater_role] += 1
    raters = [RaterEffectRead(
        rater_id=e.rater, role=roles[e.rater].most_common(1)[0][0], ratings=e.ratings,
        ratees=e.ratees, severity=_r(e.severity), se=_r(e.se),
        ci95=None if e.ci95 is None else (_r(e.ci95[0]), _r(e.ci95[1])), flag=e.flag,
        group=e.group, reason=e.reason) for e in result.raters]

    fit = RaterEffectsFit(
        cycle=filters.cycle or "", filters=filters.model_dump(), ratings=result.ratings,
        method=result.fit.method,
        severities={r.rater_id: {"severity": r.severity, "se": r.se, "group": r.group,
                                 "flag": r.flag} for r in raters})
    session.add(fit)
    session.flush()
    shares = result.variance.shares if result.variance is not None else None
    return RaterEffectsReport(
        cohort=filters, ratings=result.ratings, raters=raters,
        self_ratings=_self_summary(selves, others), groups=len(result.groups),
        variance=None if shares is None else VarianceShares(
            person=_r(shares.person), rater=_r(shares.rater), residual=_r(shares.residual)),
        fit=FitRead(id=fit.id, method=result.fit.method, converged=result.fit.converged,
                    seconds=round(result.fit.seconds, 4)))


def _self_summary(selves, others) -> SelfRatings:
    """How far people's self ratings sit from what others rated them (same competency)."""
    sums: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0])
    for r in others:
        cell = sums[(r.assessment_id, r.competency)]
        cell[0] += r.proficiency
        cell[1] += 1
    gaps = [r.proficiency - sums[k][0] / sums[k][1] for r in selves
            if (k := (r.assessment_id, r.competency)) in sums]
    return SelfRatings(ratings=len(selves), people=len({r.person for r in selves}),
                       mean_gap=_r(sum(gaps) / len(gaps)) if gaps else None)
