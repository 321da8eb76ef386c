"""A real server for tests that need truly parallel requests."""

import pytest

from tests.servers import served_in_thread


@pytest.fixture
def base_url(app):
    """The app served by uvicorn on a free 127.0.0.1 port, stopped after the test."""
    with served_in_thread(app) as url:
        yield url
