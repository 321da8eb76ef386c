"""Templates and outlines over REST: thin handlers around ``service``."""

import uuid
from typing import Annotated, Literal

from fastapi import Path, Query, Request, Response, Security
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .. import sync
from ..auth.deps import authorize, require
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
from . import opportunities, service
from .render import FORMATS, HTML_HEADERS
from .schemas import (
    Key,
    OutlineCreate,
    OutlineRead,
    OutlineStatus,
    OutlineStatusChange,
    OutlineUpdate,
    Status,
    TemplateCreate,
    TemplateSummary,
    TemplateUpdate,
    TemplateVersionRead,
    TemplateVersionSummary,
)

templates = Router(prefix="/v1/templates", tags=["templates"], responses=PROBLEM_RESPONSES,
                   route_class=UnitOfWorkRoute)
outlines = Router(prefix="/v1/outlines", tags=["outlines"], responses=PROBLEM_RESPONSES,
                  route_class=UnitOfWorkRoute)

TemplateReader = require("templates:read")
TemplateWriter = require("templates:write")
OutlineReader = require("outlines:read")
OutlineWriter = require("outlines:write")
TemplateKey = Annotated[str, Path(max_length=64, description="The template's stable key")]
VersionNo = Annotated[int, Path(ge=1, le=1_000_000, description="Version number")]
OutlineId = Annotated[uuid.UUID, Path(description="The outline's id")]
Filter = Annotated[str | None, Query(max_length=200)]


# --- templates -------------------------------------------------------------------------------

def _version(response: Response, version) -> TemplateVersionRead:
    response.headers["ETag"] = service.version_etag(version)
    return service.to_version_read(version)


def _version_created(version) -> tuple[int, TemplateVersionRead, dict[str, str]]:
    read = service.to_version_read(version)
    return 201, read, {"ETag": service.version_etag(version),
                       "Location": f"/v1/templates/{read.key}/versions/{read.version}"}


