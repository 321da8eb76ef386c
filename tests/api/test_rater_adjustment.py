"""Rater-adjusted readiness over HTTP: a policy version turns it on; reports name the stored
fit, show observed and observed_raw, and are reproducible from that fit (same fit, same
bytes; another fit, another digest); the cohort endpoint takes adjusted=true (JSON and CSV)
and agrees with the single reports; calibration sessions show adjusted scores."""

import csv
import io

import pytest

from tests.api.test_rater_effects_api import KEYS, LENIENT, build_cohort
from tests.factories.assessments import create_assessment, rate
from tests.factories.graphql import codes, gql
from tests.factories.people import sync_person
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio
CYCLE = {"cycle": "2026-H2"}


async def fit(admin) -> str:
    response = await admin.get("/v1/cohorts/rater-effects", params=CYCLE)
    assert response.status_code == 200, response.text
    return response.json()["fit"]["id"]


async def turn_on(admin) -> None:
    response = await admin.post("/v1/readiness/policies",
                                json={"name": "progress", "rater_adjustment": True})
    assert response.status_code == 201, response.text
    assert response.json()["parameters"]["rater_adjustment"] is True


async def report(admin, assessment: str, **params) -> tuple[bytes, dict]:
    response = await admin.get(f"/v1/assessments/{assessment}/readiness", params=params)
    assert response.status_code == 200, response.text
    return response.content, response.json()


async def test_policy_adjusts_reports_reproducibly(admin, engine):
    await load_default_rubric(engine)
    ids = await build_cohort(admin, finalize=False)
    first = await fit(admin)
    _, raw = await report(admin, ids[0])
    assert "rater_adjustment" not in raw  # the policy is off by default
    assert all("observed_raw" not in c for c in raw["competencies"])

    await turn_on(admin)
    body, adjusted = await report(admin, ids[0])
    assert adjusted["rater_adjustment"] == {"fit_id": first, "raters": 3}
    assert adjusted["policy"]["version"] == raw["policy"]["version"] + 1  # the new version
    for entry, as_rated in zip(adjusted["competencies"], raw["competencies"], strict=True):
        assert entry["observed_raw"] == as_rated["observed"]
    # P0 was rated by the lenient rater: adjusted values sit lower
    assert sum(c["observed"] for c in adjusted["competencies"]) < sum(
        c["observed_raw"] for c in adjusted["competencies"])
    assert adjusted["score"] <= raw["score"]
    assert (await report(admin, ids[0]))[0] == body  # same fit: same bytes

    # Another fit on changed ratings: reports default to it, and the first stays reachable.
    await sync_person(admin, "P9", org_unit="payments", manager_external_id="M1")
    extra = (await create_assessment(admin, "P9", sync=False))["id"]
    for rater, level in ((LENIENT, 5), ("R2", 1), ("R3", 2)):
        items = [{"competency": k, "proficiency": level, "evidence": "seen"} for k in KEYS]
        assert (await rate(admin, extra, "peer", rater, items)).status_code == 200
    assert (await admin.post(f"/v1/assessments/{extra}/submit")).status_code == 200
    second = await fit(admin)
    _, latest = await report(admin, ids[0])
    assert latest["rater_adjustment"]["fit_id"] == second
    assert latest["inputs_digest"] != adjusted["inputs_digest"]
    named_bytes, _ = await report(admin, ids[0], fit_id=first)
    assert named_bytes == body  # reproducible from the stored fit it names

    # A request can still ask for the raw report, and a fit must exist.
    _, as_rated = await report(admin, ids[0], adjusted="false")
    assert "rater_adjustment" not in as_rated and as_rated["score"] == raw["score"]
    missing = await admin.get(f"/v1/assessments/{ids[0]}/readiness",
                              params={"fit_id": "00000000-0000-4000-8000-000000000000"})
    assert missing.status_code == 422 and "fit_id" in missing.text
    both = await admin.get(f"/v1/assessments/{ids[0]}/readiness",
                           params={"fit_id": first, "adjusted": "false"})
    assert both.status_code == 422


async def test_without_a_fit_nothing_is_adjusted(admin, engine):
    await load_default_rubric(engine)
    ids = await build_cohort(admin, people=4, finalize=False)
    _, raw = await report(admin, ids[0])
    await turn_on(admin)
    _, body = await report(admin, ids[0])
    assert body["rater_adjustment"] == {"fit_id": None, "raters": 0}
    assert body["score"] == raw["score"]
    assert [c["observed"] for c in body["competencies"]] == [
        c["observed"] for c in raw["competencies"]]


async def test_finalized_report_keeps_its_fit(admin, engine):
    await load_default_rubric(engine)
    ids = await build_cohort(admin, finalize=False)
    first = await fit(admin)
    await turn_on(admin)
    assert (await admin.post(f"/v1/assessments/{ids[0]}/finalize")).status_code == 200
    stored, body = await report(admin, ids[0])
    assert body["rater_adjustment"]["fit_id"] == first
    await fit(admin)  # a newer fit does not change what was stored
    assert (await report(admin, ids[0]))[0] == stored
    person = await admin.get("/v1/people/P0/readiness")
    assert person.status_code == 200 and person.content == stored


