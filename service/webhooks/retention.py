"""Retention of webhook history: events older than the configured period go, with their
deliveries and attempts (ON DELETE CASCADE), unless a delivery of theirs is still pending."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session

from .models import PENDING, WebhookDelivery, WebhookEvent


def purge_events(session: Session, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` settled events created before ``before``; returns how many."""
    pending = select(WebhookDelivery.id).where(WebhookDelivery.event_id == WebhookEvent.id,
                                               WebhookDelivery.status == PENDING).exists()
    oldest = (select(WebhookEvent.id).where(WebhookEvent.created_at < before, ~pending)
              .limit(limit))
    return session.execute(delete(WebhookEvent)
                           .where(WebhookEvent.id.in_(oldest))).rowcount or 0
