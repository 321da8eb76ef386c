"""What a locked calibration says about one assessment or person: readiness adds it to the
reports it serves (stored report bytes stay as they were). Reads calibration tables only, so
readiness may import it without a cycle."""

import uuid
from collections.abc import Collection

from sqlmodel import Session, select

from ..auth.principal import Principal
from ..people import service as people
from .models import CalibrationEvent, CalibrationSession


def _latest_decisions(session: Session, column, keys: Collection) -> dict:
    """key -> (band, calibration id) of the latest locked session's latest decision on each
    key of ``column`` (an assessment id or a person); keys without one are left out."""
    E, S = CalibrationEvent, CalibrationSession
    keys = sorted(keys)
    found: dict = {}
    for start in range(0, len(keys), 500):  # IN lists well under backend limits
        rows = session.exec(
            select(column, E.band, E.calibration_id).join(S, S.id == E.calibration_id)
            .where(E.action == "decided", S.locked_at.is_not(None),
                   column.in_(keys[start:start + 500]))
            .order_by(S.locked_at, E.id))  # later ones overwrite: the latest wins
        found.update({key: (band, calibration_id) for key, band, calibration_id in rows})
    return found


def calibrated(session: Session, *, assessment_id: uuid.UUID | None = None,
               person: str | None = None) -> tuple[str, uuid.UUID] | None:
    """(calibrated band, calibration id) of the latest locked session's latest decision on
    this assessment (or, for a person, on any of their assessments); None when none."""
    column, key = ((CalibrationEvent.assessment_id, assessment_id) if assessment_id is not None
                   else (CalibrationEvent.person, person))
    return _latest_decisions(session, column, [key]).get(key)


def calibrated_bands(session: Session, assessment_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """``calibrated`` for many assessments at once: the band of each one's latest locked
    decision (those without one are left out)."""
    return {assessment: band for assessment, (band, _) in
            _latest_decisions(session, CalibrationEvent.assessment_id, assessment_ids).items()}


def hidden_from(principal: Principal) -> bool:
    """Calibrations are not shown to credentials bound to a person (not even their own)."""
    return people.confined_to(principal) is not None


def calibrated_people(session: Session, principal: Principal, persons: Collection[str]
                      ) -> dict[str, tuple[str, uuid.UUID]]:
    """``calibrated`` for many people at once: each one's latest locked decision, none for a
    person-bound principal. People without one are absent."""
    if hidden_from(principal):
        return {}
    return _latest_decisions(session, CalibrationEvent.person, persons)
