"""Running bulk jobs: a worker thread in the serving process (no broker needed on one
machine), started lazily, that takes accepted jobs off a queue and runs them; recovery of jobs
a previous process left behind; and ``run_job``, which tests may also call directly.

A job reads its spooled file batch by batch (``bulk_batch_size`` assessments): it parses and
validates a batch (people and assessments planned by their own domains' ``batch`` modules,
which apply the REST rules), writes the valid part with a few statements, and moves on.

- atomic: one transaction for the whole file. Every batch is written into it (so later rows
  are validated against earlier ones), and at the end it commits only when no row failed;
  otherwise it rolls back and the job is ``failed`` with every bad row reported. The job's
  final state is written in that same transaction, so a crash can never leave data committed
  under a job that says otherwise.
- partial: one transaction per batch, holding the batch's valid assessments, its row errors
  and the job's counters, so the counts always describe what is committed. When writing a
  batch fails (a concurrent change, a unique key taken meanwhile), it is rolled back and its
  assessments are retried one at a time, so only the culprit is reported.

A job records its runner (``host:pid:token``), and the process owns it as ``leases.py`` says
(a PostgreSQL advisory lock; on SQLite the runner's pid, and a heartbeat for other hosts). At
start (and on first use of the bulk routes) a process settles the jobs whose owner is gone:
it takes them over (their lock, on PostgreSQL), fails the running ones, deletes uploads that
never finished, and runs here the queued ones whose file is still there. Every change it makes
is conditional on the row being as it read it. A job writes each batch, and its end, only while
its row still names this process and says ``running`` (the fence): a job taken over meanwhile
stops without writing more (``LostJob``).
"""

import gc
import logging
import queue
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from sqlalchemy import Engine, delete, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from ..assessments import batch as assessments_batch
from ..batch_sql import Converter, insert_rows
from ..db import is_sqlite, open_session
from ..metrics import JOBS, JOBS_RUNNING
from ..models import utcnow
from ..people import batch as people_batch
from ..problems import InvalidInput, ProblemError
from ..settings import Settings
from ..wire import escape_nul
from . import parsers
from .leases import HOST, RUNNER_ID, STALE, JobLeases, leases_for, running
from .models import (
    ACTIVE,
    ATOMIC,
    FAILED,
    PARTIAL,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    BulkJob,
    BulkJobError,
)

log = logging.getLogger("ascent.bulk")

KIND = "bulk_import"
IDLE_SECONDS = 5.0  # the worker thread ends when idle this long; the next job starts another
__all__ = ["HOST", "RUNNER_ID", "STALE", "JobRunner", "recover", "run_job", "runner_for"]


# --- progress ------------------------------------------------------------------------------

@dataclass
class Progress:
    """A running job's counters. Kept in memory too (``LIVE``): during an atomic import on
    SQLite the database is locked by the job's own transaction, so readers in this process
    get the counts from here."""

    job_id: uuid.UUID
    mode: str
    max_errors: int
    total: int | None = None
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    rows: int = 0
    position: int = 0
    errors_total: int = 0
    pending: list[tuple] = field(default_factory=list)  # errors not yet written

    def counters(self) -> dict:
        return {"total": self.total, "processed": self.processed, "succeeded": self.succeeded,
                "failed": self.failed, "rows": self.rows, "position": self.position,
                "errors_total": self.errors_total}

    def reject(self, item: parsers.Item, errors: Iterable[tuple[int, str, str]]) -> None:
        self.failed += 1
        for line, field_, message in errors:
            self.errors_total += 1
            if self.errors_total <= self.max_errors:  # text quoting the file: no NUL stored
                self.pending.append((line, escape_nul(field_)[:500], escape_nul(message),
                                     escape_nul(item.external_id or "")[:200] or None,
                                     escape_nul(item.cycle or "")[:64] or None))


LIVE: dict[uuid.UUID, Progress] = {}


def live_counters(job_id: uuid.UUID) -> dict | None:
    progress = LIVE.get(job_id)
    return progress.counters() if progress is not None else None


# --- one job -------------------------------------------------------------------------------

# A batch that fails with these is retried one assessment at a time (partial mode).
RETRYABLE = (IntegrityError, StaleDataError, ProblemError)


class Stopped(Exception):
    """The server is shutting down."""


class LostJob(Exception):
    """The job's row no longer names this process as its runner: another took it over."""


