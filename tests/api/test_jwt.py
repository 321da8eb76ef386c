"""JWT bearer tokens: verified against a JWKS (file or URL), pinned algorithms, claims checked,
scopes mapped, `sub` bound to a person; misconfiguration stops the start."""

import json
import time
from contextlib import asynccontextmanager

import httpx
import pytest
from typer.testing import CliRunner

from service.app import create_app
from service.auth.jwt_bearer import JwtConfigError, verifier_from_settings
from service.settings import Settings, get_settings
from tests.factories.assessments import create_assessment
from tests.factories.jwts import (
    AUDIENCE,
    ISSUER,
    JwksServer,
    SigningKey,
    claims_with,
    jwks,
    unsigned,
)
from tests.factories.people import sync_person
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio

RSA, EC = SigningKey.rsa(), SigningKey.ec()
STRANGER = SigningKey.rsa("rsa-1")  # same kid as a trusted key, another key pair
# Machine clients: most tokens here test verification, not binding, and name no person.
SERVICE_SUBJECTS = ["portal-user", "hr-analytics"]


@pytest.fixture
def jwks_file(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(RSA, EC)))
    return path


@pytest.fixture
def settings(db_url, jwks_file) -> Settings:
    return Settings(database_url=db_url, jwt_jwks_file=jwks_file, jwt_issuer=ISSUER,
                    jwt_audience=AUDIENCE, jwt_leeway_seconds=30,
                    jwt_service_subjects=SERVICE_SUBJECTS)


async def status_with(client_with, token: str, path: str = "/v1/rubrics") -> int:
    async with client_with(token) as client:
        return (await client.get(path)).status_code


async def test_valid_rs256_and_es256_tokens_are_accepted(client_with):
    assert await status_with(client_with, RSA.token()) == 200
    assert await status_with(client_with, EC.token()) == 200


@pytest.mark.parametrize("case", [
    "expired", "not_yet_valid", "wrong_audience", "wrong_issuer", "no_exp", "no_sub",
    "hs256_with_public_key", "alg_none", "unknown_kid", "wrong_key_same_kid",
    "alg_swapped_to_es256", "garbage"])
async def test_bad_tokens_are_refused(client_with, case):
    now = int(time.time())
    token = {
        "expired": lambda: RSA.token(exp=now - 120),  # beyond the 30 s leeway
        "not_yet_valid": lambda: RSA.token(nbf=now + 600),
        "wrong_audience": lambda: RSA.token(aud="another-api"),
        "wrong_issuer": lambda: RSA.token(iss="https://evil.example.com/"),
        "no_exp": lambda: RSA.token(exp=None),
        "no_sub": lambda: RSA.token(sub=None),
        "hs256_with_public_key": lambda: unsigned({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"},
                                                  claims_with(), secret=RSA.public_pem()),
        "alg_none": lambda: unsigned({"alg": "none", "typ": "JWT", "kid": "rsa-1"},
                                     claims_with(scope="admin")),
        "unknown_kid": lambda: SigningKey.rsa("rsa-9").token(),
        "wrong_key_same_kid": lambda: STRANGER.token(),
        "alg_swapped_to_es256": lambda: unsigned({"alg": "ES256", "kid": "rsa-1"},
                                                 claims_with(), secret=b"x"),
        "garbage": lambda: "eyJhbGciOiJSUzI1NiJ9.not-json.sig",
    }[case]()
    async with client_with(token) as client:
        response = await client.get("/v1/rubrics")
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_clock_skew_leeway(client_with):
    now = int(time.time())
    assert await status_with(client_with, RSA.token(exp=now - 10)) == 200  # within 30 s
    assert await status_with(client_with, RSA.token(nbf=now + 10)) == 200


async def test_scope_claim_maps_to_ascent_scopes(client_with):
    token = RSA.token(scope="openid profile rubrics:read people:read")
    assert await status_with(client_with, token, "/v1/people") == 200
    assert await status_with(client_with, token, "/v1/assessments") == 403
    listed = RSA.token(scope=["assessments:read"])  # some providers send a list
    assert await status_with(client_with, listed, "/v1/assessments") == 200
    assert await status_with(client_with, RSA.token(scope=None), "/v1/rubrics") == 403
    unknown = RSA.token(scope="rubrics:read:all superuser")
    assert await status_with(client_with, unknown, "/v1/rubrics") == 403


async def test_sub_binds_the_principal_to_a_synced_person(admin, client_with, engine):
    await load_default_rubric(engine)
    mine = await create_assessment(admin, "E123")
    await create_assessment(admin, "E456")
    scope = "assessments:read"

    async with client_with(RSA.token(sub="E123", scope=scope)) as portal_user:
        listed = (await portal_user.get("/v1/assessments")).json()["data"]
        assert [a["id"] for a in listed] == [mine["id"]]
    async with client_with(RSA.token(sub="hr-analytics", scope=scope)) as service_account:
        assert len((await service_account.get("/v1/assessments")).json()["data"]) == 2


@pytest.fixture
def app_with(db_url, jwks_file):
    """``async with app_with(**settings) as open_client``: an app with these JWT settings."""
    @asynccontextmanager
    async def make(**overrides):
        app = create_app(Settings(database_url=db_url, jwt_jwks_file=jwks_file,
                                  jwt_issuer=ISSUER, jwt_audience=AUDIENCE, **overrides))

        def open_client(token: str) -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://ascent.test",
                                     headers={"Authorization": f"Bearer {token}"})
        try:
            yield open_client
        finally:
            app.state.engine.dispose()
    return make


