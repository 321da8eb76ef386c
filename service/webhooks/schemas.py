"""Webhook wire shapes: subscriptions (the secret shown once) and the delivery log."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from .. import events
from ..wire import Strict

EventType = Literal[events.EVENT_NAMES]  # every event type, from the one list in events.py
EVENT_TYPES: tuple[str, ...] = events.EVENT_NAMES
PING = "webhook.ping"
DeliveryStatus = Literal["pending", "succeeded", "failed"]
Outcome = Literal["succeeded", "retry", "failed", "gone"]

Url = Annotated[str, StringConstraints(min_length=10, max_length=2000,
                                       pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://\S+$")]
Description = Annotated[str, StringConstraints(max_length=500)]


def _unique(value: list[str] | None) -> list[str] | None:
    return None if value is None else sorted(set(value))


class WebhookCreate(Strict):
    url: Url = Field(description="Where events are POSTed: http(s); private and loopback "
                                 "addresses only with ASCENT_WEBHOOKS_ALLOW_PRIVATE=true")
    event_types: list[EventType] = Field(min_length=1, max_length=20)
    description: Description = ""
    active: bool = True

    _dedupe = field_validator("event_types")(_unique)


class WebhookUpdate(Strict):
    """Partial update: fields left out keep their value."""

    url: Url | None = None
    event_types: list[EventType] | None = Field(None, min_length=1, max_length=20)
    description: Description | None = None
    active: bool | None = Field(None, description="false pauses deliveries; true resumes them")

    _dedupe = field_validator("event_types")(_unique)


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    active: bool
    disabled_reason: str | None = Field(
        None, description="Why deliveries stopped, e.g. the receiver answered 410 Gone")
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Signing secret (`whsec_...`); shown only in this answer")


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    attempted_at: datetime
    outcome: Outcome
    status_code: int | None = Field(None, description="The receiver's HTTP status, if any")
    error: str | None = None
    duration_ms: int
    next_attempt_at: datetime | None = Field(None, description="When the retry is due")


class DeliveryRead(BaseModel):
    id: int
    webhook_id: str = Field(description="The `webhook-id` header (same on every retry)")
    event_type: str
    status: DeliveryStatus
    created_at: datetime
    next_attempt_at: datetime | None = None
    finished_at: datetime | None = None
    last_status_code: int | None = None
    attempts: list[AttemptRead]
