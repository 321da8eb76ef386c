import uuid
from typing import Annotated, Literal

from fastapi import Path, Query, Request, Response

from ..auth.deps import require
from ..db import SessionDep, UnitOfWorkRoute
from ..http import Cursor, Limit, Page, Router, page_params, set_link_header
from ..problems import PROBLEM_RESPONSES, InvalidInput
from ..readiness import scoring
from ..readiness.schemas import CohortFilters
from ..wire import EXTERNAL_ID_PATTERN
from . import analysis, attributes, audit, service
from .schemas import AdverseImpactReport, AttributesRead, AttributesWrite, AuditEntry

router = Router(tags=["fairness"], responses=PROBLEM_RESPONSES, route_class=UnitOfWorkRoute)

Reader = require("fairness:read")
Writer = require("fairness:write")
ExternalIdPath = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN,
                                     description="The person's HRIS employee id")]
Filter = Annotated[str | None, Query(max_length=200)]
ATTRIBUTES = "/v1/people/{external_id}/attributes"


def _allowed(request: Request) -> dict[str, list[str]]:
    return request.app.state.settings.fairness_attributes


@router.get(ATTRIBUTES, response_model=AttributesRead, operation_id="fairness_get_attributes")
def get_attributes(external_id: ExternalIdPath, session: SessionDep, principal: Reader):
    """The person's fairness attributes (a credential bound to a person reads its own only).
    The read is written to the fairness audit log."""
    return attributes.get(session, principal, external_id)


@router.put(ATTRIBUTES, response_model=AttributesRead, operation_id="fairness_put_attributes")
def put_attributes(external_id: ExternalIdPath, body: AttributesWrite, request: Request,
                   session: SessionDep, principal: Writer):
    """Replace the person's attributes (name -> category, from the configured lists). A
    credential bound to the person declares its own (`source: self`). They are kept apart:
    no other read, export, report, webhook or GraphQL field ever carries them."""
    return attributes.put(session, principal, external_id, body.root, _allowed(request))


@router.delete(ATTRIBUTES, status_code=204, operation_id="fairness_erase_attributes")
def erase_attributes(external_id: ExternalIdPath, session: SessionDep, principal: Writer):
    """Erase every attribute of the person (the right to erasure)."""
    attributes.erase(session, principal, external_id)
    return Response(status_code=204)


def _list(value: str, name: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items or (allowed is not None and any(v not in allowed for v in items)):
        raise InvalidInput.field(f"query.{name}", "a comma-separated list of: "
                                 + ", ".join(allowed or ("names",)))
    return items


@router.get("/v1/cohorts/adverse-impact", response_model=AdverseImpactReport,
            operation_id="fairness_adverse_impact")
def adverse_impact(
    request: Request, session: SessionDep, principal: Reader,
    attribute: Annotated[str, Query(max_length=200, description=(
        "One attribute, or two separated by a comma (intersectional groups)"))],
    outcome: Annotated[str, Query(max_length=200, description=(
        "Bands counted as selected, comma-separated"))] = "ready_now,ready_soon",
    min_group: Annotated[int, Query(ge=2, le=1000, description=(
        "Smaller groups are suppressed"))] = analysis.DEFAULT_MIN_GROUP,
    org_unit: Filter = None, manager: Filter = None, rubric: Filter = None, cycle: Filter = None,
    current_level: Filter = None, target_level: Filter = None,
    fit_id: Annotated[uuid.UUID | None, Query(description=(
        "The stored rater-effects fit for the adjusted bands; default: the latest fit of "
        "each person's cycle"))] = None,
):
    """Whether readiness bands fall unevenly across groups of an attribute (or two): per
    group the selection rate, its ratio to the highest group's, the four-fifths flag and a
    two-sided Fisher exact test against everyone else declared; where gaps arise per
    competency (Welch intervals); raters whose ratings of a group differ from other raters'
    of the same people; raw, rater-adjusted (when a fit applies, named in
    `rater_adjustment`) and calibrated bands side by side. The cohort is the one
    `/v1/cohorts/readiness` reports for the same filters. Audited; refused (403) to
    credentials bound to a person. A flag asks for a look, it is not a finding."""
    filters = CohortFilters(org_unit=org_unit, manager=manager, rubric=rubric, cycle=cycle,
                            current_level=current_level, target_level=target_level)
    return service.adverse_impact(
        session, principal, filters, _list(attribute, "attribute"),
        _list(outcome, "outcome", scoring.BANDS), min_group, _allowed(request), fit_id)


@router.get("/v1/fairness/audit", response_model=Page[AuditEntry],
            operation_id="fairness_audit_log",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "The log, newest first (or all of it as CSV)"}})
def audit_log(request: Request, response: Response, session: SessionDep, principal: Reader,
              format: Annotated[Literal["json", "csv"], Query()] = "json",
              limit: Limit = None, cursor: Cursor = None):
    """Every read and change of attributes or fairness results: who, when, what, with which
    query (never a category). Reading it is recorded too. `format=csv`: the whole log."""
    query = {"format": format, "limit": limit}
    if format == "csv":
        return Response(audit.as_csv(session, principal, query), media_type="text/csv",
                        headers={"Content-Disposition":
                                 'attachment; filename="fairness-audit.csv"'})
    page = page_params(request, limit, cursor)
    data, next_cursor = audit.entries(session, principal, limit=page.limit, after=page.after,
                                      query=query)
    set_link_header(request, response, next_cursor)
    return Page(data=data, next_cursor=next_cursor)
