"""Authentication and scopes, checked on every route the app has (derived from app.routes)."""

from datetime import UTC, datetime, timedelta

import pytest

from service.auth.scopes import SCOPES
from tests.routes import protected_operations, required_scopes

pytestmark = pytest.mark.anyio


async def test_every_non_public_route_needs_a_credential(app, client):
    ops = protected_operations(app)
    assert len(ops) >= 10  # guards against the route walk silently finding nothing
    for method, path, _ in ops:
        response = await client.request(method, path)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"] == "application/problem+json"


async def test_every_route_refuses_a_credential_without_its_scope(app, make_key, client_with):
    ops = protected_operations(app)
    assert len(ops) >= 10
    for method, path, op in ops:
        needed = required_scopes(op)
        assert needed, f"{method} {path} declares no scope"
        other = next(s for s in SCOPES if s not in needed and s != "admin")
        async with client_with(make_key(other)) as client:
            response = await client.request(method, path)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "insufficient_scope"
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_public_routes_need_nothing(client):
    for path in ("/livez", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        assert (await client.get(path)).status_code == 200, path


async def test_unknown_revoked_and_expired_keys_are_401(admin, make_key, client_with, session):
    async with client_with("asc_not-a-real-key") as client:
        assert (await client.get("/v1/rubrics")).status_code == 401

    secret = make_key("rubrics:read")
    async with client_with(secret) as client:
        assert (await client.get("/v1/rubrics")).status_code == 200
    key_id = next(k["id"] for k in (await admin.get("/v1/api-keys")).json()
                  if secret.startswith(k["prefix"]))
    assert (await admin.post(f"/v1/api-keys/{key_id}/revoke")).status_code == 200
    async with client_with(secret) as client:
        assert (await client.get("/v1/rubrics")).status_code == 401

    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    created = await admin.post("/v1/api-keys", json={"name": "old", "scopes": ["rubrics:read"],
                                                     "expires_at": past})
    async with client_with(created.json()["secret"]) as client:
        assert (await client.get("/v1/rubrics")).status_code == 401


async def test_a_key_revoked_by_another_process_is_refused_once_the_cache_window_ends(
        make_key, client_with, session):
    """Verified keys are cached (on the event loop, no lookup) for CACHE_TTL seconds; a
    revocation another worker or replica made is seen when the entry expires."""
    from sqlmodel import select

    from service.auth import service as auth_service
    from service.auth.models import ApiKey
    from service.models import utcnow

    secret = make_key("rubrics:read")
    async with client_with(secret) as client:
        assert (await client.get("/v1/rubrics")).status_code == 200  # cached now
        key = session.exec(select(ApiKey).where(
            ApiKey.secret_hash == auth_service.hash_secret(secret))).one()
        key.revoked_at = utcnow()  # as another process would: this one's cache is not told
        session.add(key)
        session.commit()
        assert (await client.get("/v1/rubrics")).status_code == 200  # inside the window
        digest = auth_service.hash_secret(secret)
        _, principal = auth_service._cache[digest]
        auth_service._cache[digest] = (0.0, principal)  # the window has passed
        assert (await client.get("/v1/rubrics")).status_code == 401


async def test_api_keys_are_shown_once_and_stored_hashed(admin, session):
    from sqlmodel import select

    from service.auth.models import ApiKey

    created = await admin.post("/v1/api-keys", json={"name": "hr-sync",
                                                     "scopes": ["people:write", "people:read"]})
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("asc_") and len(secret) > 40
    listed = (await admin.get("/v1/api-keys")).json()
    assert all("secret" not in k for k in listed)
    stored = session.exec(select(ApiKey).where(ApiKey.name == "hr-sync")).one()
    assert secret not in stored.model_dump_json() and len(stored.secret_hash) == 64

    unknown = await admin.post("/v1/api-keys", json={"name": "x", "scopes": ["root"]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "scopes"


async def test_only_admins_manage_keys(make_key, client_with):
    async with client_with(make_key("rubrics:write")) as client:
        response = await client.post("/v1/api-keys", json={"name": "x", "scopes": ["admin"]})
    assert response.status_code == 403


async def test_person_bound_admin_keys_are_not_limited_to_their_person(
        make_key, client_with, admin, engine):
    from tests.factories.people import sync_person
    from tests.factories.rubrics import load_default_rubric

    await load_default_rubric(engine)
    await sync_person(admin, "E124")
    async with client_with(make_key("admin", person="E123")) as hr_admin:
        seen = await hr_admin.get("/v1/people/E124/readiness")
    # Reached E124 (who simply has no finalized assessment yet) rather than being fenced off.
    assert seen.status_code == 404 and "no finalized assessment" in seen.json()["detail"]
    async with client_with(make_key("readiness:read", person="E123")) as self_service:
        fenced = await self_service.get("/v1/people/E124/readiness")
    assert fenced.status_code == 404 and "no finalized" not in fenced.json()["detail"]
