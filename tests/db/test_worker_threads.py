"""The thread pool that runs requests' database work: a few threads on SQLite (more only take
turns at the GIL), anyio's 40 on PostgreSQL (they overlap waits on the server);
ASCENT_THREADS overrides both. Set by the app's lifespan on the loop that serves it."""

import pytest
from anyio import to_thread

from service.app import create_app
from service.settings import Settings


@pytest.mark.anyio
async def test_the_pool_is_sized_for_the_database(app, backend):
    async with app.router.lifespan_context(app):
        assert to_thread.current_default_thread_limiter().total_tokens == {
            "sqlite": 2, "postgresql": 40}[backend]


@pytest.mark.anyio
async def test_ascent_threads_sets_it(db_url):
    app = create_app(Settings(database_url=db_url, threads=7))
    try:
        async with app.router.lifespan_context(app):
            assert to_thread.current_default_thread_limiter().total_tokens == 7
    finally:
        app.state.engine.dispose()
