"""Webhook tables: subscriptions, the outbox of events, one delivery per (subscription, event),
and every attempt of a delivery.

An event and its deliveries are written by the domain-event handler in the transaction of the
change itself (``service.record_event``); the worker (``delivery.py``) only ever reads them
after that transaction committed."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from ..models import UTCDateTime, created_at_field, row_version_column, utcnow

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"

_subscription_row_version = row_version_column()


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"
    __mapper_args__ = {"version_id_col": _subscription_row_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # HMAC needs the key itself, so it is stored as is (unlike API keys) and never answered
    # again after creation.
    secret: str = Field(max_length=100)
    active: bool = Field(default=True, index=True)
    disabled_reason: str | None = Field(default=None, max_length=500)
    row_version: int | None = Field(default=None, sa_column=_subscription_row_version)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class WebhookEvent(SQLModel, table=True):
    """The outbox: one row per event that had at least one subscriber."""

    __tablename__ = "webhook_event"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=64, unique=True, description="The `webhook-id` header")
    type: str = Field(max_length=64)
    ordering_key: str = Field(max_length=200, description="Deliveries of one key go in order")
    body: str = Field(sa_column=Column(Text, nullable=False))  # exactly the bytes signed and sent
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False,
                                 index=True)  # retention: purged by age


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        # The worker's claim: due pending deliveries, and the order check within a key.
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_order", "subscription_id", "ordering_key", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("webhook_subscription.id", ondelete="CASCADE"), nullable=False))
    event_id: int = Field(sa_column=Column(
        Integer, ForeignKey("webhook_event.id", ondelete="CASCADE"), nullable=False, index=True))
    ordering_key: str = Field(max_length=200)  # copied from the event: no join in the claim
    status: str = Field(default=PENDING, max_length=16)
    attempt_count: int = 0
    next_attempt_at: datetime = created_at_field()
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Which claim holds the lease: renewing it and recording the attempt both require it,
    # so a worker whose lease lapsed (and was taken by another) records nothing.
    lease_token: str | None = Field(default=None, max_length=32)
    last_status_code: int | None = None
    created_at: datetime = created_at_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(sa_column=Column(
        Integer, ForeignKey("webhook_delivery.id", ondelete="CASCADE"), nullable=False,
        index=True))
    number: int
    attempted_at: datetime = created_at_field()
    status_code: int | None = None
    outcome: str = Field(max_length=16)
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