@templates.get("", response_model=Page[TemplateSummary], operation_id="templates_list")
def list_templates(
    request: Request, response: Response, session: SessionDep, _: TemplateReader,
    status: Annotated[Status | None,
                      Query(description="Templates having a version in this status")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    return paged(request, response, limit, cursor, lambda page: service.list_templates(
        session, status=status, limit=page.limit, after=page.after))


@templates.post("", status_code=201, response_model=TemplateVersionRead,
                operation_id="templates_create", responses=responses(409))
def create_template(data: TemplateCreate, session: SessionDep, _: TemplateWriter,
                    idem: IdempotencyDep):
    """Create a template as a draft (version 1). Publish it to write outlines from it."""
    return idem.run(lambda: _version_created(service.create_template(session, data)))


@templates.get("/{key}", response_model=TemplateVersionRead, operation_id="templates_get")
def get_template(key: TemplateKey, response: Response, session: SessionDep, _: TemplateReader):
    """The latest published version of a template."""
    return _version(response, service.get_latest_published(session, key))


@templates.get("/{key}/versions", response_model=list[TemplateVersionSummary],
               operation_id="templates_list_versions")
def list_versions(key: TemplateKey, session: SessionDep, _: TemplateReader):
    return service.list_versions(session, key)


@templates.post("/{key}/versions", status_code=201, response_model=TemplateVersionRead,
                operation_id="templates_create_version", responses=responses(409))
def create_version(key: TemplateKey, session: SessionDep, _: TemplateWriter,
                   idem: IdempotencyDep):
    """Start the next version as a draft copy of the latest one."""
    return idem.run(lambda: _version_created(service.new_draft(session, key)))


@templates.get("/{key}/versions/{version}", response_model=TemplateVersionRead,
               operation_id="templates_get_version")
def get_version(key: TemplateKey, version: VersionNo, response: Response, session: SessionDep,
                _: TemplateReader):
    return _version(response, service.get_version(session, key, version))


@templates.put("/{key}/versions/{version}", response_model=TemplateVersionRead,
               operation_id="templates_update_version", responses=responses(409, 412, 428))
def update_version(key: TemplateKey, version: VersionNo, data: TemplateUpdate,
                   response: Response, session: SessionDep, _: TemplateWriter,
                   if_match: IfMatch = None):
    """Replace a draft's content. Needs `If-Match`; published versions are immutable (409)."""
    found = service.get_matching(session, key, version, if_match, required=True)
    return _version(response, service.update_draft(session, found, data))


@templates.post("/{key}/versions/{version}/publish", response_model=TemplateVersionRead,
                operation_id="templates_publish", responses=responses(409, 412))
def publish_version(key: TemplateKey, version: VersionNo, response: Response,
                    session: SessionDep, _: TemplateWriter, if_match: IfMatch = None):
    """Check and publish a draft (422 lists every rule broken). `If-Match` is honoured."""
    found = service.get_matching(session, key, version, if_match)
    return _version(response, service.publish(session, found))


@templates.post("/{key}/versions/{version}/retire", response_model=TemplateVersionRead,
                operation_id="templates_retire", responses=responses(409, 412))
def retire_version(key: TemplateKey, version: VersionNo, response: Response,
                   session: SessionDep, _: TemplateWriter, if_match: IfMatch = None):
    """Retire a published version: its outlines stay readable, new outlines stop using it."""
    found = service.get_matching(session, key, version, if_match)
    return _version(response, service.retire(session, found))


# --- outlines --------------------------------------------------------------------------------

def _outline(response: Response, outline) -> OutlineRead:
    response.headers["ETag"] = service.outline_etag(outline)
    return service.to_read(outline)


_RENDERED = {"description": "The outline as JSON, or rendered with `?format=markdown|html`",
             "content": {"application/json": {"schema": {
                             "$ref": "#/components/schemas/OutlineRead"}}}
             | {media.split(";")[0]: {"schema": {"type": "string"}}
                for media in FORMATS.values()}}


@outlines.post("", status_code=201, response_model=OutlineRead, operation_id="outlines_create")
def create_outline(data: OutlineCreate, session: SessionDep, principal: OutlineWriter,
                   idem: IdempotencyDep):
    """Write an outline from a published template version (default: the latest). Values are
    checked against its fields; every problem is listed at once (`values.<field key>`)."""
    def create():
        outline = service.create_outline(session, data, principal)
        return 201, service.to_read(outline), {"ETag": service.outline_etag(outline),
                                               "Location": f"/v1/outlines/{outline.id}"}
    return idem.run(create)


@outlines.get("", response_model=SyncPage[OutlineRead], operation_id="outlines_list")
def list_outlines(
    request: Request, response: Response, session: SessionDep, principal: OutlineReader,
    template: Annotated[Key | None, Query(description="Template key")] = None,
    person: Annotated[Filter, Query(description="External id of the person it is about")] = None,
    status: Annotated[OutlineStatus | None, Query()] = None,
    quadrant: Annotated[Filter, Query(description="Prioritisation quadrant option")] = None,
    competency: Annotated[Filter, Query(description="Linked competency key")] = None,
    assessment_id: Annotated[uuid.UUID | None, Query(description="Linked assessment")] = None,
    updated_since: UpdatedSince = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """Outlines, newest first. With `updated_since` (or a `sync_cursor`): the outlines changed
    since, oldest change first. A person-bound credential sees those about or owned by it."""
    page = page_params(request, limit, cursor)
    filters = {"template": template, "person": person, "status": status, "quadrant": quadrant,
               "competency": competency, "assessment_id": assessment_id}
    if (since := sync.position(updated_since, page.after)) is not None:
        return sync.answer(request, response, service.changed_outlines(
            session, principal, since, limit=page.limit, **filters), service.to_read)
    outlines, next_cursor = service.list_outlines(session, principal, limit=page.limit,
                                                  after=page.after, **filters)
    set_link_header(request, response, next_cursor)
    return SyncPage(data=[service.to_read(o) for o in outlines], next_cursor=next_cursor)


@outlines.get("/{outline_id}", response_model=OutlineRead, operation_id="outlines_get",
              responses={200: _RENDERED})
def get_outline(
    outline_id: OutlineId, response: Response, session: SessionDep, principal: OutlineReader,
    format: Annotated[Literal["json", "markdown", "html"],
                      Query(description="`markdown` or `html` render a document")] = "json",
):
    outline = service.get_outline(session, outline_id, principal)
    if format == "json":
        return _outline(response, outline)
    headers = {"ETag": service.outline_etag(outline)}
    if format == "html":
        headers |= HTML_HEADERS
    return Response(service.render(outline, format), media_type=FORMATS[format], headers=headers)


@outlines.put("/{outline_id}", response_model=OutlineRead, operation_id="outlines_update",
              responses=responses(409, 412, 428))
def update_outline(outline_id: OutlineId, data: OutlineUpdate, response: Response,
                   session: SessionDep, principal: OutlineWriter, if_match: IfMatch = None):
    """Replace an outline's content (its template version stays pinned). Needs `If-Match`;
    done and dropped outlines must be reopened first (409)."""
    outline = service.get_outline(session, outline_id, principal)
    check_if_match(if_match, service.outline_etag(outline))
    return _outline(response, service.update_outline(session, outline, data, principal))


@outlines.post("/{outline_id}/status", response_model=OutlineRead,
               operation_id="outlines_set_status", responses=responses(409, 412))
def set_status(outline_id: OutlineId, data: OutlineStatusChange, response: Response,
               session: SessionDep, principal: OutlineWriter, if_match: IfMatch = None):
    """Move an outline: draft -> active | dropped, active -> done | dropped, done -> active
    (reopen), dropped -> draft (revive). Other moves are 409; the current status is a no-op.
    `If-Match` is honoured."""
    outline = service.get_outline(session, outline_id, principal)
    check_if_match(if_match, service.outline_etag(outline), required=False)
    return _outline(response, service.change_status(session, outline, data.status))


router = Router(route_class=UnitOfWorkRoute)
router.include_router(templates)
router.include_router(outlines)


class DraftedOutlines(BaseModel):
    data: list[OutlineRead]
    created: int = Field(description="How many of these were created by this call")


@router.post("/v1/assessments/{assessment_id}/opportunities", response_model=DraftedOutlines,
             status_code=201, tags=["outlines"], operation_id="outlines_draft_from_gaps",
             responses={200: {"model": DraftedOutlines,
                              "description": "Every gap already had its outline"},
                        **PROBLEM_RESPONSES, **responses(409)})
def draft_from_gaps(
    assessment_id: uuid.UUID, session: SessionDep,
    principal: Annotated[Principal, Security(authorize, scopes=["outlines:write",
                                                                "readiness:read"])],
    limit: Annotated[int, Query(ge=1, le=12, description=(
        "How many gaps, largest first (a tour of duty covers every gap it fits, even beyond "
        "this number)"))] = 3,
):
    """Draft leadership work for the assessment's largest rated gaps, seeded from what the
    rubric expects at the target level and what the raters wrote, with the recommendations
    written for that level. Gaps whose advice is a tour of duty share one tour-of-duty plan
    per assessment (its kind of work from the recommendation); every other gap gets an
    opportunity outline (quadrant and leadership dimensions from the rubric, target date from
    the cycle). Competencies nobody rated are never drafted. Calling it again creates nothing
    new (200 with the existing drafts)."""
    drafted = opportunities.draft_from_gaps(session, assessment_id, principal, limit)
    body = DraftedOutlines(data=[service.to_read(o) for o in drafted.outlines],
                           created=drafted.created)
    return JSONResponse(body.model_dump(mode="json"), status_code=201 if drafted.created else 200)
