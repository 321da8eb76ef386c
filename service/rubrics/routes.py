from typing import Annotated, Literal

from fastapi import Path, Query, Request, Response

from ..auth.deps import require
from ..db import SessionDep, UnitOfWorkRoute, cache_first
from ..http import Cursor, IfMatch, Limit, Page, Router, paged
from ..idempotency import IdempotencyDep
from ..problems import PROBLEM_RESPONSES, responses
from . import service
from .schemas import RubricCreate, RubricSummary, RubricUpdate, RubricVersionRead, Status
from .schemas import VersionSummary as VersionSummaryModel

router = Router(prefix="/v1/rubrics", tags=["rubrics"], responses=PROBLEM_RESPONSES,
                route_class=UnitOfWorkRoute)

Reader = require("rubrics:read")
Writer = require("rubrics:write")
RubricKey = Annotated[str, Path(max_length=64, description="The rubric's stable key")]
VersionNo = Annotated[int, Path(ge=1, le=1_000_000, description="Version number")]
# The formats are the keys of service.EXPORT_FORMATS: adding one there documents it here.
ExportFormat = Annotated[Literal[tuple(service.EXPORT_FORMATS)], Query(description="Export format")]


# JSON is the import document itself; YAML and CSV are text.
_EXPORT_CONTENT = {media: {"schema": {"$ref": "#/components/schemas/RubricCreate"}
                           if media == "application/json" else {"type": "string"}}
                   for media in service.EXPORT_FORMATS.values()}


def _answer(response: Response, version) -> RubricVersionRead:
    response.headers["ETag"] = service.version_etag(version)
    return service.to_read(version)


def _created(version) -> tuple[int, RubricVersionRead, dict[str, str]]:
    read = service.to_read(version)
    return 201, read, {
        "ETag": service.version_etag(version),
        "Location": f"/v1/rubrics/{read.key}/versions/{read.version}",
    }


@router.get("", response_model=Page[RubricSummary], operation_id="rubrics_list")
def list_rubrics(
    request: Request, response: Response, session: SessionDep, _: Reader,
    status: Annotated[Status | None, Query(description="Rubrics having a version in this status")
                      ] = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    return paged(request, response, limit, cursor, lambda page: service.list_rubrics(
        session, status=status, limit=page.limit, after=page.after))


@router.post("", status_code=201, response_model=RubricVersionRead, operation_id="rubrics_create",
             responses=responses(409))
def create_rubric(data: RubricCreate, session: SessionDep, _: Writer, idem: IdempotencyDep):
    """Create a rubric as a draft (version 1). Publish it to make it usable."""
    return idem.run(lambda: _created(service.create_rubric(session, data)))


@router.post(":import", status_code=201, response_model=RubricVersionRead,
             operation_id="rubrics_import", responses=responses(409, 415),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"$ref": "#/components/schemas/RubricCreate"}},
                 "application/yaml": {"schema": {"$ref": "#/components/schemas/RubricCreate"}},
             }}})
async def import_rubric(
    request: Request, session: SessionDep, _: Writer, idem: IdempotencyDep,
    publish: Annotated[bool, Query(description="Publish the imported version at once")] = False,
):
    """Import a rubric document (JSON or YAML, the export format). A new key becomes version 1;
    a known key gets its next version. The document must pass every publish rule."""
    doc = service.parse_document(await request.body(), request.headers.get("content-type", ""))
    return idem.run(lambda: _created(service.import_document(session, doc, publish_now=publish)))


def _document(body_etag: tuple[bytes, str]) -> Response:
    body, tag = body_etag
    return Response(body, media_type="application/json", headers={"ETag": tag})


@router.get("/{key}", response_model=RubricVersionRead, operation_id="rubrics_get")
async def get_rubric(key: RubricKey, session: SessionDep, _: Reader):
    """The latest published version of a rubric."""
    return _document(await cache_first(service.document, session, key))


@router.get("/{key}/export", operation_id="rubrics_export",
            responses={200: {"content": _EXPORT_CONTENT, "description": "The document"}})
def export_rubric(key: RubricKey, session: SessionDep, _: Reader, format: ExportFormat = "json"):
    """Export the latest published version (JSON/YAML re-importable; CSV as a level matrix)."""
    body, media_type = service.export(service.get_latest_published(session, key), format)
    return Response(body, media_type=media_type)


@router.get("/{key}/versions", response_model=list[VersionSummaryModel],
            operation_id="rubrics_list_versions")
def list_versions(key: RubricKey, session: SessionDep, _: Reader):
    return service.list_versions(session, key)


@router.post("/{key}/versions", status_code=201, response_model=RubricVersionRead,
             operation_id="rubrics_create_version", responses=responses(409))
def create_version(key: RubricKey, session: SessionDep, _: Writer, idem: IdempotencyDep):
    """Start the next version as a draft copy of the latest one."""
    return idem.run(lambda: _created(service.new_draft(session, key)))


@router.get("/{key}/versions/{version}", response_model=RubricVersionRead,
            operation_id="rubrics_get_version")
def get_version(key: RubricKey, version: VersionNo, session: SessionDep, _: Reader):
    return _document(service.document(session, key, version))


@router.put("/{key}/versions/{version}", response_model=RubricVersionRead,
            operation_id="rubrics_update_version", responses=responses(409, 412, 428))
def update_version(key: RubricKey, version: VersionNo, data: RubricUpdate, response: Response,
                   session: SessionDep, _: Writer, if_match: IfMatch = None):
    """Replace a draft's content. Needs `If-Match`; published versions are immutable (409)."""
    found = service.get_matching(session, key, version, if_match, required=True)
    return _answer(response, service.update_draft(session, found, data))


@router.post("/{key}/versions/{version}/publish", response_model=RubricVersionRead,
             operation_id="rubrics_publish", responses=responses(409, 412))
def publish_version(key: RubricKey, version: VersionNo, response: Response, session: SessionDep,
                    _: Writer, if_match: IfMatch = None):
    """Validate and publish a draft (422 lists every rule broken). `If-Match` is honoured."""
    found = service.get_matching(session, key, version, if_match)
    return _answer(response, service.publish(session, found))


@router.post("/{key}/versions/{version}/retire", response_model=RubricVersionRead,
             operation_id="rubrics_retire", responses=responses(409, 412))
def retire_version(key: RubricKey, version: VersionNo, response: Response, session: SessionDep,
                   _: Writer, if_match: IfMatch = None):
    """Retire a published version: it stays readable, new assessments stop using it."""
    found = service.get_matching(session, key, version, if_match)
    return _answer(response, service.retire(session, found))


@router.get("/{key}/versions/{version}/export", operation_id="rubrics_export_version",
            responses={200: {"content": _EXPORT_CONTENT, "description": "The document"}})
def export_version(key: RubricKey, version: VersionNo, session: SessionDep, _: Reader,
                   format: ExportFormat = "json"):
    body, media_type = service.export(service.get_version(session, key, version), format)
    return Response(body, media_type=media_type)
