"""Which process owns which bulk job, in a way a restarting replica cannot get wrong.

A process owns a job from the moment it claims the upload until the job ends. While it does:

- PostgreSQL: it holds a session-level advisory lock keyed by the job id
  (``pg_try_advisory_lock``) on a connection of its own, taken before the job row is even
  inserted. The database releases the lock when that session ends, whether the process exited,
  crashed or lost the network; so "the lock is free" means exactly "nobody runs this job", and
  recovery takes over a job only by taking its lock. No clock is involved.
- SQLite (one host by design): the job row names its runner (``host:pid:token``); a job of
  this host is the runner's for as long as that pid is alive. A job of another host name (a
  container recreated under a new name) is considered abandoned only after ``STALE`` without a
  heartbeat.

Either way a heartbeat thread refreshes ``heartbeat_at`` of every job the process owns (queued
ones too) every ``bulk_heartbeat_seconds``, independently of batch progress, so the timestamp
says something even while a job waits on a lock. On PostgreSQL it also checks the lock
connection, and takes the locks again on a new one if it was lost.

A lock taken over by another process is also fenced in the data: a job writes its batches and
its end only while its row still names this process as runner and says ``running``
(``runner.py``).
"""

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Connection, Engine, text, update

from ..db import is_sqlite, make_engine, open_session
from ..models import utcnow
from .models import BulkJob

log = logging.getLogger("ascent.bulk")

HOST = socket.gethostname()[:100]
RUNNER_ID = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
STALE = timedelta(minutes=10)  # SQLite, another host: silent this long means gone
DEFAULT_HEARTBEAT_SECONDS = 15.0


def lock_key(job_id: uuid.UUID) -> int:
    """A job's advisory lock: the first 64 bits of its id, as PostgreSQL's signed bigint."""
    return int.from_bytes(job_id.bytes[:8], "big", signed=True)


def running(thread: threading.Thread | None, target: Callable[[], None], name: str
            ) -> threading.Thread:
    """``thread`` while it is alive, else a new daemon thread running ``target``, started
    (callers hold their lock, so two callers never start two)."""
    if thread is not None and thread.is_alive():
        return thread
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread

class JobLeases:
    """The jobs this process owns in one database, and the proof of it (see module doc)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = make_engine(url)
        self.postgres = not is_sqlite(self.engine)
        self.owned: set[uuid.UUID] = set()
        self.heartbeat_seconds = DEFAULT_HEARTBEAT_SECONDS
        self._lock = threading.RLock()
        self._conn: Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- owning ------------------------------------------------------------------------------

    def acquire(self, job_id: uuid.UUID) -> bool:
        """Own ``job_id``; False when another live process does (PostgreSQL)."""
        with self._lock:
            if job_id in self.owned:
                return True
            if self.postgres and not self._try_lock(job_id):
                return False
            self.owned.add(job_id)
        self._start_heartbeat()
        return True

    def release(self, job_id: uuid.UUID) -> None:
        with self._lock:
            if job_id not in self.owned:
                return
            self.owned.discard(job_id)
            if self.postgres and self._conn is not None:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"),
                                       {"k": lock_key(job_id)})
                except Exception:  # the connection is gone, and the lock with it
                    log.warning("could not unlock bulk job %s; its connection is gone", job_id)
                    self._conn = None

    def take_over(self, job: BulkJob) -> bool:
        """Whether ``job`` (not this process's) is abandoned; if so this process now owns it
        and must settle it (and ``release`` it unless it runs it)."""
        if job.runner == RUNNER_ID:
            return False
        if self.postgres:
            return self.acquire(job.id)
        if not _sqlite_gone(job):
            return False
        with self._lock:
            self.owned.add(job.id)
        return True

    # --- the PostgreSQL lock connection --------------------------------------------------------

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def _try_lock(self, job_id: uuid.UUID) -> bool:
        return bool(self._connection().execute(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(job_id)}).scalar())

    def _check_connection(self) -> None:
        """Keep the locks: when their connection was lost, take them again on a new one. A job
        whose lock another process took meanwhile is no longer ours (its fence stops it)."""
        with self._lock:
            try:
                if self._conn is not None:
                    self._conn.execute(text("SELECT 1"))
                    return
            except Exception:
                log.warning("the bulk job lock connection was lost; locking again")
                with contextlib.suppress(Exception):
                    self._conn.invalidate()
                self._conn = None
            for job_id in list(self.owned):
                if not self._try_lock(job_id):
                    log.warning("bulk job %s was taken over by another process", job_id)
                    self.owned.discard(job_id)

    # --- heartbeat ---------------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        with self._lock:
            self._thread = running(self._thread, self._beat, "ascent-bulk-heartbeat")

    def beat(self) -> None:
        """Refresh ``heartbeat_at`` of every owned job still named after this process."""
        if self.postgres:
            self._check_connection()
        with self._lock:
            owned = list(self.owned)
        if not owned:
            return
        with open_session(self.engine, write=True) as session:
            session.execute(update(BulkJob).where(BulkJob.id.in_(owned),
                                                  BulkJob.runner == RUNNER_ID)
                            .values(heartbeat_at=utcnow()))
            session.commit()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            try:
                self.beat()
            except Exception:  # the database may be away for a while; try again next time
                log.exception("bulk job heartbeat failed")


def _sqlite_gone(job: BulkJob) -> bool:
    host, _, rest = (job.runner or "").partition(":")
    pid = rest.partition(":")[0]
    if host == HOST and pid.isdigit():
        if int(pid) == os.getpid():
            return True  # this pid, another token: a restarted container reusing its pid
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    last = job.heartbeat_at or job.created_at
    return utcnow() - last > STALE


_registry: dict[str, JobLeases] = {}
_registry_lock = threading.Lock()


def leases_for(engine: Engine, heartbeat_seconds: float | None = None) -> JobLeases:
    """This process's leases in the database of ``engine`` (one per database)."""
    url = engine.url.render_as_string(hide_password=False)
    with _registry_lock:
        leases = _registry.get(url)
        if leases is None:
            leases = _registry[url] = JobLeases(url)
        if heartbeat_seconds is not None:
            leases.heartbeat_seconds = heartbeat_seconds
        return leases