async def test_a_subject_naming_no_synced_person_is_refused_by_default(admin, app_with, engine):
    """Issue 12: a portal token whose `sub` names nobody used to get unbound, organisation-
    wide access within its scopes. Now it binds to a synced person or is refused."""
    await load_default_rubric(engine)
    await create_assessment(admin, "E123")
    await create_assessment(admin, "E456")
    scope = "people:read assessments:read"
    async with app_with() as open_client:  # nothing about subjects configured: the default
        async with open_client(RSA.token(sub="E999", scope=scope)) as stranger:
            refused = await stranger.get("/v1/people")
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "subject" in refused.json()["detail"]
            graphql = await stranger.post("/graphql", json={
                "query": "{ people { edges { node { externalId } } } }"})
            assert graphql.status_code == 401 and graphql.json()["data"] is None
            assert graphql.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        await sync_person(admin, "E999")  # the HRIS syncs them: the same token now binds
        async with open_client(RSA.token(sub="E999", scope=scope)) as synced:
            people = (await synced.get("/v1/people")).json()["data"]
            assert [p["external_id"] for p in people] == ["E999"]
            assert (await synced.get("/v1/assessments")).json()["data"] == []
            assert (await synced.get("/v1/people/E123")).status_code == 404


async def test_service_subjects_and_the_explicit_unbound_setting(admin, app_with, engine):
    await load_default_rubric(engine)
    await create_assessment(admin, "E123")
    await create_assessment(admin, "E456")
    scope = "assessments:read"
    async with app_with(jwt_service_subjects=["hr-analytics", "E123"]) as open_client:
        async with open_client(RSA.token(sub="hr-analytics", scope=scope)) as machine:
            assert len((await machine.get("/v1/assessments")).json()["data"]) == 2
        # A synced person's id binds even when listed: the narrower reading wins.
        async with open_client(RSA.token(sub="E123", scope=scope)) as person:
            assert [a["person"] for a in (await person.get("/v1/assessments")).json()["data"]
                    ] == ["E123"]
        async with open_client(RSA.token(sub="someone-else", scope=scope)) as stranger:
            assert (await stranger.get("/v1/assessments")).status_code == 401
    token = RSA.token(sub="someone-else", scope=scope)
    async with app_with(jwt_unknown_subject="unbound") as open_client, \
            open_client(token) as stranger:  # the old behaviour, chosen explicitly
        assert len((await stranger.get("/v1/assessments")).json()["data"]) == 2


async def test_api_keys_keep_working_next_to_jwts(make_key, client_with):
    assert await status_with(client_with, make_key("rubrics:read")) == 200
    assert await status_with(client_with, "asc_a.b.c") == 401  # a key, never parsed as a JWT


async def test_jwks_url_is_cached_and_refetched_on_an_unknown_kid(db_url):
    server = JwksServer(jwks(RSA)).start()
    app = create_app(Settings(database_url=db_url, jwt_jwks_url=server.url, jwt_issuer=ISSUER,
                              jwt_audience=AUDIENCE, jwt_service_subjects=SERVICE_SUBJECTS))
    app.state.jwt_verifier.jwks.cooldown = 0  # refetch at once on an unknown kid (test speed)

    async def status(token: str) -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            return (await client.get("/v1/rubrics")).status_code

    try:
        assert server.fetches == 0  # nothing fetched at start-up
        assert await status(RSA.token()) == 200
        assert await status(RSA.token()) == 200
        assert server.fetches == 1  # cached
        rotated = SigningKey.ec("ec-2")
        server.document = jwks(RSA, rotated)  # the provider rotates in a new key
        assert await status(rotated.token()) == 200
        assert server.fetches == 2
        assert await status(SigningKey.rsa("nobody").token()) == 401
        app.state.jwt_verifier.jwks.cooldown = 3600
        assert await status(SigningKey.rsa("nobody-2").token()) == 401
        assert server.fetches == 3  # unknown kids cannot make it refetch in a loop
    finally:
        server.stop()
        app.state.engine.dispose()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"jwt_jwks_url": "https://idp.example.com/jwks"}, "ASCENT_JWT_ISSUER and ASCENT_JWT_AUDIENCE"),
    ({"jwt_jwks_url": "https://idp.example.com/jwks", "jwt_issuer": ISSUER},
     "ASCENT_JWT_AUDIENCE"),
    ({"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE}, "no key source"),
    ({"jwt_jwks_url": "ftp://idp.example.com/jwks", "jwt_issuer": ISSUER,
      "jwt_audience": AUDIENCE}, "http(s) URL"),
    ({"jwt_jwks_file": "/nonexistent/jwks.json", "jwt_issuer": ISSUER,
      "jwt_audience": AUDIENCE}, "cannot be read"),
])
def test_misconfiguration_is_a_start_up_error(overrides, message):
    settings = Settings(database_url="sqlite:///unused.db", **overrides)
    with pytest.raises(JwtConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        verifier_from_settings(settings)


def test_a_jwks_without_a_pinned_algorithm_key_is_refused(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}))
    with pytest.raises(JwtConfigError, match="no RS256 or ES256"):
        verifier_from_settings(Settings(jwt_jwks_file=path, jwt_issuer=ISSUER,
                                        jwt_audience=AUDIENCE))


def test_serve_refuses_to_start_half_configured(db_url, monkeypatch):
    from service.cli import app as cli

    monkeypatch.setenv("ASCENT_DATABASE_URL", db_url)
    monkeypatch.setenv("ASCENT_JWT_JWKS_URL", "https://idp.example.com/jwks")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "ASCENT_JWT_ISSUER" in result.output
