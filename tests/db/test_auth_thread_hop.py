"""Authentication never starts the request's own transaction. If it did, a write request on
SQLite would take the writer lock in the authentication's thread hop and keep it until its
endpoint's hop; with every thread of the pool taken by other writers waiting for that lock,
that hop would never come. Here: one thread, no key cache (every request authenticates in the
pool, slowly, so lookups queue up), several concurrent writes; all must answer."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from service import db
from service.auth import deps as auth_deps
from service.auth import service as auth_service
from service.db import open_session
from service.rubrics.service import load_defaults
from service.settings import Settings
from tests.factories.people import person_doc

WRITERS = 6


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url, threads=1)


def test_concurrent_writes_with_one_thread_and_cold_key_cache(base_url, engine, make_key,
                                                              monkeypatch):
    monkeypatch.setattr(auth_service, "CACHE_TTL", 0)  # every request looks its key up

    def slow_lookup(session, secret):  # so that the others' lookups queue behind this one
        found = auth_service.authenticate_api_key(session, secret)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(auth_deps, "authenticate_api_key", slow_lookup)
    with open_session(engine, write=True) as session:
        load_defaults(session)
        session.commit()
    headers = {"Authorization": f"Bearer {make_key('admin')}"}
    with httpx.Client(base_url=base_url, headers=headers) as client:
        assert client.put("/v1/people/E123", json=person_doc()).status_code == 201
        created = client.post("/v1/assessments", json={"person": "E123", "cycle": "2026-H2"})
        assert created.status_code == 201, created.text
    draft = created.json()["id"]
    monkeypatch.setattr(db, "BUSY_SECONDS", 5)  # a writer stuck behind the lock fails soon

    clients = [httpx.Client(base_url=base_url, headers=headers, timeout=60)
               for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)

    def put(n: int) -> list[int]:
        start.wait()  # all at once
        return [clients[n].put(f"/v1/assessments/{draft}/ratings", headers={"If-Match": "*"},
                               json={"rater_role": "peer", "rater_id": f"P{n}", "ratings": [
                                   {"competency": "scope-judgement", "proficiency": 3}]}
                               ).status_code for _ in range(5)]

    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            assert list(pool.map(put, range(WRITERS))) == [[200] * 5] * WRITERS
    finally:
        for client in clients:
            client.close()
