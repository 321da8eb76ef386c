"""``fairness.alert``: when a cycle's bands cross below four fifths for some group.

Checked when a calibration is locked (on the calibrated bands) and when a cycle is finalized
(none of its assessments still a draft or submitted), for every attribute anyone declared.
The last check's groups below four fifths are kept per cycle and attribute; an alert goes out
only when a group joins them, so a cycle that stays below does not alert on every change.

The payload names no group: a category with a handful of people in it could say too much
about them to whoever reads the receiver's logs. It gives the count of groups below, the
lowest impact ratio and the (audited) analysis to read the rest from."""

from weakref import WeakKeyDictionary

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from .. import events
from ..assessments import cohort as assessment_cohort
from ..auth.principal import Principal
from ..models import utcnow
from ..readiness import cohorts
from ..readiness.schemas import CohortFilters
from . import analysis, attributes, audit
from .models import FourFifthsState
from .service import Cohort

OUTCOME = ("ready_now", "ready_soon")
CHECKER = Principal(id=audit.SYSTEM, name="fairness alert check")


def _state(session: Session, cycle: str, name: str) -> FourFifthsState | None:
    return session.exec(select(FourFifthsState).where(FourFifthsState.cycle == cycle,
                                                      FourFifthsState.attribute == name)).first()


def check(session: Session, cycle: str, trigger: str, seen: str,
          calibration_id: str | None = None) -> None:
    names = attributes.stored_names(session)
    states = {n: _state(session, cycle, n) for n in names}
    if not names or all(s is not None and s.seen == seen for s in states.values()):
        return  # no one declared anything, or nothing new since the last check
    result = cohorts.cohort(session, CHECKER, CohortFilters(cycle=cycle))
    for name in names:
        cohort = Cohort(session, result, [name])
        table = cohort.selection(cohort.current_basis(), OUTCOME, analysis.DEFAULT_MIN_GROUP)
        below = analysis.below_four_fifths(table)
        state = states[name] or FourFifthsState(cycle=cycle, attribute=name, below=[], seen="",
                                                checked_at=utcnow())
        crossed = set(below) - set(state.below)
        state.below, state.seen, state.checked_at = sorted(below), seen, utcnow()
        try:
            with session.begin_nested():  # a savepoint, so losing a race spoils nothing
                session.add(state)
                session.flush()
        except IntegrityError:  # a concurrent check of the same cycle stored it: theirs stands
            continue
        if crossed:
            ratios = [g.impact_ratio for g in table.groups if g.four_fifths]
            audit.record(session, audit.SYSTEM, "alert.sent",
                         query={"cycle": cycle, "attribute": name, "trigger": trigger})
            events.emit(session, events.FairnessAlert(
                cycle=cycle, attribute=name, trigger=trigger, calibration_id=calibration_id,
                basis=cohort.current_basis(), groups_below=len(below),
                lowest_impact_ratio=min(ratios), min_group=analysis.DEFAULT_MIN_GROUP,
                outcome=OUTCOME))


# Cycles already checked, per open transaction: a bulk batch writes all its assessments, then
# announces each finalization, so the first announcement's check has seen the whole batch
# and the other few hundred need not repeat it (nor its queries).
_checked: WeakKeyDictionary = WeakKeyDictionary()


def cycle_finalized(session: Session, cycle: str) -> None:
    checked = _checked.setdefault(session.get_transaction(), set())
    if cycle in checked:
        return
    checked.add(cycle)
    progress = assessment_cohort.cycle_progress(session, cycle)
    if progress.open or not progress.finalized:
        return
    last = progress.last_finalized_at
    check(session, cycle, "cycle.finalized",
          f"finalized:{progress.finalized}:{last.isoformat() if last else ''}")


def calibration_locked(session: Session, cycle: str, calibration_id: str) -> None:
    check(session, cycle, "calibration.locked", f"calibration:{calibration_id}",
          calibration_id)
