"""The delivery worker: claims due outbox deliveries, signs and POSTs them, records each attempt.

- Claiming: due pending deliveries of active subscriptions whose earlier deliveries with the
  same ordering key (one assessment, one rubric) are all finished, so a receiver never sees
  event N+1 about an assessment before event N succeeded. PostgreSQL claims with
  ``FOR UPDATE SKIP LOCKED`` (several replicas share the work); SQLite serialises writers
  anyway (``BEGIN IMMEDIATE``).
- Lease: a claim leases its deliveries for one deadline plus ``LEASE_MARGIN`` under a token.
  The lease is renewed, token checked, just before each POST, and the attempt is recorded only
  while the token still holds; a worker whose lease lapsed and was claimed by another replica
  neither sends nor records. An attempt cannot outlive its deadline, which is shorter than the
  lease, so each attempt is one POST per ``webhook-id``. A worker that dies mid-delivery leaves
  it to be retried when the lease ends (at-least-once; receivers dedupe on ``webhook-id``).
- Deadline: ``webhooks_timeout_seconds`` bounds the whole attempt (name resolution, connect,
  TLS, request, the answer's status line and headers), not each read: a receiver trickling
  bytes is cut off at the deadline. The answer's body is never read.
- Concurrency: deliveries to one endpoint (scheme, host, port) are sent one after the other;
  different endpoints are served at the same time, up to ``webhooks_concurrency`` of them, so
  one slow receiver never holds up the others.
- Target: the host is resolved and checked (``urls.check_resolved``) within the attempt, and
  the POST goes to the checked address (``urls.pinned``; ``Host`` and TLS name unchanged).
- Signing: Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
  with the ``standardwebhooks`` library; the timestamp is that of the attempt.
- Outcome: 2xx succeeded; 410 Gone fails the delivery and disables the subscription; anything
  else (including timeouts, refused connections, redirects) retries with exponential backoff
  and full jitter, never sooner than a ``Retry-After`` asks, until ``webhooks_max_attempts``.

``deliver_due(engine, settings)`` is one pass (tests call it); ``WebhookWorker`` runs the
delivery loop in a thread of the serving process (started in the app lifespan). Sending is
asynchronous (httpx ``AsyncClient`` under ``anyio.fail_after``); database work runs in
worker threads so a slow commit never stalls the other sends.
"""

import asyncio
import logging
import random
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial

import anyio
import anyio.from_thread
import anyio.to_thread
import certifi
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
from .urls import UnsafeUrl, check_resolved, pinned

log = logging.getLogger("ascent.webhooks")

MAX_BACKOFF = timedelta(hours=6)
MAX_RETRY_AFTER = timedelta(hours=24)
LEASE_MARGIN = timedelta(seconds=30)  # beyond the deadline: time to record the attempt
USER_AGENT = "Ascent-Webhooks/0.1"
QUEUED_PER_SLOT = 4  # claimed deliveries held in memory per concurrent endpoint
_TLS = ssl.create_default_context(cafile=certifi.where())  # shared: building one costs ms


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
    lease: str | None = None  # the claim's token


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


