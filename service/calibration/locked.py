"""What a locked calibration says about one assessment or person: readiness adds it to the
reports it serves (stored report bytes stay as they were). Reads calibration tables only, so
readiness may import it without a cycle."""

import uuid

from sqlmodel import Session, select

from .models import CalibrationEvent, CalibrationSession


def calibrated(session: Session, *, assessment_id: uuid.UUID | None = None,
               person: str | None = None) -> tuple[str, uuid.UUID] | None:
    """(calibrated band, calibration id) of the latest locked session's latest decision on
    this assessment (or, for a person, on any of their assessments); None when none."""
    E, S = CalibrationEvent, CalibrationSession
    query = (select(E.band, E.calibration_id).join(S, S.id == E.calibration_id)
             .where(E.action == "decided", S.locked_at.is_not(None)))
    query = (query.where(E.assessment_id == assessment_id) if assessment_id is not None
             else query.where(E.person == person))
    found = session.exec(query.order_by(S.locked_at.desc(), E.id.desc())).first()
    return None if found is None else (found[0], found[1])


def calibrated_bands(session: Session, assessment_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """``calibrated`` for many assessments at once: the band of the latest locked session's
    latest decision on each (those without one are left out)."""
    E, S = CalibrationEvent, CalibrationSession
    found: dict[uuid.UUID, str] = {}
    for start in range(0, len(assessment_ids), 500):  # IN lists well under backend limits
        chunk = assessment_ids[start:start + 500]
        rows = session.exec(
            select(E.assessment_id, E.band).join(S, S.id == E.calibration_id)
            .where(E.action == "decided", S.locked_at.is_not(None),
                   E.assessment_id.in_(chunk))
            .order_by(S.locked_at, E.id))  # later ones overwrite: the latest wins
        found.update({a: band for a, band in rows})
    return found
