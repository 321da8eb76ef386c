"""Webhooks' reaction to every domain event: an outbox row per active subscription, written in
the transaction of the change itself (the delivery worker only reads them)."""

from sqlmodel import Session, select

from .. import events
from .models import WebhookSubscription
from .service import enqueue


def record_event(session: Session, event: events.Event) -> None:
    active = session.exec(select(WebhookSubscription).where(WebhookSubscription.active)).all()
    targets = [sub for sub in active if event.name in sub.event_types]
    if targets:
        enqueue(session, event.name, event.webhook_data(), event.ordering_key(), targets)


def register() -> None:
    events.subscribe(None, record_event)