def run_job(engine: Engine, settings: Settings, job_id: uuid.UUID,
            stop: threading.Event | None = None, leases: JobLeases | None = None
            ) -> str | None:
    """Run a queued job to its end; returns its final status (None: it was not queued here,
    or it was taken over while it ran)."""
    try:
        return _run_job(engine, settings, job_id, stop)
    finally:
        if leases is not None:
            leases.release(job_id)


def _run_job(engine: Engine, settings: Settings, job_id: uuid.UUID,
             stop: threading.Event | None) -> str | None:
    job = _start(engine, job_id)
    if job is None:
        return None
    progress = Progress(job.id, job.mode, settings.bulk_max_errors)
    LIVE[job.id] = progress
    JOBS_RUNNING.labels(kind=KIND).inc()
    status = FAILED
    try:
        with open(job.spool_path, "rb") as f:
            progress.total = parsers.count_items(job.format, f)
            f.seek(0)
            batches = _batches(parsers.items(job.format, f, settings.max_body_bytes),
                               settings.bulk_batch_size)
            run = _run_atomic if job.mode == ATOMIC else _run_partial
            status, reason = run(engine, settings, job, batches, progress, stop)
    except parsers.FileError as exc:  # only ever before the first row (a CSV header)
        progress.errors_total += 1
        progress.pending.append((exc.line, escape_nul(exc.field), escape_nul(exc.message),
                                 None, None))
        reason = f"The file cannot be read: {escape_nul(exc.message)}"
    except Stopped:
        reason = "The server shut down while the job ran" + _applied_note(job.mode, progress)
    except LostJob:
        log.warning("bulk job %s was taken over by another process; stopped here", job.id)
        LIVE.pop(job.id, None)
        return None
    except Exception as exc:  # a bug or a lost database: the job must still end
        log.exception("bulk job %s failed", job.id)
        reason = (f"The job stopped on an unexpected error ({type(exc).__name__}); it has been "
                  "logged" + _applied_note(job.mode, progress))
    finally:
        JOBS_RUNNING.labels(kind=KIND).dec()
    try:
        _finish(engine, job, progress, status, reason)
    except LostJob:
        log.warning("bulk job %s was taken over by another process before it ended", job.id)
        status = None
    LIVE.pop(job.id, None)
    Path(job.spool_path).unlink(missing_ok=True)
    if status is not None:
        JOBS.labels(kind=KIND, status=status).inc()
    return status


def _applied_note(mode: str, progress: Progress) -> str:
    if mode == ATOMIC:
        return "; nothing was written (atomic mode)."
    return (f"; {progress.succeeded} assessment(s) had been applied and stay (partial mode), "
            "the rest of the file was not processed.")


def _start(engine: Engine, job_id: uuid.UUID) -> BulkJob | None:
    with open_session(engine, write=True) as session:
        now = utcnow()
        claimed = session.execute(
            update(BulkJob).where(BulkJob.id == job_id, BulkJob.status == QUEUED,
                                  BulkJob.fingerprint.is_not(None),
                                  BulkJob.runner == RUNNER_ID)
            .values(status=RUNNING, started_at=now, heartbeat_at=now, runner=RUNNER_ID,
                    row_version=BulkJob.row_version + 1)).rowcount
        job = session.get(BulkJob, job_id) if claimed else None
        session.commit()
    return job


def _batches(items: Iterator[parsers.Item], size: int) -> Iterator[list[parsers.Item]]:
    while batch := list(islice(items, size)):
        yield batch


def _data_session(engine: Engine) -> Session:
    """A write session for a job's data. On PostgreSQL its lookups (people and assessments by
    external id, a batch at a time) are told to use their indexes: in a transaction that has
    itself inserted 100,000 rows the planner, which has no statistics for them yet, turns to
    sequential scans (measured: from 5 ms to 0.9 s per lookup, an import 10x slower)."""
    session = open_session(engine, write=True)
    if not is_sqlite(engine):
        session.execute(text("SET LOCAL enable_seqscan = off"))
    return session


