"""Adverse-impact analysis of a readiness cohort: the cohort and its bands come from
readiness's cohort service (the filters of ``/v1/cohorts/readiness``), scored as rated and,
where a rater-effects fit applies, rater-adjusted by that same service; calibrated bands from
locked calibration sessions, ratings with their raters from the assessments' cohort reader;
the arithmetic is ``analysis`` (pure). Every answer is audited."""

import uuid
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np
from sqlmodel import Session

from ..assessments import cohort as assessment_cohort
from ..assessments.roles import RaterRole
from ..auth.principal import Principal
from ..calibration import locked
from ..problems import InvalidInput
from ..readiness import cohorts, scoring
from ..readiness.adjustment import AdjustChoice
from ..readiness.schemas import CohortFilters
from . import analysis, attributes, audit
from .schemas import AdverseImpactReport, CompetencyGaps, RaterDifference, SelectionRead

NOTES = (
    "A four_fifths flag or a small fisher_p is a prompt to look into how these bands came "
    "about, not a finding of discrimination.",
    "Groups with fewer than min_group people are suppressed; people who declared nothing "
    "(for two attributes: not both) are counted under undeclared and never compared.",
    "raw: the bands as rated; adjusted: each non-self rating less its rater's severity from "
    "the fit rater_adjustment names (present when a fit applies); calibrated: locked "
    "calibration decisions, everyone else keeping the raw band.",
    "Competency differences: Welch's t 95% interval; rater differences: one-sample t 95% "
    "interval over the rater's ratees of the group.",
)


class Cohort:
    """A scored cohort with each person's group for the attributes asked."""

    def __init__(self, session: Session, result: cohorts.CohortResult, names: Sequence[str],
                 adjusted: cohorts.CohortResult | None = None):
        self.result = result
        persons = [row.person for row in result.rows]
        found = attributes.categories_of(session, names, persons)
        self.labels = [analysis.group_label([found.get(p, {}).get(n) for n in names])
                       for p in persons]
        calibrated = locked.calibrated_bands(session, [r.assessment_id for r in result.rows])
        raw = [scoring.BANDS[int(b)] for b in result.bands]
        self.bands = {"raw": raw}
        if adjusted is not None:  # the same assessments, scored again: align them by id
            band_of = {row.assessment_id: scoring.BANDS[int(b)]
                       for row, b in zip(adjusted.rows, adjusted.bands, strict=True)}
            self.bands["adjusted"] = [band_of[row.assessment_id] for row in result.rows]
        if calibrated:
            self.bands["calibrated"] = [calibrated.get(row.assessment_id, band)
                                        for row, band in zip(result.rows, raw, strict=True)]

    def selection(self, basis: str, outcome: Sequence[str], min_group: int
                  ) -> analysis.Selection:
        chosen = np.array([b in outcome for b in self.bands[basis]], bool)
        return analysis.selection(self.labels, chosen, min_group)

    def current_basis(self) -> str:
        """What the cohort's bands are now: calibrated where a locked session decided."""
        return "calibrated" if "calibrated" in self.bands else "raw"


def check_attributes(names: Sequence[str], allowed: dict[str, list[str]]) -> None:
    if not 1 <= len(names) <= 2 or len(set(names)) != len(names):
        raise InvalidInput.field("query.attribute", "give one attribute, or two different "
                                                    "ones for intersectional groups")
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise InvalidInput.field("query.attribute", "not a configured attribute; the names "
                                                    f"are: {', '.join(sorted(allowed))}")


def _raters(session: Session, cohort: Cohort, filters: CohortFilters, groups: list[str],
            min_group: int) -> list[RaterDifference]:
    rows = cohort.result.rows
    ratings = assessment_cohort.cohort_rater_ratings(
        session, persons={r.person for r in rows}, **filters.model_dump(exclude={"manager"}))
    labels = {r.person: label for r, label in zip(rows, cohort.labels, strict=True)}
    found = analysis.rater_differences(
        [(r.rater_id, r.person, r.competency, r.proficiency) for r in ratings
         if r.rater_role != RaterRole.SELF], labels, groups, min_group)
    return [RaterDifference(rater_id=d.rater, **{k: v for k, v in asdict(d).items()
                                                  if k != "rater"}) for d in found]


def _adjusted(session: Session, principal: Principal, filters: CohortFilters,
              fit_id: uuid.UUID | None) -> cohorts.CohortResult | None:
    """The cohort rater-adjusted as ``/v1/cohorts/readiness?adjusted=true`` (and ``fit_id``)
    scores it, or None when no fit applies to anyone (nothing would differ from raw)."""
    result = cohorts.cohort(session, principal, filters,
                            choice=AdjustChoice(adjusted=True, fit_id=fit_id))
    return result if any(result.fit_ids or ()) else None


def adverse_impact(session: Session, principal: Principal, filters: CohortFilters,
                   names: list[str], outcome: list[str], min_group: int,
                   allowed: dict[str, list[str]], fit_id: uuid.UUID | None = None
                   ) -> AdverseImpactReport:
    audit.refuse_person_bound(principal, "Adverse-impact analysis")
    check_attributes(names, allowed)
    # raw is as rated whatever the rubric's policy says, so adjustment shows beside it
    raw = cohorts.cohort(session, principal, filters, choice=AdjustChoice(adjusted=False))
    adjusted = _adjusted(session, principal, filters, fit_id)
    cohort = Cohort(session, raw, names, adjusted)
    tables = {basis: cohort.selection(basis, outcome, min_group) for basis in cohort.bands}
    shown = [g.group for g in tables["raw"].groups if not g.suppressed]
    gaps = analysis.gap_differences(cohort.labels, cohort.result.gaps, shown)
    audit.record(session, principal.id, "adverse_impact.read", query={
        **filters.model_dump(), "attribute": names, "outcome": outcome, "min_group": min_group,
        **({"fit_id": str(fit_id)} if fit_id is not None else {})})
    return AdverseImpactReport(
        cohort=filters, attributes=names, outcome=outcome, min_group=min_group,
        people=len(cohort.labels),
        selection={b: SelectionRead.model_validate(asdict(t)) for b, t in tables.items()},
        rater_adjustment=adjusted.report.rater_adjustment if adjusted is not None else None,
        competencies=[CompetencyGaps(competency=key, groups=[asdict(g) for g in row])
                      for key, row in zip(cohort.result.competencies, gaps, strict=True)],
        raters=_raters(session, cohort, filters, shown, min_group), notes=list(NOTES))
