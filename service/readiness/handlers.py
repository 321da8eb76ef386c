"""Readiness's reactions to other domains' events."""

import uuid

from sqlmodel import Session, select

from .. import events
from . import scoring
from .models import ReadinessReport
from .reports import score


def store_snapshot(session: Session, event: events.AssessmentFinalized) -> None:
    """Store the report as decided, and announce a change in the person's readiness
    (``readiness.changed``) when the score or band moved."""
    a = event.assessment
    ratings = [scoring.Rating(r.competency, r.rater_role, r.rater_id, r.proficiency, r.evidence)
               for r in a.ratings]
    report = score(session, a.rubric.key, a.rubric.version, a.current_level, ratings,
                   a.target_level, cycle=a.cycle)
    previous = session.exec(
        select(ReadinessReport).where(ReadinessReport.person == a.person)
        .order_by(ReadinessReport.created_at.desc(), ReadinessReport.id.desc()).limit(1)
    ).first()
    session.add(ReadinessReport(
        assessment_id=uuid.UUID(str(a.id)), person=a.person,
        target_level=report["target_level"], score=report["score"], band=report["band"],
        policy_name=report["policy"]["name"], policy_version=report["policy"]["version"],
        inputs_digest=report["inputs_digest"], report=scoring.canonical_json(report).decode(),
    ))
    session.flush()
    if previous is None or (previous.score, previous.band) != (report["score"], report["band"]):
        events.emit(session, events.ReadinessChanged(
            person=a.person, assessment_id=str(a.id), score=report["score"],
            band=report["band"], target_level=report["target_level"],
            previous=None if previous is None else events.PreviousReadiness(
                score=previous.score, band=previous.band,
                assessment_id=str(previous.assessment_id))))


def register() -> None:
    events.subscribe(events.AssessmentFinalized, store_snapshot)
