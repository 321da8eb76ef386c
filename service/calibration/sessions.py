"""Calibration sessions: a cycle's cohort with its scores and bands (from readiness's cohort
service), the rater-effects flags of each person's raters, a guideline to compare the band
distribution with, and decisions (a calibrated band with a reason) until the session is
locked. Ratings are never edited; every change is kept in the history."""

import uuid
from collections import defaultdict

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, select

from .. import events
from ..assessments import cohort as assessment_cohort
from ..auth.principal import Principal
from ..http import check_if_match, etag
from ..models import utcnow
from ..problems import Conflict, InvalidInput, NotFound
from ..readiness import cohorts
from ..readiness.adjustment import AdjustChoice
from ..readiness.schemas import CohortFilters
from .fits import latest_fit
from .locked import hidden_from
from .models import CalibrationEvent, CalibrationSession
from .schemas import (
    BandShare,
    CalibrationCreate,
    CalibrationPerson,
    CalibrationRead,
    CalibrationSummary,
    DecisionCreate,
    FlaggedRater,
    HistoryEntry,
)
from .service import refuse_person_bound

BANDS = ("ready_now", "ready_soon", "developing", "not_yet")


def _filters(row: CalibrationSession) -> CohortFilters:
    return CohortFilters(**row.filters)


def session_etag(row: CalibrationSession) -> str:
    return etag(row.id, row.row_version)


def create(session: Session, principal: Principal, body: CalibrationCreate) -> CalibrationSession:
    refuse_person_bound(principal)
    filters = CohortFilters(**body.model_dump(exclude={"guideline"}))
    row = CalibrationSession(
        cycle=body.cycle, filters=filters.model_dump(), created_by=principal.id,
        guideline=None if body.guideline is None else {k: list(v)
                                                       for k, v in body.guideline.items()})
    session.add(row)
    session.flush()
    session.add(CalibrationEvent(calibration_id=row.id, action="created",
                                 principal=principal.id))
    session.flush()
    return row


def get(session: Session, principal: Principal, calibration_id: uuid.UUID) -> CalibrationSession:
    """A session; person-bound principals see none (404, as for one that does not exist)."""
    if hidden_from(principal):
        raise NotFound("No such calibration")
    row = session.get(CalibrationSession, calibration_id)
    if row is None:
        raise NotFound("No such calibration")
    return row


def summary(row: CalibrationSession) -> CalibrationSummary:
    return CalibrationSummary(
        id=row.id, cycle=row.cycle, cohort=_filters(row), guideline=row.guideline,
        status="locked" if row.locked_at else "open", created_by=row.created_by,
        created_at=row.created_at, locked_at=row.locked_at)


def list_sessions(session: Session, principal: Principal) -> list[CalibrationSummary]:
    refuse_person_bound(principal)
    rows = session.exec(select(CalibrationSession)
                        .order_by(CalibrationSession.created_at.desc(),
                                  CalibrationSession.id)).all()
    return [summary(r) for r in rows]


def _history(session: Session, row: CalibrationSession) -> list[CalibrationEvent]:
    return list(session.exec(select(CalibrationEvent)
                             .where(CalibrationEvent.calibration_id == row.id)
                             .order_by(CalibrationEvent.id)))


def decisions(history: list[CalibrationEvent]) -> dict[str, CalibrationEvent]:
    """The latest decision per person."""
    return {e.person: e for e in history if e.action == "decided"}


