"""A nightly sync running while writers commit: writer threads insert and deactivate people in
transactions of their own, some held open long after their rows were stamped, while a reader
keeps following `GET /v1/people` change cursors over real HTTP (a uvicorn server). Every
committed row is seen, no version twice, in (updated_at, id) order, and the last version seen
of each person is the one committed.

Without the settled horizon (service/sync.py) this fails on PostgreSQL: a short transaction
commits rows stamped after a long one's, the reader moves its cursor past them, then the long
one commits a row stamped behind the cursor and the reader never sees it."""

import random
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from service.db import open_session
from service.people.models import Person
from service.people.service import upsert_person

WRITERS = 3
TRANSACTIONS = 25  # per writer


def _write(engine, writer: int, committed: dict[str, bool],
           lock: threading.Lock, rng: random.Random) -> None:
    """Each transaction inserts one or two people or deactivates one this writer made; one in
    four is held open for a while after its rows were stamped."""
    mine: list[str] = []
    for n in range(TRANSACTIONS):
        with open_session(engine, write=True) as session:
            if mine and rng.random() < 0.3:
                changed = [mine.pop(rng.randrange(len(mine)))]
                for external_id in changed:
                    upsert_person(session, external_id, {"display_name": external_id,
                                                         "active": False})
            else:
                changed = [f"W{writer}-{n}-{k}" for k in range(rng.randint(1, 2))]
                for external_id in changed:
                    upsert_person(session, external_id, {"display_name": external_id})
                mine += changed
            time.sleep(rng.uniform(0.2, 0.5) if rng.random() < 0.25 else rng.uniform(0, 0.02))
            session.commit()
        with lock:
            committed.update({e: e in mine for e in changed})  # popped: deactivated


class Reader:
    """A sync job: reads every page after its cursor, keeps the last `sync_cursor`."""

    def __init__(self, client: httpx.Client) -> None:
        self.client, self.cursor = client, None
        self.seen: list[tuple[datetime, str, str, bool]] = []

    def run_once(self) -> int:
        params = {"cursor": self.cursor} if self.cursor else \
            {"updated_since": "1970-01-01T00:00:00Z"}
        before = len(self.seen)
        while True:
            response = self.client.get("/v1/people", params=params | {"limit": 7})
            assert response.status_code == 200, response.text
            body = response.json()
            self.seen += [(datetime.fromisoformat(p["updated_at"]), p["id"], p["external_id"],
                           p["active"]) for p in body["data"]]
            self.cursor = body["sync_cursor"]
            if body["next_cursor"] is None:
                return len(self.seen) - before
            params = {"cursor": body["next_cursor"]}


def test_a_sync_under_concurrent_writers_sees_every_commit_once(base_url, engine, make_key):
    committed: dict[str, tuple[int, bool]] = {}
    lock = threading.Lock()
    writers = [threading.Thread(target=_write, args=(engine, w, committed, lock,
                                                     random.Random(w)))
               for w in range(WRITERS)]
    headers = {"Authorization": f"Bearer {make_key('people:read')}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        reader = Reader(client)
        for thread in writers:
            thread.start()
        while any(t.is_alive() for t in writers):
            reader.run_once()
            time.sleep(0.01)
        for thread in writers:
            thread.join()
        while reader.run_once():  # until a read after the last commit brings nothing new
            pass

    order = [(at, pid) for at, pid, *_ in reader.seen]
    assert order == sorted(order) and len(set(order)) == len(order)  # no version twice
    last = {external_id: (at, active) for at, _, external_id, active in reader.seen}
    with open_session(engine) as session:
        stored = {p.external_id: (p.updated_at, p.active) for p in session.exec(select(Person))}
    assert last == stored  # every person, at the version last committed
    assert {e: a for e, (_, a) in stored.items()} == committed
    assert sum(not active for active in committed.values()) > 5
    inserted_once = [e for e, active in committed.items() if active]
    assert all(sum(s[2] == e for s in reader.seen) == 1 for e in inserted_once)


def test_postgresql_moves_stamps_older_than_their_transaction(backend, engine, session):
    """The trigger of Alembic 0010: a row written with a stamp from the past (another clock,
    a bulk writer) or updated without a new stamp gets the database clock at the write."""
    if backend != "postgresql":
        pytest.skip("SQLite stamps under its single write lock; it has no trigger")
    past = datetime(2001, 1, 1, tzinfo=UTC)
    started = session.execute(text("SELECT now()")).scalar_one()
    session.add(Person(external_id="P1", display_name="P1", created_at=past, updated_at=past))
    session.commit()
    first = session.exec(select(Person.updated_at)).one()
    assert first >= started
    session.execute(text("UPDATE person SET display_name = 'renamed'"))  # stamp left as it was
    session.commit()
    assert session.exec(select(Person.updated_at)).one() > first
