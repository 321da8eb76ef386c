"""Which rater-effects fit a readiness score is adjusted with.

A policy with ``rater_adjustment`` on adjusts every report of its rubrics; a request may also
ask for it (``adjusted=true``) or turn it off for a comparison (``adjusted=false``). The fit
is the one the request names (``fit_id``), else the latest stored fit of the assessment's
cycle. The report names the fit, so re-scoring with the same fit gives the same bytes."""

import uuid
from dataclasses import dataclass

from sqlmodel import Session

from ..calibration import fits
from ..problems import FieldError, InvalidInput
from . import scoring


@dataclass(frozen=True)
class AdjustChoice:
    adjusted: bool | None = None  # None: as the policy says
    fit_id: uuid.UUID | None = None  # None: the latest fit of the cycle

    def __post_init__(self) -> None:
        if self.adjusted is False and self.fit_id is not None:
            raise InvalidInput("A fit was named but adjustment turned off.", [FieldError(
                field="fit_id", message="only with adjusted=true (or left unset)")])

    @property
    def default(self) -> bool:
        return self.adjusted is None and self.fit_id is None


AS_POLICY = AdjustChoice()


def wanted(policy: scoring.Policy, choice: AdjustChoice) -> bool:
    if choice.adjusted is not None:
        return choice.adjusted
    return policy.rater_adjustment or choice.fit_id is not None


def named_fit(session: Session, fit_id: uuid.UUID):
    fit = fits.get_fit(session, fit_id)
    if fit is None:
        raise InvalidInput("No such rater-effects fit.", [FieldError(
            field="fit_id", message=f"no stored fit {fit_id}; GET /v1/cohorts/rater-effects "
                                    "makes one")])
    return fit


def of_fit(fit) -> scoring.RaterAdjustment:
    """The fit as scoring takes it (None: no fit, so nothing adjusted)."""
    if fit is None:
        return scoring.RaterAdjustment(fit_id=None)
    return scoring.RaterAdjustment(fit_id=str(fit.id), severities=fits.severities(fit))


def adjustment_for(session: Session, policy: scoring.Policy, cycle: str | None,
                   choice: AdjustChoice = AS_POLICY) -> scoring.RaterAdjustment | None:
    """The adjustment a report of this cycle gets under this policy and request, or None."""
    if not wanted(policy, choice):
        return None
    if choice.fit_id is not None:
        return of_fit(named_fit(session, choice.fit_id))
    return of_fit(fits.latest_fit(session, cycle) if cycle else None)
