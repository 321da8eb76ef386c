import json
import uuid
from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from .. import sync
from ..auth.deps import require
from ..calibration import locked as calibration
from ..db import SessionDep, UnitOfWorkRoute, cache_first, read_only
from ..http import Cursor, Limit, Router, page_params
from ..idempotency import IdempotencyDep
from ..problems import PROBLEM_RESPONSES, responses
from ..sync import SyncPage, UpdatedSince
from . import cohorts, policies, reports, scoring, views
from .adjustment import AdjustChoice
from .schemas import (
    CohortFilters,
    CohortReport,
    PolicyCreate,
    PolicyRead,
    Report,
    ScoreRequest,
    SimulateRequest,
    SimulationResult,
    StoredReport,
)

router = Router(tags=["readiness"], responses=PROBLEM_RESPONSES, route_class=UnitOfWorkRoute)

Reader = require("readiness:read")
PolicyWriter = require("readiness:write")
PolicyName = Annotated[str, Path(max_length=64)]
Filter = Annotated[str | None, Query(max_length=200)]
Adjusted = Annotated[bool | None, Query(
    description="Rater adjustment: true corrects each non-self rating for its rater's "
                "severity, false scores as rated; default: as the rubric's policy says")]
FitId = Annotated[uuid.UUID | None, Query(
    description="The stored rater-effects fit to adjust with (implies adjusted=true); "
                "default: the latest fit of the assessment's cycle")]
JSON_REPORT = {200: {"model": Report, "description": "The readiness report"}}
_SVG = {"image/svg+xml": {"schema": {"type": "string"}}}
_HTML = {"text/html": {"schema": {"type": "string"}}}
RADAR_REPORT = {200: {"model": Report, "content": _SVG,
                      "description": "The readiness report, or (`format=svg`) its radar chart"}}
DOCUMENT_REPORT = {200: {"model": Report, "content": _SVG | _HTML,
                         "description": "The readiness report; `format=svg`: its radar chart; "
                                        "`format=html`: a self-contained page to read or print"}}


def frame_ancestors(request: Request) -> list[str]:
    return request.app.state.settings.report_frame_ancestors


def report_response(raw: bytes) -> Response:
    """Reports go out as their canonical bytes: equal inputs, byte-equal answers."""
    return Response(raw, media_type="application/json")


def with_calibration(raw: bytes, found: tuple[str, uuid.UUID] | None) -> bytes:
    """A served report with the locked calibration's band added (the stored bytes stay)."""
    if found is None:
        return raw
    return scoring.canonical_json(json.loads(raw) | {"calibrated_band": found[0],
                                                     "calibration_id": str(found[1])})


@router.post("/v1/readiness:score", operation_id="readiness_score", responses=RADAR_REPORT,
             dependencies=[Depends(read_only)])
async def score(body: ScoreRequest, session: SessionDep, _: Reader, request: Request,
                format: Annotated[Literal["json", "svg"], Query()] = "json") -> Response:
    """Score ratings against a published rubric version without storing anything.
    `format=svg`: the report as a radar chart."""
    raw = await cache_first(reports.score_request, session, body)
    if format == "svg":
        return await cache_first(views.radar, session, raw, frame_ancestors(request))
    return report_response(raw)


@router.get("/v1/readiness/policies", response_model=list[PolicyRead],
            operation_id="readiness_list_policies")
def list_policies(session: SessionDep, _: Reader):
    """Every version of every scoring policy (role weights, band thresholds, flag thresholds)."""
    return policies.list_policies(session)


@router.get("/v1/readiness/policies/{name}", response_model=PolicyRead,
            operation_id="readiness_get_policy")
def get_policy(name: PolicyName, session: SessionDep, _: Reader):
    """The latest version of a policy."""
    return policies.policy_read(policies.get_policy(session, name))


@router.get("/v1/readiness/policies/{name}/versions/{version}", response_model=PolicyRead,
            operation_id="readiness_get_policy_version")
def get_policy_version(name: PolicyName, version: Annotated[int, Path(ge=1, le=1_000_000)],
                       session: SessionDep, _: Reader):
    return policies.policy_read(policies.get_policy(session, name, version))


@router.post("/v1/readiness/policies", status_code=201, response_model=PolicyRead,
             operation_id="readiness_create_policy", responses=responses(409))
def create_policy(body: PolicyCreate, session: SessionDep, _: PolicyWriter,
                  idem: IdempotencyDep):
    """Make the next version of a policy (omitted parameters carry over). Earlier versions stay,
    so earlier reports remain reproducible; rubrics use the latest version of their policy."""
    return idem.run(lambda: (201, policies.create_policy_version(session, body), {}))


@router.get("/v1/assessments/{assessment_id}/readiness", operation_id="readiness_for_assessment",
            responses=DOCUMENT_REPORT)
