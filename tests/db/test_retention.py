"""Retention, on SQLite and PostgreSQL: each kind of row past its retention is purged and
everything else stays; the purge runs once per interval across replicas, in the background of
the serving process, and as `ascent purge`."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from sqlalchemy import func, update
from sqlmodel import select

from service.assessments.models import AssessmentEvent
from service.bulk.models import BulkJob, BulkJobError
from service.db import make_engine, open_session
from service.idempotency import IdempotencyRecord
from service.models import utcnow
from service.retention import MaintenanceLease, claim_run, purge
from service.settings import Settings
from service.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from tests.factories.assessments import create_assessment
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
NOW = utcnow()


def count(engine, model) -> int:
    with open_session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def add(engine, *rows) -> None:
    with open_session(engine, write=True) as session:
        for row in rows:
            session.add(row)
            session.flush()
        session.commit()


def record(key: str, expires_in: timedelta) -> IdempotencyRecord:
    return IdempotencyRecord(principal="key:asc_test", key=key, fingerprint="f" * 64,
                             status_code=201, body="{}", headers={},
                             expires_at=NOW + expires_in)


def test_expired_idempotency_records_go_live_ones_stay(engine, settings):
    add(engine, record("old", -timedelta(seconds=1)), record("live", timedelta(hours=1)))
    assert purge(engine, settings)["idempotency_records"] == 1
    with open_session(engine) as session:
        assert session.exec(select(IdempotencyRecord.key)).all() == ["live"]


def webhook_event(engine, subs, name: str, age: timedelta, *statuses: str) -> None:
    """An event of ``age``, with a delivery (and an attempt) in each status, one per
    subscription."""
    event = WebhookEvent(message_id=f"msg_{name}", type="rubric.published",
                         ordering_key=f"event:{name}", body="{}", created_at=NOW - age)
    add(engine, event)
    for sub_id, status in zip(subs, statuses, strict=False):
        delivery = WebhookDelivery(subscription_id=sub_id, event_id=event.id,
                                   ordering_key=event.ordering_key, status=status,
                                   created_at=NOW - age)
        add(engine, delivery)
        add(engine, WebhookAttempt(delivery_id=delivery.id, number=1, outcome="retry"))


def test_old_settled_webhook_events_go_with_their_deliveries_and_attempts(engine, settings):
    subs = [WebhookSubscription(url=f"https://hr{n}.example.com/h", event_types=["*"],
                                secret="whsec_x") for n in range(2)]
    add(engine, *subs)
    month = timedelta(days=settings.retention_webhook_days)
    ids = [sub.id for sub in subs]
    webhook_event(engine, ids, "old", month + timedelta(hours=1), "succeeded", "failed")
    webhook_event(engine, ids, "old-pending", month * 3, "failed", "pending")  # one still due
    webhook_event(engine, ids, "recent", month - timedelta(hours=1), "succeeded")
    webhook_event(engine, ids, "old-undelivered", month * 2)  # no subscriber left

    assert purge(engine, settings)["webhook_events"] == 2
    with open_session(engine) as session:
        kept = sorted(session.exec(select(WebhookEvent.message_id)).all())
    assert kept == ["msg_old-pending", "msg_recent"]
    assert count(engine, WebhookDelivery) == 3 and count(engine, WebhookAttempt) == 3
    assert count(engine, WebhookSubscription) == 2


def job(status: str, finished_ago: timedelta | None, errors: int = 0) -> list:
    row = BulkJob(principal="key:asc_test", idempotency_key=str(uuid.uuid4()), format="ndjson",
                  mode="partial", fingerprint="f" * 64, status=status,
                  finished_at=NOW - finished_ago if finished_ago is not None else None)
    return [row, *(BulkJobError(job_id=row.id, line=n + 1, field="cycle", message="bad")
                   for n in range(errors))]


def test_ended_jobs_go_with_their_errors_active_and_recent_ones_stay(engine, settings):
    month = timedelta(days=settings.retention_job_days)
    old_partial, old_failed = job("partial", month * 2, errors=3), job("failed", month + month)
    recent = job("succeeded", month - timedelta(hours=1), errors=1)
    running, queued = job("running", None), job("queued", None)
    for rows in (old_partial, old_failed, recent, running, queued):
        add(engine, *rows)
    assert purge(engine, settings)["bulk_jobs"] == 2
    with open_session(engine) as session:
        kept = set(session.exec(select(BulkJob.id)).all())
    assert kept == {recent[0].id, running[0].id, queued[0].id}
    assert count(engine, BulkJobError) == 1


async def test_audit_rows_are_kept_seven_years_by_default(admin, engine, settings):
    assert settings.retention_audit_days >= 7 * 365
    await load_default_rubric(engine)
    old = await create_assessment(admin, "E1")
    recent = await create_assessment(admin, "E2")
    years = timedelta(days=settings.retention_audit_days)
    with open_session(engine, write=True) as session:
        for assessment, age in ((old, years + timedelta(days=1)),
                                (recent, years - timedelta(days=1))):
            session.execute(update(AssessmentEvent)
                            .where(AssessmentEvent.assessment_id == uuid.UUID(assessment["id"]))
                            .values(at=NOW - age))
        session.commit()
    assert purge(engine, settings)["assessment_events"] == 1
    with open_session(engine) as session:
        kept = session.exec(select(AssessmentEvent.assessment_id)).all()
    assert [str(a) for a in kept] == [recent["id"]]
    assert (await admin.get(f"/v1/assessments/{old['id']}")).status_code == 200  # not the data


def test_a_retention_of_zero_keeps_rows_forever(engine, db_url):
    settings = Settings(database_url=db_url, retention_webhook_days=0, retention_job_days=0,
                        retention_audit_days=0)
    add(engine, *job("succeeded", timedelta(days=3650)))
    add(engine, WebhookEvent(message_id="msg_ancient", type="rubric.published",
                             ordering_key="k", body="{}", created_at=NOW - timedelta(days=3650)))
    counts = purge(engine, settings)
    assert counts == {"idempotency_records": 0}
    assert count(engine, BulkJob) == 1 and count(engine, WebhookEvent) == 1


def test_the_purge_runs_once_per_interval_across_replicas(engine, db_url):
    interval = timedelta(hours=1)
    replicas = [make_engine(db_url), make_engine(db_url)]
    try:
        assert claim_run(replicas[0], "purge", interval, holder="a", now=NOW) is True
        assert claim_run(replicas[1], "purge", interval, holder="b", now=NOW) is False
        assert claim_run(replicas[0], "purge", interval, holder="a",
                         now=NOW + timedelta(minutes=59)) is False
        assert claim_run(replicas[1], "purge", interval, holder="b",
                         now=NOW + interval) is True
        assert claim_run(replicas[0], "purge", interval, holder="a",
                         now=NOW + interval) is False
    finally:
        for e in replicas:
            e.dispose()
    with open_session(engine) as session:
        lease = session.get(MaintenanceLease, "purge")
    assert lease.holder == "b" and lease.next_run_at == NOW + 2 * interval


async def test_the_serving_process_purges_in_the_background(app, engine):
    app.state.settings = app.state.settings.model_copy(update={
        "purge_interval_seconds": 1, "webhooks_worker": False})
    add(engine, record("old", -timedelta(seconds=1)))
    async with app.router.lifespan_context(app):
        deadline = time.monotonic() + 10
        while count(engine, IdempotencyRecord) and time.monotonic() < deadline:
            await anyio.sleep(0.05)
    assert count(engine, IdempotencyRecord) == 0
    with open_session(engine) as session:
        assert session.get(MaintenanceLease, "purge").last_run_at is not None


def test_ascent_purge(engine, db_url):
    add(engine, record("old", -timedelta(seconds=1)), record("live", timedelta(hours=1)))
    add(engine, *job("failed", timedelta(days=40), errors=2))
    done = subprocess.run([sys.executable, "-m", "service.cli", "purge"], cwd=ROOT,
                          env=os.environ | {"ASCENT_DATABASE_URL": db_url},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "idempotency_records: 1 deleted" in done.stdout
    assert "bulk_jobs: 1 deleted" in done.stdout
    assert count(engine, IdempotencyRecord) == 1 and count(engine, BulkJobError) == 0