def _run_atomic(engine, settings, job, batches, progress, stop) -> tuple[str, str | None]:
    session = _data_session(engine)
    try:
        planners = _Planners(session, job)
        for batch in batches:
            if stop is not None and stop.is_set():
                raise Stopped
            valid = planners.plan(batch, progress)
            planners.write(valid)
            _advance(progress, batch)
            if not is_sqlite(engine):  # SQLite: the job's transaction holds the write lock
                _save_progress(engine, progress)
        progress.total = progress.processed  # the whole file has been read
        if progress.failed:
            session.rollback()
            return FAILED, (f"{progress.failed} of {progress.processed} assessment(s) are "
                            "invalid; nothing was written (atomic mode).")
        progress.succeeded = progress.processed
        _write_end(session, job, progress, SUCCEEDED, None)
        session.commit()
        return SUCCEEDED, None
    except BaseException:
        session.rollback()
        progress.succeeded = 0
        raise
    finally:
        session.close()


def _run_partial(engine, settings, job, batches, progress, stop) -> tuple[str, str | None]:
    for batch in batches:
        if stop is not None and stop.is_set():
            raise Stopped
        with _data_session(engine) as session:
            planners = _Planners(session, job)
            before = (progress.failed, progress.errors_total, len(progress.pending))
            try:
                valid = planners.plan(batch, progress)
                planners.write(valid)
            except RETRYABLE:
                # Someone changed the same rows meanwhile (or a reaction refused one):
                # start the batch again one assessment at a time to find the culprit.
                session.rollback()
                progress.failed, progress.errors_total = before[:2]
                del progress.pending[before[2]:]
                valid = None
            if valid is not None:
                progress.succeeded += len(valid)
                _advance(progress, batch)
                _write_progress(session, progress)
                session.commit()
                continue
        _one_by_one(engine, job, batch, progress)
    progress.total = progress.processed  # the whole file has been read
    if progress.failed:
        return PARTIAL, (f"{progress.failed} of {progress.processed} assessment(s) were "
                         "rejected; the others were applied (partial mode).")
    return SUCCEEDED, None


def _one_by_one(engine, job, batch, progress) -> None:
    for item in batch:
        with _data_session(engine) as session:
            planners = _Planners(session, job)
            before = (progress.failed, progress.errors_total, len(progress.pending))
            try:
                valid = planners.plan([item], progress)
                planners.write(valid)
                _fence(session, job.id)
                session.commit()
                progress.succeeded += len(valid)
            except RETRYABLE as exc:
                session.rollback()
                progress.failed, progress.errors_total = before[:2]
                del progress.pending[before[2]:]
                message = exc.detail if isinstance(exc, ProblemError) and exc.detail else (
                    "the assessment or its person was changed by another request while the "
                    "import ran; import it again")
                progress.reject(item, [(item.line, "", message)])
    _advance(progress, batch)
    with open_session(engine, write=True) as session:
        _write_progress(session, progress)
        session.commit()


def _advance(progress: Progress, batch: list[parsers.Item]) -> None:
    progress.processed += len(batch)
    progress.rows += sum(item.rows for item in batch)
    progress.position = batch[-1].end or progress.position


class _Planners:
    """Plans a batch against the database as the session sees it, and writes the valid part."""

    def __init__(self, session: Session, job: BulkJob) -> None:
        self.session, self.job = session, job
        self.people = people_batch.Planner(session)
        self.assessments = assessments_batch.Planner(session)
        self.default_status = "finalized" if job.finalize else \
            "submitted" if job.submit else "draft"

    def plan(self, batch: list[parsers.Item], progress: Progress) -> list:
        """Valid plans; rejected items are counted and their errors kept in ``progress``."""
        now = utcnow()
        candidates = [item for item in batch if not item.errors]
        stored = people_batch.load(self.session, {i.external_id for i in candidates})
        existing = self.assessments.existing({(i.external_id, i.cycle) for i in candidates})
        planned_people: dict[str, people_batch.PersonState] = {}
        plans = []
        for item in batch:  # in file order, so the errors are too
            if item.errors:
                progress.reject(item, item.errors)
                continue
            current = planned_people.get(item.external_id) or stored.get(item.external_id)
            try:
                person = self._person(item, current)
                plan = self.assessments.plan(assessments_batch.Request(
                    person, item.cycle, item.ratings, item.rubric_key, item.rubric_version,
                    item.target_level, item.status or self.default_status),
                    existing.get((item.external_id, item.cycle), []), now)
            except InvalidInput as exc:
                progress.reject(item, [(*item.where(e.field), e.message) for e in exc.errors]
                                or [(item.line, "", exc.detail or "invalid")])
                continue
            planned_people[item.external_id] = person
            plans.append(plan)
        return plans

    def _person(self, item: parsers.Item, current):
        if item.person is None:  # the file names someone already synced
            if current is None:
                raise InvalidInput.field("person", (
                    f"no person with external id '{item.external_id}'; give the person's "
                    "fields or sync them first (PUT /v1/people/{external_id})"))
            return current
        try:
            return self.people.plan(current, item.external_id, item.person)
        except InvalidInput as exc:
            raise InvalidInput(exc.detail, [e.model_copy(update={"field": f"person.{e.field}"})
                                            for e in exc.errors]) from exc

    def write(self, plans: list) -> None:
        if not plans:
            return
        now = utcnow()
        people = {p.request.person.external_id: p.request.person for p in plans}
        people_batch.write(self.session, list(people.values()), now)
        assessments_batch.write(self.session, plans, principal=self.job.principal,
                                job=str(self.job.id), now=now)


