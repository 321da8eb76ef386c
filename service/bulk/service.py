"""Bulk logic: accepting an upload (streamed to a spool file while it is hashed, with
job-level idempotency), reading jobs, and streaming exports.

Idempotency is per job, on the job row itself: the first request with a key claims it (a row
without a fingerprint) before reading the body, so a second request with the same key while
the first is still uploading is 409. Once the body is in, the fingerprint (SHA-256 of the
options and the body, hashed as it streams) is stored: a retry with the same key and the same
body answers the same job, whatever its state; another body (or other options) is 422.
"""

import hashlib
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from .. import csv_cells
from ..assessments import service as assessments
from ..assessments.schemas import AssessmentRead
from ..auth.principal import Principal
from ..db import open_session
from ..http import decode_cursor, encode_cursor, etag
from ..models import utcnow
from ..people import batch as people_batch
from ..people.service import confined_to
from ..problems import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from . import runner
from .models import QUEUED, BulkJob, BulkJobError
from .schemas import CSV_COLUMNS, FORMATS, JobAccepted, JobError, JobRead

EXPORT_MEDIA = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
EXPORT_PAGE = 500


# --- accepting an upload -------------------------------------------------------------------

def upload_format(content_type: str | None) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in FORMATS:
        raise UnsupportedMediaType(
            f"Send the file as application/x-ndjson (one assessment a line) or text/csv (one "
            f"rating a row), not '{media or 'no Content-Type'}'.")
    return FORMATS[media]


async def accept_upload(request: Request, session: Session, principal: Principal, key: str,
                        *, mode: str, submit: bool, finalize: bool
                        ) -> tuple[JobAccepted, bool]:
    """Spool and hash the body, then queue the job; (answer, replayed)."""
    if principal.person is not None:
        raise Forbidden("Bulk imports need a credential that is not bound to a person.")
    options = {"format": upload_format(request.headers.get("content-type")), "mode": mode,
               "submit": submit, "finalize": finalize}
    # An upload can take minutes: hold no pooled connection (nor an SQLite snapshot) meanwhile.
    session.close()
    engine, settings = request.app.state.engine, request.app.state.settings
    job_runner = runner.runner_for(request.app)
    claim, existing = await run_in_threadpool(_claim, engine, job_runner.leases, principal.id,
                                              key, options)
    if existing is not None:
        return await _replay(request, existing, options, settings.bulk_max_bytes), True

    path = Path(settings.bulk_spool_dir) / f"{claim}.{options['format']}"
    try:
        digest, size = await _spool(request, path, options, settings.bulk_max_bytes)
        if size == 0:
            raise InvalidInput.field("body", "the file is empty")
    except BaseException as exc:
        path.unlink(missing_ok=True)
        await run_in_threadpool(_release, engine, job_runner.leases, claim)
        if isinstance(exc, ClientDisconnect):  # nobody to answer; not a server error either
            raise BadRequest("The upload ended before the whole file arrived.") from exc
        raise
    job = await run_in_threadpool(_accept, engine, claim, digest, path, size)
    job_runner.submit(job.id)
    return JobAccepted(job=job), False


def _fingerprint(options: dict[str, Any]):
    digest = hashlib.sha256()
    digest.update(json.dumps(options, sort_keys=True).encode() + b"\n")
    return digest


async def _spool(request: Request, path: Path, options: dict[str, Any], limit: int
                 ) -> tuple[str, int]:
    """Write the body to ``path`` chunk by chunk, hashing it; (fingerprint, size)."""
    digest, size = _fingerprint(options), 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The file exceeds the bulk upload limit of {limit} bytes.")
            digest.update(chunk)
            f.write(chunk)
    return digest.hexdigest(), size


