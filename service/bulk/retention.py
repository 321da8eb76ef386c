"""Retention of bulk jobs: jobs that ended before the configured period go, with their row
errors (ON DELETE CASCADE). Queued and running jobs are never touched. A purged job's
``Idempotency-Key`` can be used again."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session

from .models import ACTIVE, BulkJob


def purge_finished(session: Session, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` jobs that finished before ``before``; returns how many."""
    oldest = (select(BulkJob.id).where(BulkJob.status.not_in(ACTIVE),
                                       BulkJob.finished_at < before).limit(limit))
    return session.execute(delete(BulkJob).where(BulkJob.id.in_(oldest))).rowcount or 0