def assessment_readiness(
    assessment_id: uuid.UUID, session: SessionDep, principal: Reader, request: Request,
    target_level: Annotated[str | None, Query(max_length=64,
                                              description="Ask about another level above")] = None,
    format: Annotated[Literal["json", "svg", "html"], Query()] = "json",
    adjusted: Adjusted = None, fit_id: FitId = None,
) -> Response:
    """The readiness report of an assessment. A finalized assessment answers with the report
    stored when it was finalized; drafts, other target levels and requests that set
    `adjusted` or `fit_id` are scored now. Once a calibration is locked, it carries the
    `calibrated_band` decided there. A rater-adjusted report names its fit.
    `format=svg`: its radar chart; `format=html`: the whole report as one printable page."""
    raw = reports.assessment_report(session, assessment_id, principal, target_level,
                                    AdjustChoice(adjusted, fit_id))
    raw = with_calibration(raw, None if target_level is not None
                           or calibration.hidden_from(principal)
                           else calibration.calibrated(session, assessment_id=assessment_id))
    if format == "svg":
        return views.radar(session, raw, frame_ancestors(request))
    if format == "html":
        return views.assessment_page(session, assessment_id, principal, raw,
                                     frame_ancestors(request))
    return report_response(raw)


# exclude_unset: a report answers with the fields its policy's rules produce (a v1 report
# has no `unrated`, gate levels or `expected_from`), as the stored and scored reports do
@router.post("/v1/assessments/{assessment_id}/readiness:simulate", response_model=SimulationResult,
             operation_id="readiness_simulate", dependencies=[Depends(read_only)],
             response_model_exclude_unset=True)  # reports as scored: no absent keys as null
def simulate(assessment_id: uuid.UUID, body: SimulateRequest, session: SessionDep,
             principal: Reader):
    """What-if: apply rating changes (added, or replacing the same competency, role and rater)
    and see the new report with the change in score and band. Nothing is stored."""
    return reports.simulate(session, assessment_id, principal, body)


@router.get("/v1/people/{external_id}/readiness", operation_id="readiness_for_person",
            responses=JSON_REPORT)
def person_readiness(external_id: Annotated[str, Path(max_length=200)], session: SessionDep,
                     principal: Reader) -> Response:
    """The report of the person's latest finalized assessment (404 when there is none)."""
    raw = reports.person_report(session, external_id, principal)
    return report_response(with_calibration(raw, calibration.calibrated_people(
        session, principal, [external_id]).get(external_id)))


@router.get("/v1/readiness/reports", response_model=SyncPage[StoredReport],
            operation_id="readiness_reports_changed")
def changed_reports(
    request: Request, response: Response, session: SessionDep, principal: Reader,
    person: Annotated[str | None, Query(max_length=200,
                                        description="External id of the person")] = None,
    updated_since: UpdatedSince = None, limit: Limit = None, cursor: Cursor = None,
):
    """The stored report snapshots (one per finalized assessment), oldest first: a change
    list (see `updated_since`). A credential bound to a person gets only its own."""
    page = page_params(request, limit, cursor)
    since = sync.position(updated_since, page.after, from_start=True)
    return sync.answer(request, response, reports.changed_reports(
        session, principal, since, limit=page.limit, person=person))


@router.get("/v1/cohorts/readiness", response_model=CohortReport,
            operation_id="readiness_cohort",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}} | _SVG,
                             "description": "The cohort report (or one CSV row per person, or "
                                            "with `format=svg` the chart `chart` names)"}})
def cohort_readiness(
    request: Request, session: SessionDep, principal: Reader,
    org_unit: Filter = None, manager: Filter = None, rubric: Filter = None, cycle: Filter = None,
    current_level: Filter = None, target_level: Filter = None,
    format: Annotated[Literal["json", "csv", "svg"], Query()] = "json",
    chart: Annotated[Literal["heatmap", "bands"], Query(
        description="With `format=svg`: the competency x band heat map of mean gaps, or the "
                    "people per band")] = "heatmap",
    adjusted: Adjusted = None,
    fit_id: Annotated[uuid.UUID | None, Query(
        description="The stored rater-effects fit to adjust everyone with (implies "
                    "adjusted=true); default: the latest fit of each person's cycle")] = None,
):
    """How ready a population is: people per band, the score distribution, and a competency x
    band heat map of mean gaps (where the organisation's holes are). Each person counts once,
    with their latest submitted or finalized assessment. `format=csv`: one row per person;
    `format=svg`: a chart (`chart=heatmap|bands`). Rater-adjusted scores (`adjusted=true`,
    or a policy that adjusts) name their fits in `rater_adjustment` (CSV: a `fit_id` column)."""
    filters = CohortFilters(org_unit=org_unit, manager=manager, rubric=rubric, cycle=cycle,
                            current_level=current_level, target_level=target_level)
    choice = AdjustChoice(adjusted, fit_id)
    if format == "csv":  # streamed a page of people at a time: constant memory
        cohorts.check_choice(session, choice)
        return StreamingResponse(
            cohorts.cohort_csv_pages(request.app.state.engine, principal, filters, choice),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="cohort-readiness.csv"'})
    report = cohorts.cohort(session, principal, filters, choice=choice).report
    if format == "svg":
        return views.cohort_chart(session, report.model_dump(mode="json"), chart,
                                  frame_ancestors(request))
    return report