async def _replay(request: Request, existing: BulkJob, options: dict[str, Any], limit: int
                  ) -> JobAccepted:
    if existing.fingerprint is None:
        raise Conflict("A request with this Idempotency-Key is still uploading; retry once it "
                       "has been answered.", job_id=str(existing.id))
    digest, size = _fingerprint(options), 0
    async for chunk in request.stream():  # hashed only, to compare with the first request
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The file exceeds the bulk upload limit of {limit} bytes.")
        digest.update(chunk)
    if digest.hexdigest() != existing.fingerprint:
        raise InvalidInput.field("header.Idempotency-Key",
                                 "this key was already used with a different file or options")
    engine = request.app.state.engine
    return JobAccepted(job=await run_in_threadpool(_read_job, engine, existing.id))


def _claim(engine, leases, principal: str, key: str, options: dict[str, Any]
           ) -> tuple[uuid.UUID | None, BulkJob | None]:
    """(id of a new claim, None) or (None, the job that already holds the key). The claim is
    this process's (``leases``) before its row exists, so no restarting replica can take the
    upload for abandoned while it is received."""
    job_id = uuid.uuid4()
    leases.acquire(job_id)
    with open_session(engine, write=True) as session:
        job = BulkJob(id=job_id, principal=principal, idempotency_key=key,
                      runner=runner.RUNNER_ID, heartbeat_at=utcnow(), **options)
        session.add(job)
        try:
            session.commit()
            return job.id, None
        except IntegrityError:
            session.rollback()
            leases.release(job_id)
        existing = session.exec(select(BulkJob).where(
            BulkJob.principal == principal, BulkJob.idempotency_key == key)).first()
        if existing is None:  # released meanwhile: the other upload failed; claim again
            return _claim(engine, leases, principal, key, options)
        return None, existing


def _release(engine, leases, job_id: uuid.UUID) -> None:
    """The upload failed: forget the claim, so the same key can be used again."""
    with open_session(engine, write=True) as session:
        job = session.get(BulkJob, job_id)
        if job is not None and job.fingerprint is None:
            session.delete(job)
        session.commit()
    leases.release(job_id)


def _accept(engine, job_id: uuid.UUID, digest: str, path: Path, size: int) -> JobRead:
    with open_session(engine, write=True) as session:
        job = session.get(BulkJob, job_id)
        job.fingerprint, job.spool_path, job.bytes = digest, str(path), size
        job.status, job.heartbeat_at, job.row_version = QUEUED, utcnow(), job.row_version + 1
        session.add(job)
        session.commit()
        return to_read(session, job)


def _read_job(engine, job_id: uuid.UUID) -> JobRead:
    with open_session(engine) as session:
        return to_read(session, session.get(BulkJob, job_id))


# --- reading jobs ------------------------------------------------------------------------------

def get_job(session: Session, job_id: uuid.UUID, principal: Principal) -> BulkJob:
    """A job as this principal may see it. A person-bound principal sees only jobs it started
    (none: it cannot import); others' jobs name other people in their row errors, so they
    are 404 to it like anything else it may not see."""
    job = session.get(BulkJob, job_id)
    if job is None or job.fingerprint is None or (
            confined_to(principal) is not None and job.principal != principal.id):
        raise NotFound(f"No job with id '{job_id}'.")
    return job


def job_etag(job: BulkJob) -> str:
    live = runner.live_counters(job.id)
    return etag(job.id.hex[:12], job.row_version, *(live.values() if live else ()))


