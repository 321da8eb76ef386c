import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Response

from ..auth.deps import require
from ..db import SessionDep, UnitOfWorkRoute, read_only
from ..http import IfMatch, Router
from ..problems import PROBLEM_RESPONSES, responses
from ..readiness.schemas import CohortFilters
from . import service, sessions
from .schemas import (
    CalibrationCreate,
    CalibrationRead,
    CalibrationSummary,
    DecisionCreate,
    RaterEffectsReport,
)

router = Router(tags=["calibration"], responses=PROBLEM_RESPONSES, route_class=UnitOfWorkRoute)

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


Writer = require("calibration:write")
CalibrationId = Annotated[uuid.UUID, Path()]


def _answer(response: Response, session, principal, row) -> CalibrationRead:
    response.headers["ETag"] = sessions.session_etag(row)
    return sessions.read(session, principal, row)


@router.post("/v1/calibrations", status_code=201, response_model=CalibrationRead,
             operation_id="calibration_create")
def create_calibration(body: CalibrationCreate, response: Response, session: SessionDep,
                       principal: Writer):
    """Open a calibration session over a cycle's cohort (the filters of cohort readiness),
    with an optional band guideline in percent."""
    row = sessions.create(session, principal, body)
    response.headers["Location"] = f"/v1/calibrations/{row.id}"
    return _answer(response, session, principal, row)


@router.get("/v1/calibrations", response_model=list[CalibrationSummary],
            operation_id="calibration_list", dependencies=[Depends(read_only)])
def list_calibrations(session: SessionDep, principal: Reader):
    """Every calibration session, newest first (403 to credentials bound to a person)."""
    return sessions.list_sessions(session, principal)


@router.get("/v1/calibrations/{calibration_id}", response_model=CalibrationRead,
            operation_id="calibration_get", dependencies=[Depends(read_only)])
def get_calibration(calibration_id: CalibrationId, response: Response, session: SessionDep,
                    principal: Reader):
    """Everyone in scope with score, band and calibrated band, the band distribution against
    the guideline, flagged raters (latest rater-effects fit of the cycle) and the history."""
    return _answer(response, session, principal,
                   sessions.get(session, principal, calibration_id))


@router.post("/v1/calibrations/{calibration_id}/decisions", response_model=CalibrationRead,
             operation_id="calibration_decide", responses=responses(409, 412, 428))
def decide(calibration_id: CalibrationId, body: DecisionCreate, response: Response,
           session: SessionDep, principal: Writer, if_match: IfMatch = None):
    """Set a person's calibrated band, with a reason (needs If-Match; 409 once locked)."""
    row = sessions.decide(session, principal, calibration_id, body, if_match)
    return _answer(response, session, principal, row)


@router.post("/v1/calibrations/{calibration_id}/lock", response_model=CalibrationRead,
             operation_id="calibration_lock", responses=responses(409, 412, 428))
def lock(calibration_id: CalibrationId, response: Response, session: SessionDep,
         principal: Writer, if_match: IfMatch = None):
    """Freeze the session: its calibrated bands then show on the people's readiness reports,
    and `calibration.locked` is sent to webhooks."""
    row = sessions.lock(session, principal, calibration_id, if_match)
    return _answer(response, session, principal, row)
