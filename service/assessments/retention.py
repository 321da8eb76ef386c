"""Retention of the assessment audit trail: rows older than the configured period go (see
``service/retention.py``, which calls this; the default keeps them seven years)."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session

from .models import AssessmentEvent


def purge_audit(session: Session, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` audit rows recorded before ``before``; returns how many."""
    oldest = select(AssessmentEvent.id).where(AssessmentEvent.at < before).limit(limit)
    return session.execute(delete(AssessmentEvent)
                           .where(AssessmentEvent.id.in_(oldest))).rowcount or 0