def endpoint(url: str) -> str:
    """What deliveries are serialised on: scheme, host and port of the target."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return url
    return f"{parsed.scheme}://{parsed.host}:{parsed.port or ''}"


def lease_length(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.webhooks_timeout_seconds) + LEASE_MARGIN


# --- claim, renew, send, record --------------------------------------------------------------

def claim(engine: Engine, settings: Settings, *, limit: int, now: datetime,
          exclude: frozenset[uuid.UUID] | set[uuid.UUID] = frozenset()) -> list[Job]:
    """Lease up to ``limit`` due deliveries (none of the subscriptions in ``exclude``)."""
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
    if exclude:
        query = query.where(D.subscription_id.not_in(list(exclude)))
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=D)
    token = uuid.uuid4().hex
    with open_session(engine, write=True) as session:
        ids = list(session.execute(query).scalars())
        if not ids:
            return []
        session.execute(update(D).where(D.id.in_(ids)).values(
            lease_until=now + lease_length(settings), lease_token=token))
        rows = session.execute(
            select(D, WebhookSubscription, WebhookEvent)
            .join(WebhookSubscription, WebhookSubscription.id == D.subscription_id)
            .join(WebhookEvent, WebhookEvent.id == D.event_id)
            .where(D.id.in_(ids)).order_by(D.id)).all()
        session.commit()
    return [Job(delivery_id=d.id, attempt=d.attempt_count + 1, subscription_id=s.id, url=s.url,
                secret=s.secret, message_id=e.message_id, event_type=e.type, body=e.body,
                lease=token)
            for d, s, e in rows]


def renew(engine: Engine, settings: Settings, job: Job) -> bool:
    """Extend the lease for one more attempt; False when it is no longer this claim's (another
    worker claimed the delivery after the lease ran out, or it was deleted)."""
    D = WebhookDelivery
    with open_session(engine, write=True) as session:
        held = session.execute(
            update(D).where(D.id == job.delivery_id, D.lease_token == job.lease,
                            D.status == PENDING)
            .values(lease_until=utcnow() + lease_length(settings))).rowcount
        session.commit()
    return bool(held)


def signed_headers(job: Job, at: datetime) -> dict[str, str]:
    signature = Webhook(job.secret).sign(msg_id=job.message_id, timestamp=at, data=job.body)
    return {"webhook-id": job.message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature, "content-type": "application/json",
            "user-agent": USER_AGENT}


def new_client(settings: Settings) -> httpx.AsyncClient:
    # The per-read timeout is the deadline too; the deadline itself is fail_after in send().
    return httpx.AsyncClient(timeout=settings.webhooks_timeout_seconds, verify=_TLS,
                             follow_redirects=False, trust_env=False)


async def send(job: Job, client: httpx.AsyncClient, settings: Settings) -> Result:
    """One attempt, over within ``webhooks_timeout_seconds`` whatever the receiver does."""
    started, now = time.monotonic(), utcnow()
    status, error, header = None, None, None
    try:
        with anyio.fail_after(settings.webhooks_timeout_seconds):
            address = await anyio.to_thread.run_sync(
                partial(check_resolved, job.url, allow_private=settings.webhooks_allow_private),
                abandon_on_cancel=True)  # a hanging resolver must not outlast the deadline
            target = pinned(job.url, address)
            async with client.stream("POST", target.url, content=job.body.encode(),
                                     headers=signed_headers(job, now) | target.headers,
                                     extensions=target.extensions) as response:
                status, header = response.status_code, response.headers.get("retry-after")
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except UnsafeUrl as exc:
        error = f"refused: {exc}"
    except TimeoutError:
        error = f"no answer within the {settings.webhooks_timeout_seconds:g} s deadline"
    except Exception as exc:  # whatever stops the POST is a failed attempt, recorded as such
        error = f"{type(exc).__name__}: {exc}"[:500] if str(exc) else type(exc).__name__
    duration_ms = int((time.monotonic() - started) * 1000)
    outcome, next_at = decide(job, status, header, now=utcnow(), settings=settings)
    return Result(outcome, status, error, duration_ms, next_at)


def record(engine: Engine, job: Job, result: Result) -> bool:
    """Store the attempt and its outcome, only while this claim holds the lease."""
    now = utcnow()
    D = WebhookDelivery
    values = {"attempt_count": job.attempt, "last_status_code": result.status_code,
              "lease_until": None, "lease_token": None}
    if result.outcome == "retry":
        values["next_attempt_at"] = result.next_attempt_at
    else:
        values |= {"status": SUCCEEDED if result.outcome == SUCCEEDED else FAILED,
                   "finished_at": now}
    with open_session(engine, write=True) as session:
        held = session.execute(update(D).where(D.id == job.delivery_id,
                                               D.lease_token == job.lease, D.status == PENDING)
                               .values(**values)).rowcount
        if not held:  # lost to another worker (or deleted): its attempt is the one recorded
            session.rollback()
            log.warning("webhook delivery %s attempt %s: lease lost, not recorded",
                        job.delivery_id, job.attempt)
            return False
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
    return True


async def attempt(engine: Engine, settings: Settings, job: Job,
                  client: httpx.AsyncClient) -> bool:
    """Renew the lease, send, record; False when the lease was lost first."""
    if not await anyio.to_thread.run_sync(renew, engine, settings, job):
        log.info("webhook delivery %s: lease lost before sending; left to its new holder",
                 job.delivery_id)
        return False
    result = await send(job, client, settings)
    return await anyio.to_thread.run_sync(record, engine, job, result)


async def serve_endpoint(engine: Engine, settings: Settings, queue: deque[Job],
                         limiter: anyio.CapacityLimiter, on_empty=None) -> None:
    """Send the deliveries of one endpoint in order until ``queue`` is empty. ``on_empty`` is
    called the moment it is found empty (no await in between), so a caller adding to the queue
    never adds to one nobody serves."""
    async with limiter, new_client(settings) as client:
        while queue:
            job = queue.popleft()
            try:
                await attempt(engine, settings, job, client)
            except Exception:  # a database error: the lease lapses, the delivery is retried
                log.exception("webhook delivery %s could not be attempted", job.delivery_id)
        if on_empty is not None:
            on_empty()


def group(jobs: list[Job]) -> dict[str, deque[Job]]:
    queues: dict[str, deque[Job]] = {}
    for job in jobs:
        queues.setdefault(endpoint(job.url), deque()).append(job)
    return queues


async def _deliver(engine: Engine, settings: Settings, jobs: list[Job]) -> None:
    limiter = anyio.CapacityLimiter(settings.webhooks_concurrency)
    async with anyio.create_task_group() as tasks:
        for queue in group(jobs).values():
            tasks.start_soon(serve_endpoint, engine, settings, queue, limiter)


def _run(fn, *args):
    """Run an async function to its end from synchronous code, even on a thread that already
    runs an event loop (a test): then on a loop of its own in another thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(fn, *args)
    with anyio.from_thread.start_blocking_portal() as portal:
        return portal.call(fn, *args)


