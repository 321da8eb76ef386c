"""Bulk wire shapes: a JSON line of an import, the columns of a CSV import, and the job.

JSONL, one assessment a line (DESIGN.md); ``person`` is the people sync shape (or just an
external id for someone already synced), ``submit``/``finalize``/``status`` say how far the
assessment should go (default: the request's ``submit``/``finalize``):

    {"person": {"external_id": "E123", "display_name": "...", "level": "pm", ...},
     "rubric": "product-leadership", "target_level": "senior-pm", "cycle": "2026-H2",
     "ratings": [{"competency": "strategy", "rater_role": "manager", "rater_id": "E001",
                  "proficiency": 4, "evidence": "..."}], "submit": true}

CSV, one rating a row, grouped into assessments by (external_id, cycle): see ``CSV_COLUMNS``.
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..assessments.roles import RoleName
from ..assessments.schemas import Cycle, RatingIn, Strict
from ..wire import ExternalId, Key, Uuid

JobStatus = Literal["queued", "running", "succeeded", "failed", "partial"]
Mode = Literal["atomic", "partial"]
TargetStatus = Literal["draft", "submitted", "finalized"]
FORMATS = {"application/x-ndjson": "ndjson", "application/jsonl": "ndjson",
           "application/json-lines": "ndjson", "text/csv": "csv"}

# CSV columns: external_id and cycle are required; a rating's columns are all empty on a row
# that only names an assessment. Person columns update the person (``current_level`` is their
# level); left out, the stored value stays.
CSV_PERSON = {"display_name": "display_name", "email": "email", "org_unit": "org_unit",
              "manager_external_id": "manager_external_id", "active": "active",
              "rubric": "rubric", "current_level": "level"}
CSV_ASSESSMENT = ("rubric", "rubric_version", "target_level", "status")
CSV_RATING = ("competency", "rater_role", "rater_id", "proficiency", "evidence")
CSV_REQUIRED = ("external_id", "cycle")
CSV_COLUMNS = ("external_id", "display_name", "email", "org_unit", "manager_external_id",
               "active", "rubric", "rubric_version", "current_level", "target_level", "cycle",
               "status", *CSV_RATING)


class BulkRating(RatingIn):
    """A rating with its rater (``rater_id`` defaults to the person for ``self``)."""

    rater_role: RoleName
    rater_id: ExternalId | None = None


class BulkLine(Strict):
    """One JSON line. ``person`` and ``rubric`` are checked by the parser (string or object)."""

    id: Uuid | None = Field(None, description="Ignored (exports write it)")
    person: Any
    rubric: Any = None
    target_level: Key | None = None
    cycle: Cycle
    ratings: list[BulkRating] = Field(default_factory=list, max_length=2000)
    submit: bool | None = None
    finalize: bool | None = None
    status: TargetStatus | None = None


class CsvAssessment(Strict):
    """The assessment columns of a CSV group (validated once per group)."""

    external_id: ExternalId
    cycle: Cycle
    rubric: Key | None = None
    rubric_version: int | None = Field(None, ge=1, le=1_000_000)
    target_level: Key | None = None
    status: TargetStatus | None = None


class JobError(BaseModel):
    line: int = Field(description="Line of the file (1 is the first line; a CSV header too)")
    field: str = Field(description="Field path (`ratings[2].proficiency`) or CSV column; "
                                   "empty when the whole line is at fault")
    message: str
    external_id: str | None = None
    cycle: str | None = None


class JobRead(BaseModel):
    id: uuid.UUID
    kind: Literal["assessments"] = "assessments"
    status: JobStatus
    format: Literal["ndjson", "csv"]
    mode: Mode
    submit: bool
    finalize: bool
    total: int | None = Field(description="Assessments in the file; null until counted (a CSV "
                                          "is counted as it is read)")
    processed: int = Field(description="Assessments validated so far")
    succeeded: int = Field(description="Assessments applied (atomic mode: once committed)")
    failed: int = Field(description="Assessments rejected")
    rows: int = Field(description="Lines of data read so far")
    bytes: int = Field(description="Size of the uploaded file")
    progress: float = Field(ge=0, le=1, description="Share of the file processed")
    errors: list[JobError] = Field(description="A page of row errors, in file order")
    next_cursor: str | None = Field(None, description="Cursor of the next page of errors")
    errors_total: int = Field(description="Row errors found (the first `bulk_max_errors` are "
                                          "kept)")
    reason: str | None = Field(None, description="Why the job failed, or what partial means")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobAccepted(BaseModel):
    job: JobRead
