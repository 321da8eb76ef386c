"""Failed authentication is throttled (429 + Retry-After, problem+json) per client address and
per API key prefix, without locking out other clients or a key's owner; and unknown tokens
never push a good key out of the verification cache. On SQLite and PostgreSQL."""

import secrets
import uuid

import httpx
import pytest
from sqlalchemy import event

from service.auth import service as auth_service
from service.db import open_session
from service.settings import Settings

pytestmark = pytest.mark.anyio

LIMIT = 20


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url, auth_failure_limit=LIMIT,
                    auth_failure_window_seconds=60, bulk_worker=False, webhooks_worker=False)


def client_at(app, address: str, secret: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url="http://ascent.test", headers=headers)


def wrong_key() -> str:
    return auth_service.new_secret()


async def test_a_flood_of_wrong_keys_is_answered_429_after_the_limit(app, make_key):
    good = make_key("rubrics:read")
    lookups: list[str] = []

    def count(_conn, _cursor, statement, *_):
        if "FROM api_key" in statement:
            lookups.append(statement)

    statuses = []
    async with client_at(app, "203.0.113.7") as attacker:
        event.listen(app.state.engine, "before_cursor_execute", count)
        try:
            for _ in range(2000):
                response = await attacker.get(
                    "/v1/rubrics", headers={"Authorization": f"Bearer {wrong_key()}"})
                statuses.append(response.status_code)
        finally:
            event.remove(app.state.engine, "before_cursor_execute", count)
        assert statuses[:LIMIT] == [401] * LIMIT
        assert set(statuses[LIMIT:]) == {429}
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "too_many_requests"
        assert 1 <= int(response.headers["retry-after"]) <= 60
        # Refused before any lookup: only the first LIMIT wrong keys reached the database.
        assert len(lookups) == LIMIT
        # That client is refused whatever it presents until the window has passed...
        assert (await attacker.get("/v1/rubrics", headers={"Authorization": f"Bearer {good}"})
                ).status_code == 429
        graphql = await attacker.post("/graphql", json={"query": "{ __typename }"},
                                      headers={"Authorization": f"Bearer {wrong_key()}"})
        assert graphql.status_code == 429 and "retry-after" in graphql.headers
    # ...while a good key from another client still works.
    async with client_at(app, "198.51.100.20", good) as other:
        assert (await other.get("/v1/rubrics")).status_code == 200


async def test_guessing_under_one_key_prefix_from_many_addresses_is_throttled(app, make_key):
    good = make_key("rubrics:read")
    prefix = good[:12]

    def guess() -> str:
        return prefix + secrets.token_urlsafe(32)

    statuses = []
    for n in range(LIMIT + 5):  # one guess from each of 25 addresses: none hits its own limit
        async with client_at(app, f"192.0.2.{n + 1}") as attacker:
            statuses.append((await attacker.get(
                "/v1/rubrics", headers={"Authorization": f"Bearer {guess()}"})).status_code)
    assert statuses == [401] * (LIMIT + 5)  # each address is new: it had not failed before
    async with client_at(app, "192.0.2.1") as attacker:  # it failed once: refused now
        refused = await attacker.get("/v1/rubrics",
                                     headers={"Authorization": f"Bearer {guess()}"})
    assert refused.status_code == 429 and "key prefix" in refused.json()["detail"]
    async with client_at(app, "198.51.100.20", good) as owner:  # never failed: not locked out
        assert (await owner.get("/v1/rubrics")).status_code == 200


async def test_a_missing_credential_is_not_counted(app):
    async with client_at(app, "203.0.113.8") as anonymous:
        statuses = {(await anonymous.get("/v1/rubrics")).status_code for _ in range(LIMIT + 5)}
    assert statuses == {401}


async def test_unknown_tokens_do_not_evict_a_good_key_from_the_cache(engine, make_key,
                                                                     monkeypatch):
    monkeypatch.setattr(auth_service, "CACHE_TTL", 3600.0)  # counting hits, not racing time
    good = make_key("rubrics:read")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_):
        statements.append(statement)

    with open_session(engine) as session:
        assert auth_service.authenticate_api_key(session, good) is not None  # cached now
        for n in range(12_000):  # more than the old cache held before it was flushed
            assert auth_service.authenticate_api_key(session, f"asc_{uuid.uuid4().hex}{n}") \
                is None
        event.listen(engine, "before_cursor_execute", count)
        try:
            principal = auth_service.authenticate_api_key(session, good)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert principal is not None and principal.scopes == frozenset({"rubrics:read"})
    assert statements == []  # answered from the cache: no lookup
