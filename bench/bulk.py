"""Bulk import throughput and server memory, on SQLite and PostgreSQL, beside the raw driver.

For each backend, in this same run:
- API: a fresh database, `ascent serve` as a subprocess (127.0.0.1, its own port), a warm-up
  import of a few rows, then the timed one: the file uploaded with ``service.client`` and the
  job followed to its end (upload + parse + validate + write + commit, all inside the timing;
  the end is the job's ``finished_at``, so the polling interval adds nothing).
  Peak RSS of the server: VmHWM from /proc/<pid>/status, against VmRSS before the timed
  upload (the growth is what the import cost).
- Raw ceiling: the bare driver writing the same rows, pre-built in memory, in one transaction
  (SQLite ``executemany``; PostgreSQL ``COPY``): (a) into the real schema (people,
  assessments, ratings with their keys and indexes: what the import has to write) and (b) the
  file's rows into an unindexed table of text columns (the most a driver can take in).

The file is the sample cycle's generator at bench scale: 10 ratings per assessment (self 4,
manager 4, peer 2), one assessment per person, plain drafts; rows = rating rows.

Each measurement is repeated (``--repeat``, fresh databases each time) and the best kept, for
the API and the raw driver alike: on a shared machine the best run is the least disturbed.

Usage: python bench/bulk.py [--rows 100000] [--format csv|ndjson] [--mode atomic|partial]
                            [--backends sqlite,postgresql] [--repeat 3]
"""

import argparse
import csv
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.client import AscentClient  # noqa: E402
from service.db import make_engine, open_session, upgrade  # noqa: E402
from service.readiness.policies import ensure_default_policy  # noqa: E402
from service.rubrics.service import load_defaults  # noqa: E402
from tests.backends import fresh_database, postgres_unavailable_reason  # noqa: E402
from tests.data.generate import cycle, write_csv, write_jsonl  # noqa: E402

KEY = "asc_bench_bulk_admin_key_0123456789abcdefghijklmnop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def make_file(path: Path, rows: int, fmt: str, name: str = "2026-H2", seed: int = 2026) -> int:
    people = rows // 10
    with path.open("w", newline="") as out:
        docs = cycle(people, seed=seed, name=name, bench=True, bad=False)
        (write_csv if fmt == "csv" else write_jsonl)(docs, out)
    return people


