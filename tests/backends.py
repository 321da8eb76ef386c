"""Test databases on both backends.

SQLite: a file per test session. PostgreSQL: a database of its own per test session (so
parallel runs on one server never collide), created on the server named by
``ASCENT_TEST_POSTGRES_URL`` and dropped at the end. Outside CI an unreachable server skips
the PostgreSQL half with the reason; with ``CI=true`` it fails the run."""

import os
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


def postgres_admin_url() -> str:
    return os.environ.get("ASCENT_TEST_POSTGRES_URL", DEFAULT_PG)


def postgres_unavailable_reason() -> str | None:
    url = postgres_admin_url()
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"PostgreSQL at {make_url(url).render_as_string()} is not reachable: {exc}"
    return None


def require_backend(backend: str) -> None:
    if backend != "postgresql":
        return
    reason = postgres_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires PostgreSQL. {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def fresh_database(backend: str, tmp_dir):
    """Yield the URL of an empty database that is removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir}/ascent-{uuid.uuid4().hex[:8]}.db"
        return
    admin_url = make_url(postgres_admin_url())
    name = f"ascent_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def truncate_all(engine, metadata) -> None:
    """Empty every table (keeping the schema): the per-test reset."""
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                              + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            if conn.execute(text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")
                            ).first():
                conn.execute(text("DELETE FROM sqlite_sequence"))
