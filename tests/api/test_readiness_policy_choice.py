"""Policy `progress` v2 over HTTP: the default, v1 on request (byte-equal to the v1 rules),
unknown policies refused, both versions stored by load-defaults, GraphQL like REST."""

import pytest
from sqlmodel import select

from service.db import open_session
from service.readiness import scoring
from service.readiness.models import ReadinessPolicy
from service.readiness.policies import ensure_default_policy
from tests.factories.assessments import create_assessment, rate
from tests.factories.graphql import gql, snake
from tests.factories.rubrics import load_default_rubric
from tests.golden_inputs import frozen_rubric

pytestmark = pytest.mark.anyio

PL = frozen_rubric()
SENIOR = {c.key: c.expected[2] for c in PL.competencies}


def ratings(values: dict[str, float], role: str, rater: str) -> list[dict]:
    return [{"competency": k, "rater_role": role, "rater_id": rater, "proficiency": v,
             "evidence": "seen it"} for k, v in values.items()]


# the first finding: manager at the senior-pm bar, self 6 everywhere
SELF_HIGH = ratings(SENIOR, "manager", "E001") + ratings({k: 6 for k in SENIOR}, "self", "E1")


def body(**extra) -> dict:
    return {"rubric": {"key": "product-leadership", "version": 1},
            "current_level": "senior-pm", "ratings": SELF_HIGH, **extra}


async def test_score_uses_v2_by_default_and_v1_on_request(admin, engine):
    await load_default_rubric(engine)
    default = await admin.post("/v1/readiness:score", json=body())
    assert default.status_code == 200, default.text
    v2 = default.json()
    assert v2["policy"] == {"name": "progress", "version": 2}
    assert (v2["score"], v2["band"]) == (89.4, "developing")
    assert {"competency": "developing-people", "level": "lead-pm", "bar": 3,
            "observed_without_self": 2.0, "met": False} in v2["gates"]
    assert v2["unrated"] == []

    old = await admin.post("/v1/readiness:score",
                           json=body(policy={"name": "progress", "version": 1}))
    assert old.status_code == 200, old.text
    assert old.json()["policy"] == {"name": "progress", "version": 1}
    assert old.json()["band"] == "developing" and "unrated" not in old.json()
    # byte-equal to the v1 rules on the same inputs (the golden unit test pins those bytes)
    expected = scoring.score(PL, "senior-pm", [scoring.Rating(
        r["competency"], r["rater_role"], r["rater_id"], float(r["proficiency"]),
        r["evidence"]) for r in SELF_HIGH], None, scoring.PROGRESS_V1)
    assert old.content == scoring.canonical_json(expected)

    latest = await admin.post("/v1/readiness:score", json=body(policy={"name": "progress"}))
    assert latest.content == default.content


async def test_unknown_or_malformed_policy_is_a_problem(admin, engine):
    await load_default_rubric(engine)
    missing = await admin.post("/v1/readiness:score",
                               json=body(policy={"name": "progress", "version": 9}))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    unknown = await admin.post("/v1/readiness:score", json=body(policy={"name": "nope"}))
    assert unknown.status_code == 404
    for bad in ({"name": "progress", "version": 0}, {"name": "Progress!"},
                {"version": 1}, {"name": "progress", "version": "1"},
                {"name": "progress", "rules": 2}):
        answer = await admin.post("/v1/readiness:score", json=body(policy=bad))
        assert answer.status_code == 422, (bad, answer.text)
        assert any(e["field"].startswith("policy") for e in answer.json()["errors"])


