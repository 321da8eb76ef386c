"""Webhook delivery against hostile or slow receivers, on SQLite and PostgreSQL: an attempt has
a hard total deadline (a receiver trickling header bytes is cut off), a slow endpoint never
delays another, two workers (two replicas) on one database never send or record one attempt
twice, and the POST goes to the address that was checked, not to a second DNS answer."""

import itertools
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from service.db import make_engine, open_session
from service.models import utcnow
from service.settings import Settings
from service.webhooks import delivery
from service.webhooks.delivery import Result, WebhookWorker, claim, deliver_due, record
from service.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.factories.rubrics import create_rubric, rubric_doc
from tests.factories.webhooks import Receiver, Trickler, subscribe

pytestmark = pytest.mark.anyio

DEADLINE = 3.0


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url, webhooks_allow_private=True, webhooks_backoff_seconds=0,
                    webhooks_timeout_seconds=DEADLINE, webhooks_worker=False,
                    bulk_worker=False)


@pytest.fixture
def trickler():
    trickler = Trickler(seconds=12, interval=0.5).up()
    yield trickler
    trickler.down()


@pytest.fixture
def healthy():
    arrivals: list[float] = []

    def policy(_n, _id):
        arrivals.append(time.monotonic())
        return 204, {}, 0.0

    receiver = Receiver(policy=policy).up()
    receiver.arrivals = arrivals
    yield receiver
    receiver.down()


def attempts(engine) -> list[WebhookAttempt]:
    with open_session(engine) as session:
        return list(session.exec(select(WebhookAttempt).order_by(WebhookAttempt.id)))


async def test_a_trickling_receiver_is_cut_at_the_deadline_and_delays_nobody(
        admin, app, engine, trickler, healthy):
    await subscribe(admin, trickler.url, ["rubric.published"])  # first: its delivery goes first
    await subscribe(admin, healthy.url, ["rubric.published"])
    await create_rubric(admin, rubric_doc("eng"))

    started = time.monotonic()
    assert deliver_due(engine, app.state.settings) == 2
    took = time.monotonic() - started

    assert len(healthy.requests) == 1 and healthy.arrivals[0] - started < DEADLINE - 0.5
    assert [r.webhook_id for r in trickler.requests] == [healthy.requests[0].webhook_id]
    assert trickler.requests[0].finished is False  # the client hung up mid-answer
    assert took < DEADLINE + 2
    slow = [a for a in attempts(engine) if a.status_code is None]
    assert len(slow) == 1 and slow[0].outcome == "retry" and "deadline" in slow[0].error
    assert DEADLINE * 1000 - 50 <= slow[0].duration_ms < DEADLINE * 1000 + 2500


async def test_the_worker_serves_other_endpoints_while_one_is_slow(
        admin, app, engine, trickler, healthy):
    app.state.settings = app.state.settings.model_copy(update={
        "webhooks_poll_seconds": 0.05, "webhooks_timeout_seconds": 8.0})
    await subscribe(admin, trickler.url, ["rubric.published"])
    worker = WebhookWorker(engine, app.state.settings)
    worker.start()
    try:
        await create_rubric(admin, rubric_doc("eng"))
        deadline = time.monotonic() + 5
        while not trickler.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        assert trickler.requests, "the slow receiver was never called"
        # The slow endpoint is being served (for up to 8 s); a new event for another one:
        await subscribe(admin, healthy.url, ["rubric.published"])
        await create_rubric(admin, rubric_doc("ops"))
        queued = time.monotonic()
        while not healthy.requests and time.monotonic() < queued + 10:
            time.sleep(0.02)
    finally:
        worker.stop()
    assert len(healthy.requests) == 1
    assert healthy.arrivals[0] - queued < 3.0


async def test_two_workers_on_one_database_never_repeat_an_attempt(
        admin, app, engine, db_url, trickler, monkeypatch):
    """Two replicas race for one delivery whose receiver trickles for longer than the lease:
    each attempt is one POST and one attempt row, never two at once."""
    monkeypatch.setattr(delivery, "LEASE_MARGIN", timedelta(seconds=5))
    settings = app.state.settings.model_copy(update={
        "webhooks_poll_seconds": 0.05, "webhooks_timeout_seconds": 1.0,
        "webhooks_max_attempts": 3})
    await subscribe(admin, trickler.url, ["rubric.published"])
    await create_rubric(admin, rubric_doc("eng"))

    engines = [make_engine(db_url), make_engine(db_url)]
    workers = [WebhookWorker(e, settings) for e in engines]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            with open_session(engine) as session:
                status = session.exec(select(WebhookDelivery.status)).one()
            if status != "pending":
                break
            time.sleep(0.1)
        time.sleep(1.0)  # anything still in flight lands now
    finally:
        for worker in workers:
            worker.stop()
        for e in engines:
            e.dispose()

    rows = attempts(engine)
    assert status == "failed"
    assert [a.number for a in rows] == [1, 2, 3]
    assert len(trickler.requests) == 3  # one POST per attempt
    spans = sorted((r.started, r.ended or time.monotonic()) for r in trickler.requests)
    for (_, first_end), (second_start, _) in itertools.pairwise(spans):
        assert second_start >= first_end - 0.2, spans  # never two POSTs at once


async def test_an_attempt_whose_lease_was_lost_is_not_recorded(admin, app, engine):
    await subscribe(admin, "http://127.0.0.1:9/hooks", ["rubric.published"])
    await create_rubric(admin, rubric_doc("eng"))
    settings = app.state.settings
    [stalled] = claim(engine, settings, limit=10, now=utcnow())
    with open_session(engine, write=True) as session:  # the stalled worker's lease runs out
        session.execute(update(WebhookDelivery).values(lease_until=utcnow()))
        session.commit()
    [taken] = claim(engine, settings, limit=10, now=utcnow() + timedelta(seconds=1))
    assert taken.delivery_id == stalled.delivery_id and taken.attempt == stalled.attempt == 1

    failed = Result("retry", 503, "HTTP 503", 10, utcnow())
    assert record(engine, stalled, failed) is False
    assert record(engine, taken, Result("succeeded", 204, None, 10, None)) is True
    assert [(a.number, a.outcome) for a in attempts(engine)] == [(1, "succeeded")]
    assert deliver_due(engine, settings) == 0  # settled


async def test_the_post_goes_to_the_address_that_was_checked(
        admin, app, engine, healthy, monkeypatch):
    """DNS rebinding: the name answers a public address to the check and loopback to any later
    lookup. The delivery must connect to the checked address (or not at all), never loopback."""
    app.state.settings = app.state.settings.model_copy(update={"webhooks_allow_private": False})
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host != "hooks.rebind.test":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        address = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    await subscribe(admin, f"http://hooks.rebind.test:{healthy.port}/hooks",
                    ["rubric.published"])
    await create_rubric(admin, rubric_doc("eng"))
    sent = threading.Thread(target=deliver_due, args=(engine, app.state.settings))
    sent.start()
    sent.join(DEADLINE + 10)

    assert healthy.requests == []  # nothing reached loopback
    assert lookups == ["hooks.rebind.test"]  # resolved once, by the check
    [attempt] = attempts(engine)
    assert attempt.outcome == "retry" and attempt.status_code is None
