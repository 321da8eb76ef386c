"""Fairness's reactions: a locked calibration and a finalized assessment (which may finish
its cycle) are the moments a cycle's bands can cross below four fifths."""

from sqlmodel import Session

from .. import events
from . import alerts


def on_finalized(session: Session, event: events.AssessmentFinalized) -> None:
    alerts.cycle_finalized(session, event.assessment.cycle)


def on_locked(session: Session, event: events.CalibrationLocked) -> None:
    alerts.calibration_locked(session, event.cycle, event.calibration_id)


def register() -> None:
    events.subscribe(events.AssessmentFinalized, on_finalized)
    events.subscribe(events.CalibrationLocked, on_locked)
