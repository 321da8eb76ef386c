"""How readiness reacts to domain events: when an assessment is finalized, its report is
stored as decided and a change in the person's readiness is announced."""

import uuid
from typing import Any

from sqlmodel import Session, select

from .. import events
from . import scoring
from .models import ReadinessReport
from .reports import score


def store_snapshot(session: Session, event: str, payload: dict[str, Any]) -> None:
    """On ``assessment.finalized``: store the report as decided, and announce a change in the
    person's readiness (``readiness.changed``) when the score or band moved."""
    data = payload["assessment"]
    ratings = [scoring.Rating(r["competency"], r["rater_role"], r["rater_id"], r["proficiency"],
                              r.get("evidence")) for r in data["ratings"]]
    report = score(session, data["rubric"]["key"], data["rubric"]["version"],
                   data["current_level"], ratings, data["target_level"])
    previous = session.exec(
        select(ReadinessReport).where(ReadinessReport.person == data["person"])
        .order_by(ReadinessReport.created_at.desc(), ReadinessReport.id.desc()).limit(1)
    ).first()
    session.add(ReadinessReport(
        assessment_id=uuid.UUID(str(data["id"])), person=data["person"],
        target_level=report["target_level"], score=report["score"], band=report["band"],
        policy_name=report["policy"]["name"], policy_version=report["policy"]["version"],
        inputs_digest=report["inputs_digest"], report=scoring.canonical_json(report).decode(),
    ))
    session.flush()
    if previous is None or (previous.score, previous.band) != (report["score"], report["band"]):
        events.emit(session, events.READINESS_CHANGED, {
            "person": data["person"], "assessment_id": str(data["id"]),
            "score": report["score"], "band": report["band"],
            "target_level": report["target_level"],
            "previous": None if previous is None else {
                "score": previous.score, "band": previous.band,
                "assessment_id": str(previous.assessment_id)},
        })


def register_handlers() -> None:
    events.subscribe(events.ASSESSMENT_FINALIZED, store_snapshot)
