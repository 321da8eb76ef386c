"""Webhooks: subscriptions, the transactional outbox, signed delivery with retries, the log."""

import json
import threading
import time
from collections import defaultdict
from datetime import timedelta

import anyio
import pytest
from sqlmodel import func, select
from standardwebhooks.webhooks import Webhook

from service import cli, events
from service.app import create_app
from service.assessments import service as assessments_service
from service.auth.principal import Principal
from service.db import open_session
from service.models import utcnow
from service.settings import Settings, get_settings
from service.webhooks.delivery import deliver_due
from service.webhooks.models import WebhookDelivery, WebhookEvent
from tests.factories.assessments import create_assessment, rate, ratings
from tests.factories.rubrics import create_rubric, load_default_rubric, rubric_doc
from tests.factories.webhooks import Receiver, always, drain, subscribe

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(db_url) -> Settings:
    """Receivers run on 127.0.0.1 (allowed here only); retries are due at once."""
    return Settings(database_url=db_url, webhooks_allow_private=True,
                    webhooks_backoff_seconds=0, webhooks_timeout_seconds=2)


@pytest.fixture
def receiver():
    receiver = Receiver().up()
    yield receiver
    receiver.down()


async def lifecycle(admin, person: str) -> str:
    """An assessment taken draft -> submitted -> finalized; returns its id."""
    assessment = await create_assessment(admin, person)
    response = await rate(admin, assessment["id"], "manager", "E001",
                          ratings(strategy=4, execution=4))
    assert response.status_code == 200, response.text
    for step in ("submit", "finalize"):
        response = await admin.post(f"/v1/assessments/{assessment['id']}/{step}")
        assert response.status_code == 200, response.text
    return assessment["id"]


ASSESSMENT_EVENTS = ["assessment.submitted", "assessment.finalized", "readiness.changed"]


def outbox(session) -> list[WebhookEvent]:
    session.rollback()  # a fresh snapshot
    return list(session.exec(select(WebhookEvent).order_by(WebhookEvent.id)))


# --- subscriptions ---------------------------------------------------------------------------

