"""Bulk imports write with their own SQL (people/batch.py, assessments/batch.py), not the ORM:
their changes still move `updated_at` and show up in the change lists."""

import pytest

from service.settings import Settings
from tests.api.test_sync import EPOCH, read_all
from tests.factories.bulk import line, ndjson, run_import
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database_url=db_url, bulk_spool_dir=tmp_path / "spool",
                    webhooks_worker=False)


async def test_bulk_updates_are_changes(app, admin, engine, db_url):
    await load_default_rubric(engine)
    job = await run_import(app, admin, ndjson(line("E1"), line("E2")))
    assert job["status"] == "succeeded", job
    people, people_cursor = await read_all(admin, "/v1/people", updated_since=EPOCH)
    drafts, assessments_cursor = await read_all(admin, "/v1/assessments", updated_since=EPOCH)
    assert sorted(p["external_id"] for p in people) == ["E1", "E2"]
    assert sorted((a["person"], a["status"]) for a in drafts) == [("E1", "draft"),
                                                                  ("E2", "draft")]

    job = await run_import(app, admin, ndjson(line("E1", level="senior-pm"),
                                              line("E2", status="submitted")))
    assert job["status"] == "succeeded", job
    people, _ = await read_all(admin, "/v1/people", cursor=people_cursor)
    assert [(p["external_id"], p["level"]) for p in people] == [("E1", "senior-pm")]
    moved, _ = await read_all(admin, "/v1/assessments", cursor=assessments_cursor)
    assert ("E2", "submitted") in [(a["person"], a["status"]) for a in moved]
    assert all(a["updated_at"] > d["updated_at"] for a in moved for d in drafts
               if a["id"] == d["id"])
