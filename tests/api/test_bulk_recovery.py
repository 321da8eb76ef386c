"""Jobs a stopped process left behind, on SQLite and PostgreSQL: at the next start (the app's
lifespan, or the first bulk request of an app whose lifespan did not run) none stays
`running` and no upload stays half-claimed, while another live process's jobs are left
alone. The same with a real server killed mid-job is in tests/api/test_bulk_cli.py."""

import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from service.bulk import runner
from service.bulk.models import BulkJob
from service.db import open_session
from service.models import utcnow
from service.readiness.policies import ensure_default_policy
from service.settings import Settings
from tests.factories.bulk import assessments, finish, line, ndjson
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database_url=db_url, bulk_spool_dir=tmp_path / "spool",
                    webhooks_worker=False)


@pytest.fixture
def dead_runner() -> str:
    """The runner id of a process on this host that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{runner.HOST}:{child.pid}:deadbeef"


def leave(engine, **fields) -> uuid.UUID:
    """A job row as a process that stopped would have left it."""
    defaults = {"principal": "key:asc_test", "idempotency_key": str(uuid.uuid4()),
                "format": "ndjson", "mode": "atomic", "fingerprint": "f" * 64,
                "heartbeat_at": utcnow()}
    with open_session(engine, write=True) as session:
        job = BulkJob(**(defaults | fields))
        session.add(job)
        session.commit()
        return job.id


def state(engine, job_id) -> BulkJob | None:
    with open_session(engine) as session:
        return session.get(BulkJob, job_id)


async def test_the_first_bulk_request_settles_what_a_stopped_process_left(
        app, admin, engine, dead_runner, settings):
    await load_default_rubric(engine)
    spool = Path(settings.bulk_spool_dir)
    spool.mkdir(parents=True)
    (spool / "queued.ndjson").write_bytes(ndjson(line("E1"), line("E2")))
    running_atomic = leave(engine, status="running", runner=dead_runner, processed=40)
    running_partial = leave(engine, status="running", mode="partial", runner=dead_runner,
                            succeeded=12, processed=12)
    queued = leave(engine, status="queued", runner=dead_runner,
                   spool_path=str(spool / "queued.ndjson"), bytes=10)
    lost = leave(engine, status="queued", runner=dead_runner,
                 spool_path=str(spool / "gone.ndjson"))
    claim = leave(engine, status="queued", runner=dead_runner, fingerprint=None)
    elsewhere = leave(engine, status="running", runner="other-host:42:cafe")
    silent = leave(engine, status="running", runner="other-host:43:cafe",
                   heartbeat_at=utcnow() - timedelta(hours=1))

    response = await admin.get(f"/v1/jobs/{running_atomic}")  # first use: recovery first
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert "Interrupted" in body["reason"] and "nothing was written" in body["reason"]
    partial = state(engine, running_partial)
    assert partial.status == "failed" and "12 assessment(s) had been applied" in partial.reason
    assert state(engine, lost).status == "failed"
    assert "before it started" in state(engine, lost).reason
    assert state(engine, claim) is None  # an upload that never finished is forgotten
    assert state(engine, elsewhere).status == "running"  # alive on another host
    assert state(engine, silent).status == "failed"  # silent for longer than STALE
    with open_session(engine) as session:
        assert session.exec(select(BulkJob).where(BulkJob.runner == dead_runner,
                                                  BulkJob.status == "running")).all() == []

    resumed = await finish(app, admin, str(queued))  # its file is still there: it runs here
    assert resumed["status"] == "succeeded" and resumed["succeeded"] == 2
    assert sorted(a["person"] for a in await assessments(admin)) == ["E1", "E2"]
    assert not (spool / "queued.ndjson").exists()


async def test_the_lifespan_settles_them_at_start(app, engine, dead_runner):
    job = leave(engine, status="running", runner=dead_runner)
    async with app.router.lifespan_context(app):
        assert state(engine, job).status == "failed"


async def test_a_job_of_this_process_is_never_taken_for_dead(app, admin, engine):
    mine = leave(engine, status="running", runner=runner.RUNNER_ID)
    assert (await admin.get(f"/v1/jobs/{mine}")).json()["status"] == "running"


async def test_a_shutdown_stops_a_job_between_batches(app, engine, tmp_path, monkeypatch):
    await load_default_rubric(engine)
    with open_session(engine, write=True) as session:
        ensure_default_policy(session)
        session.commit()
    path = tmp_path / "big.ndjson"
    path.write_bytes(ndjson(*(line(f"E{i}") for i in range(30))))
    job_id = leave(engine, status="queued", mode="partial", runner=runner.RUNNER_ID,
                   spool_path=str(path))
    stop = threading.Event()
    settings = app.state.settings.model_copy(update={"bulk_batch_size": 10})
    calls = 0
    original = runner._advance

    def advance_then_stop(progress, batch):
        nonlocal calls
        original(progress, batch)
        calls += 1
        stop.set()  # the server begins to shut down after the first batch

    monkeypatch.setattr(runner, "_advance", advance_then_stop)
    status = runner.run_job(engine, settings, job_id, stop)
    job = state(engine, job_id)
    assert (status, job.status, job.succeeded, calls) == ("failed", "failed", 10, 1)
    assert "shut down" in job.reason and "10 assessment(s) had been applied" in job.reason
