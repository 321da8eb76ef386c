"""Webhook subscriptions and the outbox.

Every domain event (``service/events.py``) reaches ``handlers.record_event`` inside the
transaction of the change that caused it: the event row and one delivery per matching active
subscription are written there, so they commit or roll back with the change. ``delivery.py``
sends them.

Payloads are thin on purpose: they say what happened and where to read it, never rating
evidence (receivers log what they receive; the API is where access is checked).
"""

import base64
import json
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from ..auth.principal import Principal
from ..http import encode_cursor, etag
from ..models import utcnow
from ..problems import Conflict, Forbidden, InvalidInput, NotFound
from .models import PENDING, WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from .schemas import (
    PING,
    AttemptRead,
    DeliveryRead,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
)
from .urls import UnsafeUrl, check_url

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


def require_unbound(principal: Principal) -> None:
    """A person-bound credential (self-service) would see everyone's events: refused."""
    if principal.person is not None:
        raise Forbidden("Credentials bound to a person cannot manage webhooks.")


def _check_url(url: str, allow_private: bool) -> str:
    try:
        check_url(url, allow_private=allow_private)
    except UnsafeUrl as exc:
        raise InvalidInput.field("url", str(exc)) from exc
    return url.strip()


# --- subscriptions ---------------------------------------------------------------------------

def create_subscription(session: Session, data: WebhookCreate, *, allow_private: bool
                        ) -> tuple[WebhookSubscription, str]:
    secret = new_secret()
    sub = WebhookSubscription(url=_check_url(data.url, allow_private),
                              description=data.description, event_types=list(data.event_types),
                              secret=secret, active=data.active)
    session.add(sub)
    session.flush()
    return sub, secret


def get_subscription(session: Session, sub_id: uuid.UUID) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, sub_id)
    if sub is None:
        raise NotFound(f"No webhook subscription with id {sub_id}.")
    return sub


def subscription_etag(sub: WebhookSubscription) -> str:
    return etag(sub.id.hex[:12], sub.row_version)


def to_read(sub: WebhookSubscription) -> WebhookRead:
    return WebhookRead.model_validate(sub)


def list_subscriptions(session: Session, *, limit: int, after: list[Any] | None
                       ) -> tuple[list[WebhookRead], str | None]:
    query = select(WebhookSubscription).order_by(WebhookSubscription.created_at,
                                                 WebhookSubscription.id)
    if after:
        try:
            at, last = _iso(after[0]), uuid.UUID(str(after[1]))
        except (ValueError, IndexError, TypeError) as exc:
            raise InvalidInput.field("query.cursor", "not a cursor this API issued") from exc
        query = query.where((WebhookSubscription.created_at > at) | (
            (WebhookSubscription.created_at == at) & (WebhookSubscription.id > last)))
    rows = list(session.exec(query.limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
    return [to_read(r) for r in rows], next_cursor


def update_subscription(session: Session, sub: WebhookSubscription, data: WebhookUpdate, *,
                        allow_private: bool) -> WebhookSubscription:
    if data.url is not None:
        sub.url = _check_url(data.url, allow_private)
    if data.event_types is not None:
        sub.event_types = list(data.event_types)
    if data.description is not None:
        sub.description = data.description
    if data.active is not None:
        sub.active = data.active
        if data.active:
            sub.disabled_reason = None
    sub.updated_at = utcnow()
    session.add(sub)
    session.flush()
    return sub


def delete_subscription(session: Session, sub: WebhookSubscription) -> None:
    session.delete(sub)  # its deliveries and attempts go with it (ON DELETE CASCADE)
    session.flush()


# --- the outbox ------------------------------------------------------------------------------

def enqueue(session: Session, event: str, data: dict[str, Any], key: str,
             targets: list[WebhookSubscription]) -> WebhookEvent:
    now = utcnow()
    body = json.dumps({"type": event, "timestamp": now.isoformat(), "data": data},
                      separators=(",", ":"), ensure_ascii=False)
    row = WebhookEvent(message_id=new_message_id(), type=event, ordering_key=key[:200],
                       body=body, created_at=now)
    session.add(row)
    session.flush()
    for sub in targets:
        session.add(WebhookDelivery(subscription_id=sub.id, event_id=row.id,
                                    ordering_key=row.ordering_key, next_attempt_at=now))
    session.flush()
    return row


def ping(session: Session, sub: WebhookSubscription) -> DeliveryRead:
    """Queue a ``webhook.ping`` for this subscription only (any event types)."""
    if not sub.active:
        raise Conflict("The subscription is inactive; activate it before pinging.",
                       current_status="inactive")
    row = enqueue(session, PING, {"webhook": str(sub.id)}, f"ping:{uuid.uuid4().hex}", [sub])
    delivery = session.exec(select(WebhookDelivery).where(
        WebhookDelivery.event_id == row.id)).one()
    return _delivery_read(delivery, row, [])


# --- the delivery log ------------------------------------------------------------------------

def _delivery_read(d: WebhookDelivery, event: WebhookEvent, attempts: list[WebhookAttempt]
                   ) -> DeliveryRead:
    return DeliveryRead(
        id=d.id, webhook_id=event.message_id, event_type=event.type, status=d.status,
        created_at=d.created_at, next_attempt_at=d.next_attempt_at if d.status == PENDING else None,
        finished_at=d.finished_at, last_status_code=d.last_status_code,
        attempts=[AttemptRead.model_validate(a) for a in attempts])


def list_deliveries(session: Session, sub: WebhookSubscription, *, limit: int,
                    after: list[Any] | None, status: str | None = None
                    ) -> tuple[list[DeliveryRead], str | None]:
    """Newest first, each with every attempt made."""
    query = (select(WebhookDelivery, WebhookEvent)
             .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
             .where(WebhookDelivery.subscription_id == sub.id)
             .order_by(WebhookDelivery.id.desc()))
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if after:
        if type(after[0]) is not int or not 0 < after[0] < 2**63:
            raise InvalidInput.field("query.cursor", "not a cursor this API issued")
        query = query.where(WebhookDelivery.id < after[0])
    rows = list(session.exec(query.limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1][0].id])
    attempts: dict[int, list[WebhookAttempt]] = {d.id: [] for d, _ in rows}
    if attempts:
        for a in session.exec(select(WebhookAttempt)
                              .where(WebhookAttempt.delivery_id.in_(list(attempts)))
                              .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)):
            attempts[a.delivery_id].append(a)
    return [_delivery_read(d, e, attempts[d.id]) for d, e in rows], next_cursor


def backlog(session: Session) -> int:
    """Pending deliveries (for the metrics gauge)."""
    return session.exec(select(func.count()).select_from(WebhookDelivery)
                        .where(WebhookDelivery.status == PENDING)).one()


def _iso(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("naive timestamp")
    return parsed