def deliver_due(engine: Engine, settings: Settings, *, limit: int = 50) -> int:
    """One pass: claim up to ``limit`` due deliveries and attempt each once (endpoints in
    parallel). Returns how many were claimed (0: nothing due)."""
    jobs = claim(engine, settings, limit=limit, now=utcnow())
    if jobs:
        _run(_deliver, engine, settings, jobs)
    return len(jobs)


def refresh_backlog(engine: Engine) -> None:
    with open_session(engine) as session:
        WEBHOOK_BACKLOG.set(backlog(session))


class WebhookWorker:
    """The delivery loop in a daemon thread: every ``webhooks_poll_seconds`` (at once while
    there is more) it claims due deliveries of endpoints it is not already serving and hands
    them to one task per endpoint; it never waits for a slow endpoint to finish."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ascent-webhooks", daemon=True)
        self._queues: dict[str, deque[Job]] = {}
        self._subscriptions: dict[str, set[uuid.UUID]] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        anyio.run(self._loop)

    async def _loop(self) -> None:
        settings = self.settings
        limiter = anyio.CapacityLimiter(settings.webhooks_concurrency)
        capacity = settings.webhooks_concurrency * QUEUED_PER_SLOT
        async with anyio.create_task_group() as tasks:
            while not self._stop.is_set():
                room, claimed = capacity - sum(len(q) for q in self._queues.values()), 0
                try:
                    if room > 0:
                        busy = set().union(*self._subscriptions.values())
                        jobs = await anyio.to_thread.run_sync(partial(
                            claim, self.engine, settings, limit=room, now=utcnow(),
                            exclude=busy))
                        claimed = len(jobs)
                        for key, queue in group(jobs).items():
                            self._hand_over(tasks, limiter, key, queue)
                    await anyio.to_thread.run_sync(refresh_backlog, self.engine)
                except Exception:  # a bad pass must not end the worker; it is logged
                    log.exception("webhook delivery pass failed")
                await self._pause(0.0 if room > 0 and claimed >= room
                                  else settings.webhooks_poll_seconds)
            tasks.cancel_scope.cancel()  # in-flight attempts are retried once their lease ends

    def _hand_over(self, tasks, limiter, key: str, jobs: deque[Job]) -> None:
        subscriptions = {job.subscription_id for job in jobs}
        if key in self._queues:  # that endpoint is being served: join its queue
            self._queues[key].extend(jobs)
            self._subscriptions[key] |= subscriptions
            return
        self._queues[key], self._subscriptions[key] = jobs, subscriptions

        def done() -> None:
            self._queues.pop(key, None)
            self._subscriptions.pop(key, None)

        async def serve() -> None:
            try:
                await serve_endpoint(self.engine, self.settings, jobs, limiter, on_empty=done)
            finally:
                if self._queues.get(key) is jobs:
                    done()

        tasks.start_soon(serve)

    async def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await anyio.sleep(min(left, 0.05))
        await anyio.sleep(0)