def prepare(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with open_session(engine, write=True) as session:
        load_defaults(session)
        ensure_default_policy(session)
        session.commit()
    engine.dispose()


def serve(url: str, tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {"ASCENT_DATABASE_URL": url, "ASCENT_BOOTSTRAP_ADMIN_KEY": KEY,
                        "ASCENT_LOG_LEVEL": "WARNING", "ASCENT_WEBHOOKS_WORKER": "false",
                        "ASCENT_BULK_SPOOL_DIR": str(tmp / "spool")}
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/livez", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start: {proc.stderr.read().decode()[-2000:]}")


def through_api(url: str, tmp: Path, path: Path, fmt: str, mode: str) -> dict:
    prepare(url)
    proc, base = serve(url, tmp)
    try:
        with AscentClient(base, KEY, timeout=600) as client:
            warm = tmp / f"warm.{fmt}"
            make_file(warm, 200, fmt, name="warm-up", seed=1)
            job = client.wait_for_job(client.import_assessments(warm, mode=mode).id, poll=0.2)
            assert job.ok, job
            before = memory(proc.pid)
            started, clock = time.perf_counter(), datetime.now(UTC)
            job = client.import_assessments(path, mode=mode)
            uploaded = time.perf_counter() - started
            job = client.wait_for_job(job.id, poll=0.2)
            # The job's own end time (same machine, same clock), not when a poll noticed it.
            seconds = (datetime.fromisoformat(job.raw["finished_at"]) - clock).total_seconds()
            after = memory(proc.pid)
        if not job.ok:
            raise RuntimeError(f"the import did not succeed: {job}")
        return {"seconds": seconds, "upload": uploaded, "assessments": job.succeeded,
                "rss_before": before["VmRSS"],
                "hwm": after["VmHWM"], "growth": after["VmHWM"] - before["VmRSS"]}
    finally:
        proc.terminate()
        proc.wait(30)


def file_rows(path: Path, fmt: str) -> list[tuple]:
    """The file's rating rows as tuples of text (what the flat ceiling writes)."""
    if fmt == "csv":
        with path.open(newline="") as f:
            return [tuple(r) for r in list(csv.reader(f))[1:]]
    import json
    rows = []
    for line in path.open():
        doc = json.loads(line)
        p = doc["person"]
        for r in doc["ratings"]:
            rows.append((p["external_id"], p["display_name"], p.get("email", ""),
                         p.get("org_unit", ""), p.get("manager_external_id", ""),
                         doc["rubric"], p["level"], "", doc["cycle"], "", r["competency"],
                         r["rater_role"], r.get("rater_id", ""), str(r["proficiency"]),
                         r.get("evidence", "")))
    return rows


def schema_rows(rows: list[tuple], sqlite_form: bool) -> tuple[list, list, list]:
    """People, assessments and ratings as the import writes them, in driver form."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite_form else now
    ident = (lambda u: u.hex) if sqlite_form else (lambda u: u)
    levels = ["apm", "pm", "senior-pm", "lead-pm", "director", "vp", "cpo"]
    people, assessments, ratings, seen = [], [], [], {}
    for r in rows:
        key = (r[0], r[8])
        if key not in seen:
            pid, aid = uuid.uuid4(), uuid.uuid4()
            seen[key] = ident(aid)
            people.append((ident(pid), r[0], r[1], r[2] or None, r[3] or None, r[4] or None,
                           r[5], r[6], True, 1, stamp, stamp))
            assessments.append((ident(aid), ident(pid), r[0], r[3] or None, r[5], 1, r[6],
                                levels[levels.index(r[6]) + 1], r[8], "draft", 1, stamp, stamp,
                                b""))
        ratings.append((seen[key], len(ratings) % 10, r[10], r[11], r[12], int(r[13]),
                        r[14] or None))
    return people, assessments, ratings


PEOPLE = ("id, external_id, display_name, email, org_unit, manager_external_id, rubric, level, "
          "active, row_version, created_at, updated_at")
ASSESSMENTS = ("id, person_id, person_external_id, org_unit, rubric_key, rubric_version, "
               "current_level, target_level, cycle, status, row_version, created_at, "
               "updated_at, ratings_packed")
RATINGS = "assessment_id, position, competency, rater_role, rater_id, proficiency, evidence"
FLAT = "(" + ", ".join(f"c{i} text" for i in range(15)) + ")"


def raw_sqlite(url: str, rows: list[tuple]) -> tuple[float, float]:
    """(seconds into the schema, seconds into a flat table) with the bare sqlite3 driver."""
    upgrade(url)
    db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    people, assessments, ratings = schema_rows(rows, sqlite_form=True)
    started = time.perf_counter()
    db.execute("BEGIN")
    for table, columns, data in (("person", PEOPLE, people),
                                 ("assessment", ASSESSMENTS, assessments),
                                 ("rating", RATINGS, ratings)):
        marks = ", ".join("?" * len(columns.split(",")))
        db.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", data)
    db.execute("COMMIT")
    schema = time.perf_counter() - started
    db.execute(f"CREATE TABLE flat {FLAT}")
    started = time.perf_counter()
    db.execute("BEGIN")
    db.executemany(f"INSERT INTO flat VALUES ({', '.join('?' * 15)})", rows)
    db.execute("COMMIT")
    flat = time.perf_counter() - started
    db.close()
    return schema, flat


def raw_postgresql(url: str, rows: list[tuple]) -> tuple[float, float]:
    """(seconds into the schema, seconds into a flat table) with psycopg's COPY."""
    import psycopg

    upgrade(url)
    people, assessments, ratings = schema_rows(rows, sqlite_form=False)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            for table, columns, data in (("person", PEOPLE, people),
                                         ("assessment", ASSESSMENTS, assessments),
                                         ("rating", RATINGS, ratings)):
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
        schema = time.perf_counter() - started
        conn.execute(f"CREATE TABLE flat {FLAT}")
        conn.commit()
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur, cur.copy("COPY flat FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        flat = time.perf_counter() - started
    return schema, flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rating rows (10 per person)")
    parser.add_argument("--format", choices=("csv", "ndjson"), default="csv")
    parser.add_argument("--mode", choices=("atomic", "partial"), default="atomic")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best kept")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ascent-bench-bulk-"))
    path = tmp / f"cycle.{'csv' if args.format == 'csv' else 'jsonl'}"
    people = make_file(path, args.rows, args.format)
    rows = file_rows(path, args.format)
    print(f"file: {len(rows):,} rating rows, {people:,} assessments (one per person), "
          f"{args.format}, {path.stat().st_size / 1e6:.1f} MB; mode {args.mode}; "
          f"best of {args.repeat}")
    print(f"{'backend':11} {'API rows/s':>11} {'(s, upload s)':>14} {'raw rows/s':>11} "
          f"{'ratio':>6}   {'raw flat rows/s':>15} {'ratio':>6}   {'server RSS MB':>13} "
          f"{'peak':>6} {'growth':>6}")
    for backend in args.backends.split(","):
        if backend == "postgresql" and (reason := postgres_unavailable_reason()):
            print(f"{backend:11} skipped: {reason}")
            continue
        runs, raws = [], []
        for _ in range(args.repeat):
            with fresh_database(backend, tmp) as url:
                runs.append(through_api(url, tmp, path, args.format, args.mode))
            with fresh_database(backend, tmp) as url:
                raws.append((raw_sqlite if backend == "sqlite" else raw_postgresql)(url, rows))
        api = min(runs, key=lambda r: r["seconds"]) | {
            "growth": max(r["growth"] for r in runs), "hwm": max(r["hwm"] for r in runs)}
        schema, flat = min(r[0] for r in raws), min(r[1] for r in raws)
        api_rate, schema_rate, flat_rate = (len(rows) / api["seconds"], len(rows) / schema,
                                            len(rows) / flat)
        timing = f"({api['seconds']:.1f}, {api['upload']:.1f})"
        print(f"{backend:11} {api_rate:11,.0f} {timing:>14} {schema_rate:11,.0f} "
              f"{api_rate / schema_rate:6.2f}"
              f"   {flat_rate:15,.0f} {api_rate / flat_rate:6.2f}   "
              f"{api['rss_before'] / 1024:13.0f} {api['hwm'] / 1024:6.0f} "
              f"{api['growth'] / 1024:6.0f}")
    print("API: upload to job end through `ascent serve`; raw: bare driver, pre-built rows, one "
          "transaction (SQLite executemany, PostgreSQL COPY) into the real schema (people, "
          "assessments, ratings) and into a flat text table; RSS of the server in MB: before "
          "the timed upload, peak (VmHWM), growth = peak - before (the largest of the runs).")


if __name__ == "__main__":
    main()
