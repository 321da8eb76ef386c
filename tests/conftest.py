"""Fixtures shared by every test: a migrated database per backend, the app, HTTP clients and
API keys. Domain factories live in ``tests/factories/``.

Every test that takes ``client`` (or ``db_url``) runs once on SQLite and once on PostgreSQL.
Isolation: the schema is migrated once per session (``alembic upgrade head``), and every
table is emptied after each test, so tests see real commits (concurrency, background jobs)."""

import httpx
import pytest

from service.app import create_app
from service.auth import service as auth_service
from service.auth.schemas import ApiKeyCreate
from service.db import make_engine, open_session, upgrade
from service.readiness import policies as readiness_policies
from service.readiness import specs as readiness_specs
from service.rubrics import published as published_rubrics
from service.rubrics import service as rubrics_service
from service.settings import Settings
from service.tables import load_all
from tests.backends import BACKENDS, fresh_database, require_backend, truncate_all


@pytest.fixture(scope="session")
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    require_backend(request.param)
    return request.param


@pytest.fixture(scope="session")
def migrated_url(backend, tmp_path_factory):
    with fresh_database(backend, tmp_path_factory.mktemp(backend)) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(migrated_url):
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_url(migrated_url, engine):
    """A migrated, empty database for this test (emptied again afterwards)."""
    yield migrated_url
    truncate_all(engine, load_all().metadata)
    auth_service._cache.clear()
    readiness_policies.clear_cache()
    readiness_specs.clear_cache()
    rubrics_service.clear_caches()
    published_rubrics.clear_cache()


@pytest.fixture
def session(db_url, engine):
    """A plain session for arranging data and inspecting results; commit explicitly."""
    with open_session(engine) as session:
        yield session


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url)


@pytest.fixture
def app(settings):
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


@pytest.fixture
async def client(app):
    """An unauthenticated client; see ``admin`` and ``client_with``."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://ascent.test") as client:
        yield client


@pytest.fixture
def make_key(engine, db_url):
    """``make_key("rubrics:read", person=None) -> secret`` stores an API key and returns it."""
    def make(*scopes: str, person: str | None = None, name: str = "test") -> str:
        with open_session(engine, write=True) as session:
            _, secret = auth_service.create_key(
                session, ApiKeyCreate(name=name, scopes=list(scopes), person=person))
            session.commit()
        return secret
    return make


@pytest.fixture
def client_with(app):
    """``async with client_with(secret) as c``: a client sending that bearer credential."""
    def open_client(secret: str | None):
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://ascent.test", headers=headers)
    return open_client


@pytest.fixture
async def admin(client_with, make_key):
    async with client_with(make_key("admin", name="admin")) as client:
        yield client
