from typing import Annotated

from fastapi import APIRouter, Query

from ..auth.deps import require
from ..db import SessionDep
from ..problems import PROBLEM_RESPONSES
from ..readiness.schemas import CohortFilters
from . import service
from .schemas import RaterEffectsReport

router = APIRouter(tags=["calibration"], responses=PROBLEM_RESPONSES)

Reader = require("calibration:read")
Filter = Annotated[str | None, Query(max_length=200)]


@router.get("/v1/cohorts/rater-effects", response_model=RaterEffectsReport,
            operation_id="calibration_rater_effects")
def rater_effects(
    session: SessionDep, principal: Reader,
    cycle: Annotated[str, Query(min_length=1, max_length=64)],
    org_unit: Filter = None, manager: Filter = None, rubric: Filter = None,
    current_level: Filter = None, target_level: Filter = None,
):
    """Each rater's severity (positive: lenient) in scale steps, fitted jointly with the
    people's levels on the cohort's non-self ratings (each person's latest submitted or
    finalized assessment in the cycle), with 95% intervals, flags and linkage groups. The
    fit is stored; its id names it. Refused (403) to credentials bound to a person."""
    filters = CohortFilters(org_unit=org_unit, manager=manager, rubric=rubric, cycle=cycle,
                            current_level=current_level, target_level=target_level)
    return service.rater_effects(session, principal, filters)
