"""Bulk job tables: one row per upload (its options, progress and outcome) and the row errors
it found. The job row is also the job-level idempotency record: ``(principal,
idempotency_key)`` is unique, and ``fingerprint`` (the SHA-256 of the request) stays NULL while
the upload is still being received."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, Text, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from ..models import UTCDateTime, created_at_field

QUEUED, RUNNING, SUCCEEDED, FAILED, PARTIAL = "queued", "running", "succeeded", "failed", "partial"
ACTIVE = (QUEUED, RUNNING)
ATOMIC, PARTIAL_MODE = "atomic", "partial"


class BulkJob(SQLModel, table=True):
    __tablename__ = "bulk_job"
    __table_args__ = (UniqueConstraint("principal", "idempotency_key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(default="assessments", max_length=32)
    principal: str = Field(max_length=200)
    idempotency_key: str = Field(max_length=200)
    fingerprint: str | None = Field(default=None, max_length=64)
    format: str = Field(max_length=16, description="ndjson | csv")
    mode: str = Field(max_length=16, description="atomic | partial")
    submit: bool = False
    finalize: bool = False
    status: str = Field(default=QUEUED, max_length=16, index=True)
    total: int | None = None  # assessments in the file, once counted
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    rows: int = 0
    bytes: int = Field(default=0, sa_type=BigInteger)
    position: int = Field(default=0, sa_type=BigInteger)  # bytes processed (progress)
    errors_total: int = 0
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    spool_path: str | None = Field(default=None, max_length=1000)
    # Which process owns the job ("host:pid:token") and when it last showed signs of life:
    # how a restart tells an interrupted job from one another replica is still running.
    runner: str | None = Field(default=None, max_length=200)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    row_version: int = 1
    created_at: datetime = created_at_field()
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime,
                                         index=True)  # retention: purged by age


class BulkJobError(SQLModel, table=True):
    __tablename__ = "bulk_job_error"

    id: int | None = Field(default=None, primary_key=True)
    job_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("bulk_job.id", ondelete="CASCADE"), nullable=False, index=True))
    line: int = Field(sa_column=Column(Integer, nullable=False))
    field: str = Field(default="", max_length=500)
    message: str = Field(sa_column=Column(Text, nullable=False))
    external_id: str | None = Field(default=None, max_length=200)
    cycle: str | None = Field(default=None, max_length=64)
