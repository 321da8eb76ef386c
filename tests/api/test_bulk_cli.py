"""The CLI against a live server, on SQLite and PostgreSQL: `ascent serve` runs as a process of
its own on a free port of 127.0.0.1 and `ascent import/export/score` talk to it over HTTP
(through service/client.py). Also: a server killed in the middle of a job, then started
again, leaves no job `running` and nothing half-applied."""

import csv
import io
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from service.db import open_session
from service.readiness.policies import ensure_default_policy
from tests.factories.bulk import DATA, SAMPLE, expected
from tests.factories.rubrics import load_default_rubric
from tests.factories.webhooks import free_port

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
KEY = "asc_cli-test-admin-key-0123456789abcdefghij"


@pytest.fixture
async def ladder(engine, db_url):
    await load_default_rubric(engine)
    with open_session(engine, write=True) as session:
        ensure_default_policy(session)
        session.commit()


@contextmanager
def live_server(db_url: str, tmp_path: Path, *,
                command: tuple[str, ...] = ("-m", "service.cli"), **env: str):
    """`ascent serve` on a free port (run as `python <command> serve`); yields (process, base
    URL)."""
    port = free_port()
    environment = os.environ | {
        "ASCENT_DATABASE_URL": db_url, "ASCENT_HOST": "127.0.0.1", "ASCENT_PORT": str(port),
        "ASCENT_BOOTSTRAP_ADMIN_KEY": KEY, "ASCENT_LOG_LEVEL": "WARNING",
        "ASCENT_WEBHOOKS_WORKER": "false", "ASCENT_BULK_SPOOL_DIR": str(tmp_path / "spool"),
    } | env
    proc = subprocess.Popen([sys.executable, *command, "serve"], cwd=ROOT,
                            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {proc.stderr.read().decode()}")
            time.sleep(0.1)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(30)


def ascent(*args: str, base: str) -> subprocess.CompletedProcess:
    env = os.environ | {"ASCENT_URL": base, "ASCENT_API_KEY": KEY, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


async def test_import_export_and_score_through_the_cli(db_url, ladder, tmp_path):
    want = expected()
    with live_server(db_url, tmp_path) as (_, base):
        errors_file = tmp_path / "errors.csv"
        done = ascent("import", str(DATA / f"{SAMPLE}.csv"), "--mode", "partial",
                      "--errors", str(errors_file), base=base)
        assert done.returncode == 1, done.stderr  # rows failed
        job_id = done.stdout.strip().splitlines()[-1]
        assert "partial" in done.stderr and "rejected rows" in done.stderr
        for bad in want["csv"]:
            assert f"{bad['line']}" in done.stderr and bad["field"] in done.stderr
        written = list(csv.DictReader(errors_file.open()))
        assert [(int(r["line"]), r["field"]) for r in written] == [
            (e["line"], e["field"]) for e in want["csv"]]

        job = httpx.get(f"{base}/v1/jobs/{job_id}",
                        headers={"Authorization": f"Bearer {KEY}"}).json()
        assert (job["status"], job["failed"]) == ("partial", want["bad"])

        out = tmp_path / "cycle.jsonl"
        exported = ascent("export", str(out), "--cycle", "2026-H2", base=base)
        assert exported.returncode == 0, exported.stderr
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(lines) == want["assessments"] - want["bad"]

        again = ascent("import", str(out), base=base)  # the export imports back: no change
        assert again.returncode == 0, again.stderr
        assert "succeeded" in again.stderr

        cohort = tmp_path / "cohort.csv"
        scored = ascent("score", "--cohort", "--output", str(cohort), "--cycle", "2026-H2",
                        base=base)
        assert scored.returncode == 0, scored.stderr
        rows = list(csv.DictReader(io.StringIO(cohort.read_text())))
        assert len(rows) == want["submitted"] + want["finalized"]
        assert {r["band"] for r in rows} <= {"ready_now", "ready_soon", "developing", "not_yet"}

        one = next(x for x in lines if x["status"] == "finalized")
        report = tmp_path / "report.json"
        assert ascent("score", "--assessment", one["id"], "-o", str(report),
                      base=base).returncode == 0
        assert json.loads(report.read_text())["rubric"]["key"] == "product-leadership"


async def test_the_cli_says_what_is_wrong_and_exits_2(db_url, ladder, tmp_path):
    with live_server(db_url, tmp_path) as (_, base):
        wrong_key = subprocess.run(
            [sys.executable, "-m", "service.cli", "import", str(DATA / f"{SAMPLE}.jsonl"),
             "--key", "asc_wrong", "--url", base], cwd=ROOT, capture_output=True,
            text=True, timeout=120)
        assert wrong_key.returncode == 2
        assert "401" in wrong_key.stderr
        no_server = ascent("export", str(tmp_path / "x.csv"), "--retries", "1",
                           base="http://127.0.0.1:9")
        assert no_server.returncode == 2 and "Connect" in no_server.stderr


@pytest.mark.parametrize("mode", ["atomic", "partial"])
async def test_a_server_killed_mid_job_leaves_no_job_running(db_url, ladder, tmp_path, mode):
    auth = {"Authorization": f"Bearer {KEY}"}
    body = (DATA / f"{SAMPLE}.jsonl").read_bytes()
    with live_server(db_url, tmp_path, ASCENT_BULK_BATCH_SIZE="1") as (proc, base):
        accepted = httpx.post(f"{base}/v1/bulk/assessments", content=body,
                              params={"mode": mode},
                              headers=auth | {"Content-Type": "application/x-ndjson",
                                              "Idempotency-Key": f"kill-{mode}"})
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job"]["id"]
        deadline = time.monotonic() + 60
        while True:  # until it is well under way
            job = httpx.get(f"{base}/v1/jobs/{job_id}", headers=auth).json()
            if job["status"] == "running" and job["processed"] >= 20:
                break
            assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
            time.sleep(0.02)
        proc.kill()  # SIGKILL: no shutdown, no cleanup
        proc.wait(30)

    with live_server(db_url, tmp_path) as (_, base):
        job = httpx.get(f"{base}/v1/jobs/{job_id}", headers=auth).json()
        stored = httpx.get(f"{base}/v1/assessments", params={"limit": 500},
                           headers=auth).json()["data"]
    assert job["status"] == "failed" and "Interrupted" in job["reason"]
    assert job["finished_at"] is not None
    if mode == "atomic":
        assert stored == [] and "nothing was written" in job["reason"]
    else:  # what was committed stays, and the job's counts say exactly what that is
        assert 0 < job["succeeded"] == len(stored) < expected()["assessments"]