async def test_cohort_adjusted_json_and_csv(admin, engine):
    await load_default_rubric(engine)
    ids = await build_cohort(admin, finalize=False)
    fit_id = await fit(admin)
    raw = (await admin.get("/v1/cohorts/readiness", params=CYCLE)).json()
    assert raw["rater_adjustment"] is None
    adjusted = await admin.get("/v1/cohorts/readiness", params=CYCLE | {"adjusted": "true"})
    assert adjusted.status_code == 200, adjusted.text
    body = adjusted.json()
    assert body["rater_adjustment"] == {"2026-H2": fit_id}
    assert body["people"] == raw["people"] == 6
    assert body["score"] != raw["score"]  # the severities moved some scores

    response = await admin.get("/v1/cohorts/readiness",
                               params=CYCLE | {"adjusted": "true", "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 6 and {r["fit_id"] for r in rows} == {fit_id}
    # the cohort path and the single reports agree on every adjusted score
    for row, assessment in zip(sorted(rows, key=lambda r: r["external_id"]), ids, strict=True):
        _, single = await report(admin, assessment, adjusted="true")
        assert float(row["score"]) == single["score"] and row["band"] == single["band"]
    plain = await admin.get("/v1/cohorts/readiness", params=CYCLE | {"format": "csv"})
    assert "fit_id" not in plain.text.splitlines()[0]
    bad = await admin.get("/v1/cohorts/readiness", params=CYCLE | {
        "format": "csv", "fit_id": "00000000-0000-4000-8000-000000000000"})
    assert bad.status_code == 422


async def test_calibration_shows_raw_and_adjusted(admin, engine):
    await load_default_rubric(engine)
    await build_cohort(admin)
    created = await admin.post("/v1/calibrations", json={"cycle": "2026-H2"})
    assert all(p["adjusted_score"] is None for p in created.json()["people"])
    fit_id = await fit(admin)
    body = (await admin.get(f"/v1/calibrations/{created.json()['id']}")).json()
    assert body["fit_id"] == fit_id
    cohort = (await admin.get("/v1/cohorts/readiness", params=CYCLE | {
        "adjusted": "true", "format": "csv"})).text
    expected = {r["external_id"]: float(r["score"]) for r in csv.DictReader(io.StringIO(cohort))}
    assert {p["person"]: p["adjusted_score"] for p in body["people"]} == expected
    p0 = next(p for p in body["people"] if p["person"] == "P0")
    assert p0["adjusted_score"] < p0["score"]  # its lenient rater is taken off


GRAPHQL = """query($id: UUID!) {
  person(externalId: "P0") { calibratedBand { band calibrationId }
    readiness { inputsDigest raterAdjustment { fitId raters }
      competencies { observed observedRaw } } }
  calibrations { id status }
  calibration(id: $id) { id fitId people { person score band adjustedScore adjustedBand
    calibratedBand } } }"""


async def test_graphql_calibrated_band_and_calibration_people(admin, engine, client_with,
                                                            make_key):
    await load_default_rubric(engine)
    await build_cohort(admin)
    fit_id = await fit(admin)
    created = await admin.post("/v1/calibrations", json={"cycle": "2026-H2"})
    url = f"/v1/calibrations/{created.json()['id']}"
    decided = await admin.post(f"{url}/decisions", headers={"If-Match": created.headers["etag"]},
                               json={"person": "P0", "band": "developing", "reason": "panel"})
    assert (await admin.post(f"{url}/lock", headers={"If-Match": decided.headers["etag"]})
            ).status_code == 200
    rest = (await admin.get(url)).json()

    answer = await gql(admin, GRAPHQL, {"id": rest["id"]})
    assert "errors" not in answer, answer
    data = answer["data"]
    assert data["person"]["calibratedBand"] == {"band": "developing",
                                                "calibrationId": rest["id"]}
    assert data["calibrations"] == [{"id": rest["id"], "status": "locked"}]
    assert data["calibration"]["fitId"] == fit_id
    people = {p["person"]: p for p in data["calibration"]["people"]}
    for p in rest["people"]:
        assert people[p["person"]] == {
            "person": p["person"], "score": p["score"], "band": p["band"],
            "adjustedScore": p["adjusted_score"], "adjustedBand": p["adjusted_band"],
            "calibratedBand": p["calibrated_band"]}
    assert people["P0"]["calibratedBand"] == "developing"
    assert data["person"]["readiness"]["raterAdjustment"] is None  # the policy is off

    # a person-bound credential, even about itself: nothing of calibrations
    async with client_with(make_key("people:read", "readiness:read", "calibration:read",
                                    person="P0")) as bound:
        answer = await gql(bound, GRAPHQL, {"id": rest["id"]})
        data = answer["data"]
        assert data["person"]["calibratedBand"] is None
        assert data["person"]["readiness"] is not None  # its own report it does see
        assert data["calibrations"] is None and data["calibration"] is None
        assert sorted(codes(answer)) == ["FORBIDDEN", "NOT_FOUND"]
        report = await bound.get("/v1/people/P0/readiness")
        assert report.status_code == 200 and "calibrated_band" not in report.json()
        assert (await bound.get(url)).status_code == 404
        assert (await bound.get("/v1/calibrations")).status_code == 403


async def test_graphql_adjusted_report_fields(admin, engine):
    await load_default_rubric(engine)
    ids = await build_cohort(admin, finalize=False)
    fit_id = await fit(admin)
    await turn_on(admin)
    answer = await gql(admin, """query($id: UUID!) { assessment(id: $id) { readiness {
        inputsDigest raterAdjustment { fitId raters } competencies { observed observedRaw }
        } } }""", {"id": ids[0]})
    assert "errors" not in answer, answer
    readiness = answer["data"]["assessment"]["readiness"]
    _, rest = await report(admin, ids[0])
    assert readiness["raterAdjustment"] == {"fitId": fit_id, "raters": 3}
    assert readiness["inputsDigest"] == rest["inputs_digest"]
    assert [c["observedRaw"] for c in readiness["competencies"]] == [
        c["observed_raw"] for c in rest["competencies"]]
