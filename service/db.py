"""Engine, the request-scoped session (the request is the unit of work), and SQLite pragmas.

SQLite runs in WAL mode with foreign keys on. pysqlite's own transaction handling is turned off
so that SQLAlchemy emits BEGIN itself: write requests take ``BEGIN IMMEDIATE`` so that two
writers queue instead of failing on a stale snapshot, and SAVEPOINTs work. Within one process
those writers queue on a lock (``_WriterLockedConnection``) before they ask SQLite: SQLite's
own busy wait sleeps up to 100 ms between tries, so under concurrent writes the database sat
idle while every waiter slept (a fifth of the writes' throughput).

A request's database work costs one trip to the thread pool: the session dependency is async
and opens nothing (the session connects at its first statement), and ``UnitOfWorkRoute`` runs
a sync endpoint and the commit (or rollback) in the same worker-thread call. Each hop to the
thread pool wakes a thread and hands the GIL over twice; they were most of a request's cost.
"""

import functools
import inspect as pyinspect
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from .settings import Settings

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def make_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    # A request holds one connection; the pool covers FastAPI's 40 worker threads.
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=30)

    file_backed = bool(parsed.database) and parsed.database != ":memory:"
    if file_backed:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Connections to a local file are cheap to keep and costly to open (four pragmas): keep
    # one per worker thread rather than open and close overflow ones under load.
    pool = {"pool_size": 40, "max_overflow": 0} if file_backed else {}  # :memory: is one conn
    engine = create_engine(url, echo=echo, **pool,
                           connect_args={"check_same_thread": False, "timeout": BUSY_SECONDS,
                                         "factory": _WriterLockedConnection})
    writer = threading.Lock()  # this engine's write transactions, one at a time

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN (see module docstring)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        statement = conn.get_execution_options().get("sqlite_begin", "BEGIN")
        if statement == "BEGIN":
            conn.exec_driver_sql(statement)
            return
        dbapi_conn = conn.connection.dbapi_connection
        dbapi_conn.hold(writer)
        try:
            conn.exec_driver_sql(statement)
        except BaseException:
            dbapi_conn.release()
            raise

    return engine


BUSY_SECONDS = 30


class _WriterLockedConnection(sqlite3.Connection):
    """A pysqlite connection that can hold its engine's writer lock from ``BEGIN IMMEDIATE``
    until the COMMIT or ROLLBACK has run (SQLAlchemy's commit event fires before it)."""

    _writer: "threading.Lock | None" = None

    def hold(self, writer: threading.Lock) -> None:
        if not writer.acquire(timeout=BUSY_SECONDS):
            raise sqlite3.OperationalError("database is locked")
        self._writer = writer

    def release(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def worker_threads(engine: Engine, configured: int | None) -> int:
    """How many threads run requests' database work at once in one process. On SQLite that
    work is CPU in this process, so threads past a couple only take turns at the GIL, and each
    hand-over costs: under 16 connections GET /v1/assessments/{id} answered 230 req/s with 40
    threads, 394 with 4; against 4, 2 answered it 1.07-1.24x, the GraphQL person page
    1.05-1.17x and PUT ratings 0.98-1.06x (``bench/api.py --baseline-env ASCENT_THREADS=4``);
    1 lost 5% on PUT (a second thread overlaps one commit's file writes with other work).
    On PostgreSQL threads overlap waits on the server: 40 (anyio's default) did better there
    (PUT 281 vs 225 req/s with 4). Write transactions already under way go on in threads of
    their own (``hop``)."""
    return configured or (2 if is_sqlite(engine) else 40)


def _write_view(engine: Engine) -> Engine:
    """The engine whose transactions start with ``BEGIN IMMEDIATE`` (same pool)."""
    return _write_views(engine) if is_sqlite(engine) else engine


@functools.cache
def _write_views(engine: Engine) -> Engine:
    return engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")


def open_session(engine: Engine, *, write: bool = False) -> Session:
    """A session whose first transaction is a write transaction when ``write`` is set. It
    connects at its first statement: opening it does no I/O."""
    session = Session(_write_view(engine) if write else engine, expire_on_commit=False)
    session.info["write"] = write
    return session


# Threads for the hops of write transactions already under way (``hop``), apart from the pool.
_writing_threads: RunVar[CapacityLimiter] = RunVar("ascent_writing_threads")


async def hop(session: Session | None, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
              ) -> Any:
    """``fn(*args, **kwargs)`` in a worker thread, for the work of ``session``. A write
    transaction already under way gets a thread of its own pool: on SQLite it holds the writer
    lock, which other write requests wait for in their first hop, each holding a thread of the
    main pool (``worker_threads``); behind them, its next hop (say a GraphQL mutation's commit)
    would wait until the busy timeout."""
    limiter = None
    if session is not None and session.info.get("write") and session.in_transaction():
        try:
            limiter = _writing_threads.get()
        except LookupError:
            limiter = CapacityLimiter(40)
            _writing_threads.set(limiter)
    return await to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=limiter)


