"""A real server for tests that need truly parallel requests."""

import httpx
import pytest

from service.db import open_session
from service.rubrics.service import load_defaults
from tests.factories.people import person_doc
from tests.servers import served_in_thread


@pytest.fixture
def base_url(app):
    """The app served by uvicorn on a free 127.0.0.1 port, stopped after the test."""
    with served_in_thread(app) as url:
        yield url


@pytest.fixture
def assessment(base_url, engine, make_key):
    """(admin headers, assessment id) of a fresh draft on the default ladder."""
    with open_session(engine, write=True) as session:
        load_defaults(session)
        session.commit()
    headers = {"Authorization": f"Bearer {make_key('admin')}"}
    with httpx.Client(base_url=base_url, headers=headers) as client:
        assert client.put("/v1/people/E123", json=person_doc()).status_code == 201
        created = client.post("/v1/assessments", json={"person": "E123", "cycle": "2026-H2"})
        assert created.status_code == 201, created.text
    return headers, created.json()["id"]
