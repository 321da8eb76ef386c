import uuid
from typing import Annotated, Literal

from fastapi import Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from ..assessments.schemas import Status
from ..auth.deps import require
from ..db import SessionDep, UnitOfWorkRoute, read_only
from ..http import Cursor, Limit, Router, decode_cursor, page_params, set_link_header
from ..idempotency import REPLAY_HEADER
from ..problems import PROBLEM_RESPONSES, responses
from . import runner, service
from .schemas import JobAccepted, JobRead, Mode


def bulk_ready(request: Request) -> None:
    """Before any bulk route touches the database: the app's job runner exists, so jobs a
    previous process left behind have been settled (tests skip the lifespan)."""
    runner.runner_for(request.app)


router = Router(responses=PROBLEM_RESPONSES, dependencies=[Depends(bulk_ready)],
                route_class=UnitOfWorkRoute)

Importer = require("bulk:write")
JobReader = require("jobs:read")
ExportReader = require("assessments:read")
Filter = Annotated[str | None, Query(max_length=200)]

_UPLOAD = {"schema": {"type": "string", "format": "binary"}}
_EXPORT_CONTENT = {media: {"schema": {"type": "string"}}
                   for media in ("text/csv", "application/x-ndjson")}


@router.post(
    "/v1/bulk/assessments", status_code=202, response_model=JobAccepted, tags=["bulk"],
    operation_id="bulk_import_assessments", responses=responses(409, 415),
    dependencies=[Depends(read_only)],
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/x-ndjson": _UPLOAD, "text/csv": _UPLOAD}}})
async def import_assessments(
    request: Request, session: SessionDep, principal: Importer,
    idempotency_key: Annotated[str, Header(
        alias="Idempotency-Key", min_length=1, max_length=200,
        description="Required: a retry with the same key and file answers the same job")],
    mode: Annotated[Mode, Query(description="atomic: all or nothing; partial: apply the valid "
                                            "assessments, report the others")] = "atomic",
    submit: Annotated[bool, Query(description="Submit every assessment (unless its line says "
                                              "otherwise)")] = False,
    finalize: Annotated[bool, Query(description="Submit and finalize every assessment (unless "
                                                "its line says otherwise)")] = False,
):
    """Import a review cycle: JSONL (`application/x-ndjson`, one assessment a line, the person
    upserted on the way) or CSV (`text/csv`, one rating a row, grouped into assessments by
    `(external_id, cycle)`). The body is streamed to disk, never held in memory, and the answer
    is `202` with a job to follow at `GET /v1/jobs/{id}`. An assessment already in the database
    for that person and cycle is updated, so importing a file again changes nothing."""
    accepted, replayed = await service.accept_upload(
        request, session, principal, idempotency_key, mode=mode, submit=submit,
        finalize=finalize)
    headers = {"Location": f"/v1/jobs/{accepted.job.id}"}
    if replayed:
        headers[REPLAY_HEADER] = "true"
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202, headers=headers)


@router.get("/v1/jobs/{job_id}", response_model=JobRead, tags=["jobs"],
            operation_id="jobs_get")
def get_job(job_id: Annotated[uuid.UUID, Path(description="The job's id")], request: Request,
            response: Response, session: SessionDep, principal: JobReader, limit: Limit = None,
            cursor: Cursor = None):
    """A job's status, counts and a page of its row errors (line, field, message) in file
    order; `next_cursor` (and the `Link` header) page through the rest. A credential bound to
    a person sees no one else's jobs (404)."""
    page = page_params(request, limit, cursor)
    job = service.get_job(session, job_id, principal)
    read = service.to_read(session, job, limit=page.limit, after=decode_cursor(cursor))
    response.headers["ETag"] = service.job_etag(job)
    set_link_header(request, response, read.next_cursor)
    return read


@router.get("/v1/assessments:export", tags=["bulk"], operation_id="bulk_export_assessments",
            responses={200: {"content": _EXPORT_CONTENT,
                             "description": "The assessments, in the bulk import shape"}})
def export_assessments(
    request: Request, principal: ExportReader,
    format: Annotated[Literal["csv", "ndjson"], Query(description="csv: one rating a row; "
                                                                  "ndjson: one assessment a "
                                                                  "line")] = "csv",
    person: Filter = None,
    rubric: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Status | None, Query(description="Default: all but superseded")] = None,
    cycle: Annotated[str | None, Query(max_length=64)] = None,
    org_unit: Filter = None,
    target_level: Annotated[str | None, Query(max_length=64)] = None,
):
    """Every matching assessment, streamed (the filters of `GET /v1/assessments`), in the
    shape `POST /v1/bulk/assessments` imports: export, then import elsewhere."""
    filters = {"person": person, "rubric": rubric, "status": status, "cycle": cycle,
               "org_unit": org_unit, "target_level": target_level}
    body = service.export_assessments(request.app.state.engine, principal, format, filters)
    name = f"assessments.{'csv' if format == 'csv' else 'jsonl'}"
    return StreamingResponse(body, media_type=service.EXPORT_MEDIA[format],
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})
