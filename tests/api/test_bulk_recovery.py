"""Jobs a stopped process left behind, on SQLite and PostgreSQL: at the next start (the app's
lifespan, or the first bulk request of an app whose lifespan did not run) none stays
`running` and no upload stays half-claimed, while another live process's jobs are left
alone. The same with a real server killed mid-job is in tests/api/test_bulk_cli.py."""

import subprocess
import sys
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update
from sqlmodel import func, select

from service.assessments.models import Assessment
from service.bulk import runner
from service.bulk.leases import lock_key
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


@contextmanager
def owned_elsewhere(engine, *job_ids):
    """What a live replica holds for its jobs: on PostgreSQL their advisory locks, on a
    connection of its own (on SQLite liveness is the runner's pid, or a recent heartbeat)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        for job_id in job_ids:
            assert conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                {"k": lock_key(job_id)}).scalar()
        conn.commit()
        yield


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

    with owned_elsewhere(engine, elsewhere):
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
    assert state(engine, silent).status == "failed"  # gone: no lock / silent beyond STALE
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


async def queued_job_of_30(engine, tmp_path) -> uuid.UUID:
    """A partial job of 30 people queued by this process, the ladder loaded to run it."""
    await load_default_rubric(engine)
    with open_session(engine, write=True) as session:
        ensure_default_policy(session)
        session.commit()
    path = tmp_path / "big.ndjson"
    path.write_bytes(ndjson(*(line(f"E{i}") for i in range(30))))
    return leave(engine, status="queued", mode="partial", runner=runner.RUNNER_ID,
                 spool_path=str(path))


async def test_a_shutdown_stops_a_job_between_batches(app, engine, tmp_path, monkeypatch):
    job_id = await queued_job_of_30(engine, tmp_path)
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


async def test_a_live_replica_keeps_its_jobs_however_old_its_heartbeat(app, admin, engine,
                                                                       settings):
    """Blocked for an hour (no heartbeat written), its owner still alive: a restarting replica
    neither fails its running job nor takes its queued one. PostgreSQL: the owner holds the
    jobs' advisory locks; SQLite: the owner is a live process on this host."""
    spool = Path(settings.bulk_spool_dir)
    spool.mkdir(parents=True)
    (spool / "waiting.ndjson").write_bytes(ndjson(line("E1")))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = (f"{runner.HOST}:{sleeper.pid}:0wner" if engine.dialect.name == "sqlite"
                 else "other-host:77:0wner")
        hour_ago = utcnow() - timedelta(hours=1)
        running = leave(engine, status="running", runner=owner, heartbeat_at=hour_ago)
        queued = leave(engine, status="queued", runner=owner, heartbeat_at=hour_ago,
                       spool_path=str(spool / "waiting.ndjson"), bytes=10)
        with owned_elsewhere(engine, running, queued):
            assert runner.recover(engine) == []
            assert (await admin.get(f"/v1/jobs/{running}")).json()["status"] == "running"
        assert (state(engine, running).status, state(engine, running).runner) == (
            "running", owner)
        assert (state(engine, queued).status, state(engine, queued).runner) == ("queued", owner)
        assert (spool / "waiting.ndjson").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


async def test_a_job_taken_over_stops_without_writing_more(app, engine, tmp_path,
                                                           monkeypatch):
    """The fence: a job whose row no longer names it as running (another replica settled it)
    commits no further batch and does not overwrite the row's end."""
    job_id = await queued_job_of_30(engine, tmp_path)
    settings = app.state.settings.model_copy(update={"bulk_batch_size": 10})
    original = runner._batches

    def taken_over_after_first_batch(items, size):
        batches = original(items, size)
        yield next(batches)
        with open_session(engine, write=True) as session:  # what another replica's recovery did
            session.execute(update(BulkJob).where(BulkJob.id == job_id).values(
                status="failed", reason="taken"))
            session.commit()
        yield from batches

    monkeypatch.setattr(runner, "_batches", taken_over_after_first_batch)
    assert runner.run_job(engine, settings, job_id) is None
    job = state(engine, job_id)
    assert (job.status, job.reason, job.succeeded) == ("failed", "taken", 10)
    with open_session(engine) as session:  # the first batch only: the second was fenced off
        assert session.exec(select(func.count()).select_from(Assessment)).one() == 10
