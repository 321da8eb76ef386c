"""Two replicas of `ascent serve` (real processes on free ports of 127.0.0.1, each told it runs
on a host of its own) on one PostgreSQL database and one spool directory. While replica A's job
is blocked on a lock for longer than anything time-based would allow (its heartbeat an hour
old), replica B starts, and starts again: neither start fails A's running job or takes A's
queued one, and every job runs once, on A, when the lock goes."""

import os
import time
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import text

from service.db import open_session
from service.readiness.policies import ensure_default_policy
from tests.api.test_bulk_cli import KEY, live_server
from tests.factories.bulk import line, ndjson
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {KEY}"}
# `ascent serve` on a host called argv[1]: what a replica on another machine looks like.
SERVE_AS = ("import socket, sys; host = sys.argv.pop(1); socket.gethostname = lambda: host; "
            "from service.cli import app; app()")


@contextmanager
def replica(db_url: str, tmp_path, host: str, **env: str):
    """`ascent serve` on a free port as host ``host``; yields (process, base URL)."""
    with live_server(db_url, tmp_path, command=("-c", SERVE_AS, host), **env) as served:
        yield served


def job(base: str, job_id: str) -> dict:
    response = httpx.get(f"{base}/v1/jobs/{job_id}", headers=AUTH, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def upload(base: str, key: str, *people: str) -> str:
    response = httpx.post(f"{base}/v1/bulk/assessments", content=ndjson(*map(line, people)),
                          headers=AUTH | {"Content-Type": "application/x-ndjson",
                                          "Idempotency-Key": key}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["job"]["id"]


def jobs_run(base: str) -> int:
    metrics = httpx.get(f"{base}/metrics", timeout=10).text
    return int(sum(float(row.rsplit(" ", 1)[1]) for row in metrics.splitlines()
                   if row.startswith('ascent_jobs_total{kind="bulk_import"')))


def until(condition, seconds: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def runners(engine, *job_ids: str) -> dict[str, tuple[str, str]]:
    with open_session(engine) as session:
        rows = session.execute(text("SELECT id, status, runner FROM bulk_job")).all()
    return {str(r.id): (r.status, r.runner) for r in rows if str(r.id) in job_ids}


async def test_a_restarting_replica_leaves_a_blocked_replicas_jobs_alone(
        db_url, engine, tmp_path):
    if engine.dialect.name != "postgresql":
        pytest.skip("replicas on other hosts share PostgreSQL; SQLite is one host, whose "
                    "liveness rule (the runner's pid) is tested in test_bulk_recovery.py")
    await load_default_rubric(engine)
    with open_session(engine, write=True) as session:
        ensure_default_policy(session)
        session.commit()

    # A writes its heartbeat rarely: only the lock can tell B that A is alive.
    with replica(db_url, tmp_path, "replica-a", ASCENT_BULK_HEARTBEAT_SECONDS="3600"
                 ) as (a, base_a):
        blocker = engine.connect()
        blocker.execute(text("LOCK TABLE person IN SHARE MODE"))  # A's import will wait on it
        try:
            running = upload(base_a, "x", "X1", "X2", "X3")
            until(lambda: job(base_a, running)["status"] == "running", what="A to start")
            queued = upload(base_a, "y", "Y1", "Y2")  # behind the blocked one
            assert job(base_a, queued)["status"] == "queued"
            with engine.begin() as conn:  # silent for an hour, as far as timestamps go
                conn.execute(text("UPDATE bulk_job SET heartbeat_at = now() - interval '1 hour'"))
            owner = f"replica-a:{a.pid}:"
            for _ in range(2):  # B starts, is killed, starts again
                with replica(db_url, tmp_path, "replica-b") as (b, base_b):
                    assert job(base_b, running)["status"] == "running"
                    state = runners(engine, running, queued)
                    assert state[running][0] == "running" and state[running][1].startswith(owner)
                    assert state[queued][0] == "queued" and state[queued][1].startswith(owner)
                    assert jobs_run(base_b) == 0
                    b.kill()
        finally:
            blocker.rollback()  # the lock goes: A's jobs go on
            blocker.close()

        until(lambda: job(base_a, queued)["status"] not in ("queued", "running"), 120,
              "A's jobs to end")
        assert job(base_a, running)["status"] == job(base_a, queued)["status"] == "succeeded"
        assert job(base_a, running)["succeeded"] == 3 and job(base_a, queued)["succeeded"] == 2
        assert jobs_run(base_a) == 2  # each job ran once, here
        state = runners(engine, running, queued)
        assert all(runner.startswith(owner) for _, runner in state.values())
    assert os.path.isdir(tmp_path / "spool")