async def test_subscription_crud_shows_the_secret_once(admin, receiver):
    created = await admin.post("/v1/webhooks", json={
        "url": receiver.url, "event_types": ["assessment.finalized", "assessment.finalized"],
        "description": "HRIS sync"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["event_types"] == ["assessment.finalized"] and body["active"] is True
    assert created.headers["location"] == f"/v1/webhooks/{body['id']}"

    got = await admin.get(f"/v1/webhooks/{body['id']}")
    assert got.status_code == 200 and "secret" not in got.json()
    listed = (await admin.get("/v1/webhooks")).json()
    assert [w["id"] for w in listed["data"]] == [body["id"]] and "secret" not in listed["data"][0]

    change = {"event_types": ["readiness.changed"], "active": False}
    assert (await admin.patch(f"/v1/webhooks/{body['id']}", json=change)).status_code == 428
    stale = await admin.patch(f"/v1/webhooks/{body['id']}", json=change,
                              headers={"If-Match": '"stale"'})
    assert stale.status_code == 412
    updated = await admin.patch(f"/v1/webhooks/{body['id']}", json=change,
                                headers={"If-Match": got.headers["etag"]})
    assert updated.status_code == 200, updated.text
    assert updated.json()["event_types"] == ["readiness.changed"]
    assert updated.json()["active"] is False and updated.headers["etag"] != got.headers["etag"]

    assert (await admin.delete(f"/v1/webhooks/{body['id']}")).status_code == 204
    assert (await admin.get(f"/v1/webhooks/{body['id']}")).status_code == 404


async def test_invalid_subscriptions_are_422_with_the_field(admin):
    for body, field in (({"url": "ftp://hr.example.com/x", "event_types": ["rubric.published"]},
                         "url"),
                        ({"url": "https://hr.example.com/x", "event_types": ["rubric.created"]},
                         "event_types[0]"),
                        ({"url": "https://hr.example.com/x", "event_types": []}, "event_types"),
                        ({"url": "https://hr.example.com/x", "event_types": ["rubric.published"],
                          "secret": "whsec_mine"}, "secret")):
        response = await admin.post("/v1/webhooks", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field


async def test_private_and_loopback_targets_are_refused_by_default(db_url, make_key, client_with):
    app = create_app(Settings(database_url=db_url))  # ASCENT_WEBHOOKS_ALLOW_PRIVATE unset
    from httpx import ASGITransport, AsyncClient

    headers = {"Authorization": f"Bearer {make_key('webhooks:write')}"}
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t",
                           headers=headers) as client:
        for url in ("http://127.0.0.1:8080/h", "http://localhost/h", "http://10.1.2.3/h",
                    "http://192.168.0.10/h", "http://169.254.169.254/latest", "http://[::1]/h",
                    "http://api.localhost/h", "https://user:pw@hr.example.com/h"):
            response = await client.post("/v1/webhooks", json={
                "url": url, "event_types": ["rubric.published"]})
            assert response.status_code == 422, (url, response.text)
            assert response.json()["errors"][0]["field"] == "url"
        ok = await client.post("/v1/webhooks", json={"url": "https://hr.example.com/hooks",
                                                      "event_types": ["rubric.published"]})
        assert ok.status_code == 201, ok.text
    app.state.engine.dispose()


async def test_person_bound_credentials_cannot_manage_webhooks(make_key, client_with):
    async with client_with(make_key("webhooks:read", "webhooks:write", person="E123")) as c:
        assert (await c.get("/v1/webhooks")).status_code == 403
        response = await c.post("/v1/webhooks", json={"url": "https://hr.example.com/h",
                                                       "event_types": ["rubric.published"]})
        assert response.status_code == 403


# --- the outbox ------------------------------------------------------------------------------

async def test_outbox_rows_commit_and_roll_back_with_the_change(admin, receiver, engine, session):
    await load_default_rubric(engine)
    await subscribe(admin, receiver.url, ["assessment.submitted"])
    first = await create_assessment(admin, "E123")
    second = await create_assessment(admin, "E456")
    admin_principal = Principal(id="test", name="test", scopes=frozenset({"admin"}))

    with open_session(engine, write=True) as tx:  # the change fails later: nothing stays
        found = assessments_service.get_assessment(tx, first["id"], admin_principal)
        assessments_service.submit(tx, found, admin_principal)
        assert tx.exec(select(func.count()).select_from(WebhookEvent)).one() == 1  # written...
        tx.rollback()  # ...and gone with the change
    assert outbox(session) == []
    assert (await admin.get(f"/v1/assessments/{first['id']}")).json()["status"] == "draft"

    def fail_after_outbox(_session, event):
        if isinstance(event, events.AssessmentSubmitted):
            raise RuntimeError("a later step of the change fails")

    events.subscribe(None, fail_after_outbox)  # runs after the webhooks handler
    try:
        with pytest.raises(RuntimeError):
            await admin.post(f"/v1/assessments/{second['id']}/submit")
    finally:
        events.unsubscribe(None, fail_after_outbox)
    assert outbox(session) == []
    assert (await admin.get(f"/v1/assessments/{second['id']}")).json()["status"] == "draft"

    assert (await admin.post(f"/v1/assessments/{second['id']}/submit")).status_code == 200
    rows = outbox(session)
    assert [r.type for r in rows] == ["assessment.submitted"]
    assert second["id"] in rows[0].body and rows[0].ordering_key == f"assessment:{second['id']}"


# --- delivery --------------------------------------------------------------------------------

async def test_load_defaults_from_the_cli_writes_the_outbox_row(admin, receiver, db_url, session,
                                                                monkeypatch):
    """A rubric published by `ascent load-defaults` reaches `rubric.published` subscribers: the
    CLI wires the same reactions as the app (a fresh process starts with none wired)."""
    await subscribe(admin, receiver.url, ["rubric.published"])
    monkeypatch.setattr(events, "_handlers", defaultdict(list))
    monkeypatch.setattr(events, "_any", [])
    monkeypatch.setenv("ASCENT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        cli.load_defaults()
    finally:
        get_settings.cache_clear()
    rows = outbox(session)
    assert [(r.type, r.ordering_key) for r in rows] == [
        ("rubric.published", "rubric:product-leadership")] * 2  # content versions 1 and 2
    assert [json.loads(r.body)["data"] for r in rows] == [
        {"rubric": {"key": "product-leadership", "version": n}} for n in (1, 2)]


async def test_delivery_is_signed_thin_and_logged(admin, receiver, engine, app):
    webhook = await subscribe(admin, receiver.url)
    await load_default_rubric(engine)
    assessment_id = await lifecycle(admin, "E123")
    drain(app)

    got = receiver.acknowledged()
    # Two shipped versions of the default rubric; each ordering key keeps its own order.
    types = [r.json["type"] for r in got]
    assert sorted(types) == sorted(["rubric.published"] * 2 + ASSESSMENT_EVENTS)
    assert [t for t in types if t.startswith(("assessment", "readiness"))] == ASSESSMENT_EVENTS
    verifier = Webhook(webhook["secret"])
    for request in got:
        assert verifier.verify(request.body, request.headers) == request.json
        assert request.webhook_id.startswith("msg_")
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    finalized = next(r for r in got if r.json["type"] == "assessment.finalized"
                     ).json["data"]["assessment"]
    assert finalized["id"] == assessment_id and finalized["status"] == "finalized"
    assert "ratings" not in finalized and finalized["ratings_count"] == 2
    assert b"evidence for" not in b"".join(r.body for r in got)  # evidence stays behind the API
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43).verify(got[0].body, got[0].headers)

    log = (await admin.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()
    assert [d["event_type"] for d in log["data"]] == [  # newest first
        *reversed(ASSESSMENT_EVENTS), "rubric.published", "rubric.published"]
    assert {d["status"] for d in log["data"]} == {"succeeded"}
    assert sorted(d["webhook_id"] for d in log["data"]) == sorted(r.webhook_id for r in got)
    attempt = log["data"][0]["attempts"][0]
    assert attempt["outcome"] == "succeeded" and attempt["status_code"] == 204

    page = await admin.get(f"/v1/webhooks/{webhook['id']}/deliveries", params={"limit": 3})
    assert len(page.json()["data"]) == 3 and 'rel="next"' in page.headers["link"]
    rest = await admin.get(f"/v1/webhooks/{webhook['id']}/deliveries",
                           params={"limit": 3, "cursor": page.json()["next_cursor"]})
    assert [d["event_type"] for d in rest.json()["data"]] == ["rubric.published"] * 2

    metrics = (await admin.get("/metrics")).text
    assert 'ascent_webhook_deliveries_total{event_type="assessment.finalized",' \
           'outcome="succeeded"}' in metrics


async def test_receiver_down_then_up_gets_every_event_once_in_order(admin, engine, app):
    receiver = Receiver()  # not listening yet: connections are refused
    webhook = await subscribe(admin, receiver.url)
    await load_default_rubric(engine)
    first = await lifecycle(admin, "E123")
    second = await lifecycle(admin, "E456")
    with open_session(engine) as s:
        sent = {e.message_id: e for e in s.exec(select(WebhookEvent))}
    assert len(sent) == 8  # rubric.published for content versions 1 and 2 + 3 per assessment

    drain(app, passes=3)
    pending = (await admin.get(f"/v1/webhooks/{webhook['id']}/deliveries",
                               params={"status": "pending"})).json()["data"]
    assert len(pending) == 8
    tried = {d["event_type"]: len(d["attempts"]) for d in pending if d["attempts"]}
    # Only the head of each ordering key (the rubric, each assessment) was tried: later events
    # about an assessment wait for the earlier ones.
    assert sorted(tried) == ["assessment.submitted", "rubric.published"]
    assert all(n == 3 for n in tried.values())
    errors = {a["error"] for d in pending for a in d["attempts"]}
    assert all(e.startswith("ConnectError") for e in errors), errors

    # Up again, but the first answer is lost to a timeout: the retry carries the same id.
    receiver.policy = lambda n, _id: (204, {}, 3.0 if n == 1 else 0.0)
    receiver.up()
    try:
        drain(app, until=lambda: len({r.webhook_id for r in receiver.acknowledged()
                                      if r is not receiver.requests[0]}) == 8)
    finally:
        receiver.down()

    deduped: dict[str, dict] = {}
    for request in receiver.requests:  # what a receiver deduplicating on webhook-id keeps
        deduped.setdefault(request.webhook_id, request.json)
    assert set(deduped) == set(sent)
    assert receiver.requests[0].webhook_id in {r.webhook_id for r in receiver.requests[1:]}
    verifier = Webhook(webhook["secret"])
    assert all(verifier.verify(r.body, r.headers) for r in receiver.requests)
    for assessment_id in (first, second):
        types = [body["type"] for body in deduped.values()
                 if assessment_id in (body["data"].get("assessment", {}).get("id"),
                                      body["data"].get("assessment_id"))]
        assert types == ["assessment.submitted", "assessment.finalized", "readiness.changed"]
    log = (await admin.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["data"]
    assert {d["status"] for d in log} == {"succeeded"}
    assert len([d for d in log if len(d["attempts"]) > 1]) >= 2


async def test_retry_after_is_honoured(admin, receiver, app, engine):
    receiver.policy = always(429, {"Retry-After": "120"})
    webhook = await subscribe(admin, receiver.url, ["rubric.published"])
    await create_rubric(admin, rubric_doc("eng"))
    assert drain(app) == 1  # one attempt; the retry is not due for two minutes
    assert deliver_due(engine, app.state.settings) == 0
    delivery = (await admin.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["data"][0]
    attempt = delivery["attempts"][0]
    assert attempt["outcome"] == "retry" and attempt["status_code"] == 429
    wait = (utcnow() - timedelta(seconds=1)).isoformat()
    assert delivery["next_attempt_at"] > (utcnow() + timedelta(seconds=115)).isoformat() > wait


async def test_410_disables_the_subscription(admin, receiver, app):
    receiver.policy = always(410)
    webhook = await subscribe(admin, receiver.url, ["rubric.published"])
    await create_rubric(admin, rubric_doc("eng"))
    drain(app)
    after = (await admin.get(f"/v1/webhooks/{webhook['id']}")).json()
    assert after["active"] is False and "410" in after["disabled_reason"]
    log = (await admin.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["data"]
    assert log[0]["status"] == "failed" and log[0]["attempts"][0]["outcome"] == "gone"

    await create_rubric(admin, rubric_doc("ops"))  # inactive: nothing more is queued
    assert len((await admin.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["data"]) == 1
    assert (await admin.post(f"/v1/webhooks/{webhook['id']}/ping")).status_code == 409


async def test_a_delivery_fails_after_max_attempts_and_the_next_one_goes(
        admin, receiver, app, engine):
    app.state.settings = app.state.settings.model_copy(update={"webhooks_max_attempts": 2})
    receiver.policy = lambda n, _id: (500 if n <= 2 else 204, {}, 0.0)
    webhook = await subscribe(admin, receiver.url)
    await load_default_rubric(engine)
    await create_assessment(admin, "E123")  # no event
    drain(app)
    log = (await admin.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["data"]
    # Content version 1's event fails twice and gives up; version 2's, next in line, goes.
    assert [(d["event_type"], d["status"], len(d["attempts"])) for d in log] == [
        ("rubric.published", "succeeded", 1), ("rubric.published", "failed", 2)]
    assessment_id = await lifecycle(admin, "E456")
    drain(app)
    assert [r.json["type"] for r in receiver.acknowledged()] == [
        "rubric.published", *ASSESSMENT_EVENTS]
    assert receiver.acknowledged()[1].json["data"]["assessment"]["id"] == assessment_id


async def test_ping_is_delivered_and_logged(admin, receiver, app):
    webhook = await subscribe(admin, receiver.url, ["rubric.published"])
    queued = await admin.post(f"/v1/webhooks/{webhook['id']}/ping")
    assert queued.status_code == 202, queued.text
    assert queued.json()["event_type"] == "webhook.ping" and queued.json()["status"] == "pending"
    drain(app)
    assert [r.webhook_id for r in receiver.acknowledged()] == [queued.json()["webhook_id"]]
    assert receiver.acknowledged()[0].json["data"] == {"webhook": webhook["id"]}
    log = (await admin.get(f"/v1/webhooks/{webhook['id']}/deliveries")).json()["data"]
    assert log[0]["status"] == "succeeded" and len(log[0]["attempts"]) == 1


async def test_concurrent_workers_deliver_each_event_once(admin, receiver, app, engine):
    await subscribe(admin, receiver.url, ["rubric.published"])
    for n in range(12):
        await create_rubric(admin, rubric_doc(f"r{n}"))
    settings = app.state.settings

    def work():
        while deliver_due(engine, settings, limit=3):
            pass

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = [r.webhook_id for r in receiver.requests]
    assert len(ids) == 12 and len(set(ids)) == 12


async def test_the_serving_process_runs_the_worker(admin, receiver, app, engine):
    app.state.settings = app.state.settings.model_copy(update={"webhooks_poll_seconds": 0.05})
    async with app.router.lifespan_context(app):  # what uvicorn does at start-up
        await subscribe(admin, receiver.url, ["rubric.published"])
        await create_rubric(admin, rubric_doc("eng"))
        deadline = time.monotonic() + 10
        while not receiver.acknowledged() and time.monotonic() < deadline:
            await anyio.sleep(0.05)
    assert [r.json["type"] for r in receiver.acknowledged()] == ["rubric.published"]
    with open_session(engine) as s:
        assert s.exec(select(WebhookDelivery.status)).all() == ["succeeded"]