def to_read(session: Session, job: BulkJob, *, limit: int = 100, after: list | None = None
            ) -> JobRead:
    """The job with a page of its errors (the counts of a job running in this process are
    read live: an atomic import on SQLite cannot write them until it ends)."""
    query = (select(BulkJobError).where(BulkJobError.job_id == job.id)
             .order_by(BulkJobError.id).limit(limit + 1))
    if after:
        if not isinstance(after[0], int):
            raise InvalidInput.field("query.cursor", "not a cursor this API issued")
        query = query.where(BulkJobError.id > after[0])
    errors = list(session.exec(query))
    page, more = errors[:limit], len(errors) > limit
    counts = {k: getattr(job, k) for k in ("total", "processed", "succeeded", "failed", "rows",
                                           "position", "errors_total")}
    if job.status == "running" and (live := runner.live_counters(job.id)) is not None:
        counts = live
    position = counts.pop("position")
    done = job.status not in ("queued", "running")
    return JobRead(
        id=job.id, status=job.status, format=job.format, mode=job.mode, submit=job.submit,
        finalize=job.finalize, **counts, bytes=job.bytes,
        progress=1.0 if done else round(min(position / job.bytes, 1.0), 4) if job.bytes else 0.0,
        errors=[JobError(line=e.line, field=e.field, message=e.message,
                         external_id=e.external_id, cycle=e.cycle) for e in page],
        next_cursor=encode_cursor([page[-1].id]) if more else None,
        reason=job.reason, created_at=job.created_at, started_at=job.started_at,
        finished_at=job.finished_at)


# --- exports -----------------------------------------------------------------------------------

def export_assessments(engine, principal: Principal, fmt: str, filters: dict[str, Any]
                       ) -> Iterator[bytes]:
    """The assessments matching ``filters`` (those of ``GET /v1/assessments``) in the bulk
    import shape, a page at a time (constant memory: each page has its own short session).
    Superseded assessments are history and left out unless ``status=superseded`` asks."""
    write = _csv_page if fmt == "csv" else _ndjson_page
    if fmt == "csv":
        yield (",".join(EXPORT_CSV_COLUMNS) + "\n").encode()  # names: nothing to escape
    for page, people in _pages(engine, principal, filters):
        yield write(page, people).encode()


# Every import column but ``active``: an assessment of someone deactivated since could not be
# imported again (new assessments need an active person), and the import keeps it as stored.
EXPORT_CSV_COLUMNS = tuple(c for c in CSV_COLUMNS if c != "active")


def _pages(engine, principal: Principal, filters: dict[str, Any]
           ) -> Iterator[tuple[list[AssessmentRead], dict]]:
    after = None
    while True:
        with open_session(engine) as session:
            data, next_cursor = assessments.list_assessments(
                session, principal, **filters, limit=EXPORT_PAGE, after=after)
            if filters.get("status") is None:
                data = [a for a in data if a.status != "superseded"]
            people = {p.external_id: (p.display_name, p.email, p.manager_external_id)
                      for p in people_batch.get_many(session, {a.person for a in data}).values()}
        if data:
            yield data, people
        if next_cursor is None:
            return
        after = decode_cursor(next_cursor)


def _csv_page(page: list[AssessmentRead], people: dict) -> str:
    out = io.StringIO()
    writer = csv_cells.Writer(out, lineterminator="\n")
    for a in page:
        name, email, manager = people.get(a.person, ("", None, None))
        head = [a.person, name, email or "", a.org_unit or "", manager or "", a.rubric.key,
                a.rubric.version, a.current_level, a.target_level, a.cycle, a.status]
        if not a.ratings:
            writer.writerow(head + [""] * 5)
        for r in a.ratings:
            writer.writerow([*head, r.competency, r.rater_role, r.rater_id or "",
                             r.proficiency, r.evidence or ""])
    return out.getvalue()


def _ndjson_page(page: list[AssessmentRead], people: dict) -> str:
    lines = []
    for a in page:
        name, email, manager = people.get(a.person, ("", None, None))
        lines.append(json.dumps({
            "id": str(a.id),
            "person": {"external_id": a.person, "display_name": name, "email": email,
                       "org_unit": a.org_unit, "manager_external_id": manager,
                       "rubric": a.rubric.key, "level": a.current_level},
            "rubric": {"key": a.rubric.key, "version": a.rubric.version},
            "target_level": a.target_level, "cycle": a.cycle, "status": a.status,
            "ratings": [r.model_dump() for r in a.ratings],
        }, ensure_ascii=False) + "\n")
    return "".join(lines)