async def test_simulate_accepts_a_policy(admin, engine):
    await load_default_rubric(engine)
    assessment = await create_assessment(admin, "E123", target_level="lead-pm")
    for role, rater, values in (("manager", "E001", SENIOR), ("self", "E123",
                                                              {k: 6 for k in SENIOR})):
        rows = [{"competency": k, "proficiency": v, "evidence": "x"} for k, v in values.items()]
        assert (await rate(admin, assessment["id"], role, rater, rows)).status_code == 200
    url = f"/v1/assessments/{assessment['id']}/readiness:simulate"
    change = {"changes": [{"competency": "execution", "rater_role": "manager",
                           "rater_id": "E001", "proficiency": 5}]}
    v2 = await admin.post(url, json=change)
    v1 = await admin.post(url, json=change | {"policy": {"name": "progress", "version": 1}})
    assert v2.status_code == v1.status_code == 200, (v2.text, v1.text)
    assert v2.json()["report"]["policy"]["version"] == 2
    assert v1.json()["report"]["policy"]["version"] == 1
    assert v1.json()["baseline"]["policy"]["version"] == 1
    # v2: developing-people's gate is still unmet on the manager's rating alone
    assert v2.json()["report"]["band"] == "developing", v2.json()["report"]["gates"]
    assert v1.json()["report"]["band"] == "ready_now"  # v1: self 6 opens the gate
    missing = await admin.post(url, json=change | {"policy": {"name": "progress",
                                                              "version": 7}})
    assert missing.status_code == 404

    answer = await gql(admin, """mutation($id: UUID!) {
      simulateReadiness(assessmentId: $id, policy: {name: "progress", version: 1}, changes: [
        {competency: "execution", raterRole: manager, raterId: "E001", proficiency: 5}]) {
        report { ...ReportFields } baseline { ...ReportFields }
        delta { score bandFrom bandTo bandChange } } }""", {"id": assessment["id"]})
    v1_report = snake(answer["data"]["simulateReadiness"]["report"])
    rest = v1.json()["report"]
    for key in ("unrated",):  # absent from v1 reports; GraphQL answers null
        assert v1_report.pop(key) is None and key not in rest
    for entry in v1_report["competencies"]:
        assert entry.pop("expected_from") is None
    for gate in v1_report["gates"]:
        assert (gate.pop("level"), gate.pop("bar"), gate.pop("observed_without_self")) == (
            None, None, None)
    assert v1_report == rest


async def test_load_defaults_stores_v2_beside_v1_in_an_existing_database(admin, engine):
    with open_session(engine, write=True) as session:
        # a database from before v2: only progress v1 stored
        body_v1 = {k: v for k, v in scoring.PROGRESS_V1.to_dict().items()
                   if k not in ("name", "version")}
        session.add(ReadinessPolicy(name="progress", version=1, body=body_v1))
        session.commit()
    with open_session(engine, write=True) as session:
        assert ensure_default_policy(session) == "policy progress: stored version 2"
        session.commit()
    with open_session(engine, write=True) as session:
        assert ensure_default_policy(session) == "policy progress: up to date"
        rows = session.exec(select(ReadinessPolicy).order_by(ReadinessPolicy.version)).all()
        assert [(r.version, r.body.get("rules")) for r in rows] == [(1, None), (2, 2)]
    listed = (await admin.get("/v1/readiness/policies")).json()
    assert [(p["name"], p["version"]) for p in listed] == [("progress", 1), ("progress", 2)]
    got = (await admin.get("/v1/readiness/policies/progress")).json()
    assert got["version"] == 2 and got["parameters"]["disagreement_steps"] == 3.0


async def test_a_policy_version_made_with_rules_1_scores_by_the_v1_rules(admin, engine):
    await load_default_rubric(engine)
    made = await admin.post("/v1/readiness/policies", json={"name": "legacy", "rules": 1})
    assert made.status_code == 201, made.text
    assert "disagreement_steps" not in made.json()["parameters"]
    report = await admin.post("/v1/readiness:score",
                              json=body(policy={"name": "legacy", "version": 1}))
    assert report.json()["band"] == "developing" and "unrated" not in report.json()
    bad = await admin.post("/v1/readiness/policies", json={"name": "x", "rules": 3})
    assert bad.status_code == 422
    bad = await admin.post("/v1/readiness/policies",
                           json={"name": "x", "max_unrated_weight": 1.5})
    assert bad.status_code == 422
