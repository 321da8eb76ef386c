"""Readiness of stored assessments: live reports, snapshots at finalize, what-if, person view."""

import pytest

from service import events
from tests.factories.assessments import create_assessment, rate
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio


async def senior_bar(admin) -> dict[str, int]:
    ladder = (await admin.get("/v1/rubrics/product-leadership")).json()
    return {c["key"]: next(e["proficiency"] for e in c["expectations"]
                           if e["level"] == "senior-pm") for c in ladder["competencies"]}


def items(values: dict[str, int], evidence: bool = True) -> list[dict]:
    return [{"competency": k, "proficiency": v, **({"evidence": "shipped X"} if evidence else {})}
            for k, v in values.items()]


@pytest.fixture
async def rated(admin, engine):
    """E123 (a PM) rated by self and manager exactly at the senior-pm bar."""
    await load_default_rubric(engine)
    bar = await senior_bar(admin)
    assessment = await create_assessment(admin, "E123")
    assert (await rate(admin, assessment["id"], "self", "E123", items(bar))).status_code == 200
    assert (await rate(admin, assessment["id"], "manager", "E001", items(bar))).status_code == 200
    return assessment, bar


async def finalize(admin, assessment_id: str) -> None:
    for step in ("submit", "finalize"):
        response = await admin.post(f"/v1/assessments/{assessment_id}/{step}")
        assert response.status_code == 200, response.text


async def test_live_report_of_a_draft(admin, rated):
    assessment, _ = rated
    response = await admin.get(f"/v1/assessments/{assessment['id']}/readiness")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["current_level"], report["target_level"]) == ("pm", "senior-pm")
    assert (report["score"], report["band"]) == (100.0, "ready_now")
    assert report["confidence"]["level"] in ("high", "medium")
    further = await admin.get(f"/v1/assessments/{assessment['id']}/readiness",
                              params={"target_level": "director"})
    assert further.json()["target_level"] == "director" and further.json()["score"] < 100
    below = await admin.get(f"/v1/assessments/{assessment['id']}/readiness",
                            params={"target_level": "apm"})
    assert below.status_code == 422 and below.json()["errors"][0]["field"] == "target_level"


async def test_finalize_stores_the_report_and_later_reads_are_what_was_decided(admin, rated):
    assessment, _ = rated
    url = f"/v1/assessments/{assessment['id']}/readiness"
    assert (await admin.get("/v1/people/E123/readiness")).status_code == 404
    seen: list[dict] = []

    def capture(_session, event):
        seen.append(event.webhook_data())
    events.subscribe(events.ReadinessChanged, capture)
    try:
        await finalize(admin, assessment["id"])
    finally:
        events.unsubscribe(events.ReadinessChanged, capture)
    assert [(p["person"], p["band"], p["previous"]) for p in seen] == [("E123", "ready_now", None)]

    decided = await admin.get(url)
    assert decided.json()["policy"] == {"name": "progress", "version": 2}
    person = await admin.get("/v1/people/E123/readiness")
    assert person.status_code == 200 and person.content == decided.content

    # A stricter policy later changes live scoring, never the stored decision.
    stricter = await admin.post("/v1/readiness/policies",
                                json={"name": "progress", "ready_now": 100.5, "ready_soon": 100})
    assert stricter.status_code == 201
    assert (await admin.get(url)).content == decided.content
    live = await admin.post("/v1/readiness:score", json={
        "rubric": {"key": "product-leadership", "version": 1}, "current_level": "pm",
        "ratings": decided_ratings(await admin.get(f"/v1/assessments/{assessment['id']}"))})
    assert live.json()["policy"]["version"] == 3 and live.json()["band"] != "ready_now"


