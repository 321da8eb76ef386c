"""Cohort readiness: bands, score distribution, heat map and CSV over stored assessments."""

import csv
import io

import pytest

from tests.factories.assessments import create_assessment, rate
from tests.factories.people import sync_person
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio

KEYS = ["scope-judgement", "execution", "business-understanding", "strategy",
        "trust-collaboration", "developing-people", "team-design", "operating-model",
        "communication-influence", "value-outcomes", "org-improvement", "self-leadership"]
SENIOR_BAR = dict(zip(KEYS, [3, 4, 3, 2, 3, 2, 1, 2, 3, 3, 2, 3], strict=True))
PM_BAR = dict(zip(KEYS, [2, 3, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3], strict=True))


async def assess(admin, person: str, values: dict[str, int], *, org_unit="payments",
                 manager="E001", finalize=True) -> str:
    await sync_person(admin, person, org_unit=org_unit, manager_external_id=manager)
    assessment = await create_assessment(admin, person, sync=False)
    items = [{"competency": k, "proficiency": v, "evidence": "seen"} for k, v in values.items()]
    assert (await rate(admin, assessment["id"], "manager", manager, items)).status_code == 200
    if finalize:
        for step in ("submit", "finalize"):
            response = await admin.post(f"/v1/assessments/{assessment['id']}/{step}")
            assert response.status_code == 200, response.text
    return assessment["id"]


@pytest.fixture
async def cohort(admin, engine):
    """Three PMs in payments (at the senior bar, at their own bar, in between), one in
    search, and a draft that must not count."""
    await load_default_rubric(engine)
    await assess(admin, "P1", SENIOR_BAR)
    await assess(admin, "P2", PM_BAR)
    await assess(admin, "P3", PM_BAR | {"execution": 4, "scope-judgement": 3})
    await assess(admin, "S1", SENIOR_BAR, org_unit="search", manager="E002")
    await assess(admin, "D1", SENIOR_BAR, finalize=False)


async def test_bands_distribution_and_heat_map(admin, cohort):
    response = await admin.get("/v1/cohorts/readiness", params={"org_unit": "payments"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["people"] == 3
    assert body["bands"] == {"ready_now": 1, "ready_soon": 0, "developing": 1, "not_yet": 1}
    # Weights: scope-judgement, strategy, value-outcomes 1.5, the other nine 1 (13.5 in all).
    # Where pm and senior-pm expect the same (strategy, team-design, org-improvement,
    # self-leadership: 4.5), meeting the bar is full progress; P3 also closes execution and
    # scope-judgement (2.5).
    p2, p3 = round(100 * 4.5 / 13.5, 1), round(100 * 7 / 13.5, 1)
    assert (body["score"]["min"], body["score"]["median"], body["score"]["max"]) == (
        p2, p3, 100.0)
    assert body["score"]["mean"] == round((100 + p2 + p3) / 3, 1)
    heat = {row["competency"]: row for row in body["heat_map"]}
    assert list(heat) == KEYS
    # execution: gaps 0 (P1), 1 (P2, 3 vs 4), 0 (P3)
    assert heat["execution"]["mean_gap"] == round(1 / 3, 2)
    assert heat["execution"]["by_band"]["ready_now"] == 0.0
    assert heat["execution"]["by_band"]["developing"] == 0.0
    assert heat["execution"]["by_band"]["not_yet"] == 1.0
    assert heat["execution"]["by_band"]["ready_soon"] is None
    assert body["rubrics"] == [{"key": "product-leadership", "version": 2}]


async def test_filters(admin, cohort):
    everyone = (await admin.get("/v1/cohorts/readiness")).json()
    assert everyone["people"] == 4
    by_manager = (await admin.get("/v1/cohorts/readiness", params={"manager": "E002"})).json()
    assert by_manager["people"] == 1 and by_manager["bands"]["ready_now"] == 1
    nobody = (await admin.get("/v1/cohorts/readiness", params={"cycle": "1999-H1"})).json()
    assert nobody["people"] == 0 and nobody["score"]["median"] is None
    assert all(row["mean_gap"] == 0.0 for row in nobody["heat_map"])
    levels = (await admin.get("/v1/cohorts/readiness",
                              params={"current_level": "pm", "target_level": "senior-pm"})).json()
    assert levels["people"] == 4


async def test_csv_has_one_row_per_person(admin, cohort):
    response = await admin.get("/v1/cohorts/readiness", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["external_id"] for r in rows) == ["P1", "P2", "P3", "S1"]
    p2 = next(r for r in rows if r["external_id"] == "P2")
    assert (p2["score"], p2["band"], p2["gap:execution"]) == ("33.3", "not_yet", "1")


async def test_person_bound_principals_see_only_themselves(admin, cohort, make_key,
                                                           client_with):
    async with client_with(make_key("readiness:read", person="P2")) as me:
        body = (await me.get("/v1/cohorts/readiness")).json()
    assert body["people"] == 1 and body["bands"]["not_yet"] == 1


async def test_a_policy_that_leaves_a_role_out_weighs_it_zero(admin, engine):
    """Issue 11: a policy without `upward` was accepted (201), after which cohorts with an
    upward rating answered 500. A role the policy leaves out now weighs nothing."""
    await load_default_rubric(engine)
    policy = await admin.post("/v1/readiness/policies", json={
        "name": "progress", "role_weights": {"manager": 0.5, "peer": 0.3, "self": 0.2}})
    assert policy.status_code == 201, policy.text
    assert set(policy.json()["parameters"]["role_weights"]) == {"manager", "peer", "self"}
    at_bar = await assess(admin, "P1", SENIOR_BAR, finalize=False)
    upward = [{"competency": k, "proficiency": 1} for k in SENIOR_BAR]
    assert (await rate(admin, at_bar, "upward", "U1", upward)).status_code == 200
    for step in ("submit", "finalize"):
        assert (await admin.post(f"/v1/assessments/{at_bar}/{step}")).status_code == 200
    # Rated by upward alone, every competency is unrated: score 0.
    await sync_person(admin, "P2", org_unit="payments", manager_external_id="E001")
    only_upward = (await create_assessment(admin, "P2", sync=False))["id"]
    assert (await rate(admin, only_upward, "upward", "U1", upward)).status_code == 200
    assert (await admin.post(f"/v1/assessments/{only_upward}/submit")).status_code == 200

    response = await admin.get("/v1/cohorts/readiness")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["people"] == 2
    assert body["bands"] == {"ready_now": 1, "ready_soon": 0, "developing": 0, "not_yet": 1}
    assert (body["score"]["min"], body["score"]["max"]) == (0.0, 100.0)
    rows = await admin.get("/v1/cohorts/readiness", params={"format": "csv"})
    assert rows.status_code == 200, rows.text
    scores = {r["external_id"]: r["score"] for r in csv.DictReader(io.StringIO(rows.text))}
    assert scores == {"P1": "100.0", "P2": "0.0"}
