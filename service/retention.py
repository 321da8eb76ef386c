"""Retention: what is kept how long, and the purge that deletes the rest.

- idempotency records: until they expire (``ASCENT_IDEMPOTENCY_TTL_HOURS``);
- webhook events with their deliveries and attempts: 30 days, never while a delivery is
  pending (``ASCENT_RETENTION_WEBHOOK_DAYS``);
- bulk jobs that ended, with their row errors: 30 days (``ASCENT_RETENTION_JOB_DAYS``);
- assessment audit rows: 7 years (``ASCENT_RETENTION_AUDIT_DAYS``; README says why).

A retention of 0 days keeps those rows forever. Each domain deletes its own rows
(``<domain>/retention.py``); this module only calls them, in chunks of one short transaction
each, so a large purge never holds locks for long.

The purge runs in the background of every serving process (``PurgeWorker``), but once per
``ASCENT_PURGE_INTERVAL_SECONDS`` across all replicas: a process runs it only after winning the
``maintenance_lease`` row for that interval (a conditional UPDATE; the first write wins, the
others see the next run is not due yet), on SQLite and PostgreSQL alike. ``ascent purge`` runs
it at once.
"""

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from .assessments.retention import purge_audit
from .bulk.retention import purge_finished
from .db import open_session
from .idempotency import purge_expired
from .models import UTCDateTime, utcnow
from .settings import Settings
from .webhooks.retention import purge_events

log = logging.getLogger("ascent.retention")

PURGE = "purge"
HOLDER = f"{socket.gethostname()[:100]}:{os.getpid()}"
CHUNK = 5_000
JOB_CHUNK = 100  # a job may have thousands of row errors, deleted with it
MAX_CHECK_SECONDS = 60.0


class MaintenanceLease(SQLModel, table=True):
    """One row per periodic task: when it is next due, and who ran it last."""

    __tablename__ = "maintenance_lease"

    name: str = Field(primary_key=True, max_length=64)
    next_run_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    holder: str | None = Field(default=None, max_length=200)
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def claim_run(engine: Engine, name: str, interval: timedelta, *, holder: str = HOLDER,
              now: datetime | None = None) -> bool:
    """Whether this process runs ``name`` now: True for the first caller once it is due, and
    then for nobody until ``interval`` has passed."""
    now = now or utcnow()
    lease = MaintenanceLease
    with open_session(engine, write=True) as session:
        won = session.execute(update(lease).where(lease.name == name, lease.next_run_at <= now)
                              .values(next_run_at=now + interval, holder=holder,
                                      last_run_at=now)).rowcount
        if won or session.get(lease, name) is not None:
            session.commit()
            return bool(won)
        session.add(lease(name=name, next_run_at=now + interval, holder=holder, last_run_at=now))
        try:
            session.commit()
        except IntegrityError:  # another process created it first: it runs this time
            session.rollback()
            return False
    return True


def _cutoff(now: datetime, days: int) -> datetime | None:
    return now - timedelta(days=days) if days > 0 else None


def purge(engine: Engine, settings: Settings, *, now: datetime | None = None) -> dict[str, int]:
    """Delete everything past its retention; returns how many rows of each kind went (the
    deliveries, attempts and row errors that go with them are not counted)."""
    now = now or utcnow()
    tasks: list[tuple[str, Callable[[Session], int]]] = [
        ("idempotency_records", lambda s: purge_expired(s, CHUNK))]
    if (before := _cutoff(now, settings.retention_webhook_days)) is not None:
        tasks.append(("webhook_events", lambda s, b=before: purge_events(s, b, CHUNK)))
    if (before := _cutoff(now, settings.retention_job_days)) is not None:
        tasks.append(("bulk_jobs", lambda s, b=before: purge_finished(s, b, JOB_CHUNK)))
    if (before := _cutoff(now, settings.retention_audit_days)) is not None:
        tasks.append(("assessment_events", lambda s, b=before: purge_audit(s, b, CHUNK)))
    counts = {}
    for name, task in tasks:
        counts[name] = 0
        while True:
            with open_session(engine, write=True) as session:
                deleted = task(session)
                session.commit()
            counts[name] += deleted
            if deleted == 0:
                break
    log.info("purge: %s", ", ".join(f"{n} {name}" for name, n in counts.items()))
    return counts


def run_due(engine: Engine, settings: Settings) -> dict[str, int] | None:
    """The purge, if this process wins this interval's lease; None otherwise."""
    if not claim_run(engine, PURGE, timedelta(seconds=settings.purge_interval_seconds)):
        return None
    return purge(engine, settings)


class PurgeWorker:
    """Tries ``run_due`` every minute (or every interval, if shorter) in a daemon thread."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ascent-purge", daemon=True)

    def start(self) -> "PurgeWorker":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        pause = min(MAX_CHECK_SECONDS, self.settings.purge_interval_seconds)
        while not self._stop.is_set():
            try:
                run_due(self.engine, self.settings)
            except Exception:  # the database may be away; the next check tries again
                log.exception("purge failed")
            self._stop.wait(pause)
