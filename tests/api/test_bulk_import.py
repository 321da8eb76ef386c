"""POST /v1/bulk/assessments and GET /v1/jobs/{id}, on SQLite and PostgreSQL: JSONL and CSV
imports, atomic and partial modes, job-level idempotency, the upsert rules, lifecycle events,
and errors reported with their line and field."""

import asyncio
import uuid

import pytest
from sqlmodel import func, select

from service.assessments.models import Assessment, AssessmentEvent, Rating
from service.bulk.models import BulkJob
from service.people.models import Person
from service.readiness.models import ReadinessReport
from service.readiness.policies import ensure_default_policy
from service.settings import Settings
from tests.factories.bulk import (
    CSV,
    NDJSON,
    assessments,
    csv_body,
    csv_row,
    errors_of,
    expected,
    finish,
    line,
    ndjson,
    run_import,
    sample,
    upload,
)
from tests.factories.rubrics import load_default_rubric
from tests.factories.webhooks import subscribe

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database_url=db_url, bulk_spool_dir=tmp_path / "spool",
                    webhooks_worker=False, webhooks_allow_private=True)


@pytest.fixture
async def ladder(engine, db_url):
    await load_default_rubric(engine)
    from service.db import open_session

    with open_session(engine, write=True) as session:
        ensure_default_policy(session)
        session.commit()


