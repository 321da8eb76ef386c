"""What a locked calibration says about one assessment or person: readiness adds it to the
reports it serves (stored report bytes stay as they were). Reads calibration tables only, so
readiness may import it without a cycle."""

import uuid
from collections.abc import Collection

from sqlmodel import Session, select

from ..auth.principal import Principal
from ..people import service as people
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


def hidden_from(principal: Principal) -> bool:
    """Calibrations are not shown to credentials bound to a person (not even their own)."""
    return people.confined_to(principal) is not None


def calibrated_people(session: Session, principal: Principal, persons: Collection[str]
                      ) -> dict[str, tuple[str, uuid.UUID]]:
    """``calibrated`` for many people in one query: each one's latest locked decision, none
    for a person-bound principal. People without one are absent."""
    if hidden_from(principal) or not persons:
        return {}
    E, S = CalibrationEvent, CalibrationSession
    found: dict[str, tuple[str, uuid.UUID]] = {}
    for person, band, calibration_id in session.exec(
            select(E.person, E.band, E.calibration_id).join(S, S.id == E.calibration_id)
            .where(E.action == "decided", S.locked_at.is_not(None),
                   E.person.in_(sorted(persons)))
            .order_by(S.locked_at.desc(), E.id.desc())):
        found.setdefault(person, (band, calibration_id))
    return found