def read(session: Session, principal: Principal, row: CalibrationSession) -> CalibrationRead:
    filters = _filters(row)
    result = cohorts.cohort(session, principal, filters, choice=AdjustChoice(adjusted=False))
    history = _history(session, row)
    decided = decisions(history)
    fit = latest_fit(session, row.cycle)
    adjusted: dict[str, tuple[float, str]] = {}
    if fit is not None:  # the readiness cohort path, adjusted with this same fit
        found = cohorts.cohort(session, principal, filters,
                               choice=AdjustChoice(adjusted=True, fit_id=fit.id))
        adjusted = {r.person: (round(float(found.scores[i]), 1), BANDS[int(found.bands[i])])
                    for i, r in enumerate(found.rows)}
    flags = {} if fit is None else {r: v for r, v in fit.severities.items() if v.get("flag")}
    raters: dict[str, set[str]] = defaultdict(set)
    if flags:
        for r in assessment_cohort.cohort_rater_ratings(
                session, persons={row.person for row in result.rows},
                **filters.model_dump(exclude={"manager"})):
            if r.rater_id in flags:
                raters[r.person].add(r.rater_id)
    people = []
    for i, cohort_row in enumerate(result.rows):
        decision = decided.get(cohort_row.person)
        adjusted_score, adjusted_band = adjusted.get(cohort_row.person, (None, None))
        people.append(CalibrationPerson(
            person=cohort_row.person, assessment_id=cohort_row.assessment_id,
            score=round(float(result.scores[i]), 1), band=BANDS[int(result.bands[i])],
            adjusted_score=adjusted_score, adjusted_band=adjusted_band,
            calibrated_band=decision.band if decision else None,
            flagged_raters=[FlaggedRater(rater_id=r, flag=flags[r]["flag"],
                                         severity=flags[r]["severity"])
                            for r in sorted(raters[cohort_row.person])]))
    counts = {b: 0 for b in BANDS}
    for p in people:
        counts[p.calibrated_band or p.band] += 1
    guideline = row.guideline or {}
    distribution = {}
    for b in BANDS:
        percent = round(100 * counts[b] / len(people), 1) if people else 0.0
        lo_hi = tuple(guideline[b]) if b in guideline else None
        distribution[b] = BandShare(
            people=counts[b], percent=percent, guideline=lo_hi,
            within=None if lo_hi is None else lo_hi[0] <= percent <= lo_hi[1])
    return CalibrationRead(
        **summary(row).model_dump(), people=people, distribution=distribution,
        fit_id=fit.id if fit else None,
        history=[HistoryEntry(action=e.action, by=e.principal, at=e.at, person=e.person,
                              band=e.band, reason=e.reason) for e in history])


def _open_for_change(session: Session, principal: Principal, calibration_id: uuid.UUID,
                     if_match: str | None) -> CalibrationSession:
    refuse_person_bound(principal)
    row = get(session, principal, calibration_id)
    if row.locked_at is not None:
        raise Conflict("The calibration is locked: it can no longer change")
    check_if_match(if_match, session_etag(row))
    return row


def decide(session: Session, principal: Principal, calibration_id: uuid.UUID,
           body: DecisionCreate, if_match: str | None) -> CalibrationSession:
    row = _open_for_change(session, principal, calibration_id, if_match)
    result = cohorts.cohort(session, principal, _filters(row), only={body.person})
    if not result.rows:
        raise InvalidInput(f"{body.person} is not in this calibration's cohort")
    session.add(CalibrationEvent(
        calibration_id=row.id, action="decided", principal=principal.id, person=body.person,
        assessment_id=result.rows[0].assessment_id, band=body.band, reason=body.reason))
    flag_modified(row, "filters")  # touch the row: its version (and ETag) moves on
    session.add(row)
    session.flush()
    return row


def lock(session: Session, principal: Principal, calibration_id: uuid.UUID,
         if_match: str | None) -> CalibrationSession:
    row = _open_for_change(session, principal, calibration_id, if_match)
    row.locked_at, row.locked_by = utcnow(), principal.id
    session.add(row)
    session.add(CalibrationEvent(calibration_id=row.id, action="locked",
                                 principal=principal.id))
    session.flush()
    decided = decisions(_history(session, row))
    events.emit(session, events.CalibrationLocked(
        calibration_id=str(row.id), cycle=row.cycle,
        decisions=tuple((p, e.band) for p, e in sorted(decided.items()))))
    return row