# --- the job row -----------------------------------------------------------------------------

def _write_errors(session: Session, progress: Progress) -> None:
    job_id = Converter(session, BulkJobError.__table__)("job_id", progress.job_id)
    insert_rows(session, BulkJobError.__table__,
                ("job_id", "line", "field", "message", "external_id", "cycle"),
                [(job_id, *e) for e in progress.pending])
    progress.pending.clear()


def _mine(job_id: uuid.UUID):
    """The job's row while this process still runs it (the fence)."""
    return update(BulkJob).where(BulkJob.id == job_id, BulkJob.runner == RUNNER_ID,
                                 BulkJob.status == RUNNING)


def _fenced(session: Session, statement) -> None:
    if not session.execute(statement).rowcount:
        raise LostJob


def _fence(session: Session, job_id: uuid.UUID) -> None:
    """In the transaction about to commit: fail it unless this process still runs the job."""
    _fenced(session, _mine(job_id).values(heartbeat_at=utcnow()))


def _write_progress(session: Session, progress: Progress) -> None:
    _write_errors(session, progress)
    _fenced(session, _mine(progress.job_id).values(
        **progress.counters(), heartbeat_at=utcnow(), row_version=BulkJob.row_version + 1))


def _save_progress(engine: Engine, progress: Progress) -> None:
    """Counters (not errors) in a short transaction of their own, for other replicas."""
    with open_session(engine) as session:
        _fenced(session, _mine(progress.job_id).values(
            **{k: v for k, v in progress.counters().items() if k != "succeeded"},
            heartbeat_at=utcnow(), row_version=BulkJob.row_version + 1))
        session.commit()


def _write_end(session: Session, job: BulkJob, progress: Progress, status: str,
               reason: str | None) -> None:
    _write_errors(session, progress)
    _fenced(session, _mine(job.id).values(
        **progress.counters(), status=status, reason=reason, finished_at=utcnow(),
        heartbeat_at=utcnow(), spool_path=None, row_version=BulkJob.row_version + 1))


def _finish(engine: Engine, job: BulkJob, progress: Progress, status: str,
            reason: str | None) -> None:
    try:
        with open_session(engine, write=True) as session:
            current = session.get(BulkJob, job.id)
            if current is not None and current.status == RUNNING:  # not already ended in-txn
                _write_end(session, job, progress, status, reason)
            session.commit()
    except Exception:  # the end must be written even when its row errors cannot be
        log.exception("bulk job %s: its row errors could not be written", job.id)
        progress.pending.clear()
        with open_session(engine, write=True) as session:
            note = "Its row errors could not be recorded (the cause has been logged)."
            _write_end(session, job, progress, status, f"{reason or ''} {note}".strip())
            session.commit()


# --- recovery --------------------------------------------------------------------------------

def recover(engine: Engine, leases: JobLeases | None = None) -> list[uuid.UUID]:
    """Settle the jobs whose owner is gone (``leases.take_over``); returns the queued jobs this
    process should run (their files are still here)."""
    leases = leases or leases_for(engine)
    with open_session(engine) as session:
        others = session.exec(select(BulkJob).where(
            BulkJob.status.in_(ACTIVE),
            (BulkJob.runner != RUNNER_ID) | BulkJob.runner.is_(None))).all()
    rerun: list[uuid.UUID] = []
    for job in others:
        if not leases.take_over(job):
            continue  # its owner is alive
        runs_here = False
        try:
            runs_here = _settle(engine, job)
        except Exception:
            log.exception("could not settle bulk job %s", job.id)
        finally:
            if not runs_here:
                leases.release(job.id)
        if runs_here:
            rerun.append(job.id)
    return rerun


