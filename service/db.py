"""Engine, the request-scoped session (the request is the unit of work), and SQLite pragmas.

SQLite runs in WAL mode with foreign keys on. pysqlite's own transaction handling is turned off
so that SQLAlchemy emits BEGIN itself: write requests take ``BEGIN IMMEDIATE`` so that two
writers queue instead of failing on a stale snapshot, and SAVEPOINTs work.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
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
    pool = {"pool_size": 10, "max_overflow": 30} if file_backed else {}  # :memory: is one conn
    engine = create_engine(url, echo=echo, **pool,
                           connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN (see module docstring)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def open_session(engine: Engine, *, write: bool = False) -> Session:
    """A session whose first transaction is a write transaction when ``write`` is set."""
    session = Session(engine, expire_on_commit=False)
    if write and is_sqlite(engine):
        session.connection(execution_options={"sqlite_begin": "BEGIN IMMEDIATE"})
    return session


def read_only(request: Request) -> None:
    """Route dependency for POSTs that write nothing (e.g. scoring): no SQLite write lock."""
    request.state.read_only = True


def get_session(request: Request) -> Iterator[Session]:
    """Request-scoped session: commit on success, roll back on any error."""
    engine: Engine = request.app.state.engine
    write = request.method in WRITE_METHODS and not getattr(request.state, "read_only", False)
    with open_session(engine, write=write) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": commit before the response is sent, so a failed commit is the answer.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


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
