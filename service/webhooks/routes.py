import uuid
from typing import Annotated

from fastapi import Path, Query, Request, Response

from ..auth.deps import require
from ..db import SessionDep, UnitOfWorkRoute
from ..http import Cursor, IfMatch, Limit, Page, Router, check_if_match, paged
from ..idempotency import IdempotencyDep
from ..problems import PROBLEM_RESPONSES, responses
from . import service
from .schemas import (
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

router = Router(prefix="/v1/webhooks", tags=["webhooks"], responses=PROBLEM_RESPONSES,
                route_class=UnitOfWorkRoute)

Reader = require("webhooks:read")
Writer = require("webhooks:write")
WebhookId = Annotated[uuid.UUID, Path(description="The subscription's id")]


def _allow_private(request: Request) -> bool:
    return request.app.state.settings.webhooks_allow_private


def _answer(response: Response, sub) -> WebhookRead:
    response.headers["ETag"] = service.subscription_etag(sub)
    return service.to_read(sub)


@router.post("", status_code=201, response_model=WebhookCreated, operation_id="webhooks_create",
             responses=responses(409))
def create_webhook(data: WebhookCreate, request: Request, session: SessionDep,
                   principal: Writer, idem: IdempotencyDep):
    """Subscribe a URL to event types. The signing secret (`whsec_...`) is in this answer only:
    verify every delivery with it (Standard Webhooks)."""
    service.require_unbound(principal)

    def create():
        sub, secret = service.create_subscription(session, data,
                                                  allow_private=_allow_private(request))
        body = WebhookCreated(**service.to_read(sub).model_dump(), secret=secret)
        return 201, body, {"ETag": service.subscription_etag(sub),
                           "Location": f"/v1/webhooks/{sub.id}"}
    return idem.run(create)


@router.get("", response_model=Page[WebhookRead], operation_id="webhooks_list")
def list_webhooks(request: Request, response: Response, session: SessionDep, principal: Reader,
                  limit: Limit = None, cursor: Cursor = None):
    service.require_unbound(principal)
    return paged(request, response, limit, cursor, lambda page: service.list_subscriptions(
        session, limit=page.limit, after=page.after))


@router.get("/{webhook_id}", response_model=WebhookRead, operation_id="webhooks_get")
def get_webhook(webhook_id: WebhookId, response: Response, session: SessionDep,
                principal: Reader):
    service.require_unbound(principal)
    return _answer(response, service.get_subscription(session, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookRead, operation_id="webhooks_update",
              responses=responses(412, 428))
def update_webhook(webhook_id: WebhookId, data: WebhookUpdate, request: Request,
                   response: Response, session: SessionDep, principal: Writer,
                   if_match: IfMatch = None):
    """Change the URL, event types, description or `active` (false pauses deliveries, true
    resumes them, also after a 410 disabled the subscription). Needs `If-Match`."""
    service.require_unbound(principal)
    sub = service.get_subscription(session, webhook_id)
    check_if_match(if_match, service.subscription_etag(sub))
    return _answer(response, service.update_subscription(
        session, sub, data, allow_private=_allow_private(request)))


@router.delete("/{webhook_id}", status_code=204, operation_id="webhooks_delete",
               responses=responses(412))
def delete_webhook(webhook_id: WebhookId, session: SessionDep, principal: Writer,
                   if_match: IfMatch = None):
    """Delete a subscription with its delivery log. `If-Match` is honoured."""
    service.require_unbound(principal)
    sub = service.get_subscription(session, webhook_id)
    check_if_match(if_match, service.subscription_etag(sub), required=False)
    service.delete_subscription(session, sub)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryRead],
            operation_id="webhooks_list_deliveries")
def list_deliveries(
    webhook_id: WebhookId, request: Request, response: Response, session: SessionDep,
    principal: Reader,
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in this status")
                      ] = None,
    limit: Limit = None, cursor: Cursor = None,
):
    """Deliveries to this subscription, newest first, each with every attempt made."""
    service.require_unbound(principal)
    sub = service.get_subscription(session, webhook_id)
    return paged(request, response, limit, cursor, lambda page: service.list_deliveries(
        session, sub, limit=page.limit, after=page.after, status=status))


@router.post("/{webhook_id}/ping", status_code=202, response_model=DeliveryRead,
             operation_id="webhooks_ping", responses=responses(409))
def ping_webhook(webhook_id: WebhookId, session: SessionDep, principal: Writer):
    """Queue a signed `webhook.ping` event to this subscription; follow it in the delivery log."""
    service.require_unbound(principal)
    return service.ping(session, service.get_subscription(session, webhook_id))