def _settle(engine: Engine, job: BulkJob) -> bool:
    """Settle one abandoned job; True when it is queued to run here. Each change applies only
    if the row is still as read (another process may be settling it too)."""
    spool = Path(job.spool_path) if job.spool_path else None
    as_read = update(BulkJob).where(BulkJob.id == job.id, BulkJob.status == job.status,
                                    BulkJob.runner.is_(None) if job.runner is None
                                    else BulkJob.runner == job.runner)
    runs_here = False
    with open_session(engine, write=True) as session:
        if job.fingerprint is None:  # the upload itself was cut short: no job was accepted
            changed = session.execute(delete(BulkJob).where(
                BulkJob.id == job.id, BulkJob.fingerprint.is_(None),
                BulkJob.status == job.status)).rowcount
        elif job.status == QUEUED and spool is not None and spool.exists():
            changed = runs_here = bool(session.execute(as_read.values(
                runner=RUNNER_ID, heartbeat_at=utcnow(),
                row_version=BulkJob.row_version + 1)).rowcount)
        else:
            changed = session.execute(as_read.values(
                status=FAILED, finished_at=utcnow(), spool_path=None,
                row_version=BulkJob.row_version + 1,
                reason="Interrupted: the server running this job stopped (a restart or a crash) "
                       + ("before it started; upload the file again." if job.status == QUEUED
                          else _interrupted_note(job)))).rowcount
        session.commit()
    if changed and not runs_here and spool is not None:
        spool.unlink(missing_ok=True)
    return runs_here


def _interrupted_note(job: BulkJob) -> str:
    if job.mode == ATOMIC:
        return "before it committed; nothing was written (atomic mode). Upload the file again."
    return (f"after {job.succeeded} assessment(s) had been applied; they stay (partial mode). "
            "Importing the whole file again is safe: what is already there is left as is.")


# --- the worker ----------------------------------------------------------------------------

class JobRunner:
    """Runs accepted jobs one after the other in a daemon thread. ``wait(job_id)`` blocks
    until a job submitted here has ended (tests; the CLI polls over HTTP instead)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.leases = leases_for(engine, settings.bulk_heartbeat_seconds)
        self._queue: queue.Queue[uuid.UUID] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._done: dict[uuid.UUID, threading.Event] = {}

    def start(self) -> "JobRunner":
        _freeze_heap()
        for job_id in recover(self.engine, self.leases):
            self.submit(job_id)
        return self

    def submit(self, job_id: uuid.UUID) -> None:
        self._done.setdefault(job_id, threading.Event())
        if not self.settings.bulk_worker:
            return  # jobs wait for run_pending() (tests) or another process
        self._queue.put(job_id)
        with self._lock:
            self._thread = running(self._thread, self._run, "ascent-bulk")

    def run_pending(self) -> None:
        """Run every job submitted so far in the calling thread (when the worker is off)."""
        for job_id, done in list(self._done.items()):
            if not done.is_set():
                run_job(self.engine, self.settings, job_id, self._stop, self.leases)
                done.set()

    def wait(self, job_id: uuid.UUID, timeout: float = 60.0) -> bool:
        done = self._done.get(job_id)
        return done.wait(timeout) if done is not None else True

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                job_id = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            try:
                run_job(self.engine, self.settings, job_id, self._stop, self.leases)
            except Exception:  # run_job ends its job itself; this is a last resort
                log.exception("bulk job %s could not be run", job_id)
            finally:
                self._done.setdefault(job_id, threading.Event()).set()


_runners_lock = threading.Lock()
_frozen = False


def _freeze_heap() -> None:
    """Once per process, move the objects that exist by now (modules, schemas, metadata: the
    loaded app) out of the cyclic collector's sight. An import allocates millions of short
    lived objects; without this every full collection rescans the whole app (a quarter of
    an import's time, measured)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


def runner_for(app) -> JobRunner:
    """The app's runner, created (and stale jobs recovered) on first use: in the lifespan
    when the server starts, else on the first bulk request (in-process test clients)."""
    runner = getattr(app.state, "bulk_runner", None)
    if runner is not None:
        return runner
    with _runners_lock:
        runner = getattr(app.state, "bulk_runner", None)
        if runner is None:
            runner = JobRunner(app.state.engine, app.state.settings).start()
            app.state.bulk_runner = runner
    return runner


def shutdown(app) -> None:
    runner = getattr(app.state, "bulk_runner", None)
    if runner is not None:
        runner.stop()
