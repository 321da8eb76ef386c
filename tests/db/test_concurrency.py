"""Two writers with the same ETag, truly in parallel: a real uvicorn server on 127.0.0.1 (its
own thread pool, its own sessions and transactions) and two client threads released at once.
Exactly one PUT wins (200) and the other gets 412, round after round, with no lost update.

On PostgreSQL the ``forced`` variant also holds both transactions at the assessment's UPDATE
until both have arrived, so every round proves that two transactions which both passed the
If-Match check overlap, and the row-version check (not luck) picks the winner. SQLite takes
``BEGIN IMMEDIATE`` for every write request, so its writers queue: there the gate holds the
first writer until the second has asked to begin, and the second then reads the new ETag.
The ``natural`` variant just races."""

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import httpx
import pytest
from sqlalchemy import event

from service import db
from tests.factories.people import person_doc

ROUNDS = 20


class OverlapGate:
    """Holds the first writer inside its transaction, at the assessment's UPDATE, until the
    other writer's transaction has started too, so every round really overlaps.

    PostgreSQL: both writers wait at the UPDATE for each other; both have read the row and
    passed the If-Match check, and the row-version check in the UPDATE picks the winner.
    SQLite: the writer holding the write lock waits until the other has asked for its own
    ``BEGIN IMMEDIATE`` (seen as it asks for the process's writer lock, ``service/db.py``,
    where it queues); that one then reads the new ETag and gets 412."""

    def __init__(self, engine, backend: str) -> None:
        self.engine, self.sqlite, self.met = engine, backend == "sqlite", 0
        self.lock = threading.Lock()
        self.next_round()

    def next_round(self) -> None:
        self.barrier, self.begins, self.second_began = threading.Barrier(2), 0, threading.Event()

    def _asked(self) -> None:
        with self.lock:
            self.begins += 1
            if self.begins == 2:
                self.second_began.set()

    def _hold(self, conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("UPDATE ASSESSMENT SET"):
            overlapped = (self.second_began.wait(timeout=10) if self.sqlite
                          else self.barrier.wait(timeout=10) == 0)
            if overlapped:
                with self.lock:
                    self.met += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._hold)
        if self.sqlite:  # a writer asks for the lock before SQLite sees its BEGIN IMMEDIATE
            hold, gate = db._WriterLockedConnection.hold, self

            def asking(connection, writer):
                gate._asked()
                return hold(connection, writer)

            self.hold, db._WriterLockedConnection.hold = hold, asking
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hold)
        if self.sqlite:
            db._WriterLockedConnection.hold = self.hold


@pytest.mark.parametrize("forced", [False, True], ids=["natural", "forced"])
def test_same_etag_in_parallel_one_wins_one_412(app, backend, base_url, assessment, forced):
    headers, assessment_id = assessment
    url = f"/v1/assessments/{assessment_id}"
    clients = [httpx.Client(base_url=base_url, headers=headers, timeout=30) for _ in range(2)]
    gate = OverlapGate(app.state.engine, backend) if forced else None
    try:
        with ThreadPoolExecutor(2) as pool, gate or nullcontext():
            for round_no in range(ROUNDS):
                etag = clients[0].get(url).headers["etag"]
                if gate is not None:
                    gate.next_round()
                start = threading.Barrier(2)

                def put(writer: int, etag=etag, start=start):
                    body = {"rater_role": "manager", "rater_id": "E001", "ratings": [
                        {"competency": "strategy", "proficiency": 1 + writer,
                         "evidence": f"writer {writer}"}]}
                    start.wait(timeout=10)
                    return clients[writer].put(f"{url}/ratings", json=body,
                                               headers={"If-Match": etag})

                answers = list(pool.map(put, (0, 1)))
                statuses = sorted(a.status_code for a in answers)
                assert statuses == [200, 412], (round_no, [a.text for a in answers])
                winner = next(a for a in answers if a.status_code == 200)
                stored = clients[0].get(url)
                assert stored.json()["ratings"] == winner.json()["ratings"]  # no lost update
                assert stored.headers["etag"] == winner.headers["etag"]
        if gate is not None:
            assert gate.met == ROUNDS  # both transactions overlapped in every round
        history = clients[0].get(f"{url}/history", params={"limit": 500}).json()["data"]
        assert [e["action"] for e in history] == ["created"] + ["ratings_set"] * ROUNDS
    finally:
        for client in clients:
            client.close()



def test_two_first_syncs_of_one_person_race_to_one_row(app, backend, base_url, make_key):
    """Two HRIS workers create the same person at once: one 201, one 200, one person. On
    PostgreSQL both INSERTs are held until both are ready; the loser's INSERT hits the unique
    external id, its savepoint rolls back and it updates the winner's row instead."""
    headers = {"Authorization": f"Bearer {make_key('admin')}"}
    gate = threading.Barrier(2)
    met = []

    def hold(conn, cursor, statement, *args):
        if backend == "postgresql" and statement.lstrip().upper().startswith("INSERT INTO PERSON"):
            met.append(gate.wait(timeout=10))

    clients = [httpx.Client(base_url=base_url, headers=headers, timeout=30) for _ in range(2)]
    event.listen(app.state.engine, "before_cursor_execute", hold)
    try:
        for round_no in range(ROUNDS):
            start = threading.Barrier(2)
            external_id = f"E{round_no}"

            def sync(writer: int, external_id=external_id, start=start):
                doc = person_doc(external_id, rubric=None, level=None,
                                 display_name=f"writer {writer}")
                start.wait(timeout=10)
                return clients[writer].put(f"/v1/people/{external_id}", json=doc)

            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(sync, (0, 1)))
            assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
            assert len({a.json()["id"] for a in answers}) == 1
            second = next(a for a in answers if a.status_code == 200).json()
            assert clients[0].get(f"/v1/people/{external_id}").json() == second
        people = clients[0].get("/v1/people", params={"limit": 500}).json()["data"]
        assert len(people) == ROUNDS
        if backend == "postgresql":
            assert len(met) == 2 * ROUNDS  # every round, both INSERTs really overlapped
    finally:
        event.remove(app.state.engine, "before_cursor_execute", hold)
        for client in clients:
            client.close()
