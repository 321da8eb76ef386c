"""GET /v1/assessments:export, on SQLite and PostgreSQL: the import shape in CSV and NDJSON,
the filters of GET /v1/assessments, paging underneath, and export -> import reproducing the
assessments in an empty database."""

import csv
import io
import json

import pytest

from service.auth import service as auth_service
from service.bulk import service as bulk_service
from service.bulk.schemas import CSV_COLUMNS
from service.readiness import cohorts as readiness_cohorts
from service.readiness import policies as readiness_policies
from service.readiness import specs as readiness_specs
from service.readiness.policies import ensure_default_policy
from service.rubrics import published as published_rubrics
from service.rubrics import service as rubrics_service
from service.settings import Settings
from service.tables import load_all
from tests.backends import truncate_all
from tests.factories.bulk import CSV, NDJSON, assessments, expected, run_import, sample
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database_url=db_url, bulk_spool_dir=tmp_path / "spool",
                    webhooks_worker=False)


async def load_ladder(engine) -> None:
    from service.db import open_session

    await load_default_rubric(engine)
    with open_session(engine, write=True) as session:
        ensure_default_policy(session)
        session.commit()


@pytest.fixture
async def cycle(app, admin, engine, db_url):
    """The sample cycle, imported (its bad rows left out)."""
    await load_ladder(engine)
    job = await run_import(app, admin, sample("csv"), CSV, mode="partial")
    assert job["succeeded"] == expected()["assessments"] - expected()["bad"]
    return job


def comparable(stored: list[dict]) -> list[dict]:
    """Assessments without what a new database assigns afresh (ids, times)."""
    keep = ("person", "rubric", "current_level", "target_level", "cycle", "status", "org_unit")
    return [{k: a[k] for k in keep} | {"ratings": sorted(
        (r["competency"], r["rater_role"], r["rater_id"], r["proficiency"], r["evidence"])
        for r in a["ratings"])} for a in stored]


async def test_csv_export_is_the_import_shape(admin, cycle):
    response = await admin.get("/v1/assessments:export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert set(rows[0]) <= set(CSV_COLUMNS)
    stored = await assessments(admin)
    assert len(rows) == sum(len(a["ratings"]) for a in stored)
    assert len({(r["external_id"], r["cycle"]) for r in rows}) == len(stored)
    first = stored[0]
    mine = [r for r in rows if r["external_id"] == first["person"]]
    assert {(r["competency"], r["rater_role"], int(r["proficiency"])) for r in mine} == {
        (r["competency"], r["rater_role"], r["proficiency"]) for r in first["ratings"]}
    assert {r["status"] for r in mine} == {first["status"]}


async def test_ndjson_export_has_a_line_per_assessment_and_takes_the_filters(admin, cycle):
    response = await admin.get("/v1/assessments:export",
                               params={"format": "ndjson", "status": "finalized",
                                       "org_unit": "payments"})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in response.text.splitlines()]
    listed = await assessments(admin, status="finalized", org_unit="payments")
    assert len(lines) == len(listed) > 0
    assert [x["id"] for x in lines] == [a["id"] for a in listed]
    assert {x["status"] for x in lines} == {"finalized"}
    assert lines[0]["person"]["external_id"] == listed[0]["person"]
    assert lines[0]["rubric"] == {"key": "product-leadership", "version": 2}
    none = await admin.get("/v1/assessments:export", params={"cycle": "1999-H1"})
    assert none.text.splitlines() == [",".join(bulk_service.EXPORT_CSV_COLUMNS)]


async def test_the_export_pages_through_the_database(admin, cycle, monkeypatch):
    monkeypatch.setattr(bulk_service, "EXPORT_PAGE", 7)  # many pages, each its own session
    response = await admin.get("/v1/assessments:export", params={"format": "ndjson"})
    ids = [json.loads(x)["id"] for x in response.text.splitlines()]
    assert ids == [a["id"] for a in await assessments(admin)]


async def test_a_person_bound_key_exports_only_its_own(admin, cycle, make_key, client_with):
    person = (await assessments(admin))[3]["person"]
    async with client_with(make_key("assessments:read", person=person)) as own:
        response = await own.get("/v1/assessments:export", params={"format": "ndjson"})
    lines = [json.loads(x) for x in response.text.splitlines()]
    assert [x["person"]["external_id"] for x in lines] == [person]


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
async def test_export_then_import_into_an_empty_database_reproduces_the_assessments(
        app, admin, cycle, engine, make_key, client_with, fmt):
    before = await assessments(admin)
    exported = (await admin.get("/v1/assessments:export", params={"format": fmt})).content

    truncate_all(engine, load_all().metadata)  # an empty database, as elsewhere
    auth_service._cache.clear()
    readiness_policies.clear_cache()
    readiness_specs.clear_cache()
    rubrics_service.clear_caches()
    published_rubrics.clear_cache()
    await load_ladder(engine)
    async with client_with(make_key("admin")) as fresh:
        assert await assessments(fresh) == []
        job = await run_import(app, fresh, exported, CSV if fmt == "csv" else NDJSON)
        assert (job["status"], job["failed"], job["succeeded"]) == (
            "succeeded", 0, len(before))
        after = await assessments(fresh)
        assert comparable(after) == comparable(before)  # the same, in the same order
        again = (await fresh.get("/v1/assessments:export", params={"format": fmt})).content
    if fmt == "csv":
        assert again == exported
    else:
        strip = [{k: v for k, v in json.loads(x).items() if k != "id"}
                 for x in exported.splitlines()]
        assert [{k: v for k, v in json.loads(x).items() if k != "id"}
                for x in again.splitlines()] == strip


async def test_the_cohort_csv_is_streamed_a_page_of_people_at_a_time(admin, cycle,
                                                                     monkeypatch):
    whole = (await admin.get("/v1/cohorts/readiness", params={"format": "csv"})).text
    monkeypatch.setattr(readiness_cohorts, "COHORT_PAGE", 7)  # 15 pages, 15 sessions
    paged = (await admin.get("/v1/cohorts/readiness", params={"format": "csv"})).text
    assert paged == whole
    rows = list(csv.DictReader(io.StringIO(paged)))
    report = (await admin.get("/v1/cohorts/readiness")).json()
    assert len(rows) == report["people"] == expected()["submitted"] + expected()["finalized"]
    assert [r["external_id"] for r in rows] == sorted(r["external_id"] for r in rows)
    assert sum(r["band"] == "not_yet" for r in rows) == report["bands"]["not_yet"]
    assert all(k.startswith("gap:") for k in list(rows[0])[10:]) and len(rows[0]) == 22