def count(session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


# --- both formats, both modes ------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
async def test_the_sample_cycle_imports_in_partial_mode_with_each_bad_row_reported(
        app, admin, ladder, session, fmt):
    want = expected()
    job = await run_import(app, admin, sample(fmt), NDJSON if fmt == "ndjson" else CSV,
                           mode="partial")
    assert job["status"] == "partial"
    bad = want["bad"]
    assert (job["total"], job["processed"], job["succeeded"], job["failed"]) == (
        want["assessments"], want["assessments"], want["assessments"] - bad, bad)
    assert job["rows"] == (want["ratings"] if fmt == "csv" else want["assessments"])
    assert errors_of(job) == [(e["line"], e["field"]) for e in want[fmt if fmt == "csv"
                                                                    else "jsonl"]]
    assert all(e["message"] and e["external_id"] for e in job["errors"])
    assert job["progress"] == 1.0 and job["finished_at"] is not None

    stored = await assessments(admin)
    assert len(stored) == want["assessments"] - bad
    by_status = {s: sum(a["status"] == s for a in stored)
                 for s in ("draft", "submitted", "finalized")}
    assert by_status["submitted"] == want["submitted"]
    assert by_status["finalized"] == want["finalized"]
    ratings = sum(len(a["ratings"]) for a in stored)
    assert ratings == count(session, Rating)
    assert count(session, Person) == want["assessments"] - bad
    # finalized ones got their readiness snapshot, through the same domain event as REST
    assert count(session, ReadinessReport) == want["finalized"]


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
async def test_atomic_mode_writes_nothing_when_a_row_is_bad(app, admin, ladder, session, fmt):
    body = sample(fmt)
    job = await run_import(app, admin, body, NDJSON if fmt == "ndjson" else CSV)
    assert job["status"] == "failed" and job["mode"] == "atomic"
    assert job["succeeded"] == 0 and job["failed"] == expected()["bad"]
    assert "nothing was written" in job["reason"]
    assert len(job["errors"]) == expected()["bad"]
    for model in (Person, Assessment, Rating, AssessmentEvent, ReadinessReport):
        assert count(session, model) == 0, model


async def test_atomic_mode_commits_everything_when_every_row_is_good(app, admin, ladder,
                                                                     session):
    body = ndjson(*(line(f"E{i}") for i in range(7)))
    job = await run_import(app, admin, body)
    assert (job["status"], job["total"], job["succeeded"], job["failed"]) == (
        "succeeded", 7, 7, 0)
    assert job["reason"] is None and job["errors"] == []
    stored = await assessments(admin)
    assert [a["person"] for a in stored] == [f"E{i}" for i in range(7)]  # file order
    first = stored[0]
    assert (first["status"], first["current_level"], first["target_level"], first["cycle"]) == (
        "draft", "pm", "senior-pm", "2026-H2")
    assert first["rubric"] == {"key": "product-leadership", "version": 2}
    assert {(r["rater_role"], r["rater_id"], r["competency"], r["proficiency"])
            for r in first["ratings"]} == {("self", "E0", "strategy", 3),
                                           ("manager", "M1", "strategy", 4),
                                           ("manager", "M1", "execution", 3)}
    person = (await admin.get("/v1/people/E0")).json()
    assert (person["display_name"], person["org_unit"], person["level"]) == (
        "Person E0", "payments", "pm")


async def test_partial_mode_applies_exactly_the_valid_assessments(app, admin, ladder):
    bad_rating = line("E2", ratings=[{"competency": "strategy", "rater_role": "manager",
                                      "rater_id": "M1", "proficiency": 9}])
    body = ndjson(line("E1"), bad_rating, line("E3", level="no-such-level"),
                  {"person": "E4", "cycle": "2026-H2"}, line("E5"))
    job = await run_import(app, admin, body, mode="partial")
    assert (job["status"], job["succeeded"], job["failed"]) == ("partial", 2, 3)
    assert [(e["line"], e["field"], e["external_id"]) for e in job["errors"]] == [
        (2, "ratings[0].proficiency", "E2"), (3, "person.level", "E3"), (4, "person", "E4")]
    assert "must be within the scale 1..6" in job["errors"][0]["message"]
    assert "sync them first" in job["errors"][2]["message"]
    assert sorted(a["person"] for a in await assessments(admin)) == ["E1", "E5"]
    assert (await admin.get("/v1/people/E3")).status_code == 404  # nothing of a bad row


async def test_csv_groups_rows_into_assessments_and_reports_bad_cells(app, admin, ladder):
    rows = [csv_row("E1", "strategy", "self"), csv_row("E1", "execution", "manager", "M1", 4),
            csv_row("E2", "strategy", "self"), csv_row("E2", "strategy", "peer", "P1", "high"),
            csv_row("E3", "strategy", "manager", "", 3),
            csv_row("E4", "strategy", "self", current_level="senior-pm", target_level="pm")]
    job = await run_import(app, admin, csv_body(rows), CSV, mode="partial")
    assert (job["total"], job["succeeded"], job["failed"], job["rows"]) == (4, 1, 3, 6)
    assert errors_of(job) == [(5, "proficiency"), (6, "rater_id"), (7, "target_level")]
    assert "required for manager ratings" in job["errors"][1]["message"]
    stored = await assessments(admin)
    assert [(a["person"], len(a["ratings"])) for a in stored] == [("E1", 2)]


async def test_a_csv_with_an_unknown_column_fails_before_any_row(app, admin, ladder, session):
    body = csv_body([csv_row() | {"notes": "x"}], header=[*csv_row().keys(), "notes"])
    job = await run_import(app, admin, body, CSV, mode="partial")
    assert job["status"] == "failed" and job["processed"] == 0
    assert errors_of(job) == [(1, "notes")]
    assert "cannot be read" in job["reason"]
    assert count(session, Person) == 0


# --- submit / finalize ---------------------------------------------------------------------

async def test_submit_and_finalize_per_request_and_per_line_emit_the_rest_events(
        app, admin, ladder, session):
    hook = await subscribe(admin, "http://127.0.0.1:9/hooks",
                           ["assessment.submitted", "assessment.finalized"])
    body = ndjson(line("E1"), line("E2", status="draft"), line("E3", finalize=True))
    job = await run_import(app, admin, body, submit=True)
    assert job["status"] == "succeeded"
    status = {a["person"]: a["status"] for a in await assessments(admin)}
    assert status == {"E1": "submitted", "E2": "draft", "E3": "finalized"}
    e3 = next(a for a in await assessments(admin) if a["person"] == "E3")
    history = (await admin.get(f"/v1/assessments/{e3['id']}/history")).json()["data"]
    assert [h["action"] for h in history] == ["created", "ratings_set", "ratings_set",
                                              "submitted", "finalized"]
    assert history[0]["details"]["job"] == job["id"]
    assert history[1]["details"]["rater_role"] in ("self", "manager")
    report = await admin.get(f"/v1/assessments/{e3['id']}/readiness")
    assert report.status_code == 200 and report.json()["target_level"] == "senior-pm"
    assert count(session, ReadinessReport) == 1
    deliveries = (await admin.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()["data"]
    assert sorted(d["event_type"] for d in deliveries) == [
        "assessment.finalized", "assessment.submitted", "assessment.submitted"]


# --- importing again: the upsert rules -----------------------------------------------------------

async def test_importing_the_same_file_again_changes_nothing(app, admin, ladder):
    body = ndjson(line("E1"), line("E2", submit=True))
    await run_import(app, admin, body)
    before = await assessments(admin)
    again = await run_import(app, admin, body)  # a new key: a second job
    assert (again["status"], again["succeeded"]) == ("succeeded", 2)
    after = await assessments(admin)
    assert after == before  # same ids, same updated_at: nothing rewritten


async def test_a_draft_gets_the_named_raters_ratings_replaced(app, admin, ladder):
    await run_import(app, admin, ndjson(line("E1")))
    (first,) = await assessments(admin)
    etag = (await admin.get(f"/v1/assessments/{first['id']}")).headers["etag"]
    change = [{"competency": "execution", "rater_role": "manager", "rater_id": "M1",
               "proficiency": 5}]
    job = await run_import(app, admin, ndjson(line("E1", ratings=change)))
    assert job["status"] == "succeeded"
    (updated,) = await assessments(admin)
    assert updated["id"] == first["id"]
    assert {(r["rater_role"], r["competency"], r["proficiency"]) for r in updated["ratings"]} \
        == {("self", "strategy", 3), ("manager", "execution", 5)}
    # the row version moved, so a REST writer holding the old ETag gets 412
    stale = await admin.post(f"/v1/assessments/{first['id']}/submit",
                             headers={"If-Match": etag})
    assert stale.status_code == 412
    history = (await admin.get(f"/v1/assessments/{first['id']}/history")).json()["data"]
    assert history[-1]["action"] == "ratings_set"
    assert history[-1]["details"]["previous"] == {"strategy": 4, "execution": 3}


async def test_a_submitted_assessment_is_frozen(app, admin, ladder):
    await run_import(app, admin, ndjson(line("E1", submit=True)))
    change = [{"competency": "execution", "rater_role": "manager", "rater_id": "M1",
               "proficiency": 5}]
    job = await run_import(app, admin, ndjson(line("E1", ratings=change)), mode="partial")
    assert (job["status"], job["failed"]) == ("partial", 1)
    assert errors_of(job) == [(1, "ratings")]
    assert "can no longer change" in job["errors"][0]["message"]
    # asking to finalize it with the same ratings is fine
    job = await run_import(app, admin, ndjson(line("E1", finalize=True)))
    assert job["status"] == "succeeded"
    assert [a["status"] for a in await assessments(admin)] == ["finalized"]


async def test_an_assessment_given_twice_in_one_file_is_an_error(app, admin, ladder):
    job = await run_import(app, admin, ndjson(line("E1"), line("E2"), line("E1")),
                           mode="partial")
    assert errors_of(job) == [(3, "cycle")]
    assert "already on line 1" in job["errors"][0]["message"]


# --- job-level idempotency -----------------------------------------------------------------------

async def test_the_same_key_and_body_answer_the_same_job(app, admin, ladder, session):
    body = ndjson(line("E1"))
    first = await upload(admin, body, key="cycle-1")
    assert first.status_code == 202 and first.headers["location"].startswith("/v1/jobs/")
    job_id = first.json()["job"]["id"]
    await finish(app, admin, job_id)
    replay = await upload(admin, body, key="cycle-1")
    assert replay.status_code == 202
    assert replay.json()["job"]["id"] == job_id
    assert replay.json()["job"]["status"] == "succeeded"
    assert replay.headers["idempotent-replayed"] == "true"
    assert count(session, BulkJob) == 1 and count(session, Assessment) == 1

    other = await upload(admin, ndjson(line("E2")), key="cycle-1")
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    options = await upload(admin, body, key="cycle-1", mode="partial")
    assert options.status_code == 422  # the same file with other options is another request


async def test_a_retry_while_the_first_upload_is_running_is_409(app, admin, ladder, session):
    body = ndjson(*(line(f"E{i}") for i in range(3)))
    gate = asyncio.Event()

    async def slow():
        yield body[:40]
        await gate.wait()
        yield body[40:]

    first = asyncio.create_task(upload(admin, slow(), key="k-409"))
    for _ in range(200):  # until the first request holds the key
        session.expire_all()
        if session.exec(select(BulkJob).where(BulkJob.idempotency_key == "k-409")).first():
            break
        await asyncio.sleep(0.01)
    retry = await upload(admin, body, key="k-409")
    assert retry.status_code == 409
    assert retry.json()["code"] == "conflict"
    gate.set()
    accepted = await first
    assert accepted.status_code == 202
    job = await finish(app, admin, accepted.json()["job"]["id"])
    assert job["succeeded"] == 3
    again = await upload(admin, body, key="k-409")
    assert again.json()["job"]["id"] == job["id"]


async def test_an_upload_that_fails_releases_its_key(app, admin, ladder, session):
    empty = await upload(admin, b"", key="k-empty")
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body"
    assert count(session, BulkJob) == 0
    assert (await upload(admin, ndjson(line()), key="k-empty")).status_code == 202


async def test_the_request_is_checked_before_the_body_is_read(app, admin, ladder, make_key,
                                                              client_with):
    assert (await upload(admin, b"a,b\n", "application/json")).status_code == 415
    missing = await admin.post("/v1/bulk/assessments", content=ndjson(line()),
                               headers={"Content-Type": NDJSON})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "header.Idempotency-Key"
    bad_mode = await upload(admin, ndjson(line()), mode="all")
    assert bad_mode.status_code == 422
    async with client_with(make_key("bulk:write", person="E1")) as bound:
        assert (await upload(bound, ndjson(line()))).status_code == 403


async def test_an_upload_over_the_bulk_limit_is_413(app, admin, ladder, session):
    app.state.settings = app.state.settings.model_copy(update={"bulk_max_bytes": 100})
    response = await upload(admin, ndjson(*(line(f"E{i}") for i in range(5))))
    assert response.status_code == 413
    assert count(session, BulkJob) == 0


# --- reading jobs ------------------------------------------------------------------------------

async def test_job_errors_are_paginated_in_file_order(app, admin, ladder):
    bad = [line(f"E{i}", level="nope") for i in range(7)]
    job = await run_import(app, admin, ndjson(*bad), mode="partial")
    assert job["errors_total"] == 7
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await admin.get(f"/v1/jobs/{job['id']}", params=params)
        page = response.json()
        seen += [e["line"] for e in page["errors"]]
        assert response.headers["etag"]
        if not (cursor := page["next_cursor"]):
            break
        assert 'rel="next"' in response.headers["link"]
    assert seen == list(range(1, 8))


async def test_jobs_need_jobs_read_and_unknown_ones_are_404(app, admin, ladder, make_key,
                                                            client_with):
    job = await run_import(app, admin, ndjson(line()))
    async with client_with(make_key("bulk:write")) as writer:
        assert (await writer.get(f"/v1/jobs/{job['id']}")).status_code == 403
    async with client_with(make_key("jobs:read")) as reader:
        assert (await reader.get(f"/v1/jobs/{job['id']}")).json()["status"] == "succeeded"
        assert (await reader.get(f"/v1/jobs/{uuid.uuid4()}")).status_code == 404
