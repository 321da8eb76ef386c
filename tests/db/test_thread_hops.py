"""A request's transaction never waits for a thread behind requests waiting for its lock.

On SQLite a write transaction holds the process's writer lock from its first statement to its
commit; another write request's first thread hop waits for that lock holding a thread of the
pool. Were the transaction to need another hop of the same pool after its first (a lookup in
its session before the endpoint, or the commit of a GraphQL mutation, which the request makes
after the mutation's own hop), a pool full of such waiters would never give it one, until the
busy timeout. Here: one thread, slow work, several concurrent writers; all must answer."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from service import db
from service.assessments import service as assessments_service
from service.auth import deps as auth_deps
from service.auth import service as auth_service
from service.settings import Settings

WRITERS = 6
# Every write answered: done, or (PostgreSQL, where writers do not queue) 412 for the one that
# lost the race to the row version: "If-Match: *" still checks the version it read.
ANSWERED = {200, 412}


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url, threads=1)


def _all_at_once(base_url: str, headers: dict, send) -> list:
    """``send(client, n)`` from WRITERS clients released together, five times each."""
    clients = [httpx.Client(base_url=base_url, headers=headers, timeout=60)
               for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)

    def run(n: int) -> list:
        start.wait()
        return [send(clients[n], n) for _ in range(5)]

    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            return list(pool.map(run, range(WRITERS)))
    finally:
        for client in clients:
            client.close()


def test_rest_writes_with_a_cold_key_cache(base_url, assessment, monkeypatch):
    headers, draft = assessment
    monkeypatch.setattr(auth_service, "CACHE_TTL", 0)  # every request looks its key up
    auth_service._cache.clear()  # the fixture's requests cached the key

    def slow_lookup(session, secret):  # so that the others' lookups queue behind this one
        found = auth_service.authenticate_api_key(session, secret)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(auth_deps, "authenticate_api_key", slow_lookup)
    monkeypatch.setattr(db, "BUSY_SECONDS", 5)  # a writer stuck behind the lock fails soon

    def put(client: httpx.Client, n: int) -> int:
        return client.put(f"/v1/assessments/{draft}/ratings", headers={"If-Match": "*"},
                          json={"rater_role": "peer", "rater_id": f"P{n}", "ratings": [
                              {"competency": "scope-judgement", "proficiency": 3}]}).status_code

    answers = [code for codes in _all_at_once(base_url, headers, put) for code in codes]
    assert set(answers) <= ANSWERED and 200 in answers, answers


def test_graphql_mutations(base_url, assessment, monkeypatch):
    headers, draft = assessment
    set_ratings = assessments_service.set_ratings

    def slow_set_ratings(*args, **kwargs):  # holds the writer lock while the others queue
        done = set_ratings(*args, **kwargs)
        time.sleep(0.05)
        return done

    monkeypatch.setattr(assessments_service, "set_ratings", slow_set_ratings)
    monkeypatch.setattr(db, "BUSY_SECONDS", 5)
    mutation = """mutation($id: UUID!, $input: RatingsInput!) {
      setRatings(id: $id, input: $input, ifMatch: "*") { id } }"""

    def rate(client: httpx.Client, n: int) -> object:
        answer = client.post("/graphql", json={"query": mutation, "variables": {
            "id": draft, "input": {"raterRole": "peer", "raterId": f"P{n}", "ratings": [
                {"competency": "scope-judgement", "proficiency": 3}]}}})
        errors = answer.json().get("errors") or []
        assert answer.status_code == 200, answer.text
        return errors[0]["extensions"]["status"] if errors else 200

    answers = [code for codes in _all_at_once(base_url, headers, rate) for code in codes]
    assert set(answers) <= ANSWERED and 200 in answers, answers
