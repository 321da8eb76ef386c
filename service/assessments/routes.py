import uuid
from typing import Annotated

from fastapi import Path, Query, Request, Response

from .. import sync
from ..auth.deps import require
from ..auth.principal import Principal
from ..db import SessionDep, UnitOfWorkRoute
from ..http import (
    Cursor,
    IfMatch,
    Limit,
    Page,
    Router,
    check_if_match,
    page_params,
    paged,
    set_link_header,
)
from ..idempotency import IdempotencyDep
from ..problems import PROBLEM_RESPONSES, responses
from ..sync import SyncPage, UpdatedSince
from . import service
from .models import Assessment
from .schemas import (
    AssessmentCreate,
    AssessmentEventRead,
    AssessmentRead,
    RatingsUpdate,
    Status,
)

router = Router(prefix="/v1/assessments", tags=["assessments"], responses=PROBLEM_RESPONSES,
                route_class=UnitOfWorkRoute)

Reader = require("assessments:read")
Writer = require("assessments:write")
AssessmentId = Annotated[uuid.UUID, Path(description="The assessment's id")]
Filter = Annotated[str | None, Query(max_length=200)]


def _answer(response: Response, assessment: Assessment, principal: Principal) -> AssessmentRead:
    response.headers["ETag"] = service.assessment_etag(assessment)
    return service.to_read(assessment, principal)


def _created(assessment: Assessment, principal: Principal
             ) -> tuple[int, AssessmentRead, dict[str, str]]:
    return 201, service.to_read(assessment, principal), {
        "ETag": service.assessment_etag(assessment),
        "Location": f"/v1/assessments/{assessment.id}",
    }


@router.post("", status_code=201, response_model=AssessmentRead,
             operation_id="assessments_create", responses=responses(409))
def create_assessment(data: AssessmentCreate, session: SessionDep, principal: Writer,
                      idem: IdempotencyDep):
    """Start a draft assessment of a person against a published rubric version (default: the
    latest of the person's rubric) for a target level (default: the next one)."""
    return idem.run(lambda: _created(service.create_assessment(session, data, principal),
                                     principal))


@router.get("", response_model=SyncPage[AssessmentRead], operation_id="assessments_list")
def list_assessments(
    request: Request, response: Response, session: SessionDep, principal: Reader,
    person: Annotated[str | None, Query(max_length=200,
                                        description="External id of the person")] = None,
    rubric: Annotated[str | None, Query(max_length=64, description="Rubric key")] = None,
    status: Annotated[Status | None, Query()] = None,
    cycle: Annotated[str | None, Query(max_length=64)] = None,
    org_unit: Annotated[str | None, Query(
        max_length=200, description="The person's org unit when the assessment began")] = None,
    target_level: Annotated[str | None, Query(max_length=64)] = None,
    updated_since: UpdatedSince = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """Assessments, oldest first, filtered; cursor paginated. With `updated_since` (or a
    `sync_cursor`): the assessments changed since, oldest change first, supersessions
    included. A key bound to a person lists only that person's assessments."""
    page = page_params(request, limit, cursor)
    filters = {"person": person, "rubric": rubric, "status": status, "cycle": cycle,
               "org_unit": org_unit, "target_level": target_level}
    if (since := sync.position(updated_since, page.after)) is not None:
        return sync.answer(request, response, service.changed_assessments(
            session, principal, since, limit=page.limit, **filters))
    data, next_cursor = service.list_assessments(session, principal, **filters,
                                                 limit=page.limit, after=page.after)
    set_link_header(request, response, next_cursor)
    return SyncPage(data=data, next_cursor=next_cursor)


@router.get("/{assessment_id}", response_model=AssessmentRead, operation_id="assessments_get")
def get_assessment(assessment_id: AssessmentId, response: Response, session: SessionDep,
                   principal: Reader):
    return _answer(response, service.get_assessment(session, assessment_id, principal),
                   principal)


@router.put("/{assessment_id}/ratings", response_model=AssessmentRead,
            operation_id="assessments_put_ratings", responses=responses(409, 412, 428))
def put_ratings(assessment_id: AssessmentId, data: RatingsUpdate, response: Response,
                session: SessionDep, principal: Writer, if_match: IfMatch = None):
    """Add or replace one rater's ratings (rater_role + rater_id) on a draft. Needs
    `If-Match`. Every competency must be in the pinned rubric version and every proficiency
    inside its scale (422 with the field path); nothing is stored unless all of it is valid."""
    found = service.get_assessment(session, assessment_id, principal)
    check_if_match(if_match, service.assessment_etag(found))
    return _answer(response, service.set_ratings(session, found, data, principal), principal)


def _transition(action, assessment_id, response, session, principal, if_match):
    found = service.get_assessment(session, assessment_id, principal)
    check_if_match(if_match, service.assessment_etag(found), required=False)
    return _answer(response, action(session, found, principal), principal)


@router.post("/{assessment_id}/submit", response_model=AssessmentRead,
             operation_id="assessments_submit", responses=responses(409, 412))
def submit(assessment_id: AssessmentId, response: Response, session: SessionDep,
           principal: Writer, if_match: IfMatch = None):
    """`draft -> submitted`: ratings are frozen. `If-Match` is honoured when given."""
    return _transition(service.submit, assessment_id, response, session, principal, if_match)


@router.post("/{assessment_id}/finalize", response_model=AssessmentRead,
             operation_id="assessments_finalize", responses=responses(409, 412))
def finalize(assessment_id: AssessmentId, response: Response, session: SessionDep,
             principal: Writer, if_match: IfMatch = None):
    """`submitted -> finalized`: the assessment becomes immutable."""
    return _transition(service.finalize, assessment_id, response, session, principal, if_match)


@router.post("/{assessment_id}/supersede", status_code=201, response_model=AssessmentRead,
             operation_id="assessments_supersede", responses=responses(409, 412))
def supersede(assessment_id: AssessmentId, session: SessionDep, principal: Writer,
              idem: IdempotencyDep, if_match: IfMatch = None):
    """Replace a submitted or finalized assessment: answers 201 with a new draft carrying the
    same pins and a copy of the ratings; the old one becomes `superseded`."""
    def create():  # inside run(), so a replay answers even though the old one has moved on
        found = service.get_assessment(session, assessment_id, principal)
        check_if_match(if_match, service.assessment_etag(found), required=False)
        return _created(service.supersede(session, found, principal), principal)

    return idem.run(create)


@router.get("/{assessment_id}/history", response_model=Page[AssessmentEventRead],
            operation_id="assessments_history")
def history(assessment_id: AssessmentId, request: Request, response: Response,
            session: SessionDep, principal: Reader, limit: Limit = None, cursor: Cursor = None):
    """The audit trail in order: who (principal) did what and when. Append-only."""
    return paged(request, response, limit, cursor, lambda page: service.list_history(
        session, service.get_assessment(session, assessment_id, principal), principal,
        limit=page.limit, after=page.after))
