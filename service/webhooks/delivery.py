"""The delivery worker: claims due outbox deliveries, signs and POSTs them, records each attempt.

- Claiming: due pending deliveries of active subscriptions whose earlier deliveries with the
  same ordering key (one assessment, one rubric) are all finished, so a receiver never sees
  event N+1 about an assessment before event N succeeded. PostgreSQL claims with
  ``FOR UPDATE SKIP LOCKED`` (several replicas share the work); SQLite serialises writers
  anyway (``BEGIN IMMEDIATE``). A claim is a lease: a worker that dies mid-delivery leaves it
  to be retried when the lease ends (at-least-once; receivers dedupe on ``webhook-id``).
- Signing: Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
  with the ``standardwebhooks`` library; the timestamp is that of the attempt.
- Outcome: 2xx succeeded; 410 Gone fails the delivery and disables the subscription; anything
  else (including timeouts, refused connections, redirects) retries with exponential backoff
  and full jitter, never sooner than a ``Retry-After`` asks, until ``webhooks_max_attempts``.

``deliver_due(engine, settings)`` is one pass; ``WebhookWorker`` runs it in a thread of the
serving process (started in the app lifespan) and tests call it directly.
"""

import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import aliased
from standardwebhooks.webhooks import Webhook

from ..db import open_session
from ..metrics import WEBHOOK_BACKLOG, WEBHOOK_DELIVERIES, WEBHOOK_DELIVERY_SECONDS
from ..models import utcnow
from ..settings import Settings
from .models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from .service import backlog
from .urls import UnsafeUrl, check_resolved

log = logging.getLogger("ascent.webhooks")

MAX_BACKOFF = timedelta(hours=6)
MAX_RETRY_AFTER = timedelta(hours=24)
LEASE_MARGIN = timedelta(seconds=30)
USER_AGENT = "Ascent-Webhooks/0.1"
DRAIN_PASSES = 20


@dataclass(frozen=True)
class Job:
    delivery_id: int
    attempt: int  # the number of this attempt, from 1
    subscription_id: uuid.UUID
    url: str
    secret: str
    message_id: str
    event_type: str
    body: str


@dataclass(frozen=True)
class Result:
    outcome: str  # succeeded | retry | failed | gone
    status_code: int | None
    error: str | None
    duration_ms: int
    next_attempt_at: datetime | None


# --- pure rules ------------------------------------------------------------------------------

def backoff(attempt: int, base: float, rng: random.Random | None = None) -> timedelta:
    """Full-jitter exponential backoff after attempt ``attempt`` (1-based)."""
    ceiling = min(base * 2 ** (attempt - 1), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            delay = parsedate_to_datetime(value) - now
        except (TypeError, ValueError, IndexError):
            return None
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))


def decide(job: Job, status: int | None, retry_after_header: str | None, *, now: datetime,
           settings: Settings) -> tuple[str, datetime | None]:
    """(outcome, next attempt time) for an attempt that got ``status`` (None: no answer)."""
    if status is not None and 200 <= status < 300:
        return SUCCEEDED, None
    if status == 410:
        return "gone", None
    if job.attempt >= settings.webhooks_max_attempts:
        return FAILED, None
    delay = backoff(job.attempt, settings.webhooks_backoff_seconds)
    asked = retry_after(retry_after_header, now)
    if asked is not None:
        delay = max(delay, asked)
    return "retry", now + delay


# --- claim, send, record ---------------------------------------------------------------------

def claim(engine: Engine, settings: Settings, *, limit: int, now: datetime) -> list[Job]:
    D = WebhookDelivery
    earlier = aliased(WebhookDelivery)
    blocked = (select(earlier.id).where(earlier.subscription_id == D.subscription_id,
                                        earlier.ordering_key == D.ordering_key,
                                        earlier.status == PENDING, earlier.id < D.id).exists())
    active = select(WebhookSubscription.id).where(WebhookSubscription.active)
    query = (select(D.id).where(D.status == PENDING, D.next_attempt_at <= now,
                                or_(D.lease_until.is_(None), D.lease_until <= now),
                                D.subscription_id.in_(active), ~blocked)
             .order_by(D.id).limit(limit))
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=D)
    with open_session(engine, write=True) as session:
        ids = list(session.execute(query).scalars())
        if not ids:
            return []
        # The lease covers the whole batch: its jobs are sent one after the other.
        lease = now + timedelta(seconds=settings.webhooks_timeout_seconds * len(ids)) \
            + LEASE_MARGIN
        session.execute(update(D).where(D.id.in_(ids)).values(lease_until=lease))
        rows = session.execute(
            select(D, WebhookSubscription, WebhookEvent)
            .join(WebhookSubscription, WebhookSubscription.id == D.subscription_id)
            .join(WebhookEvent, WebhookEvent.id == D.event_id)
            .where(D.id.in_(ids)).order_by(D.id)).all()
        session.commit()
    return [Job(delivery_id=d.id, attempt=d.attempt_count + 1, subscription_id=s.id, url=s.url,
                secret=s.secret, message_id=e.message_id, event_type=e.type, body=e.body)
            for d, s, e in rows]


