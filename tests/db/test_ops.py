"""Readiness and start-up refusal against unmigrated databases."""

import httpx
import pytest

from service.app import UnmigratedDatabase, check_migrated, create_app
from service.db import make_engine
from service.settings import Settings
from tests.backends import fresh_database

pytestmark = pytest.mark.anyio


async def test_readyz_ready_when_migrated(client):
    response = await client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ready"


async def test_unmigrated_database_is_not_ready_and_refused(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        app = create_app(Settings(database_url=url))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            response = await client.get("/readyz")
            assert response.status_code == 503
            assert "ascent migrate" in response.json()["detail"]
            assert (await client.get("/livez")).status_code == 200
        with pytest.raises(UnmigratedDatabase, match="ascent migrate"):
            check_migrated(app.state.engine)
        with pytest.raises(UnmigratedDatabase):  # the lifespan refuses to start
            async with app.router.lifespan_context(app):
                pass
        app.state.engine.dispose()


async def test_unreachable_database_is_not_ready():
    app = create_app(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503 and response.json()["detail"]
    make_engine("sqlite://").dispose()