async def test_finalize_under_a_policy_that_leaves_a_role_out(admin, rated):
    """Issue 11: with a policy that has no `upward` weight, finalizing an assessment with an
    upward rating answered 422 about a ratings[i] the caller never sent. The role now weighs
    nothing: the report is what self and manager alone give."""
    assessment, bar = rated
    url = f"/v1/assessments/{assessment['id']}/readiness"
    low = items({k: 1 for k in bar})
    assert (await rate(admin, assessment["id"], "upward", "E777", low)).status_code == 200
    assert (await admin.get(url)).json()["score"] < 100  # the default policy weighs upward
    policy = await admin.post("/v1/readiness/policies", json={
        "name": "progress", "role_weights": {"manager": 0.5, "peer": 0.3, "self": 0.2,
                                             "other": 0.1}})
    assert policy.status_code == 201, policy.text
    await finalize(admin, assessment["id"])
    stored = (await admin.get(url)).json()
    assert stored["policy"] == {"name": "progress", "version": 3}
    assert (stored["score"], stored["band"]) == (100.0, "ready_now")
    person = await admin.get("/v1/people/E123/readiness")
    assert person.status_code == 200 and person.json() == stored


def decided_ratings(response) -> list[dict]:
    return [{k: r[k] for k in ("competency", "rater_role", "rater_id", "proficiency", "evidence")}
            for r in response.json()["ratings"]]


async def test_simulate_shows_the_delta_and_stores_nothing(admin, rated):
    assessment, bar = rated
    low = {k: max(1, v - 1) for k, v in bar.items()}
    await rate(admin, assessment["id"], "manager", "E001", items(low))
    before = await admin.get(f"/v1/assessments/{assessment['id']}")
    changes = [{"competency": k, "rater_role": "manager", "rater_id": "E001", "proficiency": v}
               for k, v in bar.items()]
    response = await admin.post(f"/v1/assessments/{assessment['id']}/readiness:simulate",
                                json={"changes": changes})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["report"]["score"] == 100.0 and body["baseline"]["score"] < 100
    assert body["delta"]["score"] == round(100.0 - body["baseline"]["score"], 1)
    assert body["delta"]["band_to"] == "ready_now" and body["delta"]["band_change"] >= 0
    after = await admin.get(f"/v1/assessments/{assessment['id']}")
    assert after.content == before.content and after.headers["etag"] == before.headers["etag"]

    bad = await admin.post(f"/v1/assessments/{assessment['id']}/readiness:simulate", json={
        "changes": [{"competency": "juggling", "rater_role": "self", "proficiency": 3},
                    {"competency": "strategy", "rater_role": "self", "proficiency": 9}]})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"changes[0].competency",
                                                          "changes[1].proficiency"}


async def test_path_to_ready_applied_as_a_simulation_reaches_ready_now(admin, rated):
    assessment, bar = rated
    await rate(admin, assessment["id"], "manager", "E001", items({k: 1 for k in bar}))
    report = (await admin.get(f"/v1/assessments/{assessment['id']}/readiness")).json()
    assert report["band"] != "ready_now" and report["path_to_ready"]
    changes = [{"competency": s["competency"], "rater_role": role, "rater_id": rater,
                "proficiency": s["to"]}
               for s in report["path_to_ready"] for role, rater in (("manager", "E001"),
                                                                    ("self", "E123"))]
    simulated = await admin.post(f"/v1/assessments/{assessment['id']}/readiness:simulate",
                                 json={"changes": changes})
    assert simulated.json()["report"]["band"] == "ready_now"


async def test_person_bound_principals_see_only_their_own_readiness(admin, rated, make_key,
                                                                    client_with):
    assessment, _ = rated
    other = await create_assessment(admin, "E124")
    async with client_with(make_key("readiness:read", "assessments:read", person="E123")) as me:
        own = await me.get(f"/v1/assessments/{assessment['id']}/readiness")
        assert own.status_code == 200
        assert (await me.get(f"/v1/assessments/{other['id']}/readiness")).status_code == 404
        assert (await me.get("/v1/people/E124/readiness")).status_code == 404
    assert (await admin.get("/v1/people/NOBODY/readiness")).status_code == 404