def signed_headers(job: Job, at: datetime) -> dict[str, str]:
    signature = Webhook(job.secret).sign(msg_id=job.message_id, timestamp=at, data=job.body)
    return {"webhook-id": job.message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature, "content-type": "application/json",
            "user-agent": USER_AGENT}


def send(job: Job, client: httpx.Client, settings: Settings) -> Result:
    started, now = time.monotonic(), utcnow()
    status, error, header = None, None, None
    try:
        check_resolved(job.url, allow_private=settings.webhooks_allow_private)
        response = client.post(job.url, content=job.body.encode(),
                               headers=signed_headers(job, now))
        status, header = response.status_code, response.headers.get("retry-after")
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except UnsafeUrl as exc:
        error = f"refused: {exc}"
    except Exception as exc:  # whatever stops the POST is a failed attempt, recorded as such
        error = f"{type(exc).__name__}: {exc}"[:500] if str(exc) else type(exc).__name__
    duration_ms = int((time.monotonic() - started) * 1000)
    outcome, next_at = decide(job, status, header, now=utcnow(), settings=settings)
    return Result(outcome, status, error, duration_ms, next_at)


def record(engine: Engine, job: Job, result: Result) -> None:
    now = utcnow()
    with open_session(engine, write=True) as session:
        delivery = session.get(WebhookDelivery, job.delivery_id)
        if delivery is None:  # the subscription was deleted meanwhile
            return
        delivery.attempt_count = job.attempt
        delivery.last_status_code = result.status_code
        delivery.lease_until = None
        if result.outcome == "retry":
            delivery.next_attempt_at = result.next_attempt_at
        else:
            delivery.status = SUCCEEDED if result.outcome == SUCCEEDED else FAILED
            delivery.finished_at = now
        session.add(delivery)
        session.add(WebhookAttempt(
            delivery_id=job.delivery_id, number=job.attempt, attempted_at=now,
            status_code=result.status_code, outcome=result.outcome, error=result.error,
            duration_ms=result.duration_ms, next_attempt_at=result.next_attempt_at))
        if result.outcome == "gone":
            sub = session.get(WebhookSubscription, job.subscription_id)
            if sub is not None and sub.active:
                sub.active = False
                sub.disabled_reason = (f"The receiver answered 410 Gone to delivery "
                                       f"{job.delivery_id} at {now.isoformat()}.")
                sub.updated_at = now
                session.add(sub)
        session.commit()
    WEBHOOK_DELIVERIES.labels(event_type=job.event_type, outcome=result.outcome).inc()
    WEBHOOK_DELIVERY_SECONDS.observe(result.duration_ms / 1000)
    log.info("webhook delivery %s attempt %s to subscription %s: %s (%s)", job.delivery_id,
             job.attempt, job.subscription_id, result.outcome,
             result.status_code if result.status_code is not None else result.error)


def deliver_due(engine: Engine, settings: Settings, *, limit: int = 50,
                client: httpx.Client | None = None) -> int:
    """One pass: claim up to ``limit`` due deliveries and attempt each once. Returns how many
    were attempted (0: nothing due)."""
    jobs = claim(engine, settings, limit=limit, now=utcnow())
    if not jobs:
        return 0
    own = client is None
    client = client or httpx.Client(timeout=settings.webhooks_timeout_seconds,
                                    follow_redirects=False, trust_env=False)
    try:
        for job in jobs:
            record(engine, job, send(job, client, settings))
    finally:
        if own:
            client.close()
    return len(jobs)


def refresh_backlog(engine: Engine) -> None:
    with open_session(engine) as session:
        WEBHOOK_BACKLOG.set(backlog(session))


class WebhookWorker:
    """Runs ``deliver_due`` every ``webhooks_poll_seconds`` in a daemon thread."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ascent-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self.settings.webhooks_timeout_seconds,
                          follow_redirects=False, trust_env=False) as client:
            while not self._stop.is_set():
                try:
                    for _ in range(DRAIN_PASSES):  # drain what is due before sleeping
                        if self._stop.is_set() or not deliver_due(self.engine, self.settings,
                                                                  client=client):
                            break
                    refresh_backlog(self.engine)
                except Exception:  # a bad pass must not end the worker; it is logged
                    log.exception("webhook delivery pass failed")
                self._stop.wait(self.settings.webhooks_poll_seconds)
