"""SQLite write transactions of one process queue on the engine's writer lock
(``service/db.py``): it is taken at ``BEGIN IMMEDIATE`` and given back however the
transaction ends. A lock kept by mistake would stall every later write; with the wait cut to
a second here, it shows as "database is locked" instead of a 30 s hang."""

import threading
from contextlib import nullcontext

import pytest
from sqlalchemy import text

from service import db


@pytest.fixture
def sqlite_engine(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "BUSY_SECONDS", 1)
    engine = db.make_engine(f"sqlite:///{tmp_path}/lock.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def write(engine, n: int, end: str = "commit") -> None:
    with db.open_session(engine, write=True) as session:
        session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
        if end == "commit":
            session.commit()
        elif end == "rollback":
            session.rollback()
        elif end == "raise":
            raise RuntimeError("the request failed")
        # "close": the session ends with the transaction open


def count(engine) -> int:
    with db.open_session(engine) as session:
        return session.execute(text("SELECT count(*) FROM t")).scalar_one()


@pytest.mark.parametrize("end", ["commit", "rollback", "raise", "close"])
def test_every_end_of_a_write_gives_the_lock_back(sqlite_engine, end):
    engine = sqlite_engine
    with pytest.raises(RuntimeError) if end == "raise" else nullcontext():
        write(engine, 1, end)
    write(engine, 2)  # from another thread too: the lock is the process's, not the thread's
    worker = threading.Thread(target=write, args=(engine, 3))
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
    assert count(engine) == (3 if end == "commit" else 2)


def test_a_second_writer_waits_for_the_first_then_proceeds(sqlite_engine):
    engine = sqlite_engine
    first = db.open_session(engine, write=True)
    first.execute(text("INSERT INTO t VALUES (1)"))  # holds the lock from here
    done = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            write(engine, 2)
        except BaseException as exc:  # reported below
            errors.append(exc)
        done.set()

    worker = threading.Thread(target=second)
    worker.start()
    assert not done.wait(0.3)  # queued behind the open write transaction
    first.commit()
    first.close()
    worker.join(10)
    assert errors == [] and count(engine) == 2


def test_a_writer_that_waits_too_long_is_told_the_database_is_locked(sqlite_engine):
    engine = sqlite_engine
    first = db.open_session(engine, write=True)
    first.execute(text("INSERT INTO t VALUES (1)"))
    try:
        with pytest.raises(Exception, match="database is locked"):
            write(engine, 2)
    finally:
        first.rollback()
        first.close()
    write(engine, 3)  # the one that gave up left nothing held
    assert count(engine) == 1