async def read_only(request: Request) -> None:
    """Route dependency for POSTs that write nothing (e.g. scoring): no SQLite write lock."""
    request.state.read_only = True


# The request's session, for UnitOfWorkRoute (a sync endpoint runs in a copy of this context).
_request_session: ContextVar[Session | None] = ContextVar("ascent_request_session",
                                                          default=None)


def _finish(session: Session, ok: bool) -> None:
    """Commit (``ok``) or roll back, once; in the thread that did the request's work. The
    session stays open: serialising the answer may still read a loaded object."""
    if session.info.get("finished"):
        return
    session.info["finished"] = True
    if not session.in_transaction():  # nothing was read or written (cached answers): no I/O
        return
    if ok:
        session.commit()
    else:
        session.rollback()


def _close(session: Session) -> None:
    _finish(session, False)  # a transaction nobody finished rolls back
    session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Request-scoped session: commit on success, roll back on any error. A sync endpoint's
    commit happens in its own thread call (``UnitOfWorkRoute``); otherwise here."""
    engine: Engine = request.app.state.engine
    write = request.method in WRITE_METHODS and not getattr(request.state, "read_only", False)
    session = open_session(engine, write=write)
    _request_session.set(session)
    try:
        yield session
        if session.in_transaction() and not session.info.get("finished"):
            await hop(session, _finish, session, True)
    finally:
        _request_session.set(None)
        if session.in_transaction():  # an error, or a read after the commit
            await hop(session, _close, session)
        else:
            session.close()  # no transaction: nothing to end, no I/O


# scope="function": commit before the response is sent, so a failed commit is the answer.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _in_unit_of_work(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        session = _request_session.get()
        try:
            result = endpoint(*args, **kwargs)
        except BaseException:
            if session is not None:
                _finish(session, False)
            raise
        if session is not None:
            _finish(session, True)
        return result

    return run


async def in_unit_of_work(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` and the request's commit (or rollback) in one worker-thread call, from an
    async endpoint."""
    return await hop(_request_session.get(), _in_unit_of_work(fn), *args)


class _NeedsDatabase(BaseException):  # not Exception: no ``except Exception`` may swallow it
    """A ``cache_first`` attempt on the event loop reached for the database."""


@event.listens_for(Session, "do_orm_execute")
def _refuse_on_loop(state) -> None:
    if state.session.info.get("on_loop"):
        raise _NeedsDatabase


async def cache_first(fn: Callable[..., Any], session: Session, *args: Any) -> Any:
    """``fn(session, *args)``, a read that usually finds everything in this process's caches,
    on the event loop: no thread hop. Should it reach for the database (a cache miss), no
    query runs there; ``fn`` runs again from the start in a worker thread, as the unit of
    work. So ``fn`` must only read (its first attempt may stop at any query)."""
    session.info["on_loop"] = True
    try:
        return fn(session, *args)
    except _NeedsDatabase:
        pass
    finally:
        session.info["on_loop"] = False
    return await in_unit_of_work(fn, session, *args)


class UnitOfWorkRoute(APIRoute):
    """A route whose sync endpoint commits (or rolls back) the request's session in the same
    worker-thread call it runs in: one thread hop per request for the database work. The
    endpoint is presented to FastAPI as a coroutine, so that FastAPI also checks the answer
    against the response model on the event loop instead of in a second thread hop."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not pyinspect.iscoroutinefunction(endpoint):
            endpoint = _hop_once(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _hop_once(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    in_thread = _in_unit_of_work(endpoint)

    @functools.wraps(endpoint)
    async def one_hop(**kwargs: Any) -> Any:
        return await hop(_request_session.get(), in_thread, **kwargs)

    return one_hop


def migration_state(engine: Engine) -> tuple[str | None, str]:
    """(current revision of the database, head revision of the code)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None, head
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head


def alembic_config(url: str | None = None):
    from alembic.config import Config

    root = Path(__file__).resolve().parent.parent
    if not (root / "alembic.ini").exists():  # installed as a wheel: run from the project dir
        root = Path.cwd()
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "alembic"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def engine_for(settings: Settings) -> Engine:
    return make_engine(settings.database_url, echo=settings.sql_echo)
